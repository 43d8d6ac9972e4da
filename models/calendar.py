"""Days an office declares working or off against the national calendar, and loading the calendar.

Overrides cover what the `holidays` package cannot know: a local day off, a swap the
Government announced after the package was released, a Saturday worked to make up a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cascade.calendar import WorkingCalendar, weekday_name
from models.base import Base
from models.plan import DayOffRule

_MEMO_KEY = "working_calendar"


class CalendarOverride(Base):
    """One day declared a working day or a day off, whatever the national calendar says."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(primary_key=True)
    working: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")


def load_calendar(session: Session) -> WorkingCalendar:
    """The calendar with every stored override, built once per session (kept in `session.info`)."""
    calendar = session.info.get(_MEMO_KEY)
    if calendar is None:
        rows = session.scalars(select(CalendarOverride))
        calendar = WorkingCalendar({row.day: (row.working, row.note) for row in rows})
        session.info[_MEMO_KEY] = calendar
    return calendar


def set_override(session: Session, day: date, working: bool, note: str) -> CalendarOverride:
    """Declare `day` a working day or a day off (replacing any earlier override of that day)."""
    row = session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day, working=working, note=note)
        session.add(row)
    else:
        row.working, row.note = working, note
    session.flush()
    # The memoised calendar has cached answers for this day: rebuild it on next use.
    session.info.pop(_MEMO_KEY, None)
    return row


def remove_override(session: Session, day: date) -> bool:
    """Drop the override of `day`; False when there was none."""
    row = session.get(CalendarOverride, day)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    session.info.pop(_MEMO_KEY, None)
    return True


@dataclass(frozen=True)
class DeadlineMove:
    """A duty due on a day off, and where its `on_day_off` rule put the deadline."""

    duty: str  # the duty's code
    planned: date
    settled: date
    holiday: str  # why `planned` is a day off: 'Ngày Giải phóng miền Nam, thống nhất đất nước', 'Chủ nhật'
    rule: DayOffRule

    def message(self) -> str:
        """The warning printed by `cascade plan import` and `cascade plan cascade`."""
        where = {
            DayOffRule.BEFORE: f"moved to {self.settled:%d/%m/%Y} ({weekday_name(self.settled)}), the working day before",
            DayOffRule.AFTER: f"moved to {self.settled:%d/%m/%Y} ({weekday_name(self.settled)}), the next working day",
            DayOffRule.KEEP: "kept on that day",
        }[self.rule]
        return f"duty '{self.duty}' is due {self.planned:%d/%m/%Y}, a day off ({self.holiday}): {where} (on_day_off: {self.rule})"


def settle_deadline(calendar: WorkingCalendar, duty: str, due_on: date, rule: DayOffRule | str) -> DeadlineMove | None:
    """Where a deadline on a day off goes under the duty's `on_day_off` rule; None when `due_on` is a working day.

    `before` (the default) gives the last working day before it, as offices do; `after` the next
    working day; `keep` leaves it (still reported, so the issuer knows).
    """
    if calendar.is_working_day(due_on):
        return None
    rule = DayOffRule(rule)
    settled = {DayOffRule.BEFORE: calendar.previous_working_day, DayOffRule.AFTER: calendar.next_working_day}.get(rule, lambda day: day)(due_on)
    return DeadlineMove(duty, due_on, settled, calendar.day_off_reason(due_on) or "", rule)
