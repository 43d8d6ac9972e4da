"""The daily tick over a simulated month: every step once, missed days caught up, digests once a day."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from prefect.client.schemas.objects import ArtifactCollection
from sqlalchemy import select, update

from cascade.settings import get_settings
from flows.daily_tick import daily_tick
from flows.record_submission import submit_report
from models.assignment import Assignment
from models.db import session_scope
from models.milestones import Milestone, MilestoneStatus
from models.outbox import EmailKind, EmailStatus, OutboundEmail
from models.report import Report
from models.unit import Unit
from tasks.followup import tick_report
from tasks.reporting.consolidation import artifact_key
from tasks.reporting.queries import plan_status, status_summary
from tests.flows.helpers import by_subject, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRETARIAT = "vanphong@sxd.example.gov.vn"
MISSED = {date(2024, 10, 27) + timedelta(days=i) for i in range(5)}  # Sun 27/10 … Thu 31/10: the machine was off


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture()
def month(cascaded, smtp_server, monkeypatch):  # type: ignore[no-untyped-def]
    """The department's plan (due Wed 30/10/2024) ticked every day from 15/10 to 15/11 except 27–31/10.

    U1 reports on 24/10, U2 on 02/11 (late), U3 and U4 never; U3's head has an address, U4's not.
    """
    monkeypatch.setenv("CASCADE_SECRETARIAT_EMAIL", SECRETARIAT)
    get_settings.cache_clear()
    with session_scope() as session:
        session.execute(update(Unit).where(Unit.code == "U3").values(head_email="truongphong.u3@sxd.example.gov.vn"))
    from tests.flows.helpers import submission

    notices = len(smtp_server.messages())
    results = {}
    for day in _days(date(2024, 10, 15), date(2024, 11, 15)):
        if day == date(2024, 10, 24):
            submit_report(submission(cascaded.plan, "U1", nha_o_xa_hoi=100), day)
        if day == date(2024, 11, 2):
            submit_report(submission(cascaded.plan, "U2", nha_o_xa_hoi=50), day)
        if day not in MISSED:
            results[day] = daily_tick(day)
    return results, smtp_server.messages()[notices:]


def _to(message) -> str:  # type: ignore[no-untyped-def]
    return message["To"].addresses[0].addr_spec


def test_a_month_of_daily_ticks_with_missed_days(month, cascaded, smtp_server, monkeypatch) -> None:
    """One simulated month (ticking it is the slow part), checked four ways below."""
    results, messages = month
    _every_reminder_and_escalation_exactly_once(messages)
    _each_milestone_ran_once_and_the_gap_was_caught_up(results)
    _the_unit_state_table_is_counted_by_the_database(results, cascaded, monkeypatch)  # before the reruns publish theirs
    _a_rerun_of_any_day_sends_nothing_again(smtp_server)


def _every_reminder_and_escalation_exactly_once(messages) -> None:  # type: ignore[no-untyped-def]
    reminders = by_subject(messages, "Nhắc hạn")
    overdue = by_subject(messages, "Quá hạn báo cáo")
    digests = [m for m in messages if "quá hạn" in m["Subject"] and m["Subject"].startswith(("Đơn vị chưa nộp", "Tổng hợp đơn vị"))]

    # Each unit got each step it was due at most once: no (recipient, subject kind, step) twice.
    sent = Counter((_to(m), m["Subject"]) for m in messages)
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]

    # before-7 (Wed 23/10) to all four; before-3 (Sun 27/10, so Fri 25/10) to the three that had not reported.
    by_day = Counter((m["Subject"].split(":")[0], date.fromisoformat(m["Date"].datetime.date().isoformat())) for m in reminders + overdue)
    week_before = [m for m in reminders if "còn 7 ngày" in m["Subject"]]
    assert sorted(_to(m) for m in week_before) == [f"u{i}@sxd.example.gov.vn" for i in range(1, 5)]
    three_days = [m for m in reminders if "còn 5 ngày" in m["Subject"]]
    assert sorted(_to(m) for m in three_days) == [f"u{i}@sxd.example.gov.vn" for i in range(2, 5)]
    assert {m["Date"].datetime.date() for m in three_days} == {date(2024, 10, 25)}
    # before-1 (29/10) fell in the gap and was overtaken by overdue-1 (31/10): only overdue-1 went, on Fri 01/11.
    assert not [m for m in reminders if "còn 1 ngày" in m["Subject"] or "hôm nay" in m["Subject"]]
    first_overdue = [m for m in overdue if m["Date"].datetime.date() == date(2024, 11, 1)]
    assert sorted(_to(m) for m in first_overdue) == [f"u{i}@sxd.example.gov.vn" for i in range(2, 5)]
    # overdue-7 (Wed 06/11) to the two still missing; U2 reported on 02/11.
    week_overdue = [m for m in overdue if m["Date"].datetime.date() == date(2024, 11, 6)]
    assert sorted(_to(m) for m in week_overdue) == ["u3@sxd.example.gov.vn", "u4@sxd.example.gov.vn"]
    assert len(overdue) == 5 and len(reminders) == 7, by_day

    # Escalation after 5 days (Mon 04/11): one digest to U3's head, one to the secretariat listing U3 and U4; repeated
    # a week later (Mon 11/11, escalate_repeat_days) for the two still missing, again one digest a recipient that day.
    assert sorted(_to(m) for m in digests) == ["truongphong.u3@sxd.example.gov.vn"] * 2 + [SECRETARIAT] * 2
    assert Counter(m["Date"].datetime.date() for m in digests) == {date(2024, 11, 4): 2, date(2024, 11, 11): 2}
    secretariat = next(m for m in digests if _to(m) == SECRETARIAT and m["Date"].datetime.date() == date(2024, 11, 4))
    body = text_part(secretariat)
    with session_scope() as session:
        names = dict(session.execute(select(Unit.code, Unit.name)).all())
    assert names["U3"] in body and names["U4"] in body and names["U2"] not in body
    assert body.count("quá hạn 5 ngày") == 2 and "chưa có địa chỉ thư của thủ trưởng" in body
    head = next(m for m in digests if _to(m) != SECRETARIAT and m["Date"].datetime.date() == date(2024, 11, 4))
    assert text_part(head).count("quá hạn 5 ngày") == 1

    # No reminder or digest on a weekend or during the gap (U2's receipt on Saturday 02/11 is an answer, not a step).
    steps = reminders + overdue + digests
    assert not [m for m in steps if m["Date"].datetime.date().weekday() >= 5 or m["Date"].datetime.date() in MISSED]
    with session_scope() as session:
        assert not session.scalars(select(OutboundEmail).where(OutboundEmail.status != EmailStatus.SENT)).all()
        escalated = session.execute(select(Assignment.escalated_on, Assignment.escalations).where(Assignment.escalated_on.is_not(None))).all()
        assert sorted(tuple(row) for row in escalated) == [(date(2024, 11, 11), 2)] * 2


def _each_milestone_ran_once_and_the_gap_was_caught_up(results) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        rows = {m.step: m for m in session.scalars(select(Milestone))}
        reports = session.scalars(select(Report)).all()
    assert {step: (m.status, m.day, m.done_on) for step, m in rows.items()} == {
        "before-7": (MilestoneStatus.DONE, date(2024, 10, 23), date(2024, 10, 23)),
        "before-3": (MilestoneStatus.DONE, date(2024, 10, 25), date(2024, 10, 25)),
        "before-1": (MilestoneStatus.SKIPPED, date(2024, 10, 29), date(2024, 11, 1)),
        "due": (MilestoneStatus.DONE, date(2024, 10, 30), date(2024, 11, 1)),
        "overdue-1": (MilestoneStatus.DONE, date(2024, 10, 31), date(2024, 11, 1)),
        "escalate-5": (MilestoneStatus.DONE, date(2024, 11, 4), date(2024, 11, 4)),
        "escalate-12": (MilestoneStatus.DONE, date(2024, 11, 11), date(2024, 11, 11)),
        "escalate-19": (MilestoneStatus.PENDING, date(2024, 11, 18), None),
        "overdue-7": (MilestoneStatus.DONE, date(2024, 11, 6), date(2024, 11, 6)),
        "consolidate": (MilestoneStatus.DONE, date(2024, 10, 31), date(2024, 11, 1)),
    }
    assert rows["due"].outcome == "1/4 đơn vị đã nộp đúng hạn"
    assert rows["before-1"].outcome.startswith("Bỏ qua: bước overdue-1")
    assert len(reports) == 1 and reports[0].as_of == date(2024, 11, 1)
    caught_up = results[date(2024, 11, 1)]
    assert (caught_up.reminders, caught_up.skipped, caught_up.consolidated, caught_up.deadlines) == (3, 1, 1, 1)
    assert sum(r.escalation_digests for r in results.values()) == 4


def _a_rerun_of_any_day_sends_nothing_again(smtp_server) -> None:  # type: ignore[no-untyped-def]
    before = len(smtp_server.messages())
    for day in (date(2024, 10, 23), date(2024, 11, 1), date(2024, 11, 4), date(2024, 11, 6), date(2024, 11, 11)):
        result = daily_tick(day)
        assert (result.reminders, result.escalation_digests, result.consolidated, result.delivery.sent) == (0, 0, 0, 0)
    assert len(smtp_server.messages()) == before
    with session_scope() as session:
        kinds = Counter(session.scalars(select(OutboundEmail.kind)))
    assert kinds[EmailKind.ESCALATION] == 4


def _the_unit_state_table_is_counted_by_the_database(results, cascaded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The unit-state table of the last tick (15/11): U1 on time, U2 late, U3 and U4 overdue; its counts come
    from the database and agree with the rows of `cascade status` on every day; a long table lists only the
    first units still awaited and says so."""
    [table] = _latest(f"unit-state-{artifact_key(cascaded.plan)}")
    rows = json.loads(str(table.data))
    assert Counter(row["Trạng thái"] for row in rows) == {"Đã nộp đúng hạn": 1, "Nộp muộn": 1, "Quá hạn, chưa nộp": 2}
    assert "đã nộp đúng hạn 1, nộp muộn 1, quá hạn, chưa nộp 2" in str(table.description) and "chỉ liệt kê" not in str(table.description)

    for day in (date(2024, 10, 20), date(2024, 10, 24), date(2024, 11, 1), date(2024, 11, 15)):
        _, listed = plan_status(cascaded.plan, day, all_levels=True)
        summary = status_summary(cascaded.plan, day, at_most=10)
        assert summary.counts == Counter(row.state for row in listed) and summary.rows == listed, day

    summary = status_summary(cascaded.plan, date(2024, 11, 15), at_most=1)
    assert summary.counts == {"on_time": 1, "late": 1, "overdue": 2}
    assert summary.rows == [row for row in plan_status(cascaded.plan, date(2024, 11, 15), all_levels=True)[1] if row.state == "overdue"][:1]

    monkeypatch.setattr(tick_report, "MAX_TABLE_ROWS", 1)
    tick_report.publish_tick_artifacts(results[date(2024, 11, 15)], date(2024, 11, 15))  # a task run of its own
    [table] = _latest(f"unit-state-{artifact_key(cascaded.plan)}")
    assert [row["Đơn vị"] for row in json.loads(str(table.data))] == [summary.rows[0].unit_name]
    assert "(chỉ liệt kê 1 đơn vị chưa nộp)" in str(table.description)


def _latest(key: str) -> list[ArtifactCollection]:
    """The latest version of the artifact with this key, asked for by its key (the server holds the other tests' too)."""
    with get_client(sync_client=True) as client:
        return client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])))
