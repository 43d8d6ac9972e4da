"""Finding a plan or a duty by what a user types: each lookup names what exists when it finds nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import NotFound
from models.assignment import Assignment
from models.db import session_scope
from models.plan import Plan, ReportDuty, plan_by_ref
from models.unit import Unit


def find_plan(session: Session, plan: str) -> Plan:
    """A plan by its key or number/symbol; raises NotFound."""
    found = plan_by_ref(session, plan)
    if found is None:
        raise NotFound(f"plan {plan!r} not found: give its key (e.g. 74-kh-sxd-2024) or its number/symbol (74/KH-SXD)")
    return found


def find_duty(session: Session, plan: Plan, duty_code: str) -> ReportDuty:
    duty = session.scalar(select(ReportDuty).where(ReportDuty.plan_id == plan.id, ReportDuty.code == duty_code))
    if duty is None:
        raise NotFound(f"plan {plan.code} has no duty {duty_code!r}; it has: {', '.join(d.code for d in plan.duties)}")
    return duty


def check_references(plan: str, *, duty: str | None = None, units: Sequence[str] = ()) -> None:
    """Raise NotFound, naming what exists, when the plan, its duty or a unit code is unknown.

    Commands check their arguments with it before they start a flow run, so that a typo is one line
    on the terminal, not a failed run in the Prefect UI and an email to the admins.
    """
    with session_scope() as session:
        found = find_plan(session, plan)
        if duty is not None:
            find_duty(session, found, duty)
        if units:
            known = set(session.scalars(select(Unit.code).where(Unit.code.in_(units))))
            missing = [code for code in units if code not in known]
            if missing:
                raise NotFound(f"unknown unit code(s): {', '.join(missing)}")


def find_assignment(session: Session, plan: Plan, duty_code: str, unit_code: str) -> Assignment:
    """The unit's assignment for a duty of `plan` or of a plan derived from it (a unit two levels down
    reports to its own level's implementing plan); raises NotFound."""
    candidates = session.scalars(
        select(Assignment)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(ReportDuty.code == duty_code, Unit.code == unit_code)
    ).all()
    for assignment in candidates:
        ancestor: Plan | None = assignment.duty.plan
        while ancestor is not None:
            if ancestor.id == plan.id:
                return assignment
            ancestor = ancestor.parent_plan
    raise NotFound(f"unit {unit_code!r} has no assignment for duty {duty_code!r} of plan {plan.code} or of the plans implementing it")
