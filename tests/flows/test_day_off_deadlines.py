"""Deadlines and reminders on real calendars: a deadline on a public holiday, reminders never on a day off and
the same from `cascade remind` as from the cycle's calendar, a plan cascaded late, overdue notices that stop.

The 2024 days off around 30/04: Saturday 27/04 to Wednesday 01/05 (Monday 29/04 swapped for Saturday 04/05).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from docx import Document
from sqlalchemy import select

from flows.cascade_plan import cascade_plan
from flows.daily_tick import daily_tick
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.db import session_scope
from models.milestones import Milestone, MilestoneKind, MilestoneStatus
from models.outbox import EmailKind, OutboundEmail
from models.plan import Plan, ReportDuty
from models.unit import Unit
from tasks.followup.milestone_calendar import plan_calendar
from tasks.plans.exports import plan_document
from tasks.plans.imports import import_plan, import_plan_file, import_units
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.flows.helpers import by_subject, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

HOLIDAY = "Ngày Giải phóng miền Nam, thống nhất đất nước"
DUE_ON_HOLIDAY = date(2024, 4, 30)


def plan_file(path: Path, on_day_off: str | None = None) -> Path:
    """A plan of ROOT with one duty due 30/04/2024 ("trong tháng 4/2024"), with `on_day_off` when given."""
    duty: dict[str, Any] = {
        "code": "bao_cao_thang4",
        "kind": "ad_hoc",
        "title": "Báo cáo kết quả thực hiện trong tháng 4/2024",
        "cutoff_on": "2024-04-30",
        "due_on": "2024-04-30",
        "sections": [{"code": "ket_qua", "title": "Kết quả thực hiện"}],
    }
    if on_day_off:
        duty["on_day_off"] = on_day_off
    data = {
        "plan": {
            "number": "12", "symbol": "KH-SXD", "issuer": "ROOT", "issued_on": "2024-04-02", "place": "Biên Hòa",
            "title": "Thực hiện công tác cải cách hành chính năm 2024", "signer": {"title": "GIÁM ĐỐC", "name": "Hồ Văn Hà"},
            "duties": [duty],
        }
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def duty_dates(key: str) -> tuple[date, date | None, str]:
    with session_scope() as session:
        duty = session.scalars(select(ReportDuty).join(Plan).where(Plan.key == key)).one()
        return duty.due_on, duty.cutoff_on, str(duty.on_day_off)


def outbox_keys(kind: EmailKind) -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(OutboundEmail.idempotency_key).where(OutboundEmail.kind == kind)))


# ---------------------------------------------------------------------------------------------
# A deadline on a day off
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected", "where"),
    [
        (None, date(2024, 4, 26), "moved to 26/04/2024 (Thứ Sáu), the working day before (on_day_off: before)"),
        ("after", date(2024, 5, 2), "moved to 02/05/2024 (Thứ Năm), the next working day (on_day_off: after)"),
        ("keep", DUE_ON_HOLIDAY, "kept on that day (on_day_off: keep)"),
    ],
)
def test_import_applies_the_duty_rule_to_a_deadline_on_a_holiday_with_a_warning(workspace, tmp_path, rule, expected, where) -> None:
    make_unit_tree(depth=2, width=2)
    path = plan_file(tmp_path / "plan.yaml", rule)
    result = import_plan_file(path)
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text.strip().startswith("due_on:"))
    assert result.warnings == (f"{path}:{line}: plan.duties[0].due_on: duty 'bao_cao_thang4' is due 30/04/2024, a day off ({HOLIDAY}): {where}",)
    due, cutoff, stored_rule = duty_dates(result.key)
    assert due == expected and stored_rule == (rule or "before")
    assert cutoff == min(DUE_ON_HOLIDAY, expected)  # no data cut-off after the deadline


def test_the_rule_round_trips_through_export_and_units_are_told_the_moved_date(workspace, smtp_server, tmp_path) -> None:
    make_unit_tree(depth=2, width=2)
    key = import_plan_file(plan_file(tmp_path / "plan.yaml")).key
    with session_scope() as session:
        exported = plan_document(session, session.scalars(select(Plan).where(Plan.key == key)).one())
    assert {"due_on": "2024-04-26", "on_day_off": "before"}.items() <= exported["plan"]["duties"][0].items()
    exported["plan"]["duties"][0]["on_day_off"] = "keep"
    again = tmp_path / "exported.yaml"
    again.write_text(yaml.safe_dump(exported, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert import_plan_file(again, replace=True).warnings == ()  # 26/04 is a working day: nothing to say
    assert duty_dates(key)[0::2] == (date(2024, 4, 26), "keep")

    result = cascade_plan(key, date(2024, 4, 5))
    assert result.assigned == 2 and result.warnings == ()
    notices = by_subject(smtp_server.messages(), "Giao nhiệm vụ")
    assert len(notices) == 2 and all("hạn 26/04/2024" in m["Subject"] for m in notices)
    assert "Hạn gửi báo cáo: trước ngày 26/04/2024" in text_part(notices[0])
    files = {part.get_filename(): part.get_content() for part in notices[0].iter_attachments()}
    for prefix in ("Công văn", "Kế hoạch"):  # the letter and the plan
        document = next(content for name, content in files.items() if name.startswith(prefix) and name.endswith(".docx"))
        text = "\n".join(p.text for p in Document(io.BytesIO(document)).paragraphs)
        assert "26/04/2024" in text and "30/04/2024" not in text, prefix
    form = openpyxl.load_workbook(io.BytesIO(next(c for n, c in files.items() if n.endswith(".xlsx"))))
    assert any("26/04/2024" in str(cell.value) for row in form.active.iter_rows() for cell in row if cell.value)
    _, rows = plan_calendar(key)
    assert [row.day for row in rows if row.kind == MilestoneKind.DUE] == [date(2024, 4, 26)]


def test_the_cascade_applies_the_rule_to_a_plan_that_came_without_it(department, smtp_server) -> None:
    # A plan stored with its deadline on the holiday (imported before the rule, or a day off declared since).
    with session_scope() as session:
        session.scalars(select(ReportDuty)).one().due_on = DUE_ON_HOLIDAY
    result = cascade_plan(department.plan, date(2024, 4, 5))
    assert result.warnings == (
        f"74/KH-SXD (74-kh-sxd-2024): duty 'bao_cao_nam' is due 30/04/2024, a day off ({HOLIDAY}): "
        "moved to 26/04/2024 (Thứ Sáu), the working day before (on_day_off: before)",
    )
    with session_scope() as session:
        assert set(session.scalars(select(Assignment.due_on))) == {date(2024, 4, 26)}
    assert all("hạn 26/04/2024" in m["Subject"] for m in by_subject(smtp_server.messages(), "Giao nhiệm vụ"))


# ---------------------------------------------------------------------------------------------
# Reminders: what the calendar lists, never on a day off
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def kept_on_holiday(department, smtp_server):  # type: ignore[no-untyped-def]
    """The department's plan due on the holiday itself (on_day_off: keep), cascaded on 05/04/2024."""
    with session_scope() as session:
        duty = session.scalars(select(ReportDuty)).one()
        duty.due_on, duty.on_day_off = DUE_ON_HOLIDAY, "keep"
    result = cascade_plan(department.plan, date(2024, 4, 5))
    assert "kept on that day (on_day_off: keep)" in result.warnings[0]
    return department


