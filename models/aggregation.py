"""Judging targets against the units' figures: pure functions over plain values.

Rules (documented in the README):
- sum: the units' values are added; a unit that has not reported adds nothing.
- mean: the average of the values reported; a consolidated figure (a level below's mean)
  weighs as many units as it covers, so the mean is over all the units at the bottom.
- weighted_rate: Σ numerators / Σ denominators × 100, so large units weigh more.
- share_of_units: the percentage of the *expected* units whose own figure meets the
  unit threshold; a unit that has not reported counts as not meeting it. A consolidated
  figure brings its counts (passing units / units counted), so the share is over all the
  units at the bottom; a missing unit that stands for several counts as that many failing.
A target with no figure at all has no verdict ('Chưa có số liệu').

A unit with nothing to count reports a rate as 0/0 ('không phát sinh'): it has reported, and adds
nothing to the weighted rate; when every unit reporting says 0/0 the rate itself is 'không phát
sinh' and is judged by nothing. A plain figure (a target without a comparator) is aggregated the
same way and never judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from models.plan import Aggregation, Comparator

HUNDRED = Decimal(100)


class Verdict(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"
    NOT_JUDGED = "not_judged"  # a plain figure, or a rate with nothing to count (0/0 everywhere)


@dataclass(frozen=True)
class TargetRule:
    code: str
    metric: str
    text: str
    unit_of_measure: str
    comparator: Comparator | None  # None: a plain figure, judged by nothing
    value: Decimal | None
    aggregation: Aggregation
    unit_comparator: Comparator | None = None
    unit_threshold: Decimal | None = None
    numerator_code: str | None = None  # a weighted rate computed from two count indicators
    denominator_code: str | None = None

    @property
    def is_plain(self) -> bool:
        return self.comparator is None or self.value is None


@dataclass(frozen=True)
class UnitFigure:
    """One unit's reported figure for one indicator, with the submission it came from."""

    unit_code: str
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    submission_id: int | None = None
    covers: int | None = None  # a consolidated figure: how many units it stands for (None: one unit's own)

    @property
    def weight(self) -> int:
        return self.covers or 1

    @property
    def nothing_to_count(self) -> bool:
        """A rate reported as 0/0: the unit had nothing to count ('không phát sinh')."""
        return self.value is None and self.numerator == 0 and self.denominator == 0

    @property
    def has_figure(self) -> bool:
        """Whether the unit reported a figure at all (0/0 included)."""
        return self.own_value is not None or self.nothing_to_count

    @property
    def own_value(self) -> Decimal | None:
        """The unit's figure: its value, or its own rate when it gave a numerator and denominator."""
        if self.value is not None:
            return self.value
        if self.numerator is not None and self.denominator:
            return self.numerator / self.denominator * HUNDRED
        return None


@dataclass(frozen=True)
class TargetResult:
    rule: TargetRule
    figure: Decimal | None
    verdict: Verdict
    expected: int
    reported: int
    numerator: Decimal | None = None  # weighted_rate: Σ numerators; share_of_units: units meeting it
    denominator: Decimal | None = None
    passing_units: tuple[str, ...] = ()
    sources: tuple[tuple[str, int], ...] = ()  # (unit code, submission id) behind the figure
    covers: int = 0  # units at the bottom the figure stands for
    idle_units: tuple[str, ...] = ()  # weighted_rate: the units that reported 0/0 (nothing to count)

    @property
    def is_complete(self) -> bool:
        return self.reported >= self.expected

    @property
    def is_target(self) -> bool:
        """Whether it counts among the targets judged ('Đạt x/y chỉ tiêu'): not a plain figure,
        nor a rate with nothing to count."""
        return not self.rule.is_plain and self.verdict != Verdict.NOT_JUDGED

    @property
    def nothing_to_count(self) -> bool:
        """A rate every reporting unit gave as 0/0: shown 'không phát sinh'."""
        return self.rule.aggregation == Aggregation.WEIGHTED_RATE and self.reported > 0 and self.denominator == 0


