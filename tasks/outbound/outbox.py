"""The outbox: queue messages idempotently, claim batches safely, send them, record the outcome.

The table decides what has been sent. Messages accepted by the SMTP server are marked 'sent'
in groups of `outbox_commit_every`, one commit a group (and before any failure is recorded),
so a crash loses nothing and sends again at most the messages accepted since the last commit:
at most `outbox_commit_every` a connection, and a delivery run sends over `outbox_connections` at
once (1 and 1: one commit a message, and only the message in flight).
Messages left 'sending' by a crashed run are claimed again once their lease has expired.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Required, TypedDict, Unpack

from prefect import get_run_logger, task
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from cascade import clock
from cascade.settings import get_settings
from cascade.workspace_paths import stored_path
from models.assignment import Assignment
from models.db import affected_rows, session_scope
from models.outbox import EmailKind, EmailStatus, OutboundEmail, OutgoingEmail
from models.plan import Plan, ReportDuty
from models.unit import Unit
from tasks.outbound.ahead import built_ahead, prompt_switching
from tasks.outbound.mail import (
    DeliveryError,
    Mailer,
    MailServerError,
    envelope_recipients,
    new_message_id,
    wire_message,
)
from tasks.outbound.quota import lock_for_quota, quotas_set
from tasks.outbound.quota import room as quota_room
from templates import RenderedEmail

# Lower is sooner: a receipt or an overdue notice must not wait behind a bulk cascade.
PRIORITY = {
    EmailKind.SIGN_IN: 0,  # someone waits at the sign-in page for it
    EmailKind.RECEIPT: 1,
    EmailKind.LINK: 1,
    EmailKind.INTAKE: 1,
    EmailKind.ALERT: 2,
    EmailKind.REVIEW: 2,
    EmailKind.OVERDUE: 2,
    EmailKind.ESCALATION: 2,
    EmailKind.REMINDER: 3,
    EmailKind.REPORT: 4,
    EmailKind.AMENDMENT: 4,
    EmailKind.ASSIGNMENT: 5,
}


# What the issuing unit says to the unit it assigned: sent in the issuer's name. The rest (alerts
# and escalation digests to the secretariat and heads, reports to the consolidating unit itself)
# are the system's own and keep `mail_from_name`.
ON_BEHALF_OF_ISSUER = frozenset(
    {EmailKind.ASSIGNMENT, EmailKind.AMENDMENT, EmailKind.REMINDER, EmailKind.OVERDUE, EmailKind.RECEIPT, EmailKind.REVIEW, EmailKind.LINK, EmailKind.INTAKE}
)


def sender_names(session: Session, rows: list[OutboundEmail]) -> dict[int, str]:
    """Outbox id → From display name for the messages a unit sends about its own plan's assignment:
    the name of the plan's issuer (the ward, for what a ward's implementing plan asks of its units)."""
    wanted = {row.id: row.assignment_id for row in rows if row.kind in ON_BEHALF_OF_ISSUER and row.assignment_id is not None}
    if not wanted:
        return {}
    issuers = dict(
        session.execute(
            select(Assignment.id, Unit.name)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Plan.issuer_id)
            .where(Assignment.id.in_(set(wanted.values())))
        )
        .tuples()
        .all()
    )
    return {row_id: issuers[assignment_id] for row_id, assignment_id in wanted.items() if assignment_id in issuers}


class MessageFields(TypedDict, total=False):
    """What a message to queue is made of: its outbox key (one message per key), kind, recipients, text,
    and when it was queued; the assignment it is about, Cc, Reply-To, the message it answers, its files."""

    key: Required[str]
    kind: Required[EmailKind]
    email_to: Required[list[str]]
    rendered: Required[RenderedEmail]
    created_at: Required[datetime]
    assignment_id: int | None
    email_cc: list[str] | None
    reply_to: str | None
    in_reply_to: str | None
    references: str | None  # the thread's Message-IDs, oldest first; default: the message it answers
    attachments: list[str] | None


def queue_email(session: Session, **fields: Unpack[MessageFields]) -> bool:
    """Add a message to the outbox unless one with the same key exists; True if it was added."""
    return queue_rows(session, [outbox_row(**fields)]) == 1


def outbox_row(**fields: Unpack[MessageFields]) -> dict[str, object]:
    """The outbox row of a message to queue (`queue_rows`), with a new Message-ID."""
    rendered, in_reply_to = fields["rendered"], fields.get("in_reply_to")
    return dict(
        idempotency_key=fields["key"],
        kind=fields["kind"],
        assignment_id=fields.get("assignment_id"),
        email_to=fields["email_to"],
        email_cc=fields.get("email_cc") or [],
        reply_to=fields.get("reply_to"),
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        attachments=[stored_path(path) for path in fields.get("attachments") or []],  # relative to the workspace: a restore elsewhere finds them
        message_id=new_message_id(get_settings().message_id_domain),
        in_reply_to=in_reply_to,
        references=fields.get("references") or in_reply_to,
        priority=PRIORITY[fields["kind"]],
        status=EmailStatus.QUEUED,
        attempts=0,
        created_at=fields["created_at"],
    )


def queue_rows(session: Session, rows: list[dict[str, object]]) -> int:
    """Add the rows (`outbox_row`) whose key is not in the outbox yet, in one statement; returns how many were added."""
    if not rows:
        return 0
    # Core, on the session's connection and transaction: the ORM would take a dict of values as a bulk insert.
    # The ids it returns count the rows added: psycopg gives no row count for a list of rows (-1).
    return len(session.connection().execute(_insert_once(session.get_bind().dialect.name), rows).all())


@lru_cache(maxsize=4)
def _insert_once(dialect: str) -> ReturningInsert[tuple[int]]:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING, one statement object per dialect: its values come as
    parameters, so SQLAlchemy compiles it once (built with .values() per message, it took a millisecond a row)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(OutboundEmail).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OutboundEmail.id)


def message_id_for(session: Session, key: str) -> str | None:
    """The Message-ID of the queued or sent message with this key (for threading)."""
    return session.scalar(select(OutboundEmail.message_id).where(OutboundEmail.idempotency_key == key))


@dataclass(frozen=True)
class DeliveryTally:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unreachable: bool = False  # the server could not be reached or went away: the run stops claiming

    def __add__(self, other: DeliveryTally) -> DeliveryTally:
        return DeliveryTally(self.sent + other.sent, self.retrying + other.retrying, self.failed + other.failed, self.unreachable or other.unreachable)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def waiting_count() -> int:
    """Queued messages that may be sent now (their retry backoff, if any, is over)."""
    now = clock.utc_now()
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).where(OutboundEmail.status == EmailStatus.QUEUED, or_(OutboundEmail.not_before.is_(None), OutboundEmail.not_before <= now))
            )
            or 0
        )


@task(name="reclaim-stale-sends")
def reclaim_stale() -> int:
    """Return to the queue messages whose sender crashed mid-batch (lease expired); returns how many."""
    lease = timedelta(seconds=get_settings().outbox_lease_seconds)
    with session_scope() as session:
        result = session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.claimed_at <= clock.utc_now() - lease)
            .values(status=EmailStatus.QUEUED, claimed_by=None)
        )
        return affected_rows(result)


@task(name="claim-outbox-batch")
def claim_batch(size: int, worker: str, as_of: date, run_started: datetime | None = None) -> list[int]:
    """Atomically mark up to `size` due messages as 'sending' for this worker, best priority first,
    never more than the SMTP quotas leave room for on `as_of` (tasks.outbound.quota); with `run_started`,
    none the same run has already tried (a run tries a message once, whatever its backoff)."""
    now = clock.utc_now()
    with session_scope() as session:
        if quotas_set():
            lock_for_quota(session)
            size = min(size, quota_room(session, as_of).messages or 0)
            if size == 0:
                return []
        due = (
            select(OutboundEmail.id)
            .where(
                OutboundEmail.status == EmailStatus.QUEUED,
                or_(OutboundEmail.not_before.is_(None), OutboundEmail.not_before <= now),
                *([or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < run_started)] if run_started is not None else []),
            )
            .order_by(OutboundEmail.priority, OutboundEmail.id)
            .limit(size)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)  # rows another worker is claiming are skipped, not waited for
        # Two statements, never UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED): PostgreSQL may run
        # that subquery again for every row (a nested-loop semi-join, as on a table not yet analysed), and each
        # run skips the rows the statement has just updated and locks the next n: one claim of 50 took 2,150.
        ids = session.scalars(due).all()
        if not ids:
            return []
        claimed = session.scalars(
            update(OutboundEmail)
            .where(and_(OutboundEmail.id.in_(ids), OutboundEmail.status == EmailStatus.QUEUED))
            .values(
                status=EmailStatus.SENDING,
                claimed_at=now,
                claimed_by=worker,
                attempts=OutboundEmail.attempts + 1,
                first_attempt_at=func.coalesce(OutboundEmail.first_attempt_at, now),
            )
            .returning(OutboundEmail.id)
        ).all()
        return sorted(claimed)


def _mark(session: Session, message_id: int, **values: object) -> None:
    """Record one message's outcome in its own commit, so that a crash never forgets it."""
    session.execute(update(OutboundEmail).where(OutboundEmail.id == message_id).values(**values))
    session.commit()


