"""SMTP sending quotas: at most `smtp_per_minute` messages in any 60 seconds and `smtp_per_day` a day.

Public mail services cap a sender at a few hundred or thousand messages a day; past the cap
they refuse or, worse, flag the sender as a spammer. The outbox therefore never claims more
than the room left, counting what was sent (by `sent_at`) and what is being sent right now;
what does not fit waits, best priority first, for the next minute or the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from cascade import clock
from cascade.settings import get_settings
from models.db import session_scope
from models.outbox import EmailStatus, OutboundEmail

MINUTE = timedelta(seconds=60)
_QUOTA_LOCK = 727_001  # PostgreSQL advisory lock id: claims under a quota are made one at a time


@dataclass(frozen=True)
class Room:
    """How many more messages may be claimed now: None without quotas; `limited_by` names the cap reached."""

    messages: int | None
    limited_by: str | None = None  # 'minute' or 'day' when `messages` is 0
    wait_seconds: float = 0.0  # until the per-minute window frees a slot


def quotas_set() -> bool:
    settings = get_settings()
    return settings.smtp_per_minute is not None or settings.smtp_per_day is not None


def lock_for_quota(session: Session) -> None:
    """Serialize quota-bound claims across workers until the transaction ends.

    PostgreSQL: an advisory transaction lock. SQLite: a write first, which takes the database's
    write lock at once (a read-then-write transaction would let two workers count the same room).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_QUOTA_LOCK})"))
    else:
        session.execute(update(OutboundEmail).where(OutboundEmail.id == -1).values(attempts=OutboundEmail.attempts))


def _in_flight(session: Session) -> int:
    return session.scalar(select(func.count()).where(OutboundEmail.status == EmailStatus.SENDING)) or 0


def day_room(session: Session, as_of: date) -> int | None:
    """Messages that may still go on `as_of` (its Vietnam day) under `smtp_per_day`; None without that quota."""
    per_day = get_settings().smtp_per_day
    if per_day is None:
        return None
    start = clock.start_of_day(as_of)
    sent = session.scalar(
        select(func.count()).where(OutboundEmail.status == EmailStatus.SENT, OutboundEmail.sent_at >= start, OutboundEmail.sent_at < start + timedelta(days=1))
    ) or 0  # fmt: skip
    return max(0, per_day - sent - _in_flight(session))


def minute_room(session: Session, as_of: date) -> Room | None:
    """Room under `smtp_per_minute` in the 60 seconds up to now (on `as_of`); None without that quota."""
    per_minute = get_settings().smtp_per_minute
    if per_minute is None:
        return None
    now = clock.moment(as_of)
    count, oldest = session.execute(
        select(func.count(), func.min(OutboundEmail.sent_at)).where(
            OutboundEmail.status == EmailStatus.SENT, OutboundEmail.sent_at > now - MINUTE, OutboundEmail.sent_at <= now
        )
    ).one()
    left = max(0, per_minute - count - _in_flight(session))
    if left:
        return Room(left)
    # Sends still in flight hold slots with no sent_at yet: check again in a second.
    wait = max(1.0, (oldest + MINUTE - now).total_seconds()) if oldest is not None else 1.0
    return Room(0, "minute", wait)


def room(session: Session, as_of: date) -> Room:
    """The room left under both quotas now; the day's cap wins when both are reached (waiting cannot help)."""
    day = day_room(session, as_of)
    if day == 0:
        return Room(0, "day")
    minute = minute_room(session, as_of)
    if minute is not None and minute.messages == 0:
        return minute
    counts = [n for n in (day, minute.messages if minute else None) if n is not None]
    return Room(min(counts) if counts else None)


def quota_room_now(as_of: date) -> Room:
    """`room` in a session of its own."""
    with session_scope() as session:
        return room(session, as_of)


@dataclass(frozen=True)
class OutboxWaiting:
    """What waits in the outbox, for `cascade status`: counts by kind (best priority first) and the quotas' view."""

    by_kind: list[tuple[str, int, int]]  # (kind, priority, count)
    retrying: int  # waiting out a backoff after a failed attempt
    room_today: int | None  # None: no daily quota
    days_to_drain: int | None  # at the daily quota, counting today's room; None: no daily quota
    failed: int = 0  # given up on
    troubled: tuple[OutboxTrouble, ...] = ()  # the failed and retrying messages, newest error first (at most TROUBLE_ROWS)


@dataclass(frozen=True)
class OutboxTrouble:
    """A message the server did not take: to whom, what, how often tried, and why not."""

    failed: bool  # False: retrying
    to: str
    kind: str
    subject: str
    attempts: int
    last_error: str


TROUBLE_ROWS = 20


def outbox_waiting(as_of: date) -> OutboxWaiting:
    """The queued messages and how long the daily quota will take to send them."""
    settings = get_settings()
    now = clock.utc_now()
    with session_scope() as session:
        rows = session.execute(
            select(OutboundEmail.kind, OutboundEmail.priority, func.count())
            .where(OutboundEmail.status.in_([EmailStatus.QUEUED, EmailStatus.SENDING]))
            .group_by(OutboundEmail.kind, OutboundEmail.priority)
            .order_by(OutboundEmail.priority, OutboundEmail.kind)
        ).all()
        retrying = session.scalar(select(func.count()).where(OutboundEmail.status == EmailStatus.QUEUED, OutboundEmail.not_before > now)) or 0
        failed = session.scalar(select(func.count()).where(OutboundEmail.status == EmailStatus.FAILED)) or 0
        today = day_room(session, as_of)
        troubled = tuple(
            OutboxTrouble(
                row.status == EmailStatus.FAILED,
                ", ".join(row.retry_recipients or row.email_to),
                str(row.kind),
                row.subject,
                row.attempts,
                row.last_error or "",
            )
            for row in session.scalars(
                select(OutboundEmail)
                .where(or_(OutboundEmail.status == EmailStatus.FAILED, and_(OutboundEmail.status == EmailStatus.QUEUED, OutboundEmail.last_error.is_not(None))))
                .order_by(OutboundEmail.status, OutboundEmail.id.desc())
                .limit(TROUBLE_ROWS)
            )
        )
    total = sum(n for _, _, n in rows)
    by_kind = [(str(k), p, n) for k, p, n in rows]
    if today is None or settings.smtp_per_day is None:
        return OutboxWaiting(by_kind, retrying, None, None, failed, troubled)
    rest = max(0, total - today)
    return OutboxWaiting(by_kind, retrying, today, (1 if total and today else 0) + -(-rest // settings.smtp_per_day), failed, troubled)
