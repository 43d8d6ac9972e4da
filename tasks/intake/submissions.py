"""Recording a unit's submission as a new version, all or nothing, and queueing its receipt."""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from prefect import task
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade import clock
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.outbox import EmailKind
from models.plan import PlanStatus
from models.submission import (
    Attachment,
    Channel,
    Submission,
    SubmissionSection,
    SubmissionValue,
)
from tasks.outbound.outbox import message_id_for, queue_email
from tasks.plans.contexts import notice_key, receipt_context, recipients, reply_to_header
from tasks.plans.lookup import find_assignment, find_plan
from templates import RenderedEmail, render_email


@dataclass(frozen=True)
class FigureInput:
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str = ""
    covers: int | None = None  # consolidated figures: the units it stands for
    sources: tuple[tuple[str, int], ...] = ()  # consolidated figures: (unit code, submission id) behind it


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


def store_version(
    session: Session,
    assignment: Assignment,
    data: SubmissionInput,
    *,
    received_at: datetime,
    stored: Sequence[tuple[str, str, int]] = (),
    report_id: int | None = None,
) -> tuple[Submission, bool]:
    """Add a new version of the assignment's report in the caller's transaction; returns (version, is_new).

    The same source key twice returns the earlier version; an accepted report takes no new version.
    """
    duplicate = session.scalar(select(Submission).where(Submission.assignment_id == assignment.id, Submission.source_key == data.source_key))
    if duplicate is not None:
        return duplicate, False
    if assignment.status == AssignmentStatus.ACCEPTED:
        raise ConflictError(f"the report of {data.unit} for {data.duty} was already accepted")
    if assignment.status == AssignmentStatus.MERGED:
        raise ConflictError(f"{data.unit} has merged into its successor, which now reports for {data.duty}")
    if assignment.status == AssignmentStatus.WITHDRAWN or assignment.duty.closed_on is not None:
        raise ConflictError(f"{data.duty} is no longer asked of {data.unit}: {assignment.duty.closed_note or 'an amendment of the plan withdrew it'}")

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
        report_id=report_id,
        values=[
            SubmissionValue(
                indicator_code=code,
                value=f.value,
                numerator=f.numerator,
                denominator=f.denominator,
                note=f.note,
                covers=f.covers,
                sources=[list(source) for source in f.sources],
            )
            for code, f in data.values.items()
        ],
        sections=[SubmissionSection(code=code, position=i, text=text) for i, (code, text) in enumerate(data.sections.items())],
        attachments=[
            Attachment(filename=name, sha256=digest, size=size, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
            for name, digest, size in stored
        ],
    )
    session.add(submission)
    if assignment.first_submitted_at is None or received_at < assignment.first_submitted_at:  # a replayed earlier day comes first
        assignment.first_submitted_at = received_at
        assignment.submitted_on = clock.local_date(received_at)
    assignment.status = AssignmentStatus.SUBMITTED
    session.flush()
    return submission, True


def queue_to_unit(
    session: Session,
    assignment: Assignment,
    *,
    key: str,
    kind: EmailKind,
    rendered: RenderedEmail,
    created_at: datetime,
    in_reply_to: str | None = None,
    attachments: list[str] | None = None,
) -> int:
    """Queue an email to the assignment's unit, answerable at its reply address and threaded to its notice
    (or to `in_reply_to`, the unit's own message it answers, its References then naming the notice too)."""
    notice = message_id_for(session, notice_key(assignment))
    thread = " ".join(dict.fromkeys(found for found in (notice, in_reply_to) if found))  # the whole thread, oldest first
    return queue_email(
        session,
        key=key,
        kind=kind,
        assignment_id=assignment.id,
        email_to=recipients(assignment.unit),
        reply_to=reply_to_header(assignment),
        in_reply_to=in_reply_to or notice,
        references=thread or None,
        rendered=rendered,
        created_at=created_at,
        attachments=attachments,
    )


def queue_receipt(session: Session, submission: Submission, *, as_of: date, in_reply_to: str | None = None) -> None:
    """Queue the unit's receipt for a new version, threaded to its assignment notice (or to the unit's email it answers)."""
    queue_to_unit(
        session, submission.assignment, key=f"receipt:{submission.id}", kind=EmailKind.RECEIPT,
        rendered=render_email("receipt", **receipt_context(session, submission, as_of=as_of)), created_at=submission.received_at,
        in_reply_to=in_reply_to,
    )  # fmt: skip


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
        assignment = find_assignment(session, plan, data.duty, data.unit)
        submission, is_new = store_version(session, assignment, data, received_at=received_at, stored=stored)
        if is_new:
            queue_receipt(session, submission, as_of=as_of)
        return Recorded(submission.id, submission.version, is_new, clock.local_date(submission.received_at) > assignment.due_on)
