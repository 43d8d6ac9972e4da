"""Pass a plan down every level: assignments, implementing plans, notices, delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import flow

from cascade.progress import tracked
from flows.deliver_outbox import deliver_outbox
from flows.hooks import FAILURE_HOOKS
from flows.naming import run_name
from tasks.cascading.assign import assign_units, plan_batches, resolve_plan, settle_deadlines
from tasks.cascading.implementing import derivation_batches, derive_plans
from tasks.cascading.succession import apply_successions
from tasks.followup.milestones import refresh_milestones
from tasks.outbound.outbox import DeliveryTally
from templates import message


@dataclass(frozen=True)
class CascadeResult:
    plan_key: str
    assigned: int
    drafted: int  # implementing plans drafted by this run
    issued: int  # of which issued automatically
    levels: int  # levels reached below the plan's issuer
    delivery: DeliveryTally
    warnings: tuple[str, ...] = ()  # deadlines on a day off (on_day_off) and deadlines moved because a plan reached a level late


@flow(name="cascade-plan", flow_run_name=run_name("cascade"), **FAILURE_HOOKS)
def cascade_plan(plan: str, as_of: date, units: list[str] | None = None) -> CascadeResult:
    """Assign the plan's duties to its units (the issuer's direct subordinates, or `units`), draft the
    implementing plans of units that have subordinates, and go on down through every issued one.

    Safe to rerun: units already assigned and plans already drafted are skipped, plans issued since
    are cascaded, and nothing already sent is sent again.
    """
    ref = resolve_plan(plan)
    apply_successions(as_of)

    assigned = drafted = issued = levels = 0
    warnings: list[str] = []
    frontier = [ref.id]
    while frontier:
        levels += 1
        # Deadlines on a day off move by their duty's on_day_off rule before anyone is told them
        warnings += settle_deadlines(frontier)

        # Assign this level
        batches = plan_batches(frontier, as_of, units if levels == 1 else None)
        assigned += sum(assign_units(batch, as_of) for batch in tracked(message("progress.assign", level=levels), batches))

        # Draft (and where the level says so, issue) the implementing plans of units with subordinates
        plans, frontier = frontier, []
        for batch in derivation_batches(plans, as_of):
            derived = derive_plans(batch, as_of)
            drafted += derived.drafted
            issued += derived.issued
            frontier += derived.ready_plan_ids
            warnings += derived.warnings

    # The cycle's calendar: every plan now issued gets its milestones stored
    refresh_milestones()

    # Notify
    delivery = deliver_outbox(as_of)
    return CascadeResult(ref.key, assigned, drafted, issued, levels, delivery, tuple(warnings))
