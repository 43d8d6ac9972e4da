"""Which reminder step an assignment is at on a given day: a pure rule, tested directly.

Steps run in time order: the reminders before the due date (largest offset first), then the
overdue notices. Each step has a rank; an assignment remembers the highest rank queued, so a
step is never sent twice and a missed day only sends the latest step, not every step it missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


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


def current_step(due_on: date, as_of: date, reminder_days: Sequence[int], overdue_days: Sequence[int]) -> ReminderStep | None:
    """The latest step whose day has come by `as_of`, or None before the first one.

    Before the due date, 'before-d' applies once at most d days are left; from the day after
    the due date, 'overdue-d' applies once at least d days have passed.
    """
    days_left = (due_on - as_of).days
    reached = [
        step
        for step in reminder_steps(reminder_days, overdue_days)
        if (step.is_overdue and -days_left >= step.offset_days) or (not step.is_overdue and days_left <= step.offset_days)
    ]
    return reached[-1] if reached else None


def step_to_send(due_on: date, as_of: date, reminder_days: Sequence[int], overdue_days: Sequence[int], sent_rank: int) -> ReminderStep | None:
    """The step to queue today for an unsubmitted assignment, or None if nothing new is due."""
    step = current_step(due_on, as_of, reminder_days, overdue_days)
    if step is None or step.rank <= sent_rank:
        return None
    return step
