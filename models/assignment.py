"""One unit × one report duty: the expected-submitter list, frozen when the plan is cascaded."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.plan import ReportDuty
from models.unit import Unit


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    MERGED = "merged"  # the unit merged into a successor that reports for both: no longer expected
    WITHDRAWN = "withdrawn"  # an amendment took the duty from the unit: no longer expected, nothing deleted


OPEN_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.RETURNED)
EXPECTED_STATUSES = tuple(s for s in AssignmentStatus if s not in (AssignmentStatus.MERGED, AssignmentStatus.WITHDRAWN))


def new_link_token() -> str:
    return secrets.token_urlsafe(24)


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("duty_id", "unit_id"), UniqueConstraint("token"), UniqueConstraint("link_token"))

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("report_duty.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    due_on: Mapped[date]
    status: Mapped[AssignmentStatus] = mapped_column(String(16), default=AssignmentStatus.ASSIGNED, index=True)
    token: Mapped[str] = mapped_column(String(64), comment="Secret behind the unit's reply address and its forms' signatures.")
    link_token: Mapped[str] = mapped_column(
        String(64), default=new_link_token, comment="Secret of the unit's portal link (192 random bits); replaced to revoke a link."
    )
    opened_at: Mapped[datetime | None] = mapped_column(comment="First time the unit opened its portal page.")
    created_at: Mapped[datetime]
    first_submitted_at: Mapped[datetime | None]
    submitted_on: Mapped[date | None] = mapped_column(comment="Vietnam date of the first submission: decides lateness.")
    reminder_rank: Mapped[int] = mapped_column(default=0, comment="Highest reminder step queued so far (see models.reminders).")
    escalated_on: Mapped[date | None] = mapped_column(comment="The last day it was reported overdue to the unit's head and the secretariat.")
    escalations: Mapped[int] = mapped_column(default=0, server_default="0", comment="How many times it has been escalated (the first, then its repeats).")
    form_revision: Mapped[int] = mapped_column(
        default=1, server_default="1", comment="Raised when an amendment changes what the unit's form asks or shows: forms of an earlier revision are refused."
    )
    transferred_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id"), comment="The unit this assignment belonged to before a merger moved it to its successor."
    )

    duty: Mapped[ReportDuty] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    transferred_from: Mapped[Unit | None] = relationship(foreign_keys=[transferred_from_id])
