from decimal import Decimal as D

import pytest

from models.aggregation import TargetRule, UnitFigure, Verdict, compare, judge
from models.plan import Aggregation, Comparator

UNITS = ["A", "B", "C", "D"]


def rule(aggregation: Aggregation, comparator: Comparator, value: str, **extra: object) -> TargetRule:
    return TargetRule("t", "metric", "text", extra.pop("uom", "%"), comparator, D(value), aggregation, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("figure", "comparator", "value", "expected"),
    [
        ("100", Comparator.EQ, "100", True),
        ("99.9", Comparator.EQ, "100", False),
        ("80", Comparator.GT, "80", False),  # "trên 80%" excludes 80
        ("80.01", Comparator.GT, "80", True),
        ("715", Comparator.GE, "715", True),
        ("714", Comparator.GE, "715", False),
        ("4.9", Comparator.LT, "5", True),
        ("5", Comparator.LT, "5", False),
        ("5", Comparator.LE, "5", True),
        ("5.1", Comparator.LE, "5", False),
    ],
)
def test_compare(figure: str, comparator: Comparator, value: str, expected: bool) -> None:
    assert compare(D(figure), comparator, D(value)) is expected


def test_sum_adds_reported_units_and_flags_incompleteness() -> None:
    figures = [UnitFigure("A", D(300), submission_id=1), UnitFigure("B", D(420), submission_id=2)]
    result = judge(rule(Aggregation.SUM, Comparator.GE, "715", uom="căn"), figures, UNITS)
    assert result.figure == D(720)
    assert result.verdict == Verdict.MET
    assert (result.reported, result.expected, result.is_complete) == (2, 4, False)
    assert result.sources == (("A", 1), ("B", 2))


def test_sum_below_target_is_not_met() -> None:
    figures = [UnitFigure("A", D(300)), UnitFigure("B", D(414))]
    assert judge(rule(Aggregation.SUM, Comparator.GE, "715"), figures, UNITS).verdict == Verdict.NOT_MET


def test_mean_averages_only_units_that_reported() -> None:
    figures = [UnitFigure("A", D(90)), UnitFigure("B", D(97)), UnitFigure("C", None)]
    result = judge(rule(Aggregation.MEAN, Comparator.GT, "93"), figures, UNITS)
    assert result.figure == D("93.5")
    assert result.verdict == Verdict.MET


def test_weighted_rate_weighs_by_denominators_not_by_units() -> None:
    # A small unit at 100% must not lift a large unit at 80% to 90%.
    figures = [UnitFigure("A", numerator=D(10), denominator=D(10)), UnitFigure("B", numerator=D(800), denominator=D(1000))]
    result = judge(rule(Aggregation.WEIGHTED_RATE, Comparator.GE, "89"), figures, UNITS)
    assert result.figure == D(810) / D(1010) * 100
    assert (result.numerator, result.denominator) == (D(810), D(1010))
    assert result.verdict == Verdict.NOT_MET


def test_share_of_units_counts_missing_units_as_not_meeting() -> None:
    target = rule(Aggregation.SHARE_OF_UNITS, Comparator.GT, "80", unit_comparator=Comparator.GE, unit_threshold=D(1))
    figures = [UnitFigure("A", D(1)), UnitFigure("B", D(1)), UnitFigure("C", D(1))]  # D has not reported
    result = judge(target, figures, UNITS)
    assert result.figure == D(75)
    assert result.passing_units == ("A", "B", "C")
    assert result.verdict == Verdict.NOT_MET


def test_share_of_units_with_rates_per_unit() -> None:
    target = rule(Aggregation.SHARE_OF_UNITS, Comparator.EQ, "100", unit_comparator=Comparator.EQ, unit_threshold=D(100))
    figures = [UnitFigure(code, numerator=D(20), denominator=D(20)) for code in UNITS]
    assert judge(target, figures, UNITS).verdict == Verdict.MET
    figures[0] = UnitFigure("A", numerator=D(19), denominator=D(20))
    result = judge(target, figures, UNITS)
    assert result.figure == D(75) and result.verdict == Verdict.NOT_MET


def test_units_outside_the_expected_list_are_ignored() -> None:
    figures = [UnitFigure("A", D(5)), UnitFigure("Z", D(1000))]
    assert judge(rule(Aggregation.SUM, Comparator.GE, "10", uom="căn"), figures, ["A", "B"]).figure == D(5)


@pytest.mark.parametrize("aggregation", list(Aggregation))
def test_no_figures_gives_no_verdict(aggregation: Aggregation) -> None:
    extra = {"unit_comparator": Comparator.GE, "unit_threshold": D(1)} if aggregation == Aggregation.SHARE_OF_UNITS else {}
    result = judge(rule(aggregation, Comparator.GE, "1", **extra), [], UNITS)
    assert result.figure is None and result.verdict == Verdict.NO_DATA
