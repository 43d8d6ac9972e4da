"""Org changes during a cycle: the open work of a unit that has ceased goes to its successor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.assignment import OPEN_STATUSES, Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import ReportDuty
from models.unit import Unit, active_successor
from tasks.cascading.assign import queue_notice
from tasks.plans.contexts import notice_key


@dataclass(frozen=True)
class Successions:
    moved: int  # assignments handed to a successor that had none for the duty
    merged: int  # assignments closed because the successor already reports for the duty


def root_duty_id(session: Session, duty_id: int) -> int:
    """The duty of the root plan that a duty answers, through every implementing plan (itself at the root)."""
    seen = {duty_id}
    while (source := session.scalar(select(ReportDuty.source_duty_id).where(ReportDuty.id == duty_id))) is not None and source not in seen:
        seen.add(source)
        duty_id = source
    return duty_id


def reports_for_root(session: Session, unit_id: int, root_id: int) -> bool:
    """Whether the unit already has an assignment for this root duty, under any plan of the cascade."""
    duty_ids = session.scalars(select(Assignment.duty_id).where(Assignment.unit_id == unit_id)).all()
    return any(root_duty_id(session, duty_id) == root_id for duty_id in duty_ids)


@task(name="apply-successions")
def apply_successions(as_of: date) -> Successions:
    """Hand every open assignment of a unit that no longer exists on `as_of` to its active successor.

    The expected-submitter list stays frozen: the successor takes the assignment over (and is
    notified), or, when it already reports for that duty (under any plan of the cascade: its own
    ward's, or the root's), the ceased unit's assignment is marked merged and no longer expected,
    so that nobody is counted twice and the successor is asked once per duty. Reports already submitted stay
    with the unit that sent them. Idempotent: a second run finds nothing open to move.
    """
    moved = merged = 0
    with session_scope() as session:
        open_of_ceased = session.scalars(
            select(Assignment)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(
                Assignment.status.in_(OPEN_STATUSES),
                Assignment.submitted_on.is_(None),
                Unit.valid_to < as_of,
                Unit.successor_id.is_not(None),
            )
            .order_by(Assignment.id)
        ).all()
        for assignment in open_of_ceased:
            successor = active_successor(assignment.unit, as_of)
            if successor is None:
                continue
            if reports_for_root(session, successor.id, root_duty_id(session, assignment.duty_id)):
                assignment.status = AssignmentStatus.MERGED
                merged += 1
                continue
            assignment.transferred_from_id = assignment.unit_id
            assignment.unit = successor
            assignment.reminder_rank = 0  # the successor starts from its own notice: the next step due reaches it
            session.flush()
            queue_notice(session, assignment, key=notice_key(assignment), as_of=as_of)
            moved += 1
    return Successions(moved, merged)
