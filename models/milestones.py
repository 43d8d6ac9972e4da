"""The cycle's calendar: every dated step of a plan, stored with it, run once by the daily tick.

A duty's milestones are its deadline, its reminder and overdue steps, the escalation of units
still overdue, and its consolidation. `milestone_specs` is the pure rule that dates them; the
daily tick runs each pending milestone whose day has come, exactly once, and records the outcome.
An escalation that leaves units still awaited adds its repeat (`next_escalation`) to the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cascade.calendar import WorkingCalendar
from cascade.settings import get_settings
from models.base import Base
from models.plan import DutyKind, Plan, ReportDuty
from models.reminders import reminder_steps, step_day
from templates import message


class MilestoneKind(StrEnum):
    DUE = "due"  # the duty's deadline: the day is recorded with how many units reported
    REMINDER = "reminder"  # 'before-d': units that have not reported are reminded
    OVERDUE = "overdue"  # 'overdue-d': units that have not reported get an overdue notice
    ESCALATION = "escalation"  # units still overdue are reported to their heads and the secretariat
    CONSOLIDATION = "consolidation"  # the issuer's report is made from what came in


class MilestoneStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # a later step of the same duty came due first (days missed), or its day is long past


# Order within a day: remind before escalating, escalate before consolidating.
KIND_ORDER = {MilestoneKind.DUE: 0, MilestoneKind.REMINDER: 1, MilestoneKind.OVERDUE: 1, MilestoneKind.ESCALATION: 2, MilestoneKind.CONSOLIDATION: 3}
MESSAGE_KINDS = (MilestoneKind.REMINDER, MilestoneKind.OVERDUE)


class Milestone(Base):
    __tablename__ = "plan_milestone"
    __table_args__ = (UniqueConstraint("duty_id", "kind", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("report_duty.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MilestoneKind] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(32), comment="'before-3', 'overdue-7', 'escalate-5', 'due', 'consolidate'.")
    rank: Mapped[int] = mapped_column(default=0, comment="Reminder rank of the step (models.reminders); 0 for other kinds.")
    due_on: Mapped[date] = mapped_column(comment="The duty's deadline the step is counted from.")
    day: Mapped[date] = mapped_column(index=True, comment="The working day the step runs on.")
    status: Mapped[MilestoneStatus] = mapped_column(String(16), default=MilestoneStatus.PENDING, index=True)
    done_on: Mapped[date | None] = mapped_column(comment="The day the tick ran (or skipped) it; later than `day` when caught up.")
    outcome: Mapped[str | None] = mapped_column(comment="What it did, in Vietnamese: '12 đơn vị được nhắc'.")

    plan: Mapped[Plan] = relationship()
    duty: Mapped[ReportDuty] = relationship()


@dataclass(frozen=True)
class MilestoneSpec:
    kind: MilestoneKind
    step: str
    rank: int
    due_on: date
    day: date


def milestone_specs(duty: ReportDuty, calendar: WorkingCalendar, escalate_after_days: int) -> list[MilestoneSpec]:
    """Every milestone of a duty, dated on working days.

    A reminder whose day falls on a day off moves to the working day before it (a unit is reminded
    earlier, never later); overdue steps, the escalation and the consolidation move to the next
    working day. Consolidation is the first working day after the deadline; implementing-plan
    duties are not consolidated (their plans are cascaded instead).
    """
    due = duty.due_on
    specs = [MilestoneSpec(MilestoneKind.DUE, "due", 0, due, due)]
    for step in reminder_steps(duty.reminder_days, duty.overdue_days):
        # The same dates `cascade remind` uses (models.reminders.step_day): one rule for both paths.
        kind = MilestoneKind.OVERDUE if step.is_overdue else MilestoneKind.REMINDER
        specs.append(MilestoneSpec(kind, step.name, step.rank, due, step_day(step, due, calendar)))
    if escalate_after_days > 0:
        specs.append(escalation_spec(due, escalate_after_days, calendar))
    if duty.kind != DutyKind.IMPLEMENTING_PLAN:
        specs.append(MilestoneSpec(MilestoneKind.CONSOLIDATION, "consolidate", 0, due, calendar.next_working_day(due)))
    return sorted(specs, key=lambda s: (s.day, KIND_ORDER[s.kind], s.rank))


ESCALATION_PREFIX = "escalate-"


def escalation_spec(due_on: date, offset_days: int, calendar: WorkingCalendar) -> MilestoneSpec:
    """The escalation `offset_days` after the deadline ('escalate-12'), on the first working day from then on."""
    day = calendar.next_working_day(due_on + timedelta(days=offset_days - 1))
    return MilestoneSpec(MilestoneKind.ESCALATION, f"{ESCALATION_PREFIX}{offset_days}", 0, due_on, day)


def escalation_offset(step: str) -> int:
    """Days after the deadline an escalation step stands for: 'escalate-12' → 12 (and 'escalate-12@v1', the step
    as an amendment that moved the deadline kept it in the history, → 12)."""
    return int(step.split("@", 1)[0].removeprefix(ESCALATION_PREFIX))


def is_repeat(step: str, escalate_after_days: int) -> bool:
    """Whether an escalation step repeats the first one (it comes later than `escalate_after_days`)."""
    return escalation_offset(step) > escalate_after_days


def next_escalation(due_on: date, last_offset: int, as_of: date, calendar: WorkingCalendar, escalate_after_days: int, repeat_days: int) -> MilestoneSpec | None:
    """The repeat that follows an escalation `last_offset` days after the deadline which ran on `as_of`:
    the first of escalate_after_days + k × repeat_days (k ≥ 1) later than it and dated after `as_of`
    (a series caught up late never puts two repeats on one day). None when repeats are off."""
    if escalate_after_days <= 0 or repeat_days <= 0:
        return None
    offset = escalate_after_days + repeat_days
    while True:
        if offset > last_offset and (spec := escalation_spec(due_on, offset, calendar)).day > as_of:
            return spec
        offset += repeat_days


def milestone_title(kind: MilestoneKind, step: str, duty_kind: DutyKind | None = None) -> str:
    """What a milestone is, in the secretariat's words: 'Nhắc trước hạn 3 ngày'."""
    days = step.rsplit("-", 1)[-1]
    if kind == MilestoneKind.DUE:
        return message("milestones.title.due_plan") if duty_kind == DutyKind.IMPLEMENTING_PLAN else message("milestones.title.due")
    if kind == MilestoneKind.REMINDER:
        return message("milestones.title.reminder_on_the_day") if days == "0" else message("milestones.title.reminder", days=days)
    if kind == MilestoneKind.OVERDUE:
        return message("milestones.title.overdue", days=days)
    if kind == MilestoneKind.ESCALATION:
        if is_repeat(step, get_settings().escalate_after_days):
            return message("milestones.title.escalation_repeat", days=days)
        return message("milestones.title.escalation", days=days)
    return message("milestones.title.consolidation")
