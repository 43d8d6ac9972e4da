"""Repeated escalation: units still not reporting are escalated again every `escalate_repeat_days` after the first
escalation, in one digest per recipient per day, until they report or the secretariat closes the duty."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update
from typer.testing import CliRunner

from cascade import clock
from cascade.calendar import WorkingCalendar
from cascade.cli.main import app
from cascade.settings import get_settings
from flows.amend_plan import amend_plan
from flows.cascade_plan import cascade_plan
from flows.daily_tick import daily_tick
from flows.record_submission import submit_report
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.db import session_scope
from models.milestones import Milestone, MilestoneKind, MilestoneStatus, escalation_spec, is_repeat, next_escalation
from models.outbox import EmailKind, OutboundEmail
from models.plan import DutyKind, Plan, PlanStatus, ReportDuty
from models.reminders import stale_reason
from models.unit import Unit
from tasks.followup.milestone_calendar import plan_calendar
from tasks.followup.reminders import still_awaited
from tasks.intake.access import close_duty
from tasks.plans.exports import plan_document
from tests.fixtures.builders import Department
from tests.flows.helpers import html_part, submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRETARIAT = "vanphong@sxd.example.gov.vn"
HEADS = {"U2": "truongphong.u2@sxd.example.gov.vn", "U3": "truongphong.u3@sxd.example.gov.vn"}  # U1 and U4 have no head's address
ANNUAL = "Báo cáo kết quả công tác dân vận chính quyền năm 2024"  # bao_cao_nam, due Wed 30/10/2024
QUARTER = "Báo cáo quý IV"  # bao_cao_quy, due Wed 06/11/2024: its first escalation falls on the annual one's first repeat


def _digests(messages) -> list:  # type: ignore[no-untyped-def]
    return [m for m in messages if str(m["Subject"]).startswith(("Đơn vị chưa nộp", "Tổng hợp đơn vị"))]


def _to(message) -> str:  # type: ignore[no-untyped-def]
    return message["To"].addresses[0].addr_spec


def _day(message) -> date:  # type: ignore[no-untyped-def]
    return message["Date"].datetime.date()


def _escalations() -> dict[str, tuple[date, MilestoneStatus, str | None]]:
    """'duty code/step' → (day, status, outcome) of every escalation milestone."""
    with session_scope() as session:
        rows = session.execute(select(Milestone, ReportDuty.code).join(ReportDuty).where(Milestone.kind == MilestoneKind.ESCALATION)).all()
        return {f"{code}/{m.step}": (m.day, m.status, m.outcome) for m, code in rows}


@pytest.fixture()
def department(department: Department, smtp_server, monkeypatch) -> Department:  # type: ignore[no-untyped-def]
    """The seeded department with a secretariat, two heads' addresses and a second duty (the quarter's report, due
    06/11/2024); the annual report's overdue steps are 1 and 21 days (overdue-21 falls after the duty is closed)."""
    monkeypatch.setenv("CASCADE_SECRETARIAT_EMAIL", SECRETARIAT)
    get_settings.cache_clear()
    with session_scope() as session:
        for code, address in HEADS.items():
            session.execute(update(Unit).where(Unit.code == code).values(head_email=address))
        plan = session.scalars(select(Plan).where(Plan.key == department.plan)).one()
        annual = plan.duties[0]
        annual.reminder_days, annual.overdue_days = [3], [1, 21]
        plan.duties.append(
            ReportDuty(code="bao_cao_quy", kind=DutyKind.QUARTERLY, title=QUARTER, due_on=date(2024, 11, 6), reminder_days=[3], overdue_days=[1],
                       sections=annual.sections)
        )  # fmt: skip
    return department


@pytest.fixture()
def cascaded(department: Department) -> Department:
    """That plan cascaded on 05/04/2024: four units, each with both duties."""
    cascade_plan(department.plan, date(2024, 4, 5))
    return department


