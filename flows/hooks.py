"""Flow-run hooks: a failed or crashed top-level run is emailed to the admins at once.

The message goes straight through yagmail (tasks.outbound.mail.Mailer), not through the outbox: the
outbox's own delivery may be what failed. A hook never raises; if mail cannot be sent the
run's log says so.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from prefect import Flow
from prefect.client.schemas.objects import FlowRun
from prefect.flows import FlowStateHook
from prefect.settings import PREFECT_UI_URL
from prefect.states import State

from cascade import clock
from cascade.redact import install as install_redaction
from cascade.settings import get_settings
from models.outbox import OutgoingEmail
from tasks.outbound.mail import Mailer, new_message_id
from templates import render_email

log = logging.getLogger(__name__)


def run_url(flow_run: FlowRun) -> str | None:
    """The run's page in the Prefect UI, when the UI's address is known."""
    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run.id}" if base else None


def notify_admins(flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
    """Email `admin_emails` that a top-level flow run failed or crashed (subflows are reported by their parent)."""
    settings = get_settings()
    if not settings.admin_emails or flow_run.parent_task_run_id is not None:
        return
    rendered = render_email(
        "flow_failed", flow=flow.name, run=flow_run.name, state=state.name, message=state.message or "",
        parameters={k: str(v) for k, v in (flow_run.parameters or {}).items()}, url=run_url(flow_run),
        at=clock.utc_now(),
    )  # fmt: skip
    email = OutgoingEmail(
        email_to=tuple(settings.admin_emails), subject=rendered.subject, html=rendered.html, text=rendered.text,
        message_id=new_message_id(settings.message_id_domain),
    )  # fmt: skip
    try:
        with Mailer(settings) as mailer:
            mailer.send(email, date=clock.utc_now())
    except Exception as exc:
        log.error("could not email the admins about %s (%s): %s", flow_run.name, state.name, exc)


class FailureHooks(TypedDict):
    """The keyword arguments of @flow that attach notify_admins (`@flow(..., **FAILURE_HOOKS)`)."""

    on_failure: list[FlowStateHook[..., Any]]
    on_crashed: list[FlowStateHook[..., Any]]


FAILURE_HOOKS: FailureHooks = {"on_failure": [notify_admins], "on_crashed": [notify_admins]}

# Every flow imports this module: from here on no handler ships a secret to the console or the Prefect API.
install_redaction()
