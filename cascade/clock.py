"""The one place that reads the system clock.

Flows and tasks take an `as_of` date so that any day of the cycle can be replayed; this
module turns that date into timestamps, and supplies today's date for the CLI default.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    """Today's date in Vietnam: the CLI's default `--as-of`."""
    return datetime.now(VN_TZ).date()


def moment(as_of: date) -> datetime:
    """A timezone-aware timestamp for events recorded on `as_of`.

    On the real today it is the current instant; on a replayed day it is that day's
    wall-clock time of now (Vietnam time), so replays keep a realistic ordering.
    """
    now = datetime.now(VN_TZ)
    if as_of == now.date():
        return now
    return datetime.combine(as_of, now.time(), tzinfo=VN_TZ)


def utc_now() -> datetime:
    """The real current instant (UTC): for leases and retries, which are about real time."""
    return datetime.now(UTC)


def local_date(moment_: datetime) -> date:
    """The Vietnam calendar date of an aware timestamp."""
    return moment_.astimezone(VN_TZ).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=VN_TZ)
