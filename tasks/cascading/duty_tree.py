"""A duty and the duties answering it down the levels: who is expected where, and how much each stands for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade import clock
from models.assignment import EXPECTED_STATUSES, Assignment, AssignmentStatus
from models.base import IDS_PER_STATEMENT
from models.consolidation import LevelRate
from models.plan import Plan, PlanStatus, ReportDuty
from models.submission import Review, ReviewAction, Submission
from models.unit import Unit
from tasks.batching import batches
from tasks.cascading.implementing import MAX_DEPTH


@dataclass(frozen=True)
class TreeRow:
    """One expected assignment somewhere below a duty."""

    unit_id: int
    unit_code: str
    duty_id: int
    due_on: date
    first_submitted_at: datetime | None  # the earliest version's, even when a replayed day added it later
    returned_at: datetime | None = None  # when its latest version was returned, while it awaits a corrected one


@dataclass(frozen=True)
class DutyTree:
    """A duty and every duty answering it, level by level: rows[0] are the duty's own assignees."""

    rows: tuple[tuple[TreeRow, ...], ...]
    answering: dict[tuple[int, int], int]  # (duty id, unit id) → the unit's own duty answering it

    def weights(self) -> dict[tuple[int, int], int]:
        """(duty id, unit id) → how many units at the bottom the assignment stands for."""
        weight: dict[tuple[int, int], int] = {}
        below: dict[int, int] = {}
        for level in reversed(self.rows):
            for row in level:
                own = self.answering.get((row.duty_id, row.unit_id))
                weight[row.duty_id, row.unit_id] = below.get(own, 1) if own is not None else 1
            for row in level:
                below[row.duty_id] = below.get(row.duty_id, 0) + weight[row.duty_id, row.unit_id]
        return weight

    def level_rates(self, as_of: date) -> tuple[LevelRate, ...]:
        """Completeness and timeliness at every level, counting submissions made by the end of `as_of`."""
        end_of_day = clock.start_of_day(as_of + timedelta(days=1))
        rates = []
        for depth, level in enumerate(self.rows, start=1):
            done = [
                r for r in level
                if r.first_submitted_at is not None and r.first_submitted_at < end_of_day
                and not (r.returned_at is not None and r.returned_at < end_of_day)
            ]  # fmt: skip
            on_time = [r for r in done if r.first_submitted_at is not None and clock.local_date(r.first_submitted_at) <= r.due_on]
            rates.append(LevelRate(depth, len(level), len(done), len(on_time)))
        return tuple(rates)


def returned_at(session: Session, assignment_ids: list[int]) -> dict[int, datetime]:
    """Assignment id → when its latest return was decided (for assignments now awaiting a corrected version)."""
    found: dict[int, datetime] = {}
    for ids in batches(assignment_ids, IDS_PER_STATEMENT):
        found.update(
            session.execute(
                select(Submission.assignment_id, func.max(Review.at))
                .join(Review, Review.submission_id == Submission.id)
                .where(Submission.assignment_id.in_(ids), Review.action == ReviewAction.RETURN)
                .group_by(Submission.assignment_id)
            )
            .tuples()
            .all()
        )
    return found


def duty_tree(session: Session, duty_id: int) -> DutyTree:
    """Walk down from a duty through the issued implementing plans' duties that answer it."""
    rows: list[tuple[TreeRow, ...]] = []
    answering: dict[tuple[int, int], int] = {}
    duty_ids = [duty_id]
    while duty_ids and len(rows) < MAX_DEPTH:
        level = session.execute(
            select(Assignment.unit_id, Unit.code, Assignment.duty_id, Assignment.due_on, Assignment.first_submitted_at, Assignment.id, Assignment.status)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Assignment.duty_id.in_(duty_ids), Assignment.status.in_(EXPECTED_STATUSES))
            .order_by(Unit.code)
        ).all()
        returned = returned_at(session, [row.id for row in level if row.status == AssignmentStatus.RETURNED])
        rows.append(tuple(TreeRow(row.unit_id, row.code, row.duty_id, row.due_on, row.first_submitted_at, returned_at=returned.get(row.id)) for row in level))
        derived = session.execute(
            select(ReportDuty.id, ReportDuty.source_duty_id, Plan.issuer_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .where(ReportDuty.source_duty_id.in_(duty_ids), Plan.status != PlanStatus.DRAFT)
        ).all()
        for own_id, source_id, issuer_id in derived:
            answering[source_id, issuer_id] = own_id
        duty_ids = [own_id for own_id, _, _ in derived]
    return DutyTree(tuple(rows), answering)
