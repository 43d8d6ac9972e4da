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


def test_a_unit_with_nothing_to_count_has_reported_and_weighs_nothing() -> None:
    """A centre that received no dossiers reports 0/0: it counts as reported, adds nothing to the rate."""
    figures = [UnitFigure("A", numerator=D(694), denominator=D(788), submission_id=1), UnitFigure("B", numerator=D(0), denominator=D(0), submission_id=2)]
    result = judge(rule(Aggregation.WEIGHTED_RATE, Comparator.GE, "85"), figures, ["A", "B"])
    assert (result.reported, result.expected, result.is_complete) == (2, 2, True)
    assert result.figure == D(694) / D(788) * 100
    assert (result.numerator, result.denominator) == (D(694), D(788))
    assert result.verdict == Verdict.MET and not result.nothing_to_count
    assert result.sources == (("A", 1), ("B", 2))
    assert figures[1].nothing_to_count and figures[1].own_value is None


def test_a_rate_every_unit_gives_as_zero_over_zero_is_nothing_to_count_not_a_division_by_zero() -> None:
    figures = [UnitFigure("A", numerator=D(0), denominator=D(0)), UnitFigure("B", numerator=D(0), denominator=D(0))]
    result = judge(rule(Aggregation.WEIGHTED_RATE, Comparator.EQ, "100"), figures, ["A", "B", "C"])
    assert result.figure is None
    assert result.verdict == Verdict.NOT_JUDGED
    assert result.nothing_to_count and not result.is_target
    assert (result.reported, result.expected, result.covers) == (2, 3, 2)


def test_a_plain_figure_is_aggregated_and_never_judged() -> None:
    plain = TargetRule("t", "Hồ sơ tiếp nhận", "text", "hồ sơ", None, None, Aggregation.SUM)
    result = judge(plain, [UnitFigure("A", D(788)), UnitFigure("B", D(12))], UNITS)
    assert result.figure == D(800)
    assert result.verdict == Verdict.NOT_JUDGED and not result.is_target
    assert judge(plain, [], UNITS).verdict == Verdict.NO_DATA
    assert not judge(plain, [], UNITS).is_target
    mean = TargetRule("m", "Điểm", "text", "điểm", None, None, Aggregation.MEAN)
    assert judge(mean, [UnitFigure("A", D(90)), UnitFigure("B", D(80))], UNITS).figure == D(85)


def test_a_rate_computed_from_two_counts_per_unit_and_overall() -> None:
    from datetime import date

    from models.consolidation import ConsolidationInput, ExpectedUnit, consolidate

    received = TargetRule("tiep_nhan", "Hồ sơ tiếp nhận", "t", "hồ sơ", None, None, Aggregation.SUM)
    online = TargetRule("truc_tuyen", "Hồ sơ trực tuyến", "t", "hồ sơ", None, None, Aggregation.SUM)
    rate = TargetRule("ty_le", "Tỷ lệ trực tuyến", "t", "%", Comparator.GE, D(80), Aggregation.WEIGHTED_RATE,
                      numerator_code="truc_tuyen", denominator_code="tiep_nhan")  # fmt: skip
    day = date(2024, 10, 30)
    data = ConsolidationInput(
        as_of=day,
        units=tuple(ExpectedUnit(code, code, day, day, i) for i, code in enumerate(["A", "B", "C"], start=1)),
        rules=((received, ("A", "B", "C")), (online, ("A", "B", "C")), (rate, ("A", "B", "C"))),
        figures={
            "tiep_nhan": (UnitFigure("A", D(788), submission_id=1), UnitFigure("B", D(200), submission_id=2), UnitFigure("C", D(0), submission_id=3)),
            "truc_tuyen": (UnitFigure("A", D(694), submission_id=1), UnitFigure("B", D(100), submission_id=2), UnitFigure("C", D(0), submission_id=3)),
        },
        sections=(),
    )
    result = consolidate(data)
    by_code = {r.rule.code: r for r in result.results}
    assert by_code["ty_le"].figure == D(794) / D(988) * 100
    assert (by_code["ty_le"].numerator, by_code["ty_le"].denominator, by_code["ty_le"].reported) == (D(794), D(988), 3)
    assert by_code["ty_le"].verdict == Verdict.MET
    assert by_code["tiep_nhan"].verdict == Verdict.NOT_JUDGED
    assert (result.met, result.judged) == (1, 1)


def test_the_units_with_nothing_to_count_are_named() -> None:
    figures = [UnitFigure("A", numerator=D(8), denominator=D(10)), UnitFigure("B", numerator=D(0), denominator=D(0)), UnitFigure("C", D(5))]
    assert judge(rule(Aggregation.WEIGHTED_RATE, Comparator.GE, "80"), figures, UNITS).idle_units == ("B",)
