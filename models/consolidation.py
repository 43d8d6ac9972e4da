"""Consolidating a duty's submissions: who reported, on time or late, and every target's verdict.

Pure: `consolidate` takes plain values loaded by tasks.reporting.consolidation and returns plain values
that the report templates render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from models.aggregation import TargetResult, TargetRule, UnitFigure, Verdict, judge, rate
from models.report_outline import OutlineSection


@dataclass(frozen=True)
class ExpectedUnit:
    """An assignee of the duty as of the consolidation day."""

    code: str
    name: str
    due_on: date
    submitted_on: date | None  # first submission on or before the consolidation day
    submission_id: int | None  # latest version on or before the consolidation day
    version: int | None = None
    returned: bool = False  # its latest version was returned by the day: left out until it resubmits
    earlier_plan: str | None = None  # the amendment its latest version predates, when it changed a target the unit reports

    def is_late(self, as_of: date) -> bool:
        if self.submitted_on is not None:
            return self.submitted_on > self.due_on
        return as_of > self.due_on


@dataclass(frozen=True)
class SectionText:
    unit_code: str
    unit_name: str
    text: str
    submission_id: int


@dataclass(frozen=True)
class LevelRate:
    """Reporting at one level below the consolidating unit (1 = its direct subordinates)."""

    level: int
    expected: int
    submitted: int
    on_time: int

    @property
    def completeness(self) -> Decimal | None:
        return rate(self.submitted, self.expected)

    @property
    def timeliness(self) -> Decimal | None:
        return rate(self.on_time, self.expected)


@dataclass(frozen=True)
class ConsolidationInput:
    as_of: date
    units: tuple[ExpectedUnit, ...]
    rules: tuple[tuple[TargetRule, tuple[str, ...]], ...]  # each rule with its expected reporters
    figures: dict[str, tuple[UnitFigure, ...]]  # indicator code → the units' latest figures
    sections: tuple[tuple[str, str], ...]  # (code, title) in the duty's order
    narratives: dict[str, tuple[SectionText, ...]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)  # unit code → units at the bottom it stands for
    levels: tuple[LevelRate, ...] = ()  # reporting at every level below, for the duty and the duties answering it


@dataclass(frozen=True)
class Consolidation:
    as_of: date
    expected: int
    submitted: tuple[ExpectedUnit, ...]
    on_time: tuple[ExpectedUnit, ...]
    late: tuple[ExpectedUnit, ...]  # submitted after the due date
    missing: tuple[ExpectedUnit, ...]  # not submitted by the consolidation day
    overdue_missing: tuple[ExpectedUnit, ...]  # missing and past their due date
    results: tuple[TargetResult, ...]
    sections: tuple[tuple[str, str, tuple[SectionText, ...]], ...]  # (code, title, texts)
    levels: tuple[LevelRate, ...] = ()
    returned: tuple[ExpectedUnit, ...] = ()  # returned for correction and not resubmitted: counted neither submitted nor missing

    @property
    def completeness(self) -> Decimal | None:
        """Submitted units as a percentage of expected units."""
        return rate(len(self.submitted), self.expected)

    @property
    def timeliness(self) -> Decimal | None:
        """Units that submitted by their due date, as a percentage of expected units."""
        return rate(len(self.on_time), self.expected)

    @property
    def before_amendment(self) -> tuple[ExpectedUnit, ...]:
        """Units whose report predates an amendment that changed a target they report ("theo kế hoạch trước sửa đổi")."""
        return tuple(u for u in self.submitted if u.earlier_plan)

    @property
    def met(self) -> int:
        return sum(1 for r in self.results if r.verdict == Verdict.MET)

    @property
    def judged(self) -> int:
        """The targets 'Đạt x/y chỉ tiêu' counts: plain figures and rates with nothing to count are left out."""
        return sum(1 for r in self.results if r.is_target)


def computed_rate_figures(numerators: Sequence[UnitFigure], denominators: Sequence[UnitFigure]) -> tuple[UnitFigure, ...]:
    """Each unit's rate from its two count figures (the part and the whole), for a weighted rate
    whose numerator and denominator are count indicators of the plan; a unit gives a rate only
    when it gave both counts."""
    wholes = {f.unit_code: f for f in denominators if f.own_value is not None}
    return tuple(
        UnitFigure(part.unit_code, None, part.own_value, wholes[part.unit_code].own_value, part.submission_id, part.covers)
        for part in numerators
        if part.own_value is not None and part.unit_code in wholes
    )


def rule_figures(rule: TargetRule, figures: dict[str, tuple[UnitFigure, ...]]) -> tuple[UnitFigure, ...]:
    """The units' figures a rule judges: their own, or for a computed rate those of its two counts."""
    if rule.numerator_code is not None and rule.denominator_code is not None:
        return computed_rate_figures(figures.get(rule.numerator_code, ()), figures.get(rule.denominator_code, ()))
    return figures.get(rule.code, ())


def consolidate(data: ConsolidationInput) -> Consolidation:
    units = data.units
    submitted = tuple(u for u in units if u.submitted_on is not None and not u.returned)
    results = tuple(judge(rule, rule_figures(rule, data.figures), reporters, data.weights) for rule, reporters in data.rules)
    return Consolidation(
        as_of=data.as_of,
        expected=len(units),
        submitted=submitted,
        on_time=tuple(u for u in submitted if not u.is_late(data.as_of)),
        late=tuple(u for u in submitted if u.is_late(data.as_of)),
        missing=tuple(u for u in units if u.submitted_on is None),
        overdue_missing=tuple(u for u in units if u.submitted_on is None and u.is_late(data.as_of)),
        results=results,
        sections=tuple((code, title, data.narratives.get(code, ())) for code, title in data.sections),
        levels=data.levels,
        returned=tuple(u for u in units if u.returned),
    )


def expected_reporters(rule_reporters: Sequence[str], assignees: Sequence[str]) -> tuple[str, ...]:
    """A target's reporters among the duty's assignees (all assignees when it names none)."""
    if not rule_reporters:
        return tuple(assignees)
    wanted = set(rule_reporters)
    return tuple(code for code in assignees if code in wanted)


@dataclass(frozen=True)
class ReportHeader:
    """What the report prints besides the figures: issuer, plan, duty, recipients, signer."""

    plan: dict[str, Any]
    issuer: dict[str, Any]
    duty: dict[str, Any]
    recipients: tuple[str, ...]
    signer_title: str
    signer_name: str
    duty_id: int
    issuer_id: int
    report_recipients: tuple[str, ...] = ()  # Nơi nhận: the plan's report_recipients, or the body above
    above: str | None = None  # the body the report goes up to (the issuer of the plan this one implements)
    outline: tuple[OutlineSection, ...] = ()  # the report's numbered sections (models.report_outline)
    issuer_emails: tuple[str, ...] = ()  # the consolidating unit's own mailboxes (its secretariat)
    top_level: bool = True  # the plan implements no plan in the system
