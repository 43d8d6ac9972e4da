"""Pass a plan down to its units: assignments, notices, delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import flow

from flows.deliver_outbox import deliver_outbox
from tasks.assign import assign_units, plan_batches, resolve_plan
from tasks.outbox import DeliveryTally


@dataclass(frozen=True)
class CascadeResult:
    plan_key: str
    assigned: int
    delivery: DeliveryTally


@flow(name="cascade-plan", flow_run_name="cascade-{plan}-{as_of}")
def cascade_plan(plan: str, as_of: date, units: list[str] | None = None) -> CascadeResult:
    """Assign the plan's report duties to its units (the issuer's direct subordinates, or `units`) and email them.

    Safe to rerun: units already assigned are skipped and nothing already sent is sent again.
    """
    ref = resolve_plan(plan)

    # Assign
    assigned = sum(assign_units(batch, as_of) for batch in plan_batches(ref.id, as_of, units))

    # Notify
    delivery = deliver_outbox(as_of)
    return CascadeResult(ref.key, assigned, delivery)
