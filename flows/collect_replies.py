"""Collect the units' replies from the reply mailbox and answer them."""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow
from prefect.deployments.runner import RunnerDeployment
from prefect.runtime import flow_run

from cascade import clock
from cascade.progress import tracked
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from flows.hooks import FAILURE_HOOKS
from tasks.batching import batches
from tasks.intake.collect import IntakeTally, collect_batch, list_replies
from tasks.outbound.outbox import DeliveryTally
from templates import message

EVERY = timedelta(minutes=10)  # how often the deployment runs


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"collect-replies-{as_of or 'today'}"


@flow(name="collect-replies", flow_run_name=_run_name, **FAILURE_HOOKS)
def collect_replies(as_of: date | None = None) -> tuple[IntakeTally, DeliveryTally]:
    """Read every reply waiting in the inbox: record the forms, answer the units, quarantine or set aside the rest.

    Each message's outcome is committed before it is moved out of the inbox, so a crashed run
    loses nothing and the next run never records a message twice. `as_of` defaults to today
    (the scheduled runs); a replayed day counts each reply as received no later than that day.
    """
    day = as_of or clock.today()
    uids = list_replies()
    tally = IntakeTally()
    for batch in tracked(message("progress.collect"), batches(uids, get_settings().imap_batch_size)):
        tally += collect_batch(batch, day)
    return tally, deliver_outbox(day)


def deployment() -> RunnerDeployment:
    """The collection as a Prefect deployment, every ten minutes (served by `cascade serve`).

    What `collect_replies.to_deployment(...)` builds, but typed: to_deployment may also return a coroutine."""
    return RunnerDeployment.from_flow(collect_replies, name="collect-replies", interval=EVERY, tags=["intake"])
