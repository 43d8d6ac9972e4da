"""The outbox: the record of every email we mean to send and whether it went.

A message is identified by its idempotency key (e.g. 'reminder:42:before-3'); queueing the
same key twice is a no-op, and delivery trusts only this table, never a cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cascade.workspace_paths import resolved_path
from models.base import Base


class EmailKind(StrEnum):
    ASSIGNMENT = "assignment"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    RECEIPT = "receipt"
    REPORT = "report"
    REVIEW = "review"  # accepted, or returned with the upper level's comment
    LINK = "link"  # a new portal link after the old one was revoked
    INTAKE = "intake"  # an emailed report that could not be recorded: the problems found
    ALERT = "alert"  # to the secretariat: a reply quarantined for its sender
    ESCALATION = "escalation"  # a day's digest of units overdue past the escalation step, to a head or the secretariat
    SIGN_IN = "sign_in"  # a one-time link to the secretariat's pages, asked for on the sign-in page
    AMENDMENT = "amendment"  # what an amendment of the plan changed for the unit, with the amendment and its new forms


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmail(Base):
    __tablename__ = "outbound_email"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        UniqueConstraint("message_id"),
        Index("ix_outbound_email_status_due", "status", "priority", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[EmailKind] = mapped_column(String(16))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"), index=True)
    email_to: Mapped[list[str]] = mapped_column(comment="RFC 5322 addresses with display names.")
    email_cc: Mapped[list[str]] = mapped_column(default=list)
    reply_to: Mapped[str | None]
    subject: Mapped[str]
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(default=list, comment="Paths of files to attach.")
    message_id: Mapped[str] = mapped_column(String(255))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=5, comment="Lower is sooner: receipts and overdue notices before bulk.")
    status: Mapped[EmailStatus] = mapped_column(String(16), default=EmailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    sent_at: Mapped[datetime | None]
    first_attempt_at: Mapped[datetime | None] = mapped_column(comment="When it was first handed to the server: retries end outbox_retry_hours later.")
    retry_recipients: Mapped[list[str] | None] = mapped_column(
        comment="After a partial refusal: the addresses still owed the message (4xx); the next attempt goes to these only."
    )


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything needed to send one message, built by pure code and sent by tasks.outbound.mail.

    Addresses are RFC 5322 strings with display names ('Phòng Quản lý nhà <qln@...>');
    `message_id` includes the angle brackets and is unique per message. `sender_name` is the
    From display name (the unit the message speaks for); None means the settings' `mail_from_name`.
    """

    email_to: tuple[str, ...]
    subject: str
    html: str
    text: str
    message_id: str
    email_cc: tuple[str, ...] = ()
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    attachments: tuple[str, ...] = ()
    date: datetime | None = None
    outbox_id: int | None = None
    sender_name: str | None = None
    envelope_only: tuple[str, ...] | None = None  # RCPT TO these alone (a retry after a partial refusal); the headers stay whole

    @classmethod
    def from_row(cls, row: OutboundEmail, *, date: datetime | None = None, sender_name: str | None = None) -> OutgoingEmail:
        return cls(
            email_to=tuple(row.email_to),
            email_cc=tuple(row.email_cc or ()),
            subject=row.subject,
            html=row.html,
            text=row.text,
            message_id=row.message_id,
            reply_to=row.reply_to,
            in_reply_to=row.in_reply_to,
            references=row.references,
            attachments=tuple(str(resolved_path(path)) for path in row.attachments or ()),
            date=date,
            outbox_id=row.id,
            sender_name=sender_name,
            envelope_only=tuple(row.retry_recipients) if row.retry_recipients else None,
        )
