"""A unit's report page: what it shows (the plan, its versions, the form's fields), drafts, and a version recorded from the page."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cascade import clock
from models.assignment import Assignment, AssignmentStatus
from models.submission import Channel, Draft, ReviewAction, Submission
from tasks.documents.forms import FormSpec, form_spec, needs_form
from tasks.intake.access import check_open, latest_version, refusal
from tasks.intake.evidence import StoredFile
from tasks.intake.submissions import (
    FigureInput,
    Recorded,
    SubmissionInput,
    queue_receipt,
    store_version,
)
from tasks.intake.web_form import WebReport, fields_of_version
from tasks.plans.changes import changes_between
from tasks.plans.contexts import assignment_context, portal_link, shown_version
from tasks.plans.targets import duty_targets


def version_inputs(submission: Submission) -> tuple[dict[str, FigureInput], dict[str, str]]:
    values = {v.indicator_code: FigureInput(value=v.value, numerator=v.numerator, denominator=v.denominator, note=v.note) for v in submission.values}
    return values, {s.code: s.text for s in submission.sections}


def versions_context(session: Session, assignment: Assignment) -> list[dict[str, Any]]:
    """The assignment's versions, newest first, with their figures, files and reviews, and what each
    changed from the one before it (`changes`, None for the first)."""
    targets = {t.code: t for t in duty_targets(session, assignment.duty)}
    titles = {s["code"]: s["title"] for s in assignment.duty.sections}
    versions = session.scalars(select(Submission).where(Submission.assignment_id == assignment.id).order_by(Submission.version.desc())).all()
    shown: list[dict[str, Any]] = [
        {
            "id": s.id,
            "version": s.version,
            "received_at": s.received_at,
            "channel": str(s.channel),
            "sender": s.sender,
            "review_status": str(s.review_status),
            "is_late": clock.local_date(s.received_at) > assignment.due_on,
            "self_score": s.self_score,
            "reviewed_score": s.reviewed_score,
            "self_assessment": s.self_assessment,
            **shown_version(s, targets, titles),
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size} for a in s.attachments],
            "reviews": [
                {
                    "action": str(r.action),
                    "comment": r.comment,
                    "score_before": r.score_before,
                    "score_after": r.score_after,
                    "reviewer": r.reviewer,
                    "at": r.at,
                }
                for r in s.reviews
            ],
        }
        for s in versions
    ]
    for newer, older in pairwise(shown):
        newer["changes"] = changes_between(older["version"], older, newer)
    if shown:
        shown[-1]["changes"] = None
    return shown


def page_fields(session: Session, assignment: Assignment, spec: FormSpec) -> tuple[dict[str, str], Draft | None]:
    """What the form shows: the saved draft, else the latest version (to correct a returned report), else nothing."""
    draft = session.scalar(select(Draft).where(Draft.assignment_id == assignment.id))
    if draft is not None:
        return dict(draft.fields), draft
    latest = latest_version(session, assignment.id)
    if latest is None or latest.channel == Channel.CONSOLIDATION:
        return {}, None
    values, sections = version_inputs(latest)
    return fields_of_version(spec, values, sections, latest.self_score, latest.self_assessment), None


def standing(versions: Sequence[Mapping[str, Any]], assignment: Assignment) -> dict[str, Any] | None:
    """Where the unit's report stands, for the top of its page, from its versions as `versions_context` shows
    them (newest first): the latest one (when, how, how late, consolidated from its own units or not) and the
    decision on it; None before anything is received."""
    if not versions:
        return None
    latest = versions[0]
    received_on = clock.local_date(latest["received_at"])
    decided = [r["at"] for r in latest["reviews"] if r["action"] in (ReviewAction.ACCEPT, ReviewAction.RETURN)]
    return {
        "version": latest["version"],
        "received_on": received_on,
        "channel": latest["channel"],
        "days_late": max(0, (received_on - assignment.due_on).days),
        "review_status": latest["review_status"],
        "decided_on": clock.local_date(decided[-1]) if decided else None,
    }


def page_context(session: Session, assignment: Assignment, as_of: date) -> dict[str, Any]:
    """Everything the unit's page shows but the form's fields and errors."""
    context = assignment_context(session, assignment, as_of=as_of)
    reason = refusal(assignment)
    spec = form_spec(session, assignment, as_of=as_of) if needs_form(assignment.duty) else None
    returned = None
    if assignment.status == AssignmentStatus.RETURNED:
        latest = latest_version(session, assignment.id)
        comments = [r for r in (latest.reviews if latest else []) if r.action == "return"]
        returned = {"comment": comments[-1].comment, "at": comments[-1].at, "version": latest.version} if comments and latest else None
    plan = assignment.duty.plan
    versions = versions_context(session, assignment)
    context.update(
        spec=spec,
        refusal=str(reason) if reason else None,
        assignment_status=str(assignment.status),
        returned=returned,
        standing=standing(versions, assignment),
        closed_on=plan.closed_on,
        versions=versions,
        plan_purposes=plan.purposes,
        submit_key=secrets.token_urlsafe(16),
        link=portal_link(assignment),
    )
    return context


def save_draft(session: Session, assignment: Assignment, fields: Mapping[str, str], files: Sequence[StoredFile],
               removed: Sequence[str], as_of: date) -> Draft:  # fmt: skip
    """Keep what the unit typed and the evidence it uploaded, replacing the previous draft's fields."""
    draft = session.scalar(select(Draft).where(Draft.assignment_id == assignment.id))
    if draft is None:
        draft = Draft(assignment_id=assignment.id, fields={}, evidence=[], saved_at=clock.moment(as_of))
        session.add(draft)
    kept = [e for e in draft.evidence if e[1] not in removed]
    known = {e[1] for e in kept}
    kept += [[f.filename, f.sha256, f.size, f.content_type] for f in files if f.sha256 not in known]
    draft.fields, draft.evidence, draft.saved_at = dict(fields), kept, clock.moment(as_of)
    session.flush()
    return draft


