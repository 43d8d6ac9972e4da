"""The record of every message read from the reply mailbox: what became of it, and why.

One row per message (keyed by its Message-ID), written in the same transaction as the version it
recorded or the answer it queued; a message seen again (a rerun after a crash, a second worker)
is only moved to the folder its row names, never processed twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class IntakeOutcome(StrEnum):
    RECORDED = "recorded"  # a new version of the unit's report (or one recorded earlier from the same message)
    REFUSED = "refused"  # nothing recorded; the unit was answered with the problems found
    QUARANTINED = "quarantined"  # the sender is not one of the unit's addresses; the secretariat was told
    SET_ASIDE = "set_aside"  # for people: no assignment found, no form, an auto-reply, unreadable


class IntakeReason(StrEnum):
    RECORDED = "recorded"
    FORM_PROBLEMS = "form_problems"  # the attached form was read and has problems (sheet, cell, reason)
    FILE_PROBLEMS = "file_problems"  # an evidence file of a refused type or size, or more than one form
    NOT_OPEN = "not_open"  # the report was accepted, the cycle closed, or the unit merged
    SENDER_MISMATCH = "sender_mismatch"
    NO_MATCH = "no_match"
    NO_FORM = "no_form"
    NOT_A_REPORT = "not_a_report"  # a reply about an implementing plan, which is issued, not filled in
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"


class InboundEmail(Base):
    __tablename__ = "inbound_email"
    __table_args__ = (UniqueConstraint("message_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64), comment="sha256 of the Message-ID (of the raw message when it has none).")
    message_id: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    arrived_at: Mapped[datetime] = mapped_column(comment="When it counts as received: IMAP INTERNALDATE, or the replayed day when earlier.")
    collected_at: Mapped[datetime]
    outcome: Mapped[IntakeOutcome] = mapped_column(String(16), index=True)
    reason: Mapped[IntakeReason] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="", comment="What people need to know, in Vietnamese.")
    folder: Mapped[str] = mapped_column(String(255), comment="The folder it was moved to.")
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime | None] = mapped_column(comment="Set once the message left the inbox.")
