"""Remind units that have not submitted, before the due date and after it."""

from __future__ import annotations

from datetime import date

from prefect import flow

from cascade.progress import tracked
from cascade.settings import get_settings
from flows.deliver_outbox import SendingAlongside, deliver_outbox
from flows.hooks import FAILURE_HOOKS
from flows.naming import run_name
from tasks.batching import batches
from tasks.cascading.assign import resolve_plan
from tasks.cascading.succession import apply_successions
from tasks.followup.reminders import (
    duty_ids_below,
    find_due_reminders,
    find_unreported,
    queue_reminders,
)
from tasks.outbound.outbox import DeliveryTally
from templates import message


@flow(name="send-reminders", flow_run_name=run_name("reminders"), **FAILURE_HOOKS)
def send_reminders(as_of: date, plan: str | None = None, duty: str | None = None, now: bool = False) -> tuple[int, DeliveryTally]:
    """Queue the reminder or overdue step each unsubmitted assignment has reached by `as_of`, then deliver.

    Each step goes once per assignment; after missed days only the latest step is sent. With `now`
    (the dashboard's button; needs `plan` and `duty`), every unit of the duty at every level that has
    not reported is reminded today, whatever its step, at most once a day.
    """
    plan_id = resolve_plan(plan).id if plan else None
    apply_successions(as_of)  # a unit merged since the last run is reminded through its successor
    if now:
        if plan_id is None or duty is None:
            raise ValueError("a reminder sent now needs the plan and the duty")
        due = find_unreported(as_of, duty_ids_below(plan_id, duty))
    else:
        due = find_due_reminders(as_of, plan_id)

    # Queue, sending each batch while the next is queued; then deliver the rest
    queued = 0
    with SendingAlongside(as_of, len(due)) as sending:
        for batch in tracked(message("progress.remind"), batches(due, get_settings().cascade_batch_size)):
            queued += queue_reminders(batch, as_of)
            sending.more()
        sent = sending.finish()
    return queued, sent + deliver_outbox(as_of)
