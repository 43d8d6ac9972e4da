"""A unit's side of the portal: finding its assignment by magic link, the page's content, drafts and
submissions. Every function takes the day it acts on (`as_of`); nothing here reads the clock's date.

A link is the assignment's `link_token` (192 random bits). It stops working when it is replaced
(revoked) or `portal_link_days_after_close` days after the plan's cycle closed; until then a closed
cycle shows the page read-only. Every refusal to take a report names its reason.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade import clock
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.outbox import EmailKind
from models.plan import Plan, PlanStatus, plan_tree
from models.submission import Submission
from tasks.documents.forms import needs_form
from tasks.intake.submissions import (
    queue_to_unit,
)
from tasks.plans.contexts import (
    assignment_context,
    reference,
)
from tasks.plans.lookup import find_plan
from templates import render_email


class Refusal(StrEnum):
    """Why a page takes no report (the page words each one)."""

    ACCEPTED = "accepted"
    CLOSED = "closed"
    MERGED = "merged"
    PLAN_DUTY = "plan_duty"  # an implementing plan is issued, not typed in


def find_by_link(session: Session, link_token: str, as_of: date) -> Assignment | None:
    """The assignment a link opens, or None for an unknown, revoked or expired link (all look alike)."""
    if not link_token or len(link_token) > 64:
        return None
    assignment = session.scalar(select(Assignment).where(Assignment.link_token == link_token))
    if assignment is None:
        return None
    plan = assignment.duty.plan
    if plan.status == PlanStatus.CLOSED:
        closed = plan.closed_on or plan.issued_on
        if as_of > closed + timedelta(days=get_settings().portal_link_days_after_close):
            return None
    return assignment


def refusal(assignment: Assignment) -> Refusal | None:
    """Why the assignment takes no new version now, or None when it does."""
    if not needs_form(assignment.duty):
        return Refusal.PLAN_DUTY
    if assignment.duty.plan.status == PlanStatus.CLOSED:
        return Refusal.CLOSED
    if assignment.status == AssignmentStatus.ACCEPTED:
        return Refusal.ACCEPTED
    if assignment.status == AssignmentStatus.MERGED:
        return Refusal.MERGED
    return None


def mark_opened(session: Session, assignment: Assignment, as_of: date) -> None:
    if assignment.opened_at is None:
        assignment.opened_at = clock.moment(as_of)


def latest_version(session: Session, assignment_id: int) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.assignment_id == assignment_id).order_by(Submission.version.desc()).limit(1))


def check_open(assignment: Assignment) -> None:
    reason = refusal(assignment)
    if reason is not None:
        raise ConflictError(str(reason))


def revoke_link(assignment_id: int, as_of: date, *, send: bool = True) -> str:
    """Replace the assignment's link (the old one answers 404 at once) and email the new one to the unit."""
    with session_scope() as session:
        assignment = session.get_one(Assignment, assignment_id)
        assignment.link_token = secrets.token_urlsafe(24)
        session.flush()
        if send:
            queue_to_unit(
                session, assignment, key=f"link:{assignment.id}:{hashlib.sha256(assignment.link_token.encode()).hexdigest()[:16]}",
                kind=EmailKind.LINK, rendered=render_email("link", **assignment_context(session, assignment, as_of=as_of)),
                created_at=clock.moment(as_of),
            )  # fmt: skip
        return reference(assignment)


def close_plan(plan: str, as_of: date) -> list[str]:
    """Close a plan's cycle and every implementing plan's below it on `as_of`; returns their codes."""
    with session_scope() as session:
        found = find_plan(session, plan)
        closed = []
        for each in session.scalars(select(Plan).where(Plan.id.in_(plan_tree(session, found.id))).order_by(Plan.level, Plan.key)):
            if each.status != PlanStatus.CLOSED:
                each.status, each.closed_on = PlanStatus.CLOSED, as_of
                closed.append(each.code)
        return closed