def _retry_or_fail(session: Session, row_id: int, attempts: int, error: str, **values: object) -> bool:
    """Queue the message again with backoff, or mark it failed once `outbox_retry_hours` have passed since its
    first attempt; True if retrying. `values` are recorded with it (the addresses still owed, say)."""
    settings = get_settings()
    now = clock.utc_now()
    first = session.scalar(select(OutboundEmail.first_attempt_at).where(OutboundEmail.id == row_id)) or now
    if now - first >= timedelta(hours=settings.outbox_retry_hours):
        _mark(session, row_id, status=EmailStatus.FAILED, last_error=f"{error} (tried for {_hours(now - first)} h, giving up)", claimed_by=None, **values)
        return False
    backoff = min(settings.outbox_retry_base_seconds * 2 ** max(attempts - 1, 0), settings.outbox_retry_max_seconds)
    _mark(session, row_id, status=EmailStatus.QUEUED, last_error=error, claimed_by=None, not_before=now + timedelta(seconds=backoff), **values)
    return True


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f}".replace(".", ",")


def _release(session: Session, row_ids: list[int], error: str) -> DeliveryTally:
    """Give back messages a run claimed but never handed to the server (it could not be reached or went away),
    in two statements and one commit: their attempt is not counted, and they wait one backoff step, or fail
    once their retry period is over."""
    if not row_ids:
        return DeliveryTally()
    settings = get_settings()
    now = clock.utc_now()
    given_up = now - timedelta(hours=settings.outbox_retry_hours)
    ours = OutboundEmail.id.in_(row_ids)
    uncounted = case((OutboundEmail.attempts > 0, OutboundEmail.attempts - 1), else_=0)
    failed = affected_rows(
        session.execute(
            update(OutboundEmail)
            .where(ours, OutboundEmail.first_attempt_at <= given_up)
            .values(
                status=EmailStatus.FAILED, attempts=uncounted, claimed_by=None, last_error=f"{error} (tried for {settings.outbox_retry_hours:g} h, giving up)"
            )
        )
    )
    backoff = timedelta(seconds=min(settings.outbox_retry_base_seconds, settings.outbox_retry_max_seconds))
    retrying = affected_rows(
        session.execute(
            update(OutboundEmail)
            .where(ours, OutboundEmail.status == EmailStatus.SENDING)
            .values(status=EmailStatus.QUEUED, attempts=uncounted, claimed_by=None, last_error=error, not_before=now + backoff)
        )
    )
    session.commit()
    return DeliveryTally(retrying=retrying, failed=failed)


