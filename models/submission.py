"""Versioned submissions: indicator values, narrative sections, self-assessment, attachments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from enum import StrEnum

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
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), comment="The consolidation this version was made from.")

    assignment: Mapped[Assignment] = relationship()
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