def test_repeats_until_the_unit_reports_or_the_duty_closes(cascaded: Department, smtp_server) -> None:
    before = len(smtp_server.messages())
    submit_report(submission(cascaded.plan, "U1", nha_o_xa_hoi=100), date(2024, 10, 24))
    daily_tick(date(2024, 11, 4))  # the annual report's first escalation: U2, U3, U4
    daily_tick(date(2024, 11, 11))  # its first repeat, and the quarter's first escalation: one digest each
    submit_report(submission(cascaded.plan, "U3", nha_o_xa_hoi=50), date(2024, 11, 12))
    daily_tick(date(2024, 11, 18))  # the annual report's second repeat leaves U3 out
    closed = close_duty(cascaded.plan, "bao_cao_nam", date(2024, 11, 19))
    daily_tick(date(2024, 11, 25))  # the annual report's third repeat (and overdue-21, 20/11) do not go
    reminded_now = send_reminders(date(2024, 11, 25), plan=cascaded.plan, duty="bao_cao_nam", now=True)[0]
    messages = smtp_server.messages()[before:]

    # One digest per recipient per day, on the escalation days only.
    digests = _digests(messages)
    per_day = Counter((_to(m), _day(m)) for m in digests)
    assert max(per_day.values()) == 1, per_day
    assert sorted({day for _, day in per_day}) == [date(2024, 11, 4), date(2024, 11, 11), date(2024, 11, 18), date(2024, 11, 25)]
    assert {to for to, day in per_day if day == date(2024, 11, 11)} == {SECRETARIAT, *HEADS.values()}

    with session_scope() as session:
        names = dict(session.execute(select(Unit.code, Unit.name)).all())

    def lines(to: str, day: date, duty: str) -> list[str]:
        [digest] = [m for m in digests if _to(m) == to and _day(m) == day]
        return [line for line in text_part(digest).splitlines() if f"– {duty} (" in line]

    first = lines(SECRETARIAT, date(2024, 11, 4), ANNUAL)
    assert len(first) == 3 and not [line for line in first if "nhắc lại" in line]
    assert not [line for line in first if names["U1"] + " –" in line]
    # 11/11: the annual report's repeat (the second time for each of the three) beside the quarter's first escalation.
    repeated = lines(SECRETARIAT, date(2024, 11, 11), ANNUAL)
    assert len(repeated) == 3 and all("quá hạn 12 ngày; nhắc lại lần 2, lần báo trước ngày 04/11/2024" in line for line in repeated)
    quarter = lines(SECRETARIAT, date(2024, 11, 11), QUARTER)
    assert len(quarter) == 4 and all("quá hạn 5 ngày" in line and "nhắc lại" not in line for line in quarter)
    [secretariat] = [m for m in digests if _to(m) == SECRETARIAT and _day(m) == date(2024, 11, 11)]
    assert "Trong đó 3 báo cáo đã được báo trước đây" in text_part(secretariat)
    assert html_part(secretariat).count("nhắc lại lần 2") == 3 and "báo lại sau mỗi 7 ngày" in html_part(secretariat)
    head_u2 = lines(HEADS["U2"], date(2024, 11, 11), ANNUAL) + lines(HEADS["U2"], date(2024, 11, 11), QUARTER)
    assert len(head_u2) == 2 and "nhắc lại lần 2" in head_u2[0] + head_u2[1]
    # 18/11: U3 reported on 12/11 and is left out; the others are at their third time.
    third = lines(SECRETARIAT, date(2024, 11, 18), ANNUAL)
    assert len(third) == 2 and all("nhắc lại lần 3, lần báo trước ngày 11/11/2024" in line for line in third)
    assert not [line for line in third if names["U3"] in line]
    assert not lines(HEADS["U3"], date(2024, 11, 18), ANNUAL) and len(lines(HEADS["U3"], date(2024, 11, 18), QUARTER)) == 1
    # 25/11, after the annual report was closed: only the quarter's repeat; no overdue notice or reminder of the annual one.
    assert not lines(SECRETARIAT, date(2024, 11, 25), ANNUAL) and len(lines(SECRETARIAT, date(2024, 11, 25), QUARTER)) == 4
    with session_scope() as session:
        late = session.scalars(
            select(OutboundEmail.kind).join(Assignment, Assignment.id == OutboundEmail.assignment_id)
            .where(Assignment.duty.has(code="bao_cao_nam"), OutboundEmail.kind.in_([EmailKind.REMINDER, EmailKind.OVERDUE]),
                   OutboundEmail.created_at >= clock.moment(date(2024, 11, 19)))
        ).all()  # fmt: skip
        awaited = session.scalars(select(Assignment.id).join(ReportDuty).where(ReportDuty.code == "bao_cao_nam", still_awaited())).all()
    assert late == [] and reminded_now == 0 and awaited == []  # U2 and U4 never reported, but the duty is closed

    # The calendar: each repeat added when the one before ran, the annual one's last skipped when it closed.
    assert closed.below == () and not closed.already and closed.skipped == 2  # escalate-26 and overdue-21
    escalations = _escalations()
    assert {key: (day, status) for key, (day, status, _) in escalations.items()} == {
        "bao_cao_nam/escalate-5": (date(2024, 11, 4), MilestoneStatus.DONE),
        "bao_cao_nam/escalate-12": (date(2024, 11, 11), MilestoneStatus.DONE),
        "bao_cao_nam/escalate-19": (date(2024, 11, 18), MilestoneStatus.DONE),
        "bao_cao_nam/escalate-26": (date(2024, 11, 25), MilestoneStatus.SKIPPED),
        "bao_cao_quy/escalate-5": (date(2024, 11, 11), MilestoneStatus.DONE),
        "bao_cao_quy/escalate-12": (date(2024, 11, 18), MilestoneStatus.DONE),
        "bao_cao_quy/escalate-19": (date(2024, 11, 25), MilestoneStatus.DONE),
        "bao_cao_quy/escalate-26": (date(2024, 12, 2), MilestoneStatus.PENDING),
    }
    assert escalations["bao_cao_nam/escalate-5"][2] == "3 đơn vị quá hạn được báo thủ trưởng và văn phòng; báo lại ngày 11/11/2024 nếu vẫn chưa nộp"
    assert escalations["bao_cao_nam/escalate-26"][2] == "Bỏ qua: báo cáo đã dừng theo dõi (Đóng ngày 19/11/2024)"
    with session_scope() as session:
        annual = session.scalars(select(ReportDuty).where(ReportDuty.code == "bao_cao_nam")).one()
        assert (annual.closed_on, annual.closed_note) == (date(2024, 11, 19), "Đóng ngày 19/11/2024")
        overdue = session.scalars(select(Milestone).where(Milestone.duty_id == annual.id, Milestone.step == "overdue-21")).one()
        assert overdue.status == MilestoneStatus.SKIPPED
        counts = dict(session.execute(select(Unit.code, Assignment.escalations).join(Assignment.unit).where(Assignment.duty_id == annual.id)).tuples().all())
    assert counts == {"U1": 0, "U2": 3, "U3": 2, "U4": 3}


