"""Reporting periods and data cut-offs of Decree 09/2019/NĐ-CP, Article 12.

Article 12 ("Thời gian chốt số liệu báo cáo định kỳ") fixes the data window of periodic
reports so that figures from every level line up:

- quarterly: from the 15th of the month before the quarter to the 14th of the quarter's
  last month (Q1 15/12 of the previous year → 14/03, …, Q4 15/09 → 14/12);
- six-month (first half): 15/12 of the previous year → 14/06;
- annual: 15/12 of the previous year → 14/12.

Article 12 has no nine-month report; provinces that require one extend the same rule
(15/12 of the previous year → 14/09, e.g. Khánh Hòa's Decision 01/2023/QĐ-UBND, Art. 4),
and so do we.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.plan import DutyKind
from templates import message

_ROMAN = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class Period:
    """One reporting period: figures from `start` to `cutoff`, both included."""

    suffix: str  # "q1".."q4", "h1", "9m", "year": appended to duty codes
    label: str  # "quý I năm 2024", as written in report titles
    start: date
    cutoff: date


def _year_start(year: int) -> date:
    # Every cumulative period opens on 15/12 of the previous year (Art. 12(3), (4)).
    return date(year - 1, 12, 15)


def decree_09_periods(kind: DutyKind, year: int) -> list[Period]:
    """The periods of `year` for a periodic duty kind, in order; ValueError for a kind that has none."""
    if kind == DutyKind.QUARTERLY:
        periods = []
        for quarter in range(1, 5):
            last_month = 3 * quarter
            start = _year_start(year) if quarter == 1 else date(year, last_month - 3, 15)
            periods.append(Period(f"q{quarter}", message("plans.period.quarter", quarter=_ROMAN[quarter - 1], year=year), start, date(year, last_month, 14)))
        return periods
    if kind == DutyKind.SIX_MONTH:
        return [Period("h1", message("plans.period.six_month", year=year), _year_start(year), date(year, 6, 14))]
    if kind == DutyKind.NINE_MONTH:
        return [Period("9m", message("plans.period.nine_month", year=year), _year_start(year), date(year, 9, 14))]
    if kind == DutyKind.ANNUAL:
        return [Period("year", message("plans.period.annual", year=year), _year_start(year), date(year, 12, 14))]
    raise ValueError(f"Decree 09/2019/NĐ-CP sets no reporting period for duty kind {str(kind)!r}: expected quarterly, six_month, nine_month or annual")
