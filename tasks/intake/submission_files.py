"""Reading a submission file (`cascade submit FILE`) and checking it against its duty."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import ConflictError, NotFound, Problem, SubmissionError
from models.db import session_scope
from models.plan import (
    Aggregation,
    DutyKind,
    Plan,
    ReportDuty,
    Target,
    asked_sections,
    plan_by_ref,
)
from models.specs import (
    Loc,
    SubmissionSpec,
    plain_number,
)
from models.submission import Channel
from models.unit import Unit
from tasks.intake.submissions import FigureInput, SubmissionInput, sha256_file
from tasks.plans.lookup import find_assignment
from tasks.plans.sources import YamlLocator, problem_at, read_tree, sorted_problems, validate


@dataclass(frozen=True)
class LoadedSubmission:
    """A submission file whose shape is valid, with the lines of its fields and its attachments' paths."""

    spec: SubmissionSpec
    source: Path
    locator: YamlLocator
    attachment_paths: tuple[Path, ...]

    def line_of(self, *loc: str | int) -> int | None:
        return self.locator.line(loc)

    def problem(self, loc: Loc, message: str) -> Problem:
        return problem_at(self.locator, loc, message)


def load_submission(path: str | Path, *, evidence_dir: Path | None = None) -> LoadedSubmission:
    """Read a submission file and check its shape (numbers, rates, attachments present, inside the file's
    folder or `evidence_dir`); raises SubmissionError."""
    path = Path(path)
    base = evidence_dir if evidence_dir is not None else path.parent
    data, locator, problems = read_tree(path, SubmissionError)
    spec = validate(
        SubmissionSpec, data, locator, problems,
        source=str(path), error=SubmissionError, empty_hint="the keys plan, duty, unit, values and sections",
        context={"base_dir": base},
    )  # fmt: skip
    attachments = tuple((base / name).resolve() for name in spec.attachments)
    return LoadedSubmission(spec, path, locator, attachments)


def resolve_submission(doc: LoadedSubmission, *, session: Session) -> tuple[Plan, ReportDuty, Unit]:
    """The plan, duty and unit a submission answers; raises SubmissionError pointing at the wrong line.

    The file may name the plan that reached the unit or any plan above it: a unit two levels
    down reports to its own level's implementing plan, which is the one returned.
    """
    spec = doc.spec
    problems: list[Problem] = []
    try:
        plan = plan_by_ref(session, spec.plan)
    except ConflictError as exc:
        raise SubmissionError(str(doc.source), [doc.problem(("plan",), str(exc))]) from None
    if plan is None:
        problems.append(doc.problem(("plan",), f"unknown plan '{spec.plan}': give its key (e.g. 74-kh-sxd-2024) or its number/symbol (74/KH-SXD)"))
    unit = session.scalar(select(Unit).where(Unit.code == spec.unit))
    if unit is None:
        problems.append(doc.problem(("unit",), f"unknown unit '{spec.unit}': not in the database"))
    if problems or plan is None or unit is None:
        raise SubmissionError(str(doc.source), sorted_problems(problems))
    try:
        duty = find_assignment(session, plan, spec.duty, unit.code).duty
    except NotFound:
        # Not assigned (yet): check the file against the named plan's duty; recording it will say why it cannot be taken.
        named = next((d for d in plan.duties if d.code == spec.duty), None)
        if named is None:
            known = ", ".join(d.code for d in plan.duties) or "none"
            raise SubmissionError(
                str(doc.source), [doc.problem(("duty",), f"unknown duty '{spec.duty}' in plan {plan.code}; expected one of: {known}")]
            ) from None
        duty = named
    return duty.plan, duty, unit