class _SentLater:
    """The messages accepted by the server and not yet recorded: written as 'sent' in one statement and one commit."""

    def __init__(self, session: Session, as_of: date) -> None:
        self.session, self.as_of, self.ids = session, as_of, list[int]()

    def add(self, row_id: int) -> None:
        self.ids.append(row_id)
        if len(self.ids) >= get_settings().outbox_commit_every:
            self.record()

    def record(self) -> None:
        if self.ids:
            self.session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id.in_(self.ids))
                .values(status=EmailStatus.SENT, sent_at=clock.moment(self.as_of), last_error=None, claimed_by=None, retry_recipients=None)
            )
            self.session.commit()
            self.ids.clear()


@task(name="send-outbox-batch")
def send_batch(ids: list[int], as_of: date) -> DeliveryTally:
    """Send claimed messages over one SMTP connection, recording their outcomes as they happen
    (accepted ones a group per commit, see the module's docstring)."""
    logger = get_run_logger()
    tally = DeliveryTally()
    sent_at = clock.moment(as_of)
    with session_scope() as session:
        rows = session.scalars(select(OutboundEmail).where(OutboundEmail.id.in_(ids)).order_by(OutboundEmail.priority, OutboundEmail.id)).all()
        names = sender_names(session, [row for row in rows if row.status == EmailStatus.SENDING])
        pending = [(row.id, row.attempts, OutgoingEmail.from_row(row, sender_name=names.get(row.id))) for row in rows if row.status == EmailStatus.SENDING]
        session.commit()
        sent, attempted, settings = _SentLater(session, as_of), 0, get_settings()
        try:
            with prompt_switching(), Mailer(settings) as mailer:
                # Each message is built while the one before it is on the wire (tasks.outbound.ahead)
                for built in built_ahead(pending, lambda one: wire_message(one[2], settings, date=sent_at)):
                    row_id, attempts, email = built.item
                    try:
                        mailer.transmit(built.result())
                    except DeliveryError as exc:
                        sent.record()
                        tally += _record_failure(session, row_id, attempts, email, exc, as_of)
                        logger.warning("Message %s not delivered: %s", email.message_id, exc.reason)
                    else:
                        sent.add(row_id)
                        tally += DeliveryTally(sent=1)
                    attempted += 1
        except (MailServerError, OSError) as exc:
            # The server could not be reached or went away: record what it accepted, give back what was not
            # handed over (the message in flight too: the server did not say it took it), at once.
            sent.record()
            logger.warning("SMTP unavailable after %d message(s): %s", tally.sent, exc)
            tally += _release(session, [row_id for row_id, _, _ in pending[attempted:]], f"server: {exc}")
            tally += DeliveryTally(unreachable=True)
        sent.record()
    return tally


