"""Days an office declares working or off against the national calendar, and loading the calendar.

Overrides cover what the `holidays` package cannot know: a local day off, a swap the
Government announced after the package was released, a Saturday worked to make up a day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cascade.calendar import WorkingCalendar
from models.base import Base

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
