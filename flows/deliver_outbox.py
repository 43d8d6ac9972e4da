"""Drain the outbox: claim batches, send each over one SMTP connection, record every outcome."""

from __future__ import annotations

from datetime import date

from prefect import flow

from cascade.settings import get_settings
from tasks.outbox import DeliveryTally, claim_batch, reclaim_stale, send_batch, worker_name


@flow(name="deliver-outbox", flow_run_name="deliver-outbox-{as_of}")
def deliver_outbox(as_of: date) -> DeliveryTally:
    """Send every queued email that is due, best priority first; failures are retried with backoff by later runs."""
    size, worker = get_settings().outbox_batch_size, worker_name()
    reclaim_stale()

    tally = DeliveryTally()
    while ids := claim_batch(size, worker):
        tally += send_batch(ids, as_of)
    return tally
