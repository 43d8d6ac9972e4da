"""Remind units that have not submitted, before the due date and after it."""

from __future__ import annotations

from datetime import date

from prefect import flow

from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from tasks.assign import resolve_plan
from tasks.outbox import DeliveryTally
from tasks.reminders import batches, find_due_reminders, queue_reminders
from tasks.succession import apply_successions


@flow(name="send-reminders", flow_run_name="send-reminders-{as_of}")
def send_reminders(as_of: date, plan: str | None = None) -> tuple[int, DeliveryTally]:
    """Queue the reminder or overdue step each unsubmitted assignment has reached by `as_of`, then deliver.

    Each step goes once per assignment; after missed days only the latest step is sent.
    """
    plan_id = resolve_plan(plan).id if plan else None
    apply_successions(as_of)  # a unit merged since the last run is reminded through its successor
    due = find_due_reminders(as_of, plan_id)

    # Queue
    queued = sum(queue_reminders(batch, as_of) for batch in batches(due, get_settings().cascade_batch_size))

    # Deliver
    return queued, deliver_outbox(as_of)
