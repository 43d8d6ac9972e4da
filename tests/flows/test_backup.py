"""`cascade backup create` and `cascade backup restore`, each in its own process: a workspace with reports,
evidence and queued mail is backed up, its folder deleted, and restored into another folder (SQLite) or
another database (PostgreSQL pass); every report, download and queued message still works there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from cascade.settings import get_settings
from cascade.workspace_paths import resolved_path
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.deliver_outbox import deliver_outbox
from flows.record_submission import submit_report
from models.db import reset_engines, session_scope
from models.outbox import EmailStatus, OutboundEmail
from models.report import Report
from models.submission import Attachment
from tasks.intake.submissions import attachment_path
from tests.fixtures.database import ON_POSTGRESQL
from tests.fixtures.postgres import fresh_database
from tests.flows.helpers import submission

pytestmark = pytest.mark.usefixtures("prefect_harness")
CASCADE = str(Path(sys.executable).parent / "cascade")


def cascade(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CASCADE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"cascade {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def command_env(workspace: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")} | {"CASCADE_WORKSPACE": str(workspace), "COLUMNS": "250"}
    if database_url:
        env["CASCADE_DATABASE_URL"] = database_url
    return env


@pytest.fixture()
def elsewhere() -> Iterator[str | None]:
    """Where the restore goes besides the new folder: a fresh PostgreSQL database in the PostgreSQL pass."""
    with fresh_database("cascade_restore") if ON_POSTGRESQL else nullcontext(None) as url:
        yield url


def test_a_backup_restores_into_another_folder_with_every_report_download_and_queued_message(
    department, smtp_server, monkeypatch, tmp_path: Path, elsewhere: str | None
) -> None:  # type: ignore[no-untyped-def]
    plan = department.plan
    evidence = tmp_path / "minh-chung.pdf"
    evidence.write_bytes(b"%PDF-1.4 minh chung")
    cascade_plan(plan, date(2024, 4, 5))
    submit_report(
        replace(submission(plan, "U1", dan_van_kheo=1, nha_o_xa_hoi=300, nuoc_sach=(900, 1000), hai_long=97), attachments=(evidence,)), date(2024, 10, 20)
    )
    submit_report(submission(plan, "U2", dan_van_kheo=0, nha_o_xa_hoi=415, nuoc_sach=(801, 1000), hai_long=96), date(2024, 10, 21))
    report_id = consolidate(plan, "bao_cao_nam", date(2024, 11, 8)).report_id
    monkeypatch.setenv("CASCADE_SMTP_PORT", "1")  # the server is down: a reminder waits in the outbox, with its files
    get_settings.cache_clear()
    cascade_plan(plan, date(2024, 4, 5))  # nothing new to send; then queue one more message with attachments
    with session_scope() as session:
        sent = next(row for row in session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)) if row.attachments)
        assert sent is not None and not Path(sent.attachments[0]).is_absolute()  # kept relative to the workspace
        session.add(OutboundEmail(**{c.name: getattr(sent, c.name) for c in OutboundEmail.__table__.columns if c.name not in ("id",)}
                                  | {"idempotency_key": "queued-with-files", "message_id": "<queued-with-files@sxd.example.gov.vn>",
                                     "status": EmailStatus.QUEUED, "attempts": 0, "sent_at": None, "not_before": None}))  # fmt: skip
        report = session.get_one(Report, report_id)
        originals = {name: resolved_path(name).read_bytes() for name in report.files}
        assert all(not Path(name).is_absolute() for name in report.files)
        evidence_sha = session.scalars(select(Attachment.sha256)).one()

    old = get_settings().workspace
    old_url = os.environ.get("CASCADE_DATABASE_URL")
    backup = tmp_path / "sao-luu.tar.gz"
    assert "Backup written" in cascade(command_env(old, old_url), "backup", "create", "--to", str(backup))
    reset_engines()
    shutil.rmtree(old)  # the old folder is gone: nothing may still point there

    new = tmp_path / "noi-khac" / "workspace"
    restored = cascade(command_env(new, elsewhere), "backup", "restore", str(backup))
    assert "Restored: 1 report(s), 1 message(s) still to send, 1 evidence file(s)" in restored, restored
    monkeypatch.setenv("CASCADE_WORKSPACE", str(new))
    if elsewhere:
        monkeypatch.setenv("CASCADE_DATABASE_URL", elsewhere)
    monkeypatch.setenv("CASCADE_SMTP_PORT", str(smtp_server.port))
    get_settings.cache_clear()
    reset_engines()
    with session_scope() as session:
        report = session.get_one(Report, report_id)
        assert {name: resolved_path(name).read_bytes() for name in report.files} == originals  # every download, byte for byte
        assert all(str(resolved_path(name)).startswith(str(new)) for name in report.files)
        assert attachment_path(evidence_sha).read_bytes() == b"%PDF-1.4 minh chung"
    before = len(smtp_server.messages())
    assert deliver_outbox(date(2024, 11, 9)).sent == 1
    arrived = smtp_server.messages()[before:]
    assert len(arrived) == 1 and [part.get_filename() for part in arrived[0].iter_attachments()]  # sent with its files
    with session_scope() as session:
        assert session.scalar(select(OutboundEmail.status).where(OutboundEmail.idempotency_key == "queued-with-files")) == EmailStatus.SENT


def test_a_restore_refuses_a_workspace_that_holds_data_and_a_file_that_is_no_backup(department, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """In this process (the commands run in their own in the test above): nothing is overwritten."""
    from models.backup import BackupError, create_backup, restore_backup

    backup = create_backup(tmp_path / "b.tar.gz")
    with pytest.raises(BackupError, match=r"already holds 5 units|already has"):
        restore_backup(backup)
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not a backup")
    with pytest.raises(BackupError, match="not a backup made by `cascade backup create`"):
        restore_backup(junk)
    with session_scope() as session:
        assert session.scalar(select(Report.id)) is None and len(department.units) == 4  # the workspace as it was