def listed_on(plan: str, day: date) -> list[str]:
    return [row.step for row in plan_calendar(plan)[1] if row.day == day and row.kind in (MilestoneKind.REMINDER, MilestoneKind.OVERDUE)]


def sent_steps(kind: EmailKind = EmailKind.REMINDER) -> set[str]:
    return {key.rsplit(":", 1)[1] for key in outbox_keys(kind)}


def test_remind_sends_on_each_day_what_the_calendar_lists_and_nothing_on_a_day_off(kept_on_holiday) -> None:
    plan = kept_on_holiday.plan
    assert listed_on(plan, date(2024, 4, 26)) == ["before-3", "before-1"]  # Saturday 27/04 and holiday 29/04 → Friday
    assert listed_on(plan, date(2024, 4, 29)) == []
    assert send_reminders(date(2024, 4, 23))[0] == 4 and sent_steps() == {"before-7"}
    assert send_reminders(date(2024, 4, 26))[0] == 4  # the latest of the two steps listed for the day
    assert sent_steps() == {"before-7", "before-1"}
    for day_off in (date(2024, 4, 27), date(2024, 4, 28), date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 1)):
        assert send_reminders(day_off)[0] == 0
    assert listed_on(plan, date(2024, 5, 2)) == ["overdue-1"]
    assert send_reminders(date(2024, 5, 2))[0] == 4 and sent_steps(EmailKind.OVERDUE) == {"overdue-1"}


def test_the_daily_tick_sends_the_same_steps_on_the_same_days(kept_on_holiday) -> None:
    for day in (date(2024, 4, 23), date(2024, 4, 26), date(2024, 4, 29)):
        daily_tick(day)
    keys = outbox_keys(EmailKind.REMINDER)
    assert len(keys) == 8 and sent_steps() == {"before-7", "before-1"}
    with session_scope() as session:
        rows = {m.step: (m.status, m.done_on) for m in session.scalars(select(Milestone).where(Milestone.kind == MilestoneKind.REMINDER))}
    assert rows["before-1"] == (MilestoneStatus.DONE, date(2024, 4, 26))
    assert rows["before-3"] == (MilestoneStatus.SKIPPED, date(2024, 4, 26))
    # `cascade remind` on the same days now finds every step already sent.
    assert [send_reminders(day)[0] for day in (date(2024, 4, 23), date(2024, 4, 26), date(2024, 4, 29))] == [0, 0, 0]


