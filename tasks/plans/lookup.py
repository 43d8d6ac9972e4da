"""Finding a plan or a duty by what a user types: each lookup names what exists when it finds nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import NotFound
from models.plan import Plan, ReportDuty, plan_by_ref


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