def check_submission_against_duty(doc: LoadedSubmission, duty: ReportDuty, targets: Sequence[Target]) -> None:
    """Check a submission against its duty: indicators, rate shapes, sections; raises SubmissionError.

    `targets` are the plan's targets (those outside the duty's indicator list are ignored).
    The unit must give a figure for every indicator of the duty it reports, and only those;
    a weighted_rate indicator needs {numerator, denominator} (0/0 when there was nothing to count),
    a rate computed from two counts is not given; a sum needs a single value;
    every section of the duty must be filled, and no other section given.
    """
    spec = doc.spec
    problems: list[Problem] = []
    if spec.duty != duty.code:
        problems.append(doc.problem(("duty",), f"expected duty '{duty.code}'; got '{spec.duty}'"))

    wanted = set(duty.indicator_codes)
    of_duty = [] if duty.kind == DutyKind.IMPLEMENTING_PLAN else [t for t in targets if not wanted or t.code in wanted]
    by_code = {t.code: t for t in of_duty}
    mine = [t for t in of_duty if not t.is_computed and (not t.reporter_codes or spec.unit in t.reporter_codes)]
    for code, figure in spec.values.items():
        target = by_code.get(code)
        if target is None:
            expected = ", ".join(t.code for t in mine) or "none"
            problems.append(doc.problem(("values", code), f"unknown indicator '{code}' for duty '{duty.code}'; this unit reports: {expected}"))
        elif target.is_computed:
            problems.append(
                doc.problem(
                    ("values", code), f"'{code}' is computed from '{target.numerator_code}' / '{target.denominator_code}': remove it, give those two counts"
                )
            )
        elif target not in mine:
            problems.append(doc.problem(("values", code), f"unit '{spec.unit}' does not report '{code}' (reported by: {', '.join(target.reporter_codes)})"))
        elif target.aggregation == Aggregation.WEIGHTED_RATE and not figure.is_rate:
            problems.append(
                doc.problem(
                    ("values", code), f"'{code}' is a rate: expected {{numerator, denominator}}; got a single value {plain_number(figure.value or Decimal(0))}"
                )
            )
        elif figure.value is not None and figure.value < 0:
            problems.append(doc.problem(("values", code), f"'{code}' ({target.metric}): expected a figure ≥ 0; got {plain_number(figure.value)}"))
        elif figure.value is not None and target.unit_of_measure == "%" and figure.value > 100:
            problems.append(doc.problem(("values", code), f"'{code}' is a percentage: expected 0 to 100; got {plain_number(figure.value)}"))
        elif target.aggregation == Aggregation.SUM and figure.is_rate:
            problems.append(
                doc.problem(
                    ("values", code),
                    f"'{code}' is a quantity ({target.unit_of_measure}) added up over units: expected a single value, not a numerator and denominator",
                )
            )
    for target in mine:
        if target.code not in spec.values:
            problems.append(doc.problem(("values",), f"missing value for indicator '{target.code}' ({target.metric})"))

    titles = {s["code"]: s["title"] for s in asked_sections(duty)}
    for code in spec.sections:
        if code not in titles:
            problems.append(doc.problem(("sections", code), f"unknown section '{code}' for duty '{duty.code}'; expected one of: {', '.join(titles)}"))
    for code, title in titles.items():
        if not spec.sections.get(code, "").strip():
            loc: Loc = ("sections", code) if code in spec.sections else ("sections",)
            problems.append(doc.problem(loc, f"section '{code}' ({title}) is required and must not be empty"))
    if problems:
        raise SubmissionError(str(doc.source), sorted_problems(problems))


def submission_input(path: str | Path, *, evidence_dir: Path | None = None) -> SubmissionInput:
    """Read and check a submission file against its duty; the file's content (and its attachments') is its source key.
    Evidence is read from the file's folder, or from `evidence_dir` when given."""
    doc = load_submission(path, evidence_dir=evidence_dir)
    with session_scope() as session:
        plan, duty, unit = resolve_submission(doc, session=session)
        check_submission_against_duty(doc, duty, plan.targets)
        plan_key = plan.key
    spec = doc.spec
    digest = hashlib.sha256(Path(path).read_bytes())
    for attachment in doc.attachment_paths:
        digest.update(sha256_file(attachment).encode())
    return SubmissionInput(
        plan=plan_key,
        duty=duty.code,
        unit=unit.code,
        channel=Channel.FILE,
        source_key=f"sha256:{digest.hexdigest()}",
        values={code: FigureInput(f.value, f.numerator, f.denominator, f.note) for code, f in spec.values.items()},
        sections={code: text for code, text in spec.sections.items()},
        self_score=spec.self_assessment.score if spec.self_assessment else None,
        self_assessment=spec.self_assessment.note if spec.self_assessment else "",
        attachments=doc.attachment_paths,
        sender=spec.submitted_by,
    )