# ---------------------------------------------------------------------------------------------
# A plan cascaded late
# ---------------------------------------------------------------------------------------------


def test_a_plan_cascaded_late_gives_the_lowest_level_the_first_working_day_and_says_so(workspace, smtp_server) -> None:
    make_unit_tree(depth=3, width=2)
    key = make_plan(due_on=date(2024, 10, 30))
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        plan.cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}]}
    # Cascaded on Saturday 26/10: the wards' units would be due 23/10 (5 working days before 30/10), already past.
    result = cascade_plan(key, date(2024, 10, 26))
    with session_scope() as session:
        due = dict(session.execute(select(Unit.code, Assignment.due_on).join(Assignment, Assignment.unit_id == Unit.id)).all())
        back = set(session.scalars(select(ReportDuty.back_scheduled_on).join(Plan).where(Plan.parent_plan_id.is_not(None))))
    assert due == {"U1": date(2024, 10, 30), "U2": date(2024, 10, 30)} | {f"U{i}.{j}": date(2024, 10, 28) for i in (1, 2) for j in (1, 2)}
    assert back == {date(2024, 10, 23)}
    assert len(result.warnings) == 2 and "back-scheduled to 23/10/2024" in result.warnings[0] and "due 28/10/2024 (Thứ Hai)" in result.warnings[0]

    notices = by_subject(smtp_server.messages(), "Giao nhiệm vụ")
    note = "kế hoạch đến cấp này muộn, hạn tính lùi từ hạn của cấp trên (ngày 23/10/2024) đã qua nên hạn gửi báo cáo được chuyển sang ngày 28/10/2024"
    late = [m for m in notices if "." in m["To"].addresses[0].username]
    assert len(late) == 4 and all(note in text_part(m) and "hạn 28/10/2024" in m["Subject"] for m in late)
    assert not [m for m in notices if m not in late and "muộn" in text_part(m)]


# ---------------------------------------------------------------------------------------------
# Overdue notices that stop
# ---------------------------------------------------------------------------------------------


def test_overdue_steps_and_escalation_long_past_are_skipped_not_sent(cascaded, smtp_server) -> None:
    before = len(smtp_server.messages())
    # Nothing ran after the cascade until Monday 02/12/2024, a month after the deadline of 30/10.
    result = daily_tick(date(2024, 12, 2))
    new = smtp_server.messages()[before:]
    assert not [m for m in new if "quá hạn" in m["Subject"].lower() or "Nhắc hạn" in m["Subject"]]
    assert result.reminders == 0 and result.escalation_digests == 0
    with session_scope() as session:
        rows = {m.step: m for m in session.scalars(select(Milestone))}
    assert rows["overdue-7"].status == MilestoneStatus.SKIPPED
    assert rows["overdue-7"].outcome == "Bỏ qua: đã quá ngày gửi 06/11/2024 hơn 3 ngày làm việc"
    assert rows["escalate-5"].status == MilestoneStatus.SKIPPED
    assert rows["consolidate"].status == MilestoneStatus.DONE  # the report is still made
    assert send_reminders(date(2025, 6, 10))[0] == 0


TOWN = Path(__file__).resolve().parents[2] / "examples" / "town-2024"


def test_a_ward_that_issued_its_own_plan_is_no_longer_reminded_to_issue_it(workspace, smtp_server, tmp_path) -> None:
    import_units(TOWN / "units.yaml")
    parent = import_plan(TOWN / "plan.yaml")
    cascade_plan(parent, date(2024, 1, 31))  # four wards asked to issue their plans by 23/02/2024 (drafts wait)
    # Gia Lộc writes its own plan from its draft and imports it issued; the town's plan is not cascaded again.
    with session_scope() as session:
        data = plan_document(session, session.scalars(select(Plan).where(Plan.key == f"{parent}--tb.gialoc")).one())
    data["plan"] |= {"key": "1-kh-ubnd-2024-gialoc", "number": "1", "issued_on": "2024-02-15"}
    path = tmp_path / "gia-loc.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    import_plan(path)

    assert send_reminders(date(2024, 2, 16))[0] == 3  # before-5 (Sunday 18/02 → Friday 16/02): the three other wards
    assert send_reminders(date(2024, 2, 26))[0] == 3  # overdue-1, likewise
    reminded = {m["To"].addresses[0].addr_spec for m in smtp_server.messages() if m["Subject"].startswith(("Nhắc hạn", "Quá hạn"))}
    assert len(reminded) == 3 and not [a for a in reminded if "gialoc" in a]
