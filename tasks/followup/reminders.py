"""Reminders and overdue notices for assignments that have not been submitted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from prefect import task
from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from cascade import clock
from models.assignment import Assignment, AssignmentStatus
from models.calendar import load_calendar
from models.db import session_scope
from models.outbox import EmailKind, OutboundEmail
from models.plan import DutyKind, Plan, PlanStatus, ReportDuty, plan_tree
from models.reminders import step_day, step_to_send
from models.unit import note_active_children
from tasks.cascading.duty_tree import duty_tree
from tasks.outbound.outbox import outbox_row, queue_rows
from tasks.plans.contexts import assignment_context, notice_key, recipients, reply_to_header
from tasks.plans.lookup import find_duty
from templates import render_email


@dataclass(frozen=True)
class DueReminder:
    assignment_id: int
    step: str
    rank: int
    is_overdue: bool
    manual: bool = False  # asked for from the dashboard: outside the duty's steps, once a day, rank unchanged


def still_awaited() -> ColumnElement[bool]:
    """SQL condition on Assignment joined to its ReportDuty: the assignment still waits for an answer.

    Nothing submitted yet, or the latest version returned for correction (reminded until the unit sends
    a new one); never a merged one. An implementing_plan duty is fulfilled by the unit's plan once it is
    issued, however it came to be issued (drafted and issued here, or written by the unit and imported):
    no more reminders, overdue notices or escalations for it. Nothing of a duty that ended early
    (`ReportDuty.closed_on`: closed by its secretariat or withdrawn by an amendment) is awaited any more.
    """
    child = aliased(Plan)
    issued_plan = exists().where(child.parent_plan_id == ReportDuty.plan_id, child.issuer_id == Assignment.unit_id, child.status != PlanStatus.DRAFT)
    return and_(
        or_(Assignment.submitted_on.is_(None), Assignment.status == AssignmentStatus.RETURNED),
        Assignment.status != AssignmentStatus.MERGED,
        ReportDuty.closed_on.is_(None),
        Assignment.status != AssignmentStatus.WITHDRAWN,
        or_(ReportDuty.kind != DutyKind.IMPLEMENTING_PLAN, ~issued_plan),
    )


@task(name="find-due-reminders")
def find_due_reminders(as_of: date, plan_id: int | None = None) -> list[DueReminder]:
    """Every assignment still awaited of an open plan (of `plan_id` and the plans implementing it, when given)
    whose next reminder step has come by `as_of`: the step the cycle's calendar lists (models.reminders),
    nothing on a day off, and no step dated on or before the day the unit was notified."""
    query = (
        select(Assignment.id, Assignment.due_on, Assignment.reminder_rank, Assignment.created_at, ReportDuty.reminder_days, ReportDuty.overdue_days)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .join(Plan, Plan.id == ReportDuty.plan_id)
        .where(still_awaited(), Plan.status != PlanStatus.CLOSED)
        .order_by(Assignment.id)
    )
    due: list[DueReminder] = []
    with session_scope() as session:
        calendar = load_calendar(session)
        if plan_id is not None:
            query = query.where(Plan.id.in_(plan_tree(session, plan_id)))
        for assignment_id, due_on, rank, created_at, before, after in session.execute(query):
            step = step_to_send(due_on, as_of, before, after, rank, calendar)
            # As the daily tick does: a unit assigned late is not reminded the moment its notice arrives.
            if step is not None and clock.local_date(created_at) < step_day(step, due_on, calendar):
                due.append(DueReminder(assignment_id, step.name, step.rank, step.is_overdue))
    return due


@task(name="duties-below")
def duty_ids_below(plan_id: int, duty_code: str) -> list[int]:
    """The plan's duty and every duty answering it down the levels."""
    with session_scope() as session:
        tree = duty_tree(session, find_duty(session, session.get_one(Plan, plan_id), duty_code).id)
        return sorted({row.duty_id for level in tree.rows for row in level})


@task(name="find-unreported")
def find_unreported(as_of: date, duty_ids: list[int]) -> list[DueReminder]:
    """Every assignment of these duties still awaited (`still_awaited`), for a reminder sent now (once per day)."""
    with session_scope() as session:
        rows = session.execute(
            select(Assignment.id, Assignment.due_on, Assignment.reminder_rank)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .where(Assignment.duty_id.in_(duty_ids), still_awaited())
            .order_by(Assignment.id)
        ).all()
    return [DueReminder(i, f"now-{as_of.isoformat()}", rank, as_of > due_on, manual=True) for i, due_on, rank in rows]


@task(name="queue-reminders")
def queue_reminders(batch: list[DueReminder], as_of: date) -> int:
    """Queue the batch's reminders threaded to each assignment's notice; returns how many were queued.

    The step is re-checked inside the transaction, so a submission, a concurrent run or the duty's closing
    that got there first wins and nothing is sent twice (or after the duty closed).
    """
    created_at = clock.moment(as_of)
    rows: list[dict[str, object]] = []
    ranked: dict[int, list[int]] = defaultdict(list)  # the step each assignment reached → the assignments
    with session_scope() as session:
        assignments = {
            a.id: a
            for a in session.scalars(
                select(Assignment)
                .where(Assignment.id.in_([i.assignment_id for i in batch]))
                .options(selectinload(Assignment.unit), selectinload(Assignment.duty))
            )
        }
        note_active_children(session, (a.unit_id for a in assignments.values()), as_of)
        notices = dict(
            session.execute(
                select(OutboundEmail.idempotency_key, OutboundEmail.message_id).where(
                    OutboundEmail.idempotency_key.in_({notice_key(a) for a in assignments.values()})
                )
            )
            .tuples()
            .all()
        )
        for item in batch:
            assignment = assignments[item.assignment_id]
            reported = assignment.submitted_on is not None and assignment.status != AssignmentStatus.RETURNED
            if reported or assignment.duty.closed_on is not None or (not item.manual and assignment.reminder_rank >= item.rank):
                continue
            kind = EmailKind.OVERDUE if item.is_overdue else EmailKind.REMINDER
            # The form sent with the notice is often lost: the reminder links to the unit's page, which makes
            # it again (templates/email/reminder), rather than carrying the file to every unit once more.
            rows.append(
                outbox_row(
                    key=f"{kind}:{assignment.id}:{item.step}",
                    kind=kind,
                    assignment_id=assignment.id,
                    email_to=recipients(assignment.unit),
                    reply_to=reply_to_header(assignment),
                    in_reply_to=notices.get(notice_key(assignment)),
                    rendered=render_email(str(kind), **assignment_context(session, assignment, as_of=as_of)),
                    created_at=created_at,
                )
            )
            if not item.manual:
                ranked[item.rank].append(assignment.id)
        for rank, ids in ranked.items():  # one statement a step: the ORM's flush took a quarter of a millisecond an assignment
            session.execute(update(Assignment).where(Assignment.id.in_(ids)).values(reminder_rank=rank))
        return queue_rows(session, rows)
