"""Versioned submissions: indicator values, narrative sections, self-assessment, attachments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.assignment import Assignment
from models.base import Base


class Channel(StrEnum):
    FILE = "file"  # cascade submit FILE
    WEB = "web"
    EMAIL = "email"
    CONSOLIDATION = "consolidation"  # a unit's consolidated report, submitted upward by the system
    PLAN = "plan"  # an implementing plan issued in the system fulfils an implementing_plan duty


class ReviewStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class Submission(Base):
    """One version of a unit's report for an assignment; a new version never overwrites an old one."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("assignment_id", "version"), UniqueConstraint("assignment_id", "source_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    received_at: Mapped[datetime]
    channel: Mapped[Channel] = mapped_column(String(16))
    sender: Mapped[str | None]
    source_key: Mapped[str] = mapped_column(String(128), comment="Content hash or Message-ID: the same input twice is one version.")
    self_score: Mapped[Decimal | None]
    self_assessment: Mapped[str] = mapped_column(Text, default="")
    review_status: Mapped[ReviewStatus] = mapped_column(String(16), default=ReviewStatus.PENDING)
    reviewed_score: Mapped[Decimal | None] = mapped_column(comment="The self-assessment score as adjusted by the upper level (see Review).")
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), comment="The consolidation this version was made from.")

    assignment: Mapped[Assignment] = relationship()
    reviews: Mapped[list[Review]] = relationship(back_populates="submission", order_by="Review.id", cascade="all, delete-orphan")
    values: Mapped[list[SubmissionValue]] = relationship(back_populates="submission", cascade="all, delete-orphan")
    sections: Mapped[list[SubmissionSection]] = relationship(back_populates="submission", order_by="SubmissionSection.position", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="submission", cascade="all, delete-orphan")


class SubmissionValue(Base):
    """A figure for one indicator: a value, or a numerator and denominator for a rate."""

    __tablename__ = "submission_value"
    __table_args__ = (UniqueConstraint("submission_id", "indicator_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    indicator_code: Mapped[str] = mapped_column(String(32))
    value: Mapped[Decimal | None]
    numerator: Mapped[Decimal | None]
    denominator: Mapped[Decimal | None]
    note: Mapped[str] = mapped_column(Text, default="")
    covers: Mapped[int | None] = mapped_column(comment="Consolidated figures: how many units the figure stands for.")
    sources: Mapped[list[Any]] = mapped_column(default=list, comment="Consolidated figures: [[unit code, submission id]] behind it.")

    submission: Mapped[Submission] = relationship(back_populates="values")


class SubmissionSection(Base):
    __tablename__ = "submission_section"
    __table_args__ = (UniqueConstraint("submission_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="sections")


class Attachment(Base):
    """Evidence (tài liệu minh chứng), stored once by content hash under the workspace."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class ReviewAction(StrEnum):
    ACCEPT = "accept"
    RETURN = "return"
    ADJUST_SCORE = "adjust_score"


class Review(Base):
    """One decision of the upper level on a version: accepted, returned with a comment, or its score adjusted."""

    __tablename__ = "submission_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    action: Mapped[ReviewAction] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    score_before: Mapped[Decimal | None]
    score_after: Mapped[Decimal | None]
    reviewer: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]

    submission: Mapped[Submission] = relationship(back_populates="reviews")


class Draft(Base):
    """What a unit typed on its portal page and saved without submitting: the raw fields, as typed,
    and the evidence it uploaded (stored by sha256). One per assignment; submitting deletes it."""

    __tablename__ = "submission_draft"
    __table_args__ = (UniqueConstraint("assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="Field name → text as typed.")
    evidence: Mapped[list[Any]] = mapped_column(default=list, comment="[[file name, sha256, size, content type]] uploaded so far.")
    saved_at: Mapped[datetime]
