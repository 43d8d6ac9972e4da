"""Which reminder step an assignment is at on a given day: a pure rule, tested directly.

Steps run in time order: the reminders before the due date (largest offset first), then the
overdue notices. Each step has a rank; an assignment remembers the highest rank queued, so a
step is never sent twice and a missed day only sends the latest step, not every step it missed.

Every step is dated on a working day (`step_day`): the daily tick's milestones and
`cascade remind` both use these dates, so a step goes out on the day the cycle's calendar
lists it, and nothing goes out on a day off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cascade.calendar import WorkingCalendar
from templates import message

# Working days an overdue step (or an escalation) may still go out after its own day, when the
# tick missed days; later than that the cycle has moved on and the step is skipped.
GRACE_WORKING_DAYS = 3


@dataclass(frozen=True)
class ReminderStep:
    name: str  # 'before-3', 'overdue-7': part of the outbox idempotency key
    rank: int
    is_overdue: bool
    offset_days: int


def reminder_steps(reminder_days: Sequence[int], overdue_days: Sequence[int]) -> list[ReminderStep]:
    """Every step of a duty in the order they fall due."""
    before = sorted(set(reminder_days), reverse=True)
    after = sorted(set(overdue_days))
    steps = [ReminderStep(f"before-{d}", i + 1, False, d) for i, d in enumerate(before)]
    steps += [ReminderStep(f"overdue-{d}", len(before) + i + 1, True, d) for i, d in enumerate(after)]
    return steps


def step_day(step: ReminderStep, due_on: date, calendar: WorkingCalendar) -> date:
    """The working day a step runs on: a reminder on a day off moves to the working day before it
    (reminded earlier, never later), an overdue step to the next working day."""
    if step.is_overdue:
        return calendar.roll_forward(due_on + timedelta(days=step.offset_days))
    nominal = due_on - timedelta(days=step.offset_days)
    return nominal if calendar.is_working_day(nominal) else calendar.previous_working_day(nominal)


def current_step(due_on: date, as_of: date, reminder_days: Sequence[int], overdue_days: Sequence[int], calendar: WorkingCalendar) -> ReminderStep | None:
    """The latest step whose working day (`step_day`) has come by `as_of`, or None before the first one.

    The due day itself is still 'before' (the last reminder step, worded "hạn cuối hôm nay").
    """
    reached = [step for step in reminder_steps(reminder_days, overdue_days) if step_day(step, due_on, calendar) <= as_of]
    return reached[-1] if reached else None


def stale_reason(is_overdue: bool, day: date, due_on: date, as_of: date, calendar: WorkingCalendar, *, repeat: bool = False) -> str | None:
    """Why a step dated `day` and reached by `as_of` must no longer go out (its cycle moved on), in
    Vietnamese; None if it may go. `is_overdue` also covers the escalation, which comes after the deadline.

    A reminder makes no sense once the deadline has passed; an overdue step goes out at most
    `GRACE_WORKING_DAYS` working days after its own day (a catch-up), never months later. A repeated
    escalation (`repeat`) is never stale: it only exists because an escalation went out and its units
    are still awaited, so a repeat whose day the tick missed goes out late, once, and the series goes on
    from there (skipping it would end the series for good).
    """
    if not is_overdue and as_of > due_on:
        return message("milestones.outcome.past_due", due_on=due_on)
    if is_overdue and not repeat and calendar.working_days_between(day, as_of) > GRACE_WORKING_DAYS:
        return message("milestones.outcome.too_late", day=day, grace=GRACE_WORKING_DAYS)
    return None


def step_to_send(
    due_on: date, as_of: date, reminder_days: Sequence[int], overdue_days: Sequence[int], sent_rank: int, calendar: WorkingCalendar
) -> ReminderStep | None:
    """The step to queue on `as_of` for an unsubmitted assignment, or None if nothing new is due.

    Nothing goes out on a day off; a step already sent (or passed by a later one) never goes
    again; a stale step (see `stale_reason`) is not sent.
    """
    if not calendar.is_working_day(as_of):
        return None
    step = current_step(due_on, as_of, reminder_days, overdue_days, calendar)
    if step is None or step.rank <= sent_rank or stale_reason(step.is_overdue, step_day(step, due_on, calendar), due_on, as_of, calendar):
        return None
    return step
