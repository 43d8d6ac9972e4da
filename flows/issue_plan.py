"""A unit issues the implementing plan drafted for it, which then goes on down."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from prefect import flow

from flows.cascade_plan import CascadeResult, cascade_plan
from flows.hooks import FAILURE_HOOKS
from flows.naming import run_name
from tasks.cascading.assign import resolve_plan
from tasks.cascading.implementing import issue_plan as issue_draft


@flow(name="issue-plan", flow_run_name=run_name("issue"), **FAILURE_HOOKS)
def issue_plan(plan: str, as_of: date, number: str | None = None) -> CascadeResult:
    """Issue a drafted implementing plan on `as_of` (numbered next for its issuer and year unless
    `number` is given), record it as the unit's answer to its parent's implementing_plan duty,
    and cascade it to the unit's subordinates."""
    ref = resolve_plan(plan)
    warnings = issue_draft(ref.id, as_of, number)
    result = cascade_plan(ref.key, as_of)
    return replace(result, warnings=(*warnings, *result.warnings))
