"""The board's chart of reports coming in: for each level, the share of its units that had reported by
each day, against that level's deadline. Drawn as SVG on the server (templates/web/_progress_chart.svg.j2),
so that it shows without JavaScript and prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from portal.board import BoardRow

WIDTH, HEIGHT = 560, 250
LEFT, RIGHT, TOP, BOTTOM = 52, 20, 14, 40
COLOURS = ("#8b1a1a", "#1f4e8c", "#1b6e20", "#a15c00", "#5b2a86")
DAYS_BEFORE = 14  # the chart starts this many days before the earliest deadline, or at the first report if earlier
DAYS_AFTER = 3


@dataclass(frozen=True)
class LevelLine:
    level: int
    units: int
    colour: str
    points: str  # the polyline's "x,y x,y …"
    deadlines: tuple[tuple[float, date], ...]  # x of each deadline of the level's units, and the day
    reported: int  # units that had reported by the last day drawn
    on_time: int  # of those, by their deadline


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    right: int  # x of the plot's right edge
    bottom: int  # y of the plot's baseline (0 %)
    first: date
    last: date
    shown_until: date  # the board's day, or the last day drawn if earlier
    lines: tuple[LevelLine, ...]
    ticks: tuple[tuple[float, date], ...]  # x and day of the labelled days
    grid: tuple[tuple[float, int], ...]  # y and percent of the horizontal lines


MIN_LABEL_GAP = 48  # px between labelled days: a label is five characters ('23/10') at 16 px


def _apart(ticks: tuple[tuple[float, date], ...]) -> tuple[tuple[float, date], ...]:
    """The labelled days with none closer than MIN_LABEL_GAP to the one before; the first and the last
    are kept, a day too close to the last giving way to it (two labels on one spot print as one smudge)."""
    kept: list[tuple[float, date]] = []
    for tick in ticks:
        if kept and tick[0] - kept[-1][0] < MIN_LABEL_GAP:
            if tick is not ticks[-1]:
                continue
            if len(kept) > 1:
                kept.pop()
        kept.append(tick)
    return tuple(kept)


def progress_chart(rows: Sequence[BoardRow], as_of: date) -> Chart | None:
    """The chart for the board's rows (every unit at every level), up to `as_of`; None when there are none.

    A unit counts from the day its report (first version) came in; a returned report counts as it did
    for the level rates, from the day it first came."""
    if not rows:
        return None
    deadlines = sorted({r.due_on for r in rows})
    reported_days = [r.submitted_on for r in rows if r.submitted_on is not None]
    first = min([deadlines[0] - timedelta(days=DAYS_BEFORE), *reported_days])
    last = max(deadlines[-1] + timedelta(days=DAYS_AFTER), min(as_of, deadlines[-1] + timedelta(days=60)))
    span = max(1, (last - first).days)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(day: date) -> float:
        return round(LEFT + (right - LEFT) * (day - first).days / span, 1)

    def y(percent: float) -> float:
        return round(bottom - (bottom - TOP) * percent / 100, 1)

    shown_until = min(as_of, last)
    lines = []
    for index, level in enumerate(sorted({r.level for r in rows})):
        at = [r for r in rows if r.level == level]
        came = sorted(r.submitted_on for r in at if r.submitted_on is not None and r.submitted_on <= shown_until)
        points, count, day = [f"{x(first)},{y(0)}"], 0, first
        for when in came:  # a step at each day a report came in
            if when > day:
                points.append(f"{x(when)},{y(100 * count / len(at))}")
                day = when
            count += 1
            points.append(f"{x(when)},{y(100 * count / len(at))}")
        points.append(f"{x(shown_until)},{y(100 * count / len(at))}")
        on_time = sum(1 for r in at if r.submitted_on is not None and r.submitted_on <= r.due_on)
        level_deadlines = tuple((x(d), d) for d in sorted({r.due_on for r in at}))
        lines.append(LevelLine(level, len(at), COLOURS[index % len(COLOURS)], " ".join(points), level_deadlines, len(came), on_time))
    ticks = _apart(tuple((x(d), d) for d in sorted({first, *deadlines, shown_until})))
    grid = tuple((y(percent), percent) for percent in (0, 50, 100))
    return Chart(WIDTH, HEIGHT, LEFT, TOP, right, bottom, first, last, shown_until, tuple(lines), ticks, grid)
