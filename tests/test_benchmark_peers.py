"""The yardsticks `make bench` measures the cascade against (benchmarks/peers/), run as scripts the way the
benchmark's reader would rerun them: the mail-merge script builds and sends a notice per row of a merge list,
and the bare delivery sends the messages of a Maildir again, both to a real SMTP sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from models.assignment import Assignment
from models.db import session_scope
from models.plan import Plan, ReportDuty
from models.unit import Unit
from sandbox.smtp_sink import read_maildir
from tasks.documents.forms import form_spec
from tasks.documents.word import notice_document_context, write_plan_document
from tests.fixtures.builders import Department
from tests.fixtures.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2024, 4, 5)


def merge_list(folder: Path) -> Path:
    """A merge list for the department's first two offices, written as the benchmark writes one."""
    rows = []
    with session_scope() as session:
        duty = session.scalars(select(ReportDuty)).one()
        plan_document = write_plan_document(session, session.scalars(select(Plan)).one())
        for code in ("U1", "U2"):
            unit = session.scalars(select(Unit).where(Unit.code == code)).one()
            assignment = Assignment(
                duty=duty, unit=unit, due_on=duty.due_on, token=f"token-{code}-0123456789abcdef", created_at=datetime(2024, 4, 5, tzinfo=UTC)
            )
            session.add(assignment)
            session.flush()
            spec = form_spec(session, assignment, as_of=AS_OF)
            rows.append({
                "to": list(unit.emails), "subject": f"Giao nhiệm vụ báo cáo {code}", "letter": notice_document_context(session, assignment, as_of=AS_OF),
                "form": {"cells": {"Chỉ tiêu": {"A7": f"Đơn vị báo cáo: {spec.unit.name}"}}, "indicators": [[i.metric, i.unit_of_measure, ""] for i in spec.indicators],
                         "sections": [s.title for s in spec.sections]},
            })  # fmt: skip
    path = folder / "merge.json"
    path.write_text(json.dumps({"plan_document": str(plan_document), "rows": rows}, default=str, ensure_ascii=False), encoding="utf-8")
    return path


def peer(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers" / script), *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_mail_merge_script_and_the_bare_delivery_send_what_they_say(tmp_path: Path, department: Department, smtp_server: SmtpServer) -> None:
    out = peer("mail_merge.py", str(merge_list(tmp_path)), "--port", str(smtp_server.port))
    assert out.startswith("2 messages in "), out
    merged = smtp_server.messages()
    assert sorted(str(m["To"]) for m in merged) == ["u1@sxd.example.gov.vn", "u2@sxd.example.gov.vn"]
    for message in merged:
        names = [part.get_filename() for part in message.iter_attachments()]
        assert len(names) == 3 and names[0].endswith(".docx") and names[2].endswith(".xlsx"), names
        assert "Kính gửi" in message.get_body(preferencelist=("plain",)).get_content()

    out = peer("bare_delivery.py", str(smtp_server.maildir), "--port", str(smtp_server.port))
    assert out.startswith("2 messages in "), out
    again = read_maildir(smtp_server.maildir)

    def seen(messages: list) -> list[tuple[str, str, int]]:  # type: ignore[type-arg]
        return sorted((str(m["To"]), str(m["Subject"]), len(m.get_payload())) for m in messages)

    assert len(again) == 4 and seen(again[2:]) == seen(merged)


@pytest.mark.usefixtures("prefect_harness")
def test_the_large_benchmark_runs_its_whole_cycle_at_a_tiny_size() -> None:
    """`make bench-large`'s script, as it runs each size: a process of its own on a tree of 19 units (2 → 4 → 12
    leaves) on SQLite; its own asserts check that the tick reminded the second plan's units both times, that
    every leaf was reminded and that the consolidation counted the half that reported. Its runs go to the test
    session's Prefect server, always: starting a temporary one of its own took from 9 to 150 s here, depending
    on whether an earlier test on the same worker had left PREFECT_API_URL set."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run([sys.executable, "benchmarks/bench_large.py", "--size", "tiny", "--database", "sqlite"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    phases = {label: (seconds, count) for label, seconds, count in figures["phases"]}
    assert figures["units"] == 19 and figures["tick_units"] == 6 and figures["peak_mib"] > 0
    ticks = [int(label.rsplit(", ", 1)[1].split()[0]) for label in phases if label.startswith("Daily tick, 6 reminders due, ")]
    assert phases["Add 108 assignments (SQL)"][1] == 108 and len(ticks) == 2 and ticks[1] == ticks[0] + 108  # 9 more duties × 12 leaves
    assert phases["Consolidate bottom-up (7 reports)"][1] == 19 and figures["tick_ratio"] > 0
