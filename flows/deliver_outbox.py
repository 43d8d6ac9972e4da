"""Drain the outbox: claim batches, send each over one SMTP connection, record every outcome."""

from __future__ import annotations

import time
from datetime import date
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.runtime import flow_run

from cascade import clock
from cascade.progress import track
from cascade.settings import get_settings
from flows.hooks import FAILURE_HOOKS
from tasks.outbound.outbox import (
    DeliveryTally,
    claim_batch,
    reclaim_stale,
    send_batch,
    waiting_count,
    worker_name,
)
from tasks.outbound.quota import Room, quota_room_now
from templates import message


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"deliver-outbox-{as_of or 'today'}"


@flow(name="deliver-outbox", flow_run_name=_run_name, **FAILURE_HOOKS)
def deliver_outbox(as_of: date | None = None) -> DeliveryTally:
    """Send every queued email that is due, best priority first, within the SMTP quotas.

    Failures are retried with backoff by later runs. Under a per-minute quota the run waits for
    room (at most `smtp_wait_max_seconds` in all); past the day's quota the rest waits for the
    next day's runs. Any number of these runs may drain the same outbox at once: each message is
    claimed by one of them only. A long delivery shows its progress in the Prefect UI.
    """
    day = as_of or clock.today()
    settings = get_settings()
    size, worker = settings.outbox_batch_size, worker_name()
    reclaim_stale()

    tally = DeliveryTally()
    waiting = waiting_count()
    progress = create_progress_artifact(0.0, description=message("outbox.progress.start", waiting=waiting)) if waiting > size else None
    waited = 0.0
    with track(message("progress.deliver"), waiting) as bar:
        while True:
            ids = claim_batch(size, worker, day)
            if ids:
                tally += send_batch(ids, day)
                bar.advance(len(ids))
                if isinstance(progress, UUID):  # None below one batch (async_dispatch also types it as a coroutine; a sync flow gets the UUID)
                    done = tally.sent + tally.retrying + tally.failed
                    update_progress_artifact(
                        progress, min(100.0, 100.0 * done / waiting), description=message("outbox.progress.sent", sent=tally.sent, waiting=waiting)
                    )
                continue
            room: Room = quota_room_now(day)
            if room.limited_by == "minute" and waited + room.wait_seconds <= settings.smtp_wait_max_seconds and waiting_count():
                time.sleep(room.wait_seconds)  # the provider's per-minute rate: wait for the window to move on
                waited += room.wait_seconds
                continue
            if room.limited_by is not None and (left := waiting_count()):
                get_run_logger().warning("SMTP quota per %s reached: %d message(s) wait for the next run", room.limited_by, left)
            break
    return tally
