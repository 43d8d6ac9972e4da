"""Properties that must hold for every input, not only the examples: the Vietnamese number parser, the
working-day calendar and the target verdicts (hypothesis draws the inputs)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cascade.calendar import WorkingCalendar
from cascade.formatting import MAX_FIGURE, parse_vn_number, vn_number, vn_percent
from models.aggregation import TargetRule, UnitFigure, Verdict, judge
from models.plan import Aggregation, Comparator

# Threads of other tests in the same worker (a server, a pool) may touch `random` while a value is drawn,
# which hypothesis reports as a deprecation; the properties do not use `random` themselves.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

FIGURES = st.decimals(min_value=-MAX_FIGURE + 1, max_value=MAX_FIGURE - 1, places=2, allow_nan=False, allow_infinity=False)
DAYS = st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31))
CALENDAR = WorkingCalendar()


@given(FIGURES)
def test_a_figure_written_the_vietnamese_way_reads_back_as_itself(figure: Decimal) -> None:
    assert parse_vn_number(vn_number(figure)) == figure
    assert parse_vn_number(vn_percent(figure, places=2)) == figure  # '86,5%' reads as 86.5


@given(st.text(max_size=40))
def test_any_text_is_a_number_or_a_value_error_never_a_crash(text: str) -> None:
    try:
        number = parse_vn_number(text)
    except ValueError:
        return
    assert number.is_finite() and abs(number) < MAX_FIGURE


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_prints(number: Decimal) -> None:
    assert vn_number(number)  # 1e27 typed into a cell, NaN, infinity: printed, never a traceback


@settings(max_examples=200, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=40))
def test_working_days_land_on_working_days_and_count_back(day: date, n: int) -> None:
    later = CALENDAR.add_working_days(day, n)
    assert later >= day and (n == 0 or CALENDAR.is_working_day(later))
    assert CALENDAR.working_days_between(day, later) == n
    earlier = CALENDAR.subtract_working_days(later, n)
    assert earlier <= later and CALENDAR.working_days_between(earlier, later) == n
    if CALENDAR.is_working_day(day):
        assert earlier == day  # back the same number of working days from a working day: where it started


@settings(max_examples=200, deadline=None)
@given(DAYS)
def test_a_deadline_rolls_forward_to_the_first_working_day_on_or_after_it(day: date) -> None:
    rolled = CALENDAR.roll_forward(day)
    assert CALENDAR.is_working_day(rolled) and rolled >= day
    assert all(not CALENDAR.is_working_day(day + timedelta(days=d)) for d in range((rolled - day).days))


COMPARATORS = st.sampled_from([Comparator.GE, Comparator.GT, Comparator.LE, Comparator.LT])
VALUES = st.lists(st.decimals(min_value=0, max_value=10_000, places=1, allow_nan=False), min_size=1, max_size=8)


@given(COMPARATORS, st.decimals(min_value=0, max_value=10_000, places=1), VALUES, st.decimals(min_value=0, max_value=100, places=1))
def test_a_better_figure_never_turns_a_met_target_into_a_missed_one(comparator: Comparator, goal: Decimal, values: list[Decimal], gain: Decimal) -> None:
    rule = TargetRule("t", "Chỉ tiêu", "", "căn", comparator, goal, Aggregation.SUM)
    units = [f"U{i}" for i in range(len(values))]
    before = judge(rule, [UnitFigure(u, v) for u, v in zip(units, values, strict=True)], units)
    better = values[0] + gain if comparator in (Comparator.GE, Comparator.GT) else max(values[0] - gain, Decimal(0))
    after = judge(rule, [UnitFigure(units[0], better), *(UnitFigure(u, v) for u, v in zip(units[1:], values[1:], strict=True))], units)
    assert before.figure == sum(values)
    if before.verdict == Verdict.MET:
        assert after.verdict == Verdict.MET


@given(st.lists(st.booleans(), min_size=1, max_size=30), st.decimals(min_value=0, max_value=100, places=0))
def test_a_share_of_units_is_the_share_that_reached_their_own_threshold(reached: list[bool], goal: Decimal) -> None:
    rule = TargetRule("s", "Đơn vị đạt", "", "%", Comparator.GE, goal, Aggregation.SHARE_OF_UNITS, Comparator.GE, Decimal(1))
    units = [f"U{i}" for i in range(len(reached))]
    result = judge(rule, [UnitFigure(u, Decimal(int(r))) for u, r in zip(units, reached, strict=True)], units)
    share = Decimal(sum(reached)) / len(reached) * 100
    assert result.figure == share
    assert (result.verdict == Verdict.MET) == (share >= goal)
