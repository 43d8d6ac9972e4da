"""Reporting periods of Decree 09/2019/NĐ-CP, Article 12."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from models.periods import Period, decree_09_periods
from models.plan import DutyKind


def test_quarters_run_from_the_15th_before_to_the_14th_of_the_last_month() -> None:
    assert decree_09_periods(DutyKind.QUARTERLY, 2024) == [
        Period("q1", "quý I năm 2024", date(2023, 12, 15), date(2024, 3, 14)),
        Period("q2", "quý II năm 2024", date(2024, 3, 15), date(2024, 6, 14)),
        Period("q3", "quý III năm 2024", date(2024, 6, 15), date(2024, 9, 14)),
        Period("q4", "quý IV năm 2024", date(2024, 9, 15), date(2024, 12, 14)),
    ]


def test_quarters_tile_the_reporting_year() -> None:
    quarters = decree_09_periods(DutyKind.QUARTERLY, 2025)
    for before, after in pairwise(quarters):
        assert after.start == before.cutoff + timedelta(days=1)
    (year,) = decree_09_periods(DutyKind.ANNUAL, 2025)
    assert (quarters[0].start, quarters[-1].cutoff) == (year.start, year.cutoff)


def test_six_month_nine_month_and_annual() -> None:
    assert decree_09_periods(DutyKind.SIX_MONTH, 2024) == [Period("h1", "6 tháng đầu năm 2024", date(2023, 12, 15), date(2024, 6, 14))]
    assert decree_09_periods(DutyKind.NINE_MONTH, 2024) == [Period("9m", "9 tháng năm 2024", date(2023, 12, 15), date(2024, 9, 14))]
    assert decree_09_periods(DutyKind.ANNUAL, 2024) == [Period("year", "năm 2024", date(2023, 12, 15), date(2024, 12, 14))]


@pytest.mark.parametrize("kind", [DutyKind.IMPLEMENTING_PLAN, DutyKind.AD_HOC])
def test_kinds_without_periods_are_refused_with_the_kind_named(kind: DutyKind) -> None:
    with pytest.raises(ValueError, match=str(kind)):
        decree_09_periods(kind, 2024)


def test_period_is_immutable() -> None:
    (period,) = decree_09_periods(DutyKind.ANNUAL, 2024)
    with pytest.raises(AttributeError):
        period.cutoff = date(2024, 12, 31)  # type: ignore[misc]
