"""Consolidate a duty's reports bottom-up: every level below first, then the plan's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import flow, task

from cascade.progress import tracked
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from flows.hooks import FAILURE_HOOKS
from flows.naming import run_name
from models.consolidation import Consolidation
from models.consolidation import consolidate as consolidate_figures
from tasks.batching import batches
from tasks.cascading.assign import resolve_plan
from tasks.cascading.succession import apply_successions
from tasks.reporting.consolidation import (
    consolidate_duties,
    levels_below,
    load_consolidation,
    publish_artifacts,
    save_report,
    write_report,
)
from templates import message

judge = task(name="judge-targets")(consolidate_figures)


@dataclass(frozen=True)
class ConsolidationResult:
    report_id: int
    files: list[str]
    result: Consolidation
    below: int  # implementing plans consolidated on the way up


@flow(name="consolidate", flow_run_name=run_name("consolidate", extra="duty"), **FAILURE_HOOKS)
def consolidate(plan: str, duty: str, as_of: date, all_levels: bool = True) -> ConsolidationResult:
    """Judge every target against the units' latest figures, compile the narrative, list late and
    missing units, write the report, and submit it upward when the duty answers a parent's duty.

    With `all_levels`, every issued implementing plan below is consolidated first, deepest level
    first, so that each unit's report reaches its parent before the parent is consolidated; a unit
    that has not consolidated by `as_of` and whose own consolidation day has passed is first
    consolidated as of that day, so its report upward keeps that day (tasks.reporting.consolidation.own_day).
    """
    ref = resolve_plan(plan)
    apply_successions(as_of)

    # Levels below, bottom-up
    below = 0
    if all_levels:
        size = get_settings().cascade_batch_size
        chunks = [chunk for level in reversed(levels_below(ref.id, duty)) for chunk in batches(level, size)]  # deepest level first
        below = sum(consolidate_duties(chunk, as_of) for chunk in tracked(message("progress.consolidate"), chunks))

    # This level
    header, data = load_consolidation(ref.id, duty, as_of)
    result = judge(data)

    # Publish
    files = write_report(header, data, result)
    report_id = save_report(header, result, files)
    publish_artifacts(header, result, files)

    # Send the reports to their secretariats
    deliver_outbox(as_of)
    return ConsolidationResult(report_id, files, result, below)
