"""portal.progress_chart: each level's share of reports by day, as SVG coordinates."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from portal.board import BoardRow
from portal.progress_chart import MIN_LABEL_GAP, _apart, progress_chart


def row(level: int, code: str, due_on: date, submitted_on: date | None) -> BoardRow:
    return BoardRow(0, level, code, code, "", due_on, "submitted" if submitted_on else "opened", submitted_on, 1 if submitted_on else 0, None)


def test_each_level_climbs_on_the_days_its_reports_came_and_stops_at_the_day_shown() -> None:
    due, ward_due = date(2024, 10, 30), date(2024, 10, 23)
    rows = [
        row(1, "U1", due, date(2024, 10, 20)), row(1, "U2", due, date(2024, 10, 31)),
        row(2, "U1.1", ward_due, date(2024, 10, 20)), row(2, "U1.2", ward_due, date(2024, 10, 20)), row(2, "U1.3", ward_due, None), row(2, "U1.4", ward_due, None),
    ]  # fmt: skip
    chart = progress_chart(rows, as_of=date(2024, 10, 25))
    assert chart is not None
    assert chart.first == date(2024, 10, 9) and chart.last == date(2024, 11, 2)  # 14 days before the earliest deadline, 3 after the latest
    top, bottom = chart.lines

    def y(percent: float) -> float:
        return round(chart.bottom - (chart.bottom - chart.top) * percent / 100, 1)

    def ys(points: str) -> list[float]:
        return [float(p.split(",")[1]) for p in points.split()]

    # Level 1: half its units by 20/10; the second report (31/10) is after the day shown, so not drawn.
    assert (top.units, top.reported, top.on_time) == (2, 1, 1) and ys(top.points) == [y(0), y(0), y(50), y(50)]
    # Level 2: two of four on the same day: one step to 50 %.
    assert (bottom.units, bottom.reported, bottom.on_time) == (4, 2, 2) and ys(bottom.points) == [y(0), y(0), y(25), y(50), y(50)]
    xs = [float(p.split(",")[0]) for p in top.points.split()]
    assert xs[0] == chart.left and xs == sorted(xs) and xs[-1] < chart.right  # left to right, ending on 25/10
    assert [d for _, d in top.deadlines] == [due] and [d for _, d in bottom.deadlines] == [ward_due]
    assert top.deadlines[0][0] > bottom.deadlines[0][0]
    # 25/10, two days after the ward's deadline, would print over its label: the deadlines keep theirs
    assert [d for _, d in chart.ticks] == [date(2024, 10, 9), ward_due, due]
    assert top.colour != bottom.colour


def test_no_units_no_chart() -> None:
    assert progress_chart([], as_of=date(2024, 10, 25)) is None


def test_labelled_days_never_overlap_and_the_last_day_keeps_its_label() -> None:
    days = [date(2024, 10, d) for d in (9, 20, 23, 24)]
    ticks = _apart(((0.0, days[0]), (200.0, days[1]), (300.0, days[2]), (310.0, days[3])))
    assert ticks == ((0.0, days[0]), (200.0, days[1]), (310.0, days[3]))  # 23/10 gives way to the last day, 24/10
    assert all(b[0] - a[0] >= MIN_LABEL_GAP for a, b in pairwise(ticks))
