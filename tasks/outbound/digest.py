"""The admins' daily word while the outbox holds messages it gave up on: one digest a day, not one a message."""

from __future__ import annotations

from datetime import date

from cascade import clock
from cascade.settings import get_settings
from models.db import session_scope
from models.outbox import EmailKind
from tasks.outbound.outbox import queue_email
from tasks.outbound.quota import outbox_waiting
from templates import render_email


def queue_failed_digest(day: date) -> bool:
    """Queue, once on `day`, a digest of the failed messages (each with its last error) to `admin_emails` and
    the secretariat; True if one was queued. Nothing when none failed or nobody is set to be told."""
    settings = get_settings()
    to = list(dict.fromkeys(address for address in [*settings.admin_emails, settings.secretariat_email] if address))
    waiting = outbox_waiting(day)
    if not to or not waiting.failed:
        return False
    rendered = render_email("outbox_failed", day=day, failed=waiting.failed, rows=[row for row in waiting.troubled if row.failed])
    with session_scope() as session:
        return queue_email(session, key=f"outbox-failed:{day.isoformat()}", kind=EmailKind.ALERT, email_to=to, rendered=rendered, created_at=clock.moment(day))
