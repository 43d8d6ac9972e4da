"""The rule that dates a duty's milestones on working days."""

from datetime import date

from cascade.calendar import WorkingCalendar
from models.milestones import MilestoneKind, milestone_specs, milestone_title
from models.plan import DutyKind, ReportDuty


def duty(due_on: date, kind: DutyKind = DutyKind.ANNUAL) -> ReportDuty:
    return ReportDuty(code="bc", kind=kind, title="Báo cáo năm", due_on=due_on, reminder_days=[7, 3, 1], overdue_days=[1, 7])


def test_steps_move_off_days_off_reminders_earlier_the_rest_later() -> None:
    # Due Friday 31/01/2025, the week after Tết (25/01–02/02/2025 are days off).
    specs = {s.step: s for s in milestone_specs(duty(date(2025, 2, 7)), WorkingCalendar(), escalate_after_days=5)}
    assert specs["before-7"].day == date(2025, 1, 24)  # 31/01 is Tết: the working day before it
    assert specs["before-3"].day == date(2025, 2, 4)
    assert specs["due"].day == date(2025, 2, 7)
    assert specs["overdue-1"].day == date(2025, 2, 10)  # Saturday 08/02 → Monday
    assert specs["escalate-5"].day == date(2025, 2, 12)
    assert specs["consolidate"].day == date(2025, 2, 10)
    assert [s.rank for s in (specs["before-7"], specs["before-3"], specs["before-1"], specs["overdue-1"], specs["overdue-7"])] == [1, 2, 3, 4, 5]


def test_implementing_plans_are_not_consolidated_and_escalation_can_be_off() -> None:
    specs = milestone_specs(duty(date(2024, 4, 15), DutyKind.IMPLEMENTING_PLAN), WorkingCalendar(), escalate_after_days=0)
    kinds = {s.kind for s in specs}
    assert MilestoneKind.CONSOLIDATION not in kinds and MilestoneKind.ESCALATION not in kinds
    assert milestone_title(MilestoneKind.DUE, "due", DutyKind.IMPLEMENTING_PLAN) == "Hạn ban hành kế hoạch thực hiện"
    assert [s.day for s in specs] == sorted(s.day for s in specs)
