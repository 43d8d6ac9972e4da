"""A plan's versions: the amendment file read and checked, and which version of a plan is in force on a day.

An amended plan keeps its rows (tasks, targets, duties) at its latest version; each amendment keeps the
version it replaced in the plan file format (PlanAmendment.before). The version in force on a day is the
latest whose amendment was issued on or before it, so a day before an amendment reads the plan as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade.errors import ImportFileError, Problem
from models.db import session_scope
from models.plan import Aggregation, Comparator, DutyKind, Plan, PlanAmendment, PlanStatus, Target, document_code, plan_by_ref
from models.specs import AmendmentFile, AmendmentSpec, PlanSpec
from tasks.plans.imports import LoadedPlan, plan_file_problems
from tasks.plans.lookup import find_plan
from tasks.plans.sources import problem_at, read_tree, sorted_problems, validate


@dataclass(frozen=True)
class AmendmentHeader:
    """The amending document: its number, symbol, day, place, reason and signer."""

    number: str | None
    symbol: str
    issued_on: date
    place: str
    reason: str
    signer_title: str
    signer_name: str

    @property
    def code(self) -> str:
        """'130/KH-UBND', '216-KH/HU': as Plan.code writes a number and symbol."""
        return document_code(self.number, self.symbol)


@dataclass(frozen=True)
class LoadedAmendment:
    header: AmendmentSpec
    plan: LoadedPlan

    def header_for(self, plan: Plan) -> AmendmentHeader:
        """The document's header, the plan's symbol, place and signer where the file gives none."""
        signer = self.header.signer
        return AmendmentHeader(
            number=self.header.number,
            symbol=self.header.symbol or plan.symbol,
            issued_on=self.header.issued_on,
            place=self.header.place or plan.place,
            reason=self.header.reason.strip(),
            signer_title=signer.title if signer else plan.signer_title,
            signer_name=signer.name if signer else plan.signer_name,
        )


def load_amendment(path: str | Path) -> LoadedAmendment:
    """Read and validate an amendment file (YAML or JSON: `amendment:` and `plan:`); raises ImportFileError."""
    path = Path(path)
    data, locator, problems = read_tree(path, ImportFileError)
    spec = validate(AmendmentFile, data, locator, problems, source=str(path), error=ImportFileError, empty_hint="'amendment:' and 'plan:' mappings")
    return LoadedAmendment(spec.amendment, LoadedPlan(spec.plan, path, locator))


def _at(loaded: LoadedAmendment, loc: tuple[str | int, ...], message: str) -> Problem:
    """A problem at `amendment.<loc>` (the plan's own are at `plan.<loc>`: LoadedPlan.problem)."""
    return problem_at(loaded.plan.locator, ("amendment", *loc), message)


def amendment_problems(session: Session, loaded: LoadedAmendment, plan: Plan) -> list[Problem]:
    """Everything that keeps the file from amending `plan`: the plan must be issued and keep its identity, the
    amendment must be dated after the plan and its last amendment and numbered apart from the issuer's other
    documents, kept targets and duties keep their kind, and a deadline set by the amendment cannot already have
    passed on its day. The plan's own checks (units, an implementing plan within its parent) apply as at import."""
    spec, header = loaded.plan.spec, loaded.header
    problems: list[Problem] = []
    if plan.status != PlanStatus.ISSUED:
        why = "a draft is changed with `cascade plan import FILE --replace` until it is issued" if plan.status == PlanStatus.DRAFT else "its cycle is closed"
        return [loaded.plan.problem(("key",), f"plan {plan.code} ({plan.key}) is {plan.status}: only an issued plan is amended; {why}")]
    identity: dict[str, tuple[Any, Any]] = {
        "key": (spec.key, plan.key),
        "number": (spec.number or None, plan.number or None),
        "symbol": (spec.symbol, plan.symbol),
        "issuer": (spec.issuer, plan.issuer.code),
        "issued_on": (spec.issued_on, plan.issued_on),
        "year": (spec.covered_year, plan.year),
    }
    named_parent = plan_by_ref(session, spec.parent_plan) if spec.parent_plan else None
    if (named_parent.id if named_parent is not None else None) != plan.parent_plan_id:
        identity["parent_plan"] = (spec.parent_plan, plan.parent_plan.key if plan.parent_plan is not None else None)
    for field, (given, kept) in identity.items():
        if given != kept:
            problems.append(
                loaded.plan.problem(
                    (field,),
                    f"an amendment keeps the plan's {field} ({kept if kept is not None else 'none'}), got {given}: the amendment's own number and day go under 'amendment:'",
                )
            )
    last = session.scalar(select(func.max(PlanAmendment.issued_on)).where(PlanAmendment.plan_id == plan.id))
    floor = max(plan.issued_on, last or plan.issued_on)
    if header.issued_on < floor:
        what = f"its last amendment ({last:%d/%m/%Y})" if last and last >= plan.issued_on else f"the plan ({plan.issued_on:%d/%m/%Y})"
        problems.append(_at(loaded, ("issued_on",), f"dated {header.issued_on:%d/%m/%Y}, before {what}: an amendment comes after what it amends"))
    symbol = header.symbol or plan.symbol
    if header.number:
        taken = session.scalar(
            select(Plan.key).where(Plan.issuer_id == plan.issuer_id, Plan.year == plan.year, Plan.symbol == symbol, Plan.number == header.number).limit(1)
        ) or session.scalar(
            select(Plan.key)
            .join(PlanAmendment, PlanAmendment.plan_id == Plan.id)
            .where(Plan.issuer_id == plan.issuer_id, Plan.year == plan.year, PlanAmendment.symbol == symbol, PlanAmendment.number == header.number)
            .limit(1)
        )
        if taken is not None:
            problems.append(
                _at(
                    loaded,
                    ("number",),
                    f"number {header.number}/{symbol} of {plan.year} is already used by the issuer ({taken}): give the amendment its own number",
                )
            )
    problems += _kept_kinds(loaded, plan, header.issued_on)
    if not problems:
        problems += plan_file_problems(session, loaded.plan, replace=True, amending=True)[0]
    return sorted_problems(problems)


def _kept_kinds(loaded: LoadedAmendment, plan: Plan, day: date) -> list[Problem]:
    spec = loaded.plan.spec
    problems: list[Problem] = []
    targets = {t.code: t for t in plan.targets}
    for i, target in enumerate(spec.targets):
        kept = targets.get(target.code)
        if kept is not None and (
            target.aggregation != kept.aggregation or (target.numerator, target.denominator) != (kept.numerator_code, kept.denominator_code)
        ):
            problems.append(
                loaded.plan.problem(
                    ("targets", i, "aggregation"),
                    f"'{target.code}' is reported as {kept.aggregation}: an amendment changes its value, not how units report it "
                    "(withdraw it and add a target with a new code)",
                )
            )
    duties = {d.code: d for d in plan.duties if not d.withdrawn}
    for i, duty in enumerate(spec.duties):
        kept_duty = duties.get(duty.code)
        if kept_duty is not None and duty.kind != kept_duty.kind:
            problems.append(loaded.plan.problem(("duties", i, "kind"), f"'{duty.code}' is a {kept_duty.kind} duty: an amendment keeps its kind"))
        moved = duty.due_on is not None and (kept_duty is None or duty.due_on != kept_duty.due_on)
        if moved and duty.due_on is not None and duty.due_on < day:
            problems.append(
                loaded.plan.problem(
                    ("duties", i, "due_on"), f"due {duty.due_on:%d/%m/%Y}, before the amendment's day {day:%d/%m/%Y}: units would be late the day they are told"
                )
            )
    return problems


def version_in_force(session: Session, plan: Plan, day: date) -> dict[str, Any] | None:
    """The plan as it read on `day` (`{plan: …}`) when an amendment issued after that day has changed it since;
    None when the plan's current rows are the version in force."""
    later = session.scalar(
        select(PlanAmendment.before).where(PlanAmendment.plan_id == plan.id, PlanAmendment.issued_on > day).order_by(PlanAmendment.version).limit(1)
    )
    return dict(later) if later is not None else None


def amendments_between(session: Session, plan_id: int, after: date, until: date) -> list[PlanAmendment]:
    """The plan's amendments issued after `after` and on or before `until`, oldest first."""
    return list(
        session.scalars(
            select(PlanAmendment)
            .where(PlanAmendment.plan_id == plan_id, PlanAmendment.issued_on > after, PlanAmendment.issued_on <= until)
            .order_by(PlanAmendment.version)
        )
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def snapshot_targets(document: Mapping[str, Any]) -> list[Target]:
    """A stored version's targets as Target objects (never added to a session): for judging against the version in force."""
    targets = []
    for position, t in enumerate(document["plan"].get("targets", []), start=1):
        threshold = t.get("unit_threshold") or {}
        targets.append(
            Target(
                code=t["code"],
                position=position,
                text=t["text"],
                metric=t["metric"],
                unit_of_measure=t["unit_of_measure"],
                comparator=Comparator(t["comparator"]) if t.get("comparator") else None,
                value=_decimal(t.get("value")),
                aggregation=Aggregation(t["aggregation"]),
                numerator_code=t.get("numerator"),
                denominator_code=t.get("denominator"),
                unit_comparator=Comparator(threshold["comparator"]) if threshold.get("comparator") else None,
                unit_threshold=_decimal(threshold.get("value")),
                reporter_codes=list(t.get("reporters") or []),
                allocations=dict(t.get("allocations") or {}),
                allocation_rule=t.get("allocation_rule"),
            )
        )
    return targets


def snapshot_duty(document: Mapping[str, Any], code: str) -> dict[str, Any] | None:
    """One duty of a stored version, by code, or None when that version did not have it."""
    return next((dict(d) for d in document["plan"].get("duties", []) if d["code"] == code), None)


def reported_codes(targets: Sequence[Target], indicators: Sequence[str], kind: DutyKind | str, unit_code: str) -> set[str]:
    """The codes of the targets a unit reports for a duty asking `indicators` (all when empty), as
    tasks.plans.targets.targets_for_unit decides; none for an implementing-plan duty."""
    if DutyKind(kind) == DutyKind.IMPLEMENTING_PLAN:
        return set()
    asked = [t for t in targets if not indicators or t.code in indicators]
    own = {t.code for t in asked if t.numerator_code is None and (not t.reporter_codes or unit_code in t.reporter_codes)}
    return own | {t.code for t in asked if t.numerator_code is not None and t.numerator_code in own and t.denominator_code in own}


def spec_of(document: Mapping[str, Any]) -> PlanSpec:
    """A `{plan: …}` mapping (plan_document's) as a validated PlanSpec."""
    return PlanSpec.model_validate(dict(document["plan"]))


def check_amendment(plan: str, path: str) -> tuple[LoadedAmendment, int]:
    """The amendment file read and checked against the plan (no Prefect needed); raises ImportFileError, NotFound."""
    loaded = load_amendment(path)
    with session_scope() as session:
        found = find_plan(session, plan)
        problems = amendment_problems(session, loaded, found)
        if problems:
            raise ImportFileError(str(loaded.plan.source), problems)
        return loaded, found.id
