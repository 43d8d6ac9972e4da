"""The working-day calendar against printed 2025–2026 calendars, and its overrides in the database.

Counting comments list the working days stepped over, nearest first; "off" runs are skipped.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from cascade.calendar import WorkingCalendar, weekday_name
from models.calendar import CalendarOverride, load_calendar, remove_override, set_override
from models.db import session_scope

CAL = WorkingCalendar()


# --- Tết Nguyên Đán 2025: Mon 27/01 – Fri 31/01 off, Sat 01/02 (mùng 4) off -------------


@pytest.mark.parametrize("day", [date(2025, 1, 27), date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)])
def test_tet_2025_days_are_off_and_named(day: date) -> None:
    assert not CAL.is_working_day(day)
    assert CAL.day_off_reason(day) == "Tết Nguyên Đán"


def test_days_around_tet_2025_are_working_days() -> None:
    assert CAL.is_working_day(date(2025, 1, 24)) and CAL.day_off_reason(date(2025, 1, 24)) is None
    assert CAL.is_working_day(date(2025, 2, 3))


def test_back_scheduling_across_tet_2025() -> None:
    # From Wed 05/02: 04/02 (1), 03/02 (2), [02/02 … 25/01 off], 24/01 (3), 23/01 (4), 22/01 (5).
    assert CAL.subtract_working_days(date(2025, 2, 5), 5) == date(2025, 1, 22)
    # From Mon 10/02: 07/02 (1), 06/02 (2), 05/02 (3), 04/02 (4), 03/02 (5) — Tết not reached.
    assert CAL.subtract_working_days(date(2025, 2, 10), 5) == date(2025, 2, 3)
    # … 03/02 (5), [Tết], 24/01 (6), 23/01 (7), 22/01 (8), 21/01 (9), 20/01 (10).
    assert CAL.subtract_working_days(date(2025, 2, 10), 10) == date(2025, 1, 20)
    assert CAL.previous_working_day(date(2025, 2, 3)) == date(2025, 1, 24)
    assert CAL.next_working_day(date(2025, 1, 24)) == date(2025, 2, 3)
    # From Fri 24/01: [25/01 … 02/02 off], 03/02 (1), 04/02 (2).
    assert CAL.add_working_days(date(2025, 1, 24), 2) == date(2025, 2, 4)
    # (24/01, 03/02]: only 03/02 is a working day.
    assert CAL.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1


def test_a_deadline_inside_tet_rolls_forward_to_the_first_working_day() -> None:
    assert CAL.roll_forward(date(2025, 1, 29)) == date(2025, 2, 3)
    assert CAL.roll_forward(date(2026, 2, 18)) == date(2026, 2, 23)
    assert CAL.roll_forward(date(2025, 2, 3)) == date(2025, 2, 3)  # already a working day


# --- Tết 2026: Mon 16/02 – Fri 20/02 off ---------------------------------------------


def test_tet_2026() -> None:
    for offset in range(5):
        day = date(2026, 2, 16) + timedelta(days=offset)
        assert CAL.day_off_reason(day) == "Tết Nguyên Đán", day
    assert CAL.is_working_day(date(2026, 2, 13)) and CAL.is_working_day(date(2026, 2, 23))
    # From Tue 24/02: 23/02 (1), [22/02 … 14/02 off], 13/02 (2).
    assert CAL.subtract_working_days(date(2026, 2, 24), 2) == date(2026, 2, 13)
    # From Thu 12/02: 13/02 (1), [14/02 … 22/02 off], 23/02 (2), 24/02 (3).
    assert CAL.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1


# --- 30/4 – 1/5/2025: Wed 30/04, Thu 01/05 off; Fri 02/05 swapped for Sat 26/04 -------


def test_reunification_and_labour_day_2025_with_the_swap() -> None:
    assert CAL.day_off_reason(date(2025, 4, 30)) == "Ngày Giải phóng miền Nam, thống nhất đất nước"
    assert CAL.day_off_reason(date(2025, 5, 1)) == "Ngày Quốc tế Lao động"
    assert CAL.day_off_reason(date(2025, 5, 2)) == "Nghỉ hoán đổi (làm bù ngày 26/04/2025)"
    assert CAL.is_working_day(date(2025, 4, 26))  # the make-up Saturday
    assert CAL.day_off_reason(date(2025, 4, 26)) is None
    assert CAL.working_reason(date(2025, 4, 26)) == "Làm bù cho ngày nghỉ 02/05/2025"
    assert CAL.day_off_reason(date(2025, 4, 27)) == "Chủ nhật"
    assert CAL.day_off_reason(date(2025, 5, 3)) == "Thứ Bảy"
    # From Mon 05/05: [04/05 … 30/04 off], 29/04 (1), 28/04 (2), [27/04 off], Sat 26/04 (3).
    assert CAL.subtract_working_days(date(2025, 5, 5), 3) == date(2025, 4, 26)
    # (25/04, 05/05]: Sat 26/04, 28/04, 29/04, 05/05.
    assert CAL.working_days_between(date(2025, 4, 25), date(2025, 5, 5)) == 4


def test_national_day_2025() -> None:
    assert CAL.day_off_reason(date(2025, 9, 1)) == "Quốc khánh"
    assert CAL.day_off_reason(date(2025, 9, 2)) == "Quốc khánh"
    # Fri 29/08, then [30/08 … 02/09 off], Wed 03/09.
    assert CAL.next_working_day(date(2025, 8, 29)) == date(2025, 9, 3)
    assert CAL.subtract_working_days(date(2025, 9, 3), 1) == date(2025, 8, 29)
    assert CAL.roll_forward(date(2025, 8, 30)) == date(2025, 9, 3)


def test_observed_holiday_is_named_as_nghi_bu() -> None:
    # Giỗ Tổ 2026 falls on Sunday 26/04, so Monday 27/04 is the day off in lieu.
    assert CAL.day_off_reason(date(2026, 4, 27)) == "Nghỉ bù Giỗ Tổ Hùng Vương"


def test_days_off_lists_holidays_not_plain_weekends() -> None:
    assert CAL.days_off(2025) == [
        (date(2025, 1, 1), "Tết Dương lịch"),
        *[(date(2025, 1, d), "Tết Nguyên Đán") for d in range(27, 32)],
        (date(2025, 2, 1), "Tết Nguyên Đán"),
        (date(2025, 4, 7), "Giỗ Tổ Hùng Vương"),
        (date(2025, 4, 30), "Ngày Giải phóng miền Nam, thống nhất đất nước"),
        (date(2025, 5, 1), "Ngày Quốc tế Lao động"),
        (date(2025, 5, 2), "Nghỉ hoán đổi (làm bù ngày 26/04/2025)"),
        (date(2025, 9, 1), "Quốc khánh"),
        (date(2025, 9, 2), "Quốc khánh"),
    ]
    assert CAL.working_weekends(2025) == [(date(2025, 4, 26), "Làm bù cho ngày nghỉ 02/05/2025")]


# --- overrides win over the package ----------------------------------------------------

OVERRIDES = {
    date(2025, 2, 3): (False, "Nghỉ thêm Tết theo quyết định của tỉnh"),  # a normal Monday
    date(2025, 2, 8): (True, "Làm bù ngày 03/02/2025"),  # a normal Saturday
    date(2025, 5, 2): (True, "Đi làm, không hoán đổi"),  # a package day off
    date(2025, 4, 26): (False, "Không làm bù"),  # the package's make-up Saturday
}


def test_overrides_win_over_weekends_and_the_package() -> None:
    cal = WorkingCalendar(OVERRIDES)
    assert not cal.is_working_day(date(2025, 2, 3))
    assert cal.day_off_reason(date(2025, 2, 3)) == "Nghỉ thêm Tết theo quyết định của tỉnh"
    assert cal.is_working_day(date(2025, 2, 8)) and cal.day_off_reason(date(2025, 2, 8)) is None
    assert cal.working_reason(date(2025, 2, 8)) == "Làm bù ngày 03/02/2025"
    assert cal.is_working_day(date(2025, 5, 2))
    assert cal.day_off_reason(date(2025, 4, 26)) == "Không làm bù"
    # From Wed 05/02: 04/02 (1), [03/02 overridden off, Tết], 24/01 (2).
    assert cal.subtract_working_days(date(2025, 2, 5), 2) == date(2025, 1, 24)
    # From Fri 07/02: Sat 08/02 (1, overridden working), [09/02 Sun], 10/02 (2).
    assert cal.add_working_days(date(2025, 2, 7), 2) == date(2025, 2, 10)
    days = dict(cal.days_off(2025))
    assert days[date(2025, 2, 3)] == "Nghỉ thêm Tết theo quyết định của tỉnh"
    assert days[date(2025, 2, 8)] == "Làm bù ngày 03/02/2025"  # working overrides are listed too
    assert date(2025, 2, 8) in dict(cal.working_weekends(2025))
    assert date(2025, 4, 26) not in dict(cal.working_weekends(2025))


# --- arithmetic properties ------------------------------------------------------------


def test_zero_and_negative_steps() -> None:
    sunday = date(2025, 4, 27)
    assert CAL.subtract_working_days(sunday, 0) == sunday
    assert CAL.add_working_days(sunday, 0) == sunday
    with pytest.raises(ValueError):
        CAL.subtract_working_days(sunday, -1)
    with pytest.raises(ValueError):
        CAL.add_working_days(sunday, -1)
    assert CAL.working_days_between(date(2025, 5, 5), date(2025, 4, 25)) == 0


def test_round_trip_over_every_day_of_2024_to_2026() -> None:
    cal = WorkingCalendar()
    day, end = date(2024, 1, 1), date(2026, 12, 31)
    checked = 0
    while day <= end:
        for n in range(1, 11):
            back = cal.subtract_working_days(day, n)
            assert back < day and cal.is_working_day(back)
            forward = cal.add_working_days(day, n)
            assert forward > day and cal.is_working_day(forward)
            assert cal.working_days_between(day, forward) == n
            if cal.is_working_day(day):
                assert cal.working_days_between(back, day) == n, (day, n)
                assert cal.add_working_days(back, n) == day
                checked += 1
        day += timedelta(days=1)
    assert checked > 7000  # ~740 working days × 10


def test_stepping_over_ten_thousand_days_is_fast() -> None:
    cal = WorkingCalendar()
    started = time.perf_counter()
    landed = cal.add_working_days(date(2000, 1, 3), 7000)  # about 10,000 calendar days
    elapsed = time.perf_counter() - started
    assert (landed - date(2000, 1, 3)).days > 9500
    assert elapsed < 1.0, f"{elapsed:.2f}s"


def test_weekday_names() -> None:
    assert weekday_name(date(2025, 1, 27)) == "Thứ Hai"
    assert weekday_name(date(2025, 4, 27)) == "Chủ nhật"


# --- overrides in the database --------------------------------------------------------


def test_load_calendar_reads_overrides_and_is_memoised(workspace) -> None:
    with session_scope() as session:
        set_override(session, date(2025, 2, 8), True, "Làm bù")
    with session_scope() as session:
        cal = load_calendar(session)
        assert cal is load_calendar(session)
        assert cal.is_working_day(date(2025, 2, 8))
        assert cal.working_reason(date(2025, 2, 8)) == "Làm bù"


def test_set_override_upserts_and_refreshes_the_memo(workspace) -> None:
    with session_scope() as session:
        assert load_calendar(session).is_working_day(date(2025, 2, 3))
        set_override(session, date(2025, 2, 3), False, "Nghỉ thêm")
        assert load_calendar(session).day_off_reason(date(2025, 2, 3)) == "Nghỉ thêm"
        set_override(session, date(2025, 2, 3), True, "Đi làm lại")
    with session_scope() as session:
        rows = session.query(CalendarOverride).all()
        assert [(r.day, r.working, r.note) for r in rows] == [(date(2025, 2, 3), True, "Đi làm lại")]


def test_remove_override(workspace) -> None:
    with session_scope() as session:
        set_override(session, date(2025, 2, 3), False, "Nghỉ thêm")
        assert not load_calendar(session).is_working_day(date(2025, 2, 3))
        assert remove_override(session, date(2025, 2, 3)) is True
        assert load_calendar(session).is_working_day(date(2025, 2, 3))
        assert remove_override(session, date(2025, 2, 3)) is False
    with session_scope() as session:
        assert session.get(CalendarOverride, date(2025, 2, 3)) is None
