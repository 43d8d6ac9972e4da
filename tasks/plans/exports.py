"""A stored plan written back in the plan file format, so that a unit can adjust its drafted plan.

`cascade plan export KEY > plan.yaml`, edit, then `cascade plan import plan.yaml --replace`:
the file round-trips (periodic duties come out one per period, with their dates).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import NotFound
from models.plan import Plan, PlanAmendment, TaskRole


def plan_document(session: Session, plan: Plan) -> dict[str, Any]:
    """The plan as a `{plan: ...}` mapping in the documented file format."""
    doc: dict[str, Any] = {
        "key": plan.key,
        "number": plan.number,
        "symbol": plan.symbol,
        "issuer": plan.issuer.code,
        "issued_on": plan.issued_on.isoformat(),
        "place": plan.place,
        "title": plan.title,
        "year": plan.year,
        "basis": list(plan.basis),
    }
    if plan.parent_plan is not None:
        doc["parent_plan"] = plan.parent_plan.key
    doc |= {
        "purposes": plan.purposes,
        "requirements": plan.requirements,
        "recipients": list(plan.recipients),
        "signer": {"title": plan.signer_title, "name": plan.signer_name},
    }
    if plan.co_issuers:
        doc["joint_with"] = [{"unit": co["code"], "signer": {"title": co["signer_title"], "name": co["signer_name"]}} for co in plan.co_issuers]
    if plan.report_recipients:
        doc["report_recipients"] = list(plan.report_recipients)
    doc |= {
        "tasks": [
            {
                "code": task.code,
                "title": task.title,
                "content": task.content,
                "lead": sorted(tu.unit.code for tu in task.units if tu.role == TaskRole.LEAD),
                "support": sorted(tu.unit.code for tu in task.units if tu.role == TaskRole.SUPPORT),
            }
            for task in plan.tasks
        ],
        "targets": [_target(t) for t in plan.targets],
        "duties": [
            {
                "code": duty.code,
                "kind": str(duty.kind),
                "title": duty.title,
                "period_start": duty.period_start.isoformat() if duty.period_start else None,
                "cutoff_on": duty.cutoff_on.isoformat() if duty.cutoff_on else None,
                "due_on": duty.due_on.isoformat(),
                "reminder_days": list(duty.reminder_days),
                "overdue_days": list(duty.overdue_days),
                "on_day_off": str(duty.on_day_off or "before"),
                "sections": [dict(s) for s in duty.sections],
                "indicators": list(duty.indicator_codes),
                "assignees": list(duty.assignee_codes),
            }
            for duty in plan.duties
            if not duty.withdrawn  # taken out by an amendment: no longer part of the plan (one its secretariat closed still is)
        ],
    }
    if plan.cascade_policy:
        doc["cascade"] = plan.cascade_policy
    return {"plan": doc}


def yaml_number(value: Decimal) -> int | float:
    """A YAML number, never text: '86.5' as text would read as 865 under Vietnamese digit grouping."""
    return int(value) if value == value.to_integral_value() else float(value)


def _target(target: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": target.code,
        "text": target.text,
        "metric": target.metric,
        "unit_of_measure": target.unit_of_measure,
    }
    if target.comparator is not None and target.value is not None:  # else a plain figure
        out["comparator"] = str(target.comparator)
        out["value"] = yaml_number(target.value)
    out["aggregation"] = str(target.aggregation)
    if target.numerator_code and target.denominator_code:
        out["numerator"] = target.numerator_code
        out["denominator"] = target.denominator_code
    if target.unit_comparator is not None and target.unit_threshold is not None:
        out["unit_threshold"] = {"comparator": str(target.unit_comparator), "value": yaml_number(target.unit_threshold)}
    if target.reporter_codes:
        out["reporters"] = list(target.reporter_codes)
    if target.allocations:
        out["allocations"] = {code: yaml_number(Decimal(str(share))) for code, share in target.allocations.items()}
    if target.allocation_rule:
        out["allocation_rule"] = target.allocation_rule
    return out


def version_document(session: Session, plan: Plan, version: int | None = None) -> dict[str, Any]:
    """The plan as it read in `version` (1 as issued, each amendment one more; default the one in force now):
    an earlier version is the one its next amendment kept (PlanAmendment.before). Raises NotFound for a version
    the plan never had."""
    if version is None or version == plan.version:
        return plan_document(session, plan)
    kept = session.scalar(select(PlanAmendment.before).where(PlanAmendment.plan_id == plan.id, PlanAmendment.version == version + 1))
    if kept is None:
        raise NotFound(f"plan {plan.code} has no version {version}: its versions are 1 to {plan.version}")
    return dict(kept)


def plan_yaml(session: Session, plan: Plan, version: int | None = None) -> str:
    """The plan file as YAML text (UTF-8, Vietnamese kept as is), of `version` when given (`version_document`)."""
    return yaml.safe_dump(version_document(session, plan, version), allow_unicode=True, sort_keys=False, width=120)
