"""Recording a unit's submission as a new version, all or nothing, and queueing its receipt."""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from prefect import task
from sqlalchemy import func, select

from cascade import clock
from cascade.errors import ConflictError, NotFound
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.outbox import EmailKind
from models.plan import PlanStatus, ReportDuty
from models.submission import (
    Attachment,
    Channel,
    Submission,
    SubmissionSection,
    SubmissionValue,
)
from models.unit import Unit
from tasks.assign import find_plan
from tasks.outbox import message_id_for, queue_email
from tasks.render import receipt_context, recipients, reply_address
from templates import render_email


@dataclass(frozen=True)
class FigureInput:
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class SubmissionInput:
    """One submission as any channel (file, web form, email reply) delivers it, already validated."""

    plan: str
    duty: str
    unit: str
    channel: Channel
    source_key: str  # the same key twice for one assignment is one version, not two
    values: dict[str, FigureInput] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)
    self_score: Decimal | None = None
    self_assessment: str = ""
    attachments: tuple[Path, ...] = ()
    sender: str | None = None


@dataclass(frozen=True)
class Recorded:
    submission_id: int
    version: int
    is_new: bool
    is_late: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_attachment(path: Path) -> tuple[str, int]:
    """Copy a file into the content-addressed store (idempotent); returns (sha256, size)."""
    digest = sha256_file(path)
    target = get_settings().attachments_dir / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(path, partial)
        partial.replace(target)
    return digest, path.stat().st_size


def attachment_path(sha256: str) -> Path:
    return get_settings().attachments_dir / sha256[:2] / sha256


@task(name="record-submission")
def record_submission(data: SubmissionInput, as_of: date) -> Recorded:
    """Store a new version for the unit's assignment and queue a receipt, in one transaction.

    A submission whose source key was already recorded returns that version unchanged.
    """
    stored = [(p.name, *store_attachment(p)) for p in data.attachments]
    received_at = clock.moment(as_of)
    with session_scope() as session:
        plan = find_plan(session, data.plan)
        if plan.status == PlanStatus.CLOSED:
            raise ConflictError(f"plan {plan.code} is closed: submissions are no longer accepted")
        assignment = session.scalar(
            select(Assignment)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(ReportDuty.plan_id == plan.id, ReportDuty.code == data.duty, Unit.code == data.unit)
        )
        if assignment is None:
            raise NotFound(f"unit {data.unit!r} has no assignment for duty {data.duty!r} of plan {plan.code}")
        duplicate = session.scalar(select(Submission).where(Submission.assignment_id == assignment.id, Submission.source_key == data.source_key))
        if duplicate is not None:
            return Recorded(duplicate.id, duplicate.version, False, clock.local_date(duplicate.received_at) > assignment.due_on)
        if assignment.status == AssignmentStatus.ACCEPTED:
            raise ConflictError(f"the report of {data.unit} for {data.duty} was already accepted")

        version = (session.scalar(select(func.max(Submission.version)).where(Submission.assignment_id == assignment.id)) or 0) + 1
        submission = Submission(
            assignment=assignment,
            version=version,
            received_at=received_at,
            channel=data.channel,
            sender=data.sender,
            source_key=data.source_key,
            self_score=data.self_score,
            self_assessment=data.self_assessment,
            values=[
                SubmissionValue(indicator_code=code, value=f.value, numerator=f.numerator, denominator=f.denominator, note=f.note)
                for code, f in data.values.items()
            ],
            sections=[SubmissionSection(code=code, position=i, text=text) for i, (code, text) in enumerate(data.sections.items())],
            attachments=[
                Attachment(filename=name, sha256=digest, size=size, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
                for name, digest, size in stored
            ],
        )
        session.add(submission)
        if assignment.submitted_on is None:
            assignment.first_submitted_at = received_at
            assignment.submitted_on = clock.local_date(received_at)
        assignment.status = AssignmentStatus.SUBMITTED
        session.flush()
        queue_email(
            session,
            key=f"receipt:{submission.id}",
            kind=EmailKind.RECEIPT,
            assignment_id=assignment.id,
            email_to=recipients(assignment.unit),
            reply_to=reply_address(assignment),
            in_reply_to=message_id_for(session, f"assignment:{assignment.id}"),
            rendered=render_email("receipt", **receipt_context(session, submission, as_of=as_of)),
            created_at=received_at,
        )
        return Recorded(submission.id, version, True, clock.local_date(received_at) > assignment.due_on)
