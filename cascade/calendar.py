"""The working-day calendar of Vietnamese state agencies: weekends, public holidays, swaps.

Public holidays, their observed days ("nghỉ bù") and the Government's day swaps come from
the `holidays` package; `overrides` (day → (is_working, note)) come from the database and
win over everything, so an office can follow a swap announced after the package was built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta

import holidays

WEEKDAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

_SATURDAY, _SUNDAY = 5, 6

# The package's Vietnamese names (language="vi") → the names offices write. Every Tết day
# ("29 Tết", "Giao thừa", "Mùng hai" …) is simply "Tết Nguyên Đán" on a schedule.
_NAMES = {
    "Tết Dương lịch": "Tết Dương lịch",
    "29 Tết": "Tết Nguyên Đán",
    "Giao thừa Tết Nguyên Đán": "Tết Nguyên Đán",
    "Tết Nguyên Đán": "Tết Nguyên Đán",
    "Mùng hai Tết Nguyên Đán": "Tết Nguyên Đán",
    "Mùng ba Tết Nguyên Đán": "Tết Nguyên Đán",
    "Mùng bốn Tết Nguyên Đán": "Tết Nguyên Đán",
    "Mùng năm Tết Nguyên Đán": "Tết Nguyên Đán",
    "Mùng sáu Tết Nguyên Đán": "Tết Nguyên Đán",
    "Ngày Giỗ Tổ Hùng Vương": "Giỗ Tổ Hùng Vương",
    "Ngày Chiến thắng": "Ngày Giải phóng miền Nam, thống nhất đất nước",
    "Ngày Quốc tế Lao động": "Ngày Quốc tế Lao động",
    "Quốc khánh": "Quốc khánh",
    "Ngày Văn hóa Việt Nam": "Ngày Văn hóa Việt Nam",
}
_OBSERVED = " (nghỉ bù)"
_ESTIMATED = " (dự kiến)"
_OBSERVED_ESTIMATED = " (nghỉ bù, dự kiến)"
# A Government swap: the weekday becomes a day off and the named Saturday a working day.
_SUBSTITUTED = re.compile(r"Ngày nghỉ \(thay cho ngày (\d{2})/(\d{2})/(\d{4})\)")


def weekday_name(day: date) -> str:
    """'Thứ Hai' … 'Chủ nhật'."""
    return WEEKDAY_NAMES[day.weekday()]


def _vn_name(name: str) -> str:
    """One package holiday name in the wording offices use; unknown names pass through."""
    if match := _SUBSTITUTED.fullmatch(name):
        return f"Nghỉ hoán đổi (làm bù ngày {match[1]}/{match[2]}/{match[3]})"
    for suffix, prefix, tail in ((_OBSERVED_ESTIMATED, "Nghỉ bù ", " (dự kiến)"), (_OBSERVED, "Nghỉ bù ", ""), (_ESTIMATED, "", " (dự kiến)")):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            return f"{prefix}{_NAMES.get(base, base)}{tail}"
    return _NAMES.get(name, name)


def _reason(names: str) -> str:
    # The package joins several holidays on one day with "; "; keep each meaning once.
    seen: list[str] = []
    for name in names.split("; "):
        text = _vn_name(name)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


class WorkingCalendar:
    """Which days are working days, and date arithmetic in working days.

    Holiday years are loaded from the package on first use and every per-day answer is
    cached, so stepping over thousands of days costs dictionary look-ups.
    """

    def __init__(self, overrides: Mapping[date, tuple[bool, str]] | None = None) -> None:
        self._overrides: dict[date, tuple[bool, str]] = dict(overrides or {})
        self._holidays: dict[date, str] = {}
        # Saturdays the Government turned into working days, with the day off they pay for.
        self._make_up: dict[date, date | None] = {}
        self._years: set[int] = set()
        self._days: dict[date, tuple[bool, str | None]] = {}

    @property
    def overrides(self) -> Mapping[date, tuple[bool, str]]:
        return dict(self._overrides)

    def _load(self, year: int) -> None:
        if year in self._years:
            return
        self._years.add(year)
        table = holidays.country_holidays("VN", years=year, language="vi")
        for day, names in table.items():
            self._holidays[day] = _reason(names)
            for name in names.split("; "):
                if match := _SUBSTITUTED.fullmatch(name):
                    self._make_up[date(int(match[3]), int(match[2]), int(match[1]))] = day
        # holidays ≥ 0.2x records the Saturdays worked in exchange for a swapped day off in
        # `weekend_workdays` (26/04/2025 for 02/05/2025); swaps across New Year are listed
        # whatever year is loaded, so their paid-for day may be unknown until it is.
        for saturday in getattr(table, "weekend_workdays", ()):
            self._make_up.setdefault(saturday, None)

    def _status(self, day: date) -> tuple[bool, str | None]:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        self._load(day.year)
        if day in self._overrides:
            working, note = self._overrides[day]
            status: tuple[bool, str | None] = (working, note)
        elif day in self._holidays:
            status = (False, self._holidays[day])
        elif day.weekday() in (_SATURDAY, _SUNDAY) and day not in self._make_up:
            status = (False, WEEKDAY_NAMES[day.weekday()])
        else:
            status = (True, None)
        self._days[day] = status
        return status

    def is_working_day(self, day: date) -> bool:
        """True when offices work on `day` (overrides first, then holidays, swaps, weekends)."""
        return self._status(day)[0]

    def day_off_reason(self, day: date) -> str | None:
        """Why `day` is a day off, in Vietnamese ('Tết Nguyên Đán', 'Chủ nhật', an override's note); None on a working day."""
        working, reason = self._status(day)
        return None if working else reason

    def working_reason(self, day: date) -> str | None:
        """Why a Saturday or Sunday is nevertheless a working day (an override's note or a make-up day); None otherwise."""
        working, reason = self._status(day)
        if not working or day.weekday() not in (_SATURDAY, _SUNDAY):
            return None
        if day in self._overrides:
            return reason
        paid_for = self._make_up.get(day)
        return f"Làm bù cho ngày nghỉ {paid_for:%d/%m/%Y}" if paid_for else "Ngày làm bù"

    def previous_working_day(self, day: date) -> date:
        """The nearest working day strictly before `day`."""
        one = timedelta(days=1)
        day -= one
        while not self._status(day)[0]:
            day -= one
        return day

    def next_working_day(self, day: date) -> date:
        """The nearest working day strictly after `day`."""
        one = timedelta(days=1)
        day += one
        while not self._status(day)[0]:
            day += one
        return day

    def subtract_working_days(self, day: date, n: int) -> date:
        """The date `n` working days before `day` (`day` itself never counts; n == 0 returns `day`).

        This back-schedules a subordinate's deadline from its parent's.
        """
        if n < 0:
            raise ValueError(f"n must be 0 or more, got {n}")
        for _ in range(n):
            day = self.previous_working_day(day)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The date `n` working days after `day` (`day` itself never counts; n == 0 returns `day`)."""
        if n < 0:
            raise ValueError(f"n must be 0 or more, got {n}")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days d with start < d ≤ end (0 when end ≤ start)."""
        one = timedelta(days=1)
        count = 0
        day = start + one
        while day <= end:
            count += self._status(day)[0]
            day += one
        return count

    def roll_forward(self, day: date) -> date:
        """`day` if it is a working day, else the next one: a deadline on a day off moves to the next working day (Civil Code 2015, Art. 148(5))."""
        return day if self._status(day)[0] else self.next_working_day(day)

    def days_off(self, year: int) -> list[tuple[date, str]]:
        """Every day off of `year` other than an ordinary weekend, plus every override (working or not), sorted, with reasons."""
        self._load(year)
        found: dict[date, str] = {}
        for day in self._holidays:
            if day.year == year and not self.is_working_day(day):
                found[day] = self.day_off_reason(day) or ""
        for day, (_working, note) in self._overrides.items():
            if day.year == year:
                found[day] = note
        return sorted(found.items())

    def working_weekends(self, year: int) -> list[tuple[date, str]]:
        """Every Saturday or Sunday of `year` that is a working day (make-up days and overrides), sorted, with reasons."""
        self._load(year)
        candidates = {d for d in self._make_up if d.year == year} | {d for d in self._overrides if d.year == year}
        found = [(d, self.working_reason(d)) for d in sorted(candidates)]
        return [(d, reason) for d, reason in found if reason is not None]
