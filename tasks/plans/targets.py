"""What a plan's targets ask of each unit: the targets of a duty, and each unit's share of a sum.

Memoised in the session where a batch asks the same question for many units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.assignment import EXPECTED_STATUSES, Assignment
from models.cascading import AllocationRule, split_equally
from models.plan import Aggregation, DutyKind, Plan, ReportDuty, Target, duty_assignees
from models.unit import Unit


def duty_targets(session: Session, duty: ReportDuty) -> list[Target]:
    """The targets a duty asks for: its listed indicators, or all the plan's targets (none for an implementing plan).

    Memoised in the session (one task's batch), where targets do not change.
    """
    memo: dict[int, list[Target]] = session.info.setdefault("duty_targets", {})
    if duty.kind == DutyKind.IMPLEMENTING_PLAN:
        return []  # issuing the plan is the answer: no figures
    if duty.id not in memo:
        targets = session.scalars(select(Target).where(Target.plan_id == duty.plan_id).order_by(Target.position)).all()
        wanted = set(duty.indicator_codes)
        memo[duty.id] = [t for t in targets if not wanted or t.code in wanted]
    return memo[duty.id]


def targets_for_unit(targets: list[Target], unit_code: str) -> list[Target]:
    """The targets this unit reports figures for (all, unless a target names its reporters); a rate
    computed from two counts goes with them."""
    own = [t for t in targets if not t.is_computed and (not t.reporter_codes or unit_code in t.reporter_codes)]
    codes = {t.code for t in own}
    return [t for t in targets if t in own or (t.is_computed and t.numerator_code in codes and t.denominator_code in codes)]


def typed_targets(targets: list[Target]) -> list[Target]:
    """The targets a unit types a figure for: not the rates computed from two of its counts."""
    return [t for t in targets if not t.is_computed]


def target_reporters(target: Target, targets: list[Target]) -> list[str]:
    """The reporter codes of a target: a computed rate's are those of its numerator count."""
    if target.is_computed:
        part = next((t for t in targets if t.code == target.numerator_code), None)
        return list(part.reporter_codes) if part is not None else []
    return list(target.reporter_codes)


def target_sharers(session: Session, plan: Plan, on: date) -> dict[str, list[str]]:
    """Target code → the units that report it for the plan's duties (in code order): those assigned
    (not merged), and those a cascade on `on` assigns, so that the shares are the same in every
    batch of a cascade and after it. Memoised in the session."""
    memo: dict[tuple[int, date], dict[str, list[str]]] = session.info.setdefault("target_sharers", {})
    if (plan.id, on) in memo:
        return memo[plan.id, on]
    rows = session.execute(
        select(Assignment.duty_id, Unit.code)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .where(ReportDuty.plan_id == plan.id, Assignment.status.in_(EXPECTED_STATUSES))
    ).all()
    by_duty: dict[int, set[str]] = defaultdict(set)
    for duty_id, code in rows:
        by_duty[duty_id].add(code)
    sharers: dict[str, set[str]] = defaultdict(set)
    for duty in plan.duties:
        units = by_duty[duty.id] | {u.code for u in duty_assignees(session, duty, on=on)}
        targets = duty_targets(session, duty)
        for target in targets:
            reporters = target_reporters(target, targets)
            sharers[target.code] |= {c for c in units if not reporters or c in reporters}
    memo[plan.id, on] = {code: sorted(units) for code, units in sharers.items()}
    return memo[plan.id, on]


def inherited_value(target: Target, unit_code: str, sharers: Sequence[str]) -> Decimal | None:
    """What a parent's target asks of one of its units: its explicit allocation, its share by the
    target's rule among `sharers` (the units reporting it), or else the whole value (None for a
    plain figure, which asks nothing)."""
    if target.value is None:
        return None
    allocations = {code: Decimal(str(share)) for code, share in (target.allocations or {}).items()}
    if unit_code in allocations:
        return allocations[unit_code]
    if target.aggregation == Aggregation.SUM and target.allocation_rule == AllocationRule.EQUAL:
        rest = [code for code in sharers if code not in allocations]
        shares = split_equally(target.value - sum(allocations.values(), Decimal(0)), rest)
        return shares.get(unit_code, target.value)
    return target.value


def unit_share(session: Session, target: Target, unit_code: str, on: date) -> Decimal | None:
    """What `target` asks of one unit, as `inherited_value`; the units sharing it are looked up only
    for an allocation rule (a receipt or reminder for one unit must not read the whole plan)."""
    needs_sharers = target.aggregation == Aggregation.SUM and target.allocation_rule == AllocationRule.EQUAL and unit_code not in (target.allocations or {})
    sharers = target_sharers(session, target.plan, on).get(target.code, []) if needs_sharers else []
    return inherited_value(target, unit_code, sharers)
