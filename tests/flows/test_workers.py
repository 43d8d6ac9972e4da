"""Several delivery workers against one PostgreSQL outbox: each message is sent by exactly one of them."""

from __future__ import annotations

import email.policy
import os
import re
import subprocess
import sys
import time
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from cascade import clock
from cascade.settings import get_settings
from models.db import reset_engines, session_scope
from models.outbox import EmailKind, EmailStatus, OutboundEmail
from models.schema import create_schema
from tasks.outbound.outbox import queue_email
from templates import RenderedEmail
from tests.fixtures.postgres import fresh_database
from tests.fixtures.smtp import serving_mailbox

# The workers report to the session's Prefect server, as workers report to a shared one in
# production; a temporary server per process would cost each of them seconds more.
pytestmark = pytest.mark.usefixtures("prefect_harness")
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 1500
WORKERS = 3
BATCH = 50  # small batches, so that the workers' claims interleave


def queue_messages(count: int) -> set[str]:
    """Queue `count` distinct messages in one session; returns their Message-IDs."""
    with session_scope() as session:
        for i in range(count):
            text = f"Thư thử số {i}"
            queue_email(session, key=f"load-{i}", kind=EmailKind.REMINDER, email_to=[f"donvi{i}@example.gov.vn"],
                        rendered=RenderedEmail(text, f"<p>{text}</p>", text), created_at=clock.utc_now())  # fmt: skip
    with session_scope() as session:
        return set(session.scalars(select(OutboundEmail.message_id)))


def received_message_ids(maildir: Path) -> list[str]:
    """The Message-ID of every message the sink stored (headers only: parsing 1,500 bodies takes seconds)."""
    parser = BytesHeaderParser(policy=email.policy.default)
    return [parser.parsebytes(f.read_bytes())["Message-ID"] for sub in ("new", "cur") for f in (maildir / sub).iterdir()]


def test_workers_drain_one_postgresql_outbox_and_every_message_arrives_exactly_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_database() as url, serving_mailbox(tmp_path / "maildir", monkeypatch) as smtp:
        monkeypatch.setenv("CASCADE_DATABASE_URL", url)
        get_settings.cache_clear()
        reset_engines()
        try:
            create_schema()
            began = time.monotonic()
            queued = queue_messages(MESSAGES)
            print(f"queued {MESSAGES} messages in {time.monotonic() - began:.1f} s")
            assert len(queued) == MESSAGES

            env = {**os.environ, "CASCADE_OUTBOX_BATCH_SIZE": str(BATCH), "PREFECT_API_URL": PREFECT_API_URL.value()}
            logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
            started = time.monotonic()
            workers = []
            for log in logs:
                with log.open("w") as output:
                    workers.append(subprocess.Popen([sys.executable, "-m", "cascade.cli", "deliver", "--as-of", "2024-04-05"],
                                                    cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT))  # fmt: skip
            codes = [worker.wait(timeout=600) for worker in workers]
            elapsed = time.monotonic() - started
            outputs = [log.read_text() for log in logs]
            assert codes == [0] * WORKERS, "\n".join(o[-3000:] for o in outputs)

            tallies = [re.search(r"Emails sent (\d+), retrying (\d+), failed (\d+)", o) for o in outputs]
            assert all(tallies), outputs
            sent = [int(t[1]) for t in tallies if t]
            assert all(t.groups()[1:] == ("0", "0") for t in tallies if t)
            assert sum(sent) == MESSAGES
            assert sum(1 for n in sent if n > 0) >= 2, sent  # they really shared the work

            received = received_message_ids(smtp.maildir)
            assert len(received) == MESSAGES  # none twice
            assert set(received) == queued  # none lost
            with session_scope() as session:
                assert dict(session.execute(select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)).all()) == {EmailStatus.SENT: MESSAGES}
            print(f"{WORKERS} workers sent {sent} of {MESSAGES} messages in {elapsed:.1f} s")
        finally:
            reset_engines()  # close our connections before the database is dropped
            get_settings.cache_clear()