def draft_evidence(session: Session, assignment_id: int) -> list[StoredFile]:
    draft = session.scalar(select(Draft).where(Draft.assignment_id == assignment_id))
    return [StoredFile(*e) for e in draft.evidence] if draft is not None else []


def record_version(session: Session, assignment: Assignment, data: SubmissionInput, files: Sequence[StoredFile], as_of: date) -> Recorded:
    """Store a version (with the draft's evidence and `files`), drop the draft and queue the receipt, in the
    caller's transaction; raises ConflictError(reason) when the assignment takes no report."""
    check_open(assignment)
    evidence = {f.sha256: f for f in [*draft_evidence(session, assignment.id), *files]}
    stored = [(f.filename, f.sha256, f.size) for f in evidence.values()]
    submission, is_new = store_version(session, assignment, data, received_at=clock.moment(as_of), stored=stored)
    if is_new:
        session.execute(delete(Draft).where(Draft.assignment_id == assignment.id))
        queue_receipt(session, submission, as_of=as_of)
    return Recorded(submission.id, submission.version, is_new, clock.local_date(submission.received_at) > assignment.due_on)


def web_input(assignment: Assignment, report: WebReport, submit_key: str, sender: str | None) -> SubmissionInput:
    """The page's report as a submission; the page's own key makes a double click one version, not two."""
    key = hashlib.sha256(f"{assignment.id}:{submit_key}".encode()).hexdigest()
    return SubmissionInput(
        plan=assignment.duty.plan.key, duty=assignment.duty.code, unit=assignment.unit.code, channel=Channel.WEB,
        source_key=f"web:{key}", values=report.values, sections=report.sections, self_score=report.self_score,
        self_assessment=report.self_assessment, sender=sender,
    )  # fmt: skip
