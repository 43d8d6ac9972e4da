from datetime import date, timedelta

import pytest

from models.reminders import current_step, reminder_steps, step_to_send

DUE = date(2024, 10, 30)
BEFORE, AFTER = [7, 3, 1], [1, 7]


def step_name(as_of: date) -> str | None:
    step = current_step(DUE, as_of, BEFORE, AFTER)
    return step.name if step else None


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2024, 10, 22), None),  # 8 days left: nothing yet
        (date(2024, 10, 23), "before-7"),  # exactly 7 days left
        (date(2024, 10, 26), "before-7"),  # 4 days left
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
        step = step_to_send(DUE, day, BEFORE, AFTER, sent_rank)
        if step:
            sent.append((day, step.name))
            sent_rank = step.rank
        day += timedelta(days=1)
    assert sent == [
        (date(2024, 10, 23), "before-7"),
        (date(2024, 10, 27), "before-3"),
        (date(2024, 10, 29), "before-1"),
        (date(2024, 10, 31), "overdue-1"),
        (date(2024, 11, 6), "overdue-7"),
    ]


def test_missed_days_send_only_the_latest_step() -> None:
    # Nothing ran between 20/10 and 28/10: on 28/10 only 'before-3' goes, not 'before-7' too.
    step = step_to_send(DUE, date(2024, 10, 28), BEFORE, AFTER, sent_rank=0)
    assert step is not None and step.name == "before-3"
    # After it, 'before-7' can never come back.
    assert step_to_send(DUE, date(2024, 10, 28), BEFORE, AFTER, sent_rank=step.rank) is None


def test_no_overdue_steps_means_silence_after_the_due_date() -> None:
    assert step_to_send(DUE, date(2024, 11, 10), [3], [], sent_rank=1) is None
