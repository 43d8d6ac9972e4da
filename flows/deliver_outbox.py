"""Drain the outbox: claim batches, send each over one SMTP connection, record every outcome."""

from __future__ import annotations

import math
import time
from contextlib import ExitStack
from datetime import date, datetime
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import PrefectFuture
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
    started = clock.utc_now()
    waiting = waiting_count()
    progress = create_progress_artifact(0.0, description=message("outbox.progress.start", waiting=waiting)) if waiting > size else None
    waited = 0.0
    with track(message("progress.deliver"), waiting) as bar:
        while True:
            if tally.unreachable:
                get_run_logger().warning("SMTP server unavailable: %d message(s) wait for a later run", waiting_count())
                break  # the server is down: the rest waits for a later run, untouched
            claimed = _claim_round(size, settings.outbox_connections, worker, day, started)
            if claimed:
                if len(claimed) == 1:
                    tally += send_batch(claimed[0], day)
                    bar.advance(len(claimed[0]))
                else:  # a connection each, at once: each spends most of its time waiting for the server's replies
                    for ids, sending in [(ids, send_batch.submit(ids, day)) for ids in claimed]:
                        tally += sending.result()
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


def _claim_round(size: int, connections: int, worker: str, day: date, started: datetime) -> list[list[int]]:
    """Up to `connections` batches to send at once, sharing what waits evenly (each at most `size`); none the
    run that began at `started` has tried already."""
    each = min(size, max(1, math.ceil(waiting_count() / connections))) if connections > 1 else size
    claimed: list[list[int]] = []
    while len(claimed) < connections and (ids := claim_batch(each, worker, day, started)):
        claimed.append(ids)
    return claimed


class SendingAlongside:
    """Sends what a flow has queued so far while it queues the rest, showing its progress as `deliver_outbox`
    does (`expected`: how many messages the flow means to queue). `more()` after each queued batch starts a
    batch on every connection not busy (`outbox_connections`); `finish()` sends the rest and returns the
    tally. What the quotas hold back, and the retries, go with the `deliver_outbox` run that follows."""

    def __init__(self, as_of: date, expected: int) -> None:
        self.as_of, self.worker, self.started = as_of, worker_name(), clock.utc_now()
        self._sending: list[tuple[int, PrefectFuture[DeliveryTally]]] = []
        self._tally = DeliveryTally()
        self._bar = ExitStack()
        self._progress = self._bar.enter_context(track(message("progress.deliver"), expected))

    def __enter__(self) -> SendingAlongside:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

    def more(self) -> None:
        settings = get_settings()
        for done in [(count, f) for count, f in self._sending if f.wrapped_future.done()]:  # type: ignore[attr-defined]  # a thread pool's future
            self._sending.remove(done)
            self._collect(*done)
        free = settings.outbox_connections - len(self._sending)
        if free > 0 and not self._tally.unreachable:
            claimed = _claim_round(settings.outbox_batch_size, free, self.worker, self.as_of, self.started)
            self._sending += [(len(ids), send_batch.submit(ids, self.as_of)) for ids in claimed]

    def finish(self) -> DeliveryTally:
        """Wait for the batches under way, then send the rest as `deliver_outbox` would (until nothing is left
        to claim); returns what these sends did."""
        while self._sending:
            for count, sending in self._sending:
                self._collect(count, sending)
            self._sending.clear()
            self.more()
        self._bar.close()
        return self._tally

    def _collect(self, count: int, sending: PrefectFuture[DeliveryTally]) -> None:
        self._tally += sending.result()
        self._progress.advance(count)
