"""The daily tick: everything the cycle's calendar calls for on a day, catching up days it missed."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.deployments.runner import RunnerDeployment
from prefect.runtime import flow_run
from prefect.schedules import Cron  # to_deployment(cron=...) takes no timezone: it would be UTC

from cascade import clock
from cascade.progress import tracked
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from flows.hooks import FAILURE_HOOKS
from models.milestones import MilestoneStatus
from tasks.batching import batches
from tasks.cascading.succession import apply_successions
from tasks.followup.milestones import (
    consolidate_milestones,
    due_milestones,
    escalate,
    finish_milestones,
    record_deadlines,
    refresh_milestones,
    reminders_for,
)
from tasks.followup.reminders import queue_reminders
from tasks.followup.tick_report import TickResult, publish_tick_artifacts
from tasks.outbound.digest import queue_failed_digest
from tasks.outbound.outbox import DeliveryTally, waiting_count
from templates import message

TICK_CRON = "0 8 * * *"  # 08:00 every day, Vietnam time
TICK_TIMEZONE = "Asia/Ho_Chi_Minh"


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"daily-tick-{as_of or 'today'}"


@flow(name="daily-tick", flow_run_name=_run_name, **FAILURE_HOOKS)
def daily_tick(as_of: date | None = None) -> TickResult:
    """Run every milestone due by `as_of` (default: today) that has not run yet, then deliver.

    Milestones of days the tick missed run now, once each; of several reminder steps of a duty
    that came due meanwhile only the latest is sent. Reminders and escalations wait for a
    working day; an escalation that leaves units still awaited puts its repeat on the calendar
    (`escalate_repeat_days`), and a duty closed early has no milestone left to run. A consolidation that fails stays pending (retried by the next tick) and fails
    the run, so the admins hear of it; the other milestones still run.
    """
    day = as_of or clock.today()
    apply_successions(day)  # a unit merged since the last run is reminded through its successor
    refresh_milestones()
    work = due_milestones(day)

    if work.superseded:
        finish_milestones({i: message("milestones.outcome.superseded", later=later) for i, later in work.superseded.items()}, day, MilestoneStatus.SKIPPED)
    if work.stale:
        finish_milestones(work.stale, day, MilestoneStatus.SKIPPED)  # their day is long past: the cycle moved on

    # Reminders and overdue notices: the latest step of each duty
    due = reminders_for(work.messages) if work.messages else []
    queued = sum(queue_reminders(batch, day) for batch in tracked(message("progress.remind"), batches(due, get_settings().cascade_batch_size)))
    per_step = {s.milestone_id: sum(1 for d in due if d.step == s.step and d.rank == s.rank) for s in work.messages}
    if work.messages:
        finish_milestones({i: message("milestones.outcome.reminded", count=n) for i, n in per_step.items()}, day)

    # Escalations: one digest per recipient
    digests = escalate(work.escalations, day) if work.escalations else 0

    # Deadlines: recorded with how many reported on time
    deadlines = record_deadlines(work.deadlines, day) if work.deadlines else 0

    # Consolidations, deepest plans first, in batches; each report goes up to the level above
    consolidated = 0
    failed: list[str] = []
    for batch in tracked(message("progress.tick_consolidate"), batches(work.consolidations, get_settings().cascade_batch_size)):
        done, errors = consolidate_milestones(batch, day)
        consolidated, failed = consolidated + done, failed + errors

    # Deliver what is waiting (today's messages, and what the SMTP quota held back on earlier days)
    queue_failed_digest(day)  # the admins hear once a day while any message is failed
    delivery = deliver_outbox(day) if waiting_count() else DeliveryTally()
    result = TickResult(day, queued, len(work.superseded) + len(work.stale), digests, consolidated, deadlines, tuple(failed), delivery)
    publish_tick_artifacts(result, day)
    if failed:
        raise RuntimeError(f"consolidation failed for {', '.join(failed)}; it stays pending and the next tick retries it")
    return result


def deployment() -> RunnerDeployment:
    """The tick as a Prefect deployment at 08:00 Asia/Ho_Chi_Minh every day (served by `cascade serve`).

    What `daily_tick.to_deployment(...)` builds, but typed: to_deployment may also return a coroutine."""
    return RunnerDeployment.from_flow(daily_tick, name="daily-tick", schedules=[Cron(TICK_CRON, timezone=TICK_TIMEZONE)], tags=["calendar"])
