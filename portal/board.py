"""What the secretariat's dashboard shows: plans, a duty's units × state at every level with the
completeness and timeliness rates, the reports consolidated so far, and the replies read from the
mailbox. Read-only queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cascade import clock
from models.assignment import Assignment, AssignmentStatus
from models.plan import Plan
from models.report import Report
from models.submission import Draft, Submission
from models.unit import Unit
from tasks.cascading.duty_tree import duty_tree
from tasks.plans.lookup import find_duty

# The order the board lists states in, and the filter's choices.
STATES = ("not_opened", "opened", "draft", "overdue", "submitted", "late", "returned", "accepted")


def unit_state(status: str, opened_at: datetime | None, has_draft: bool, submitted_on: date | None, due_on: date, as_of: date) -> str:
    """Where one unit stands on `as_of`: accepted, returned, submitted (on time) or late (after its due
    date); with nothing submitted: overdue after the due date, else draft, opened or not_opened."""
    if status == AssignmentStatus.ACCEPTED:
        return "accepted"
    if status == AssignmentStatus.RETURNED:
        return "returned"
    if submitted_on is not None and submitted_on <= as_of:
        return "late" if submitted_on > due_on else "submitted"
    if as_of > due_on:
        return "overdue"
    if has_draft:
        return "draft"
    return "opened" if opened_at is not None and clock.local_date(opened_at) <= as_of else "not_opened"


@dataclass(frozen=True)
class BoardRow:
    assignment_id: int
    level: int
    unit_code: str
    unit_name: str
    parent_name: str
    due_on: date
    state: str
    submitted_on: date | None
    versions: int
    latest_submission_id: int | None


@dataclass(frozen=True)
class LevelSummary:
    level: int
    expected: int
    submitted: int
    on_time: int
    states: dict[str, int]

    @property
    def completeness(self) -> Decimal | None:
        return (Decimal(self.submitted) * 100 / self.expected).quantize(Decimal("0.1")) if self.expected else None

    @property
    def timeliness(self) -> Decimal | None:
        return (Decimal(self.on_time) * 100 / self.expected).quantize(Decimal("0.1")) if self.expected else None


@dataclass(frozen=True)
class Board:
    plan_key: str
    plan_code: str
    plan_title: str
    duty_code: str
    duty_title: str
    due_on: date
    rows: list[BoardRow]
    levels: list[LevelSummary]
    reports: list[dict[str, object]]


def plans(session: Session, where: ColumnElement[bool] | None = None) -> list[Plan]:
    """The plans the system follows (those `where` keeps, if given), top-level first, then by year and key."""
    query = select(Plan).order_by(Plan.level, Plan.year.desc(), Plan.key)
    return list(session.scalars(query if where is None else query.where(where)))


def board(session: Session, plan: Plan, duty_code: str, as_of: date) -> Board:
    """The duty's units × state at every level below the plan's issuer, and its consolidated reports."""
    duty = find_duty(session, plan, duty_code)
    tree = duty_tree(session, duty.id)
    level_of = {(row.duty_id, row.unit_id): depth for depth, level in enumerate(tree.rows, start=1) for row in level}
    duty_ids = {duty_id for duty_id, _ in level_of}
    found = session.execute(
        select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id).where(Assignment.duty_id.in_(duty_ids), Assignment.status != AssignmentStatus.MERGED)
    ).all()
    ids = [a.id for a, _ in found]
    drafts = set(session.scalars(select(Draft.assignment_id).where(Draft.assignment_id.in_(ids))))
    counts = dict(
        session.execute(select(Submission.assignment_id, func.count()).where(Submission.assignment_id.in_(ids)).group_by(Submission.assignment_id))
        .tuples()
        .all()
    )
    latest = dict(
        session.execute(select(Submission.assignment_id, func.max(Submission.id)).where(Submission.assignment_id.in_(ids)).group_by(Submission.assignment_id))
        .tuples()
        .all()
    )
    parents = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_({u.parent_id for _, u in found if u.parent_id}))).tuples().all())
    rows = sorted(
        (
            BoardRow(
                assignment_id=a.id, level=level_of.get((a.duty_id, a.unit_id), 1), unit_code=u.code, unit_name=u.name,
                parent_name=parents.get(u.parent_id, "") if u.parent_id else "", due_on=a.due_on,
                state=unit_state(a.status, a.opened_at, a.id in drafts, a.submitted_on, a.due_on, as_of),
                submitted_on=a.submitted_on if a.submitted_on and a.submitted_on <= as_of else None,
                versions=counts.get(a.id, 0), latest_submission_id=latest.get(a.id),
            )
            for a, u in found
            if (a.duty_id, a.unit_id) in level_of
        ),
        key=lambda r: (r.level, r.parent_name, r.unit_code),
    )  # fmt: skip
    levels = []
    for depth in sorted({r.level for r in rows}):
        at = [r for r in rows if r.level == depth]
        # A returned report counts again once its correction comes in, as in the consolidation's level rates.
        done = [r for r in at if r.submitted_on is not None and r.state != "returned"]
        on_time = [r for r in done if r.submitted_on is not None and r.submitted_on <= r.due_on]
        levels.append(LevelSummary(depth, len(at), len(done), len(on_time), dict(Counter(r.state for r in at))))
    reports: list[dict[str, object]] = [
        {"id": r.id, "as_of": r.as_of, "completeness": r.completeness, "timeliness": r.timeliness, "files": [f.rsplit("/", 1)[-1] for f in r.files]}
        for r in session.scalars(select(Report).where(Report.duty_id == duty.id).order_by(Report.id.desc()))
    ]
    return Board(plan.key, plan.code, plan.title, duty.code, duty.title, duty.due_on, rows, levels, reports)
