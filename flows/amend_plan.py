"""Amend an issued plan and pass the amendment down every level: new targets, duties and deadlines, one notice per unit concerned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import flow

from flows.cascade_plan import CascadeResult, cascade_plan
from flows.hooks import FAILURE_HOOKS
from flows.naming import run_name
from tasks.cascading.amendments import Amended, amend_from_file, pass_batches, pass_down


@dataclass(frozen=True)
class AmendResult:
    top: Amended
    below: tuple[Amended, ...]  # the implementing plans amended in turn, level by level
    cascade: CascadeResult  # what the cascade then did: units newly assigned, their plans, delivery

    @property
    def notified(self) -> int:
        return sum(len(a.notified) for a in (self.top, *self.below))


@flow(name="amend-plan", flow_run_name=run_name("amend"), **FAILURE_HOOKS)
def amend_plan(plan: str, file: str, as_of: date) -> AmendResult:
    """Amend `plan` with the amendment file (its next version), pass the change down to the implementing plans below,
    level by level, then cascade the plan again: units it newly assigns get their notices, the calendar follows the
    new deadlines, and the outbox is delivered. A file with any problem changes nothing."""
    top = amend_from_file(plan, file, as_of)
    below: list[Amended] = []
    frontier = [top]
    while frontier:
        frontier = [done for batch in pass_batches(frontier) for done in pass_down(batch, as_of)]
        below += frontier
    return AmendResult(top, tuple(below), cascade_plan(top.plan_key, as_of))
