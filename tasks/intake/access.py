"""A unit's side of the portal: finding its assignment by magic link, the page's content, drafts and
submissions. Every function takes the day it acts on (`as_of`); nothing here reads the clock's date.

A link is the assignment's `link_token` (192 random bits). It stops working when it is replaced
(revoked) or `portal_link_days_after_close` days after the plan's cycle closed; until then a closed
cycle shows the page read-only. Every refusal to take a report names its reason. Closing a plan's cycle
(`close_plan`) or ending one duty early (`close_duty`) is decided here too.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from cascade import clock
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.base import IDS_PER_STATEMENT
from models.db import affected_rows, session_scope
from models.milestones import Milestone, MilestoneStatus
from models.outbox import EmailKind
from models.plan import Plan, PlanStatus, ReportDuty, plan_tree
from models.submission import Submission
from tasks.batching import batches
from tasks.documents.forms import needs_form
from tasks.intake.submissions import (
    queue_to_unit,
)
from tasks.plans.contexts import (
    assignment_context,
    reference,
)
from tasks.plans.lookup import find_duty, find_plan
from templates import message, render_email


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
    if assignment.duty.plan.status == PlanStatus.CLOSED or assignment.duty.closed_on is not None or assignment.status == AssignmentStatus.WITHDRAWN:
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
    """Close a plan's cycle and every implementing plan's below it on `as_of`; returns their codes.

    Their milestones still pending are skipped with the reason (the tick runs no milestone of a closed plan)."""
    with session_scope() as session:
        found = find_plan(session, plan)
        closed, ids = [], []
        for each in session.scalars(select(Plan).where(Plan.id.in_(plan_tree(session, found.id))).order_by(Plan.level, Plan.key)):
            if each.status != PlanStatus.CLOSED:
                each.status, each.closed_on = PlanStatus.CLOSED, as_of
                closed.append(each.code)
                ids.append(each.id)
        _skip_pending(session, Milestone.plan_id, ids, as_of, message("milestones.outcome.plan_closed", day=as_of))
        return closed


@dataclass(frozen=True)
class ClosedDuty:
    """What `close_duty` did."""

    plan: str  # the plan's code: '74/KH-SXD'
    duty: str  # the duty's title
    closed_on: date  # the day the duty closed (an earlier day when it was already closed)
    already: bool  # it was closed before
    below: tuple[str, ...]  # 'plan code: duty code' of each duty answering it closed now
    skipped: int  # pending milestones skipped


def close_duty(plan: str, duty_code: str, as_of: date) -> ClosedDuty:
    """End a duty early on `as_of` (its secretariat's decision) with every duty answering it down the levels,
    drafts included (a draft issued later carries its duty closed): no reminder, overdue notice or escalation
    of theirs goes out after it, and their pending milestones are skipped with the reason. Duties already
    closed keep their day and note. The units' links and reports stay as they are.
    """
    note = message("milestones.duty_closed_note", day=as_of)
    with session_scope() as session:
        found = find_plan(session, plan)
        duty = find_duty(session, found, duty_code)
        duties = _answering(session, duty)
        already = duty.closed_on is not None
        below = []
        for each in duties:
            if each.closed_on is None:
                each.closed_on, each.closed_note = as_of, note
                if each is not duty:
                    below.append(f"{each.plan.code}: {each.code}")
        by_outcome: dict[str, list[int]] = defaultdict(list)  # a duty closed before keeps its own note
        for each in duties:
            by_outcome[message("milestones.outcome.duty_closed", note=each.closed_note or note)].append(each.id)
        skipped = sum(_skip_pending(session, Milestone.duty_id, ids, as_of, outcome) for outcome, ids in by_outcome.items())
        return ClosedDuty(found.code, duty.title, duty.closed_on or as_of, already, tuple(below), skipped)


def _answering(session: Session, duty: ReportDuty) -> list[ReportDuty]:
    """The duty and every duty answering it down the levels (`source_duty_id`), whatever their plans' status."""
    found, frontier, seen = [duty], [duty.id], {duty.id}
    while frontier:
        below = [
            d
            for ids in batches(frontier, IDS_PER_STATEMENT)
            for d in session.scalars(select(ReportDuty).where(ReportDuty.source_duty_id.in_(ids)).order_by(ReportDuty.id))
            if d.id not in seen
        ]
        seen.update(d.id for d in below)
        found += below
        frontier = [d.id for d in below]
    return found


def _skip_pending(session: Session, column: InstrumentedAttribute[int], ids: list[int], as_of: date, outcome: str) -> int:
    """Skip the pending milestones whose `column` (plan or duty id) is one of `ids`, with the reason; returns how many."""
    skipped = 0
    for chunk in batches(ids, IDS_PER_STATEMENT):
        result = session.execute(
            update(Milestone)
            .where(column.in_(chunk), Milestone.status == MilestoneStatus.PENDING)
            .values(status=MilestoneStatus.SKIPPED, done_on=as_of, outcome=outcome)
        )
        skipped += affected_rows(result)
    return skipped