def _record_failure(session: Session, row_id: int, attempts: int, email: OutgoingEmail, exc: DeliveryError, as_of: date) -> DeliveryTally:
    """Decide what a refusal means, recipient by recipient: the addresses refused for now (4xx) are owed the
    message and get it on a retry, alone; those refused for good (5xx) never will; the others have it."""
    owed = [addr for addr, (code, _) in exc.refused.items() if code < 500]
    if exc.refused and len(exc.refused) < len(envelope_recipients(email)):  # delivered to some
        if not owed:
            _mark(session, row_id, status=EmailStatus.SENT, sent_at=clock.moment(as_of), last_error=exc.reason, claimed_by=None, retry_recipients=None)
            return DeliveryTally(sent=1)
        retrying = _retry_or_fail(session, row_id, attempts, exc.reason, retry_recipients=owed, sent_at=clock.moment(as_of))
        return DeliveryTally(retrying=int(retrying), failed=int(not retrying))
    if exc.permanent:
        _mark(session, row_id, status=EmailStatus.FAILED, last_error=exc.reason, claimed_by=None)
        return DeliveryTally(failed=1)
    retrying = _retry_or_fail(session, row_id, attempts, exc.reason, retry_recipients=owed or None)
    return DeliveryTally(retrying=int(retrying), failed=int(not retrying))


def requeue(*, failed: bool = False, kind: str | None = None, plan_key: str | None = None) -> int:
    """Make messages due now: those waiting out a backoff, and with `failed` those given up on too (a new
    retry period, no attempts counted). `kind` (EmailKind) and `plan_key` (the assignment's plan) narrow
    it; returns how many. Nothing sent is ever queued again."""
    statuses = [EmailStatus.QUEUED, EmailStatus.FAILED] if failed else [EmailStatus.QUEUED]
    chosen = select(OutboundEmail.id).where(OutboundEmail.status.in_(statuses), OutboundEmail.last_error.is_not(None))
    if kind is not None:
        chosen = chosen.where(OutboundEmail.kind == kind)
    if plan_key is not None:
        chosen = chosen.join(Assignment, Assignment.id == OutboundEmail.assignment_id).join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        chosen = chosen.join(Plan, Plan.id == ReportDuty.plan_id).where(Plan.key == plan_key)
    with session_scope() as session:
        ids = list(session.scalars(chosen))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id.in_(part))
                .values(status=EmailStatus.QUEUED, not_before=None, attempts=0, first_attempt_at=None, claimed_by=None)
            )
        return len(ids)