def test_repeat_days_0_escalates_once(department: Department, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_ESCALATE_REPEAT_DAYS", "0")
    get_settings.cache_clear()
    cascade_plan(department.plan, date(2024, 4, 5))
    before = len(smtp_server.messages())
    daily_tick(date(2024, 11, 4))
    digests = _digests(smtp_server.messages()[before:])
    assert sorted(_to(m) for m in digests) == sorted([SECRETARIAT, *HEADS.values()])
    assert not [m for m in digests if "nhắc lại" in text_part(m)] and all("chỉ được báo một lần" in text_part(m) for m in digests)
    # No repeat on the calendar: the tick has nothing more to escalate for the annual report.
    escalations = _escalations()
    assert {key: status for key, (_, status, _) in escalations.items()} == {
        "bao_cao_nam/escalate-5": MilestoneStatus.DONE,
        "bao_cao_quy/escalate-5": MilestoneStatus.PENDING,
    }
    assert escalations["bao_cao_nam/escalate-5"][2] == "4 đơn vị quá hạn được báo thủ trưởng và văn phòng"
    with session_scope() as session:
        assert set(session.scalars(select(Assignment.escalations).join(ReportDuty).where(ReportDuty.code == "bao_cao_nam"))) == {1}


def test_an_amendment_moving_the_deadline_re_dates_the_pending_repeat(cascaded: Department, tmp_path: Path) -> None:
    daily_tick(date(2024, 11, 4))
    assert _escalations()["bao_cao_nam/escalate-12"][:2] == (date(2024, 11, 11), MilestoneStatus.PENDING)
    # An amendment issued on 05/11 moves the annual report from 30/10 to 06/11/2024. The escalation done stays in the
    # history; the series starts again from the new deadline (escalate-5 on 11/11) and the pending repeat follows it:
    # 06/11 + 12 days, Monday 18/11.
    with session_scope() as session:
        document = plan_document(session, session.scalars(select(Plan).where(Plan.key == cascaded.plan)).one())
    next(d for d in document["plan"]["duties"] if d["code"] == "bao_cao_nam")["due_on"] = "2024-11-06"
    amendment = {"number": "80", "issued_on": "2024-11-05", "reason": "Căn cứ đề nghị của các phòng về thời hạn báo cáo năm;"}
    path = tmp_path / "sua-doi-80.yaml"
    path.write_text(yaml.safe_dump({"amendment": amendment, **document}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    amend_plan(cascaded.plan, str(path), date(2024, 11, 5))
    plan_calendar(cascaded.plan)
    escalations = _escalations()
    assert {key: value[:2] for key, value in escalations.items() if key.startswith("bao_cao_nam/")} == {
        "bao_cao_nam/escalate-5@v1": (date(2024, 11, 4), MilestoneStatus.DONE),
        "bao_cao_nam/escalate-5": (date(2024, 11, 11), MilestoneStatus.PENDING),
        "bao_cao_nam/escalate-12": (date(2024, 11, 18), MilestoneStatus.PENDING),
    }
    with session_scope() as session:
        repeat = session.scalars(select(Milestone).where(Milestone.step == "escalate-12", Milestone.duty.has(code="bao_cao_nam"))).one()
        assert repeat.due_on == date(2024, 11, 6)


def test_plan_close_duty_from_the_command_line_in_its_own_process(department: Department) -> None:
    """`cascade plan close PLAN --duty CODE` closes the duty and those answering it below, drafts included."""
    cascaded = department
    with session_scope() as session:
        parent = session.scalars(select(Plan).where(Plan.key == cascaded.plan)).one()
        source = parent.duties[0]
        u1 = session.scalars(select(Unit).where(Unit.code == "U1")).one()
        child = Plan(key=f"{parent.key}--u1", symbol="KH-U1", issuer=u1, issued_on=date(2024, 4, 10), place="Biên Hòa", title=parent.title, year=2024,
                     parent_plan_id=parent.id, signer_title="TRƯỞNG PHÒNG", signer_name="Nguyễn Văn A", status=PlanStatus.DRAFT, level=1)  # fmt: skip
        child.duties = [ReportDuty(code="bao_cao_nam", kind=DutyKind.ANNUAL, title=source.title, due_on=date(2024, 10, 25), source_duty_id=source.id)]
        session.add(child)
    env = {**os.environ, "CASCADE_COMMAND_SERVER": "off", "COLUMNS": "200"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cascade"), "plan", "close", "74/KH-SXD", "--duty", "bao_cao_nam", "--as-of", "19/11/2024"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Duty bao_cao_nam of 74/KH-SXD closed on 19/11/2024; duties answering it closed now: 1; pending milestones skipped: " in done.stdout
    with session_scope() as session:
        duties = session.execute(select(ReportDuty.code, ReportDuty.closed_on, ReportDuty.closed_note, Plan.key).join(Plan)).all()
        pending = session.scalars(select(Milestone.step).join(ReportDuty).where(ReportDuty.code == "bao_cao_nam", Milestone.status == MilestoneStatus.PENDING))
        assert not list(pending)
        plan_status = session.scalar(select(Plan.status).where(Plan.key == cascaded.plan))
    closed = {(key, code): (on, note) for code, on, note, key in duties}
    assert closed == {
        (cascaded.plan, "bao_cao_nam"): (date(2024, 11, 19), "Đóng ngày 19/11/2024"),
        (f"{cascaded.plan}--u1", "bao_cao_nam"): (date(2024, 11, 19), "Đóng ngày 19/11/2024"),
        (cascaded.plan, "bao_cao_quy"): (None, None),
    }
    assert plan_status == PlanStatus.ISSUED  # the plan's cycle goes on: only the duty ended

    again = CliRunner().invoke(app, ["plan", "close", "74/KH-SXD", "--duty", "bao_cao_nam", "--as-of", "20/11/2024"])
    assert again.exit_code == 0 and "already closed on 19/11/2024" in again.output
    unknown = CliRunner().invoke(app, ["plan", "close", "74/KH-SXD", "--duty", "khong_co"])
    assert unknown.exit_code == 1 and "has no duty 'khong_co'" in unknown.output


def test_the_next_repeat_is_on_the_series_after_the_day_it_ran_and_a_missed_one_is_not_stale() -> None:
    """The rule behind the calendar (no database): escalate-12, -19, … on working days; after a late run the next one
    is the first of the series dated after that run; a repeat is never skipped as too late, a first escalation is."""
    calendar = WorkingCalendar()
    due = date(2024, 10, 30)
    assert next_escalation(due, 5, date(2024, 11, 4), calendar, 5, 7) == escalation_spec(due, 12, calendar)
    assert escalation_spec(due, 12, calendar).day == date(2024, 11, 11)
    # escalate-12 ran late on Wed 20/11 (the tick was off): escalate-19 (18/11) has passed, so escalate-26 (25/11).
    assert next_escalation(due, 12, date(2024, 11, 20), calendar, 5, 7) == escalation_spec(due, 26, calendar)
    assert escalation_spec(date(2024, 11, 4), 12, calendar).day == date(2024, 11, 18)  # Saturday 16/11 → Monday
    assert next_escalation(due, 5, date(2024, 11, 4), calendar, 5, 0) is None
    assert next_escalation(due, 5, date(2024, 11, 4), calendar, 0, 7) is None
    assert is_repeat("escalate-12", 5) and not is_repeat("escalate-5", 5)
    long_after = date(2024, 12, 20)
    assert stale_reason(True, date(2024, 11, 11), due, long_after, calendar, repeat=True) is None
    assert stale_reason(True, date(2024, 11, 4), due, long_after, calendar) == "Bỏ qua: đã quá ngày gửi 04/11/2024 hơn 3 ngày làm việc"
