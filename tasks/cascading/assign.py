"""Cascading a plan: choose the units, create their assignments and queue their notices."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade import clock
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import Assignment
from models.calendar import load_calendar, settle_deadline
from models.db import session_scope
from models.outbox import EmailKind
from models.plan import Plan, PlanStatus, ReportDuty, duty_assignees
from models.unit import Unit, note_active_children
from tasks.documents.forms import form_filename, form_spec, needs_form, write_form
from tasks.documents.word import (
    notice_document_path,
    write_notice_document,
    write_plan_document,
)
from tasks.outbound.outbox import outbox_row, queue_rows
from tasks.plans.contexts import assignment_context, notice_key, recipients, reply_to_header
from tasks.plans.lookup import find_plan
from templates import render_email


@dataclass(frozen=True)
class PlanRef:
    """A plan's identity, small enough to pass between tasks and to name flow runs."""

    id: int
    key: str
    code: str
    title: str


@dataclass(frozen=True)
class AssignmentBatch:
    duty_id: int
    duty_code: str
    unit_ids: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.unit_ids)


@task(name="resolve-plan")
def resolve_plan(plan: str) -> PlanRef:
    with session_scope() as session:
        found = find_plan(session, plan)
        return PlanRef(found.id, found.key, found.code, found.title)


@task(name="plan-assignment-batches")
def plan_batches(plan_ids: list[int], as_of: date, only: list[str] | None = None) -> list[AssignmentBatch]:
    """Split every duty's assignees of these plans into batches of `cascade_batch_size` units."""
    size = get_settings().cascade_batch_size
    batches: list[AssignmentBatch] = []
    with session_scope() as session:
        for plan_id in plan_ids:
            plan = session.get_one(Plan, plan_id)
            if plan.status == PlanStatus.CLOSED:
                raise ConflictError(f"plan {plan.code} is closed")
            if plan.status == PlanStatus.DRAFT:
                raise ConflictError(f"plan {plan.key} is a draft: issue it first (cascade plan issue {plan.key})")
            for duty in plan.duties:
                if duty.closed_on is not None:
                    continue  # withdrawn by an amendment: nobody is assigned it any more
                unit_ids = [u.id for u in duty_assignees(session, duty, on=as_of, only=only)]
                for start in range(0, len(unit_ids), size):
                    batches.append(AssignmentBatch(duty.id, duty.code, tuple(unit_ids[start : start + size])))
    return batches


@task(name="settle-deadlines")
def settle_deadlines(plan_ids: list[int]) -> list[str]:
    """Apply each issued duty's `on_day_off` rule before its first assignment (the calendar may have changed
    since the plan was imported: an override, a swap announced later); one warning per duty due on a day off."""
    warnings: list[str] = []
    with session_scope() as session:
        calendar = load_calendar(session)
        assigned = set(
            session.scalars(select(Assignment.duty_id).join(ReportDuty, ReportDuty.id == Assignment.duty_id).where(ReportDuty.plan_id.in_(plan_ids)))
        )
        for plan_id in plan_ids:
            plan = session.get_one(Plan, plan_id)
            if plan.status != PlanStatus.ISSUED:
                continue
            for duty in plan.duties:
                move = None if duty.id in assigned else settle_deadline(calendar, duty.code, duty.due_on, duty.on_day_off)
                if move is None:
                    continue
                duty.due_on = move.settled
                if duty.cutoff_on and duty.cutoff_on > duty.due_on:
                    duty.cutoff_on = duty.due_on
                warnings.append(f"{plan.code} ({plan.key}): {move.message()}")
    return warnings


@task(name="assign-units")
def assign_units(batch: AssignmentBatch, as_of: date) -> int:
    """Create the batch's missing assignments and queue their notices in one transaction; returns how many were new."""
    created_at = clock.moment(as_of)
    with session_scope() as session:
        duty = session.get_one(ReportDuty, batch.duty_id)
        existing = set(session.scalars(select(Assignment.unit_id).where(Assignment.duty_id == duty.id, Assignment.unit_id.in_(batch.unit_ids))))
        new = [
            Assignment(duty=duty, unit_id=unit_id, due_on=duty.due_on, token=secrets.token_urlsafe(24), created_at=created_at)
            for unit_id in batch.unit_ids
            if unit_id not in existing
        ]
        session.add_all(new)
        session.flush()
        # Load the batch's units into the session in one query, so `assignment.unit` needs none: held here,
        # as the session keeps only weak references (dropped, each unit was loaded again, 0.5 ms a notice)
        units = session.scalars(select(Unit).where(Unit.id.in_(batch.unit_ids))).all()
        note_active_children(session, (unit.id for unit in units), as_of)
        queue_rows(session, [notice_row(session, assignment, key=notice_key(assignment), as_of=as_of) for assignment in new])  # one statement
        return len(new)


def notice_attachments(session: Session, assignment: Assignment, *, as_of: date) -> list[str]:
    """Write the documents an assignment notice carries and return their paths: the letter (Word),
    the plan (Word, written once per plan in a session) and, for a report, the data-entry form (Excel)."""
    plan = assignment.duty.plan
    written: dict[int, str] = session.info.setdefault("plan_documents", {})
    if plan.id not in written:
        written[plan.id] = str(write_plan_document(session, plan))
    files = [str(write_notice_document(session, assignment, as_of=as_of)), written[plan.id]]
    if needs_form(assignment.duty):
        spec = form_spec(session, assignment, as_of=as_of)
        files.append(str(write_form(spec, notice_document_path(assignment).with_name(form_filename(spec)))))
    return files


def queue_notice(session: Session, assignment: Assignment, *, key: str, as_of: date) -> None:
    """Queue the assignment notice, with its documents, to the assignment's unit under an outbox key (once per key)."""
    queue_rows(session, [notice_row(session, assignment, key=key, as_of=as_of)])


def notice_row(session: Session, assignment: Assignment, *, key: str, as_of: date) -> dict[str, object]:
    """The outbox row of the assignment notice (`queue_notice`), its documents written."""
    return outbox_row(
        key=key,
        kind=EmailKind.ASSIGNMENT,
        assignment_id=assignment.id,
        email_to=recipients(assignment.unit),
        reply_to=reply_to_header(assignment),
        rendered=render_email("assignment", **assignment_context(session, assignment, as_of=as_of)),
        created_at=clock.moment(as_of),
        attachments=notice_attachments(session, assignment, as_of=as_of),
    )
