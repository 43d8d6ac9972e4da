from datetime import date, timedelta

import pytest

from cascade.calendar import WorkingCalendar
from models.reminders import current_step, reminder_steps, step_day, step_to_send

DUE = date(2024, 10, 30)
BEFORE, AFTER = [7, 3, 1], [1, 7]
CALENDAR = WorkingCalendar()


def step_name(as_of: date) -> str | None:
    step = current_step(DUE, as_of, BEFORE, AFTER, CALENDAR)
    return step.name if step else None


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2024, 10, 22), None),  # 8 days left: nothing yet
        (date(2024, 10, 23), "before-7"),  # exactly 7 days left
        (date(2024, 10, 24), "before-7"),
        (date(2024, 10, 25), "before-3"),  # 27/10 is a Sunday: the step is dated the Friday before
        (date(2024, 10, 27), "before-3"),
        (date(2024, 10, 29), "before-1"),
        (date(2024, 10, 30), "before-1"),  # the due day itself is still 'before'
        (date(2024, 10, 31), "overdue-1"),
        (date(2024, 11, 5), "overdue-1"),
        (date(2024, 11, 6), "overdue-7"),
        (date(2025, 3, 1), "overdue-7"),
    ],
)
def test_current_step_at_date_boundaries(as_of: date, expected: str | None) -> None:
    assert step_name(as_of) == expected


def test_steps_are_ranked_in_time_order_whatever_the_input_order() -> None:
    steps = reminder_steps([1, 7, 3], [7, 1])
    assert [s.name for s in steps] == ["before-7", "before-3", "before-1", "overdue-1", "overdue-7"]
    assert [s.rank for s in steps] == [1, 2, 3, 4, 5]


def test_each_step_is_sent_once_walking_every_day() -> None:
    sent_rank, sent = 0, []
    day = date(2024, 10, 1)
    while day <= date(2024, 11, 30):
        step = step_to_send(DUE, day, BEFORE, AFTER, sent_rank, CALENDAR)
        if step:
            sent.append((day, step.name))
            sent_rank = step.rank
        day += timedelta(days=1)
    assert sent == [
        (date(2024, 10, 23), "before-7"),
        (date(2024, 10, 25), "before-3"),
        (date(2024, 10, 29), "before-1"),
        (date(2024, 10, 31), "overdue-1"),
        (date(2024, 11, 6), "overdue-7"),
    ]


def test_missed_days_send_only_the_latest_step() -> None:
    # Nothing ran between 20/10 and 28/10: on 28/10 only 'before-3' goes, not 'before-7' too.
    step = step_to_send(DUE, date(2024, 10, 28), BEFORE, AFTER, sent_rank=0, calendar=CALENDAR)
    assert step is not None and step.name == "before-3"
    # After it, 'before-7' can never come back.
    assert step_to_send(DUE, date(2024, 10, 28), BEFORE, AFTER, sent_rank=step.rank, calendar=CALENDAR) is None


def test_no_overdue_steps_means_silence_after_the_due_date() -> None:
    assert step_to_send(DUE, date(2024, 11, 11), [3], [], sent_rank=1, calendar=CALENDAR) is None


# 30/04/2024 is a Tuesday inside the days off of 27/04–01/05/2024 (29/04 swapped for Saturday 04/05).
HOLIDAY_DUE = date(2024, 4, 30)


def test_steps_are_dated_on_working_days_like_the_cycle_calendar() -> None:
    days = {s.name: step_day(s, HOLIDAY_DUE, CALENDAR) for s in reminder_steps(BEFORE, AFTER)}
    assert days == {
        "before-7": date(2024, 4, 23),
        "before-3": date(2024, 4, 26),  # Saturday 27/04 → Friday 26/04
        "before-1": date(2024, 4, 26),  # 29/04 is a day off → Friday 26/04
        "overdue-1": date(2024, 5, 2),  # 01/05 is a holiday → Thursday 02/05
        "overdue-7": date(2024, 5, 7),
    }


def test_nothing_goes_out_on_a_day_off_and_the_calendars_step_goes_on_its_day() -> None:
    after_before_7 = 1
    step = step_to_send(HOLIDAY_DUE, date(2024, 4, 26), BEFORE, AFTER, after_before_7, CALENDAR)
    assert step is not None and step.name == "before-1"  # the latest of the two steps the calendar lists on 26/04
    for day_off in (date(2024, 4, 27), date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 1)):
        assert step_to_send(HOLIDAY_DUE, day_off, BEFORE, AFTER, after_before_7, CALENDAR) is None


def test_a_step_long_past_is_not_sent() -> None:
    # overdue-7 is dated 06/11/2024: three working days later it may still go, not a week later, nor months later.
    assert step_to_send(DUE, date(2024, 11, 11), BEFORE, AFTER, 0, CALENDAR).name == "overdue-7"  # type: ignore[union-attr]
    assert step_to_send(DUE, date(2024, 11, 12), BEFORE, AFTER, 0, CALENDAR) is None
    assert step_to_send(DUE, date(2025, 6, 10), BEFORE, AFTER, 0, CALENDAR) is None
    # A reminder is never sent after the deadline, even when no overdue step follows it.
    assert step_to_send(DUE, date(2024, 10, 31), BEFORE, [], 0, CALENDAR) is None