def compare(figure: Decimal, comparator: Comparator, value: Decimal) -> bool:
    """Whether `figure` satisfies '<comparator> value'."""
    match comparator:
        case Comparator.EQ:
            return figure == value
        case Comparator.GT:
            return figure > value
        case Comparator.GE:
            return figure >= value
        case Comparator.LT:
            return figure < value
        case Comparator.LE:
            return figure <= value
    raise ValueError(f"unknown comparator {comparator!r}")


def judge(rule: TargetRule, figures: Sequence[UnitFigure], expected_units: Sequence[str], weights: Mapping[str, int] | None = None) -> TargetResult:
    """Aggregate the expected units' figures by the rule's aggregation and judge the result.

    `weights` says how many units at the bottom an expected unit stands for when it has not
    reported (default 1); it only matters for share_of_units.
    """
    weights = weights or {}
    expected = list(dict.fromkeys(expected_units))
    by_unit = {f.unit_code: f for f in figures if f.unit_code in expected}
    reported = {code: f for code, f in by_unit.items() if f.has_figure}
    valued = [(f.own_value, f.weight) for f in reported.values() if f.own_value is not None]
    sources = tuple((code, f.submission_id) for code, f in reported.items() if f.submission_id is not None)
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    passing: tuple[str, ...] = ()
    figure: Decimal | None
    covers = sum(f.weight for f in reported.values())

    match rule.aggregation:
        case Aggregation.SUM:
            figure = sum((value for value, _ in valued), Decimal(0)) if valued else None
        case Aggregation.MEAN:
            weight = sum(w for _, w in valued)
            total = sum((value * w for value, w in valued), Decimal(0))
            figure = total / weight if valued else None
        case Aggregation.WEIGHTED_RATE:
            # a 0/0 unit adds nothing to either sum, but it has reported
            weighted = [(f.numerator, f.denominator) for f in reported.values() if f.numerator is not None and f.denominator is not None]
            figure = None
            if weighted:
                numerator = sum((part for part, _ in weighted), Decimal(0))
                denominator = sum((whole for _, whole in weighted), Decimal(0))
                figure = numerator / denominator * HUNDRED if denominator else None
        case Aggregation.SHARE_OF_UNITS:
            unit_comparator, unit_threshold = rule.unit_comparator, rule.unit_threshold
            if unit_comparator is None or unit_threshold is None:
                raise ValueError(f"target {rule.code}: share_of_units needs a unit threshold")
            own = {code: f.own_value for code, f in reported.items() if f.covers is None and f.own_value is not None}
            passing = tuple(code for code in expected if code in own and compare(own[code], unit_comparator, unit_threshold))
            numerator = Decimal(len(passing))
            denominator = Decimal(0)
            for code in expected:
                f = reported.get(code)
                if f is not None and f.covers is not None:  # a level below: its own counts
                    numerator += f.numerator or Decimal(0)
                    denominator += f.denominator if f.denominator is not None else Decimal(f.covers)
                else:
                    denominator += Decimal(1 if f is not None else weights.get(code, 1))
            covers = int(denominator)
            figure = numerator / denominator * HUNDRED if denominator and reported else None
        case _:
            raise ValueError(f"unknown aggregation {rule.aggregation!r}")

    if figure is None and numerator == 0 and denominator == 0 and reported and rule.aggregation == Aggregation.WEIGHTED_RATE:
        verdict = Verdict.NOT_JUDGED  # every unit had nothing to count
    elif figure is None:
        verdict = Verdict.NO_DATA
    elif rule.comparator is None or rule.value is None:  # rule.is_plain
        verdict = Verdict.NOT_JUDGED
    else:
        verdict = Verdict.MET if compare(figure, rule.comparator, rule.value) else Verdict.NOT_MET
    idle = tuple(code for code, f in reported.items() if f.nothing_to_count) if rule.aggregation == Aggregation.WEIGHTED_RATE else ()
    return TargetResult(rule, figure, verdict, len(expected), len(reported), numerator, denominator, passing, sources, covers, idle)


def rate(part: int, whole: int) -> Decimal | None:
    """part / whole × 100, or None for an empty whole."""
    return Decimal(part) / Decimal(whole) * HUNDRED if whole else None
