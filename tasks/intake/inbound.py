"""The replies read from the mailbox, as the dashboard and `cascade replies` list them. Read-only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from models.assignment import Assignment
from models.inbound import InboundEmail, IntakeOutcome
from models.plan import Plan, ReportDuty
from models.unit import Unit


@dataclass(frozen=True)
class InboundRow:
    """One reply read from the mailbox, as the dashboard and `cascade replies` list it."""

    id: int
    arrived_at: datetime
    sender: str | None
    subject: str
    unit_code: str | None
    unit_name: str | None
    assignment_id: int | None
    outcome: str
    reason: str
    folder: str
    detail: str


OUTCOMES = ("set_aside", "quarantined", "refused", "recorded")


def _about_plans(query: Select[Any], issuers: ColumnElement[bool] | None) -> Select[Any]:
    """`query` (over InboundEmail) kept to the replies about an assignment of a plan `issuers` keeps (a filter on
    Plan.issuer_id); unchanged without one. Replies matched to no assignment belong to no plan, so they go too."""
    if issuers is None:
        return query
    about = (
        select(InboundEmail.id)
        .join(Assignment, Assignment.id == InboundEmail.assignment_id)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .join(Plan, Plan.id == ReportDuty.plan_id)
        .where(issuers)
    )
    return query.where(InboundEmail.id.in_(about))


def inbound(session: Session, *, ids: list[int] | None = None, outcome: str | None = None, limit: int = 50,
            issuers: ColumnElement[bool] | None = None) -> list[InboundRow]:  # fmt: skip
    """The replies read (those of `ids`, or all; of one outcome; about the plans `issuers` keeps), newest first."""
    query = _about_plans(
        select(InboundEmail, Unit.code, Unit.name)
        .outerjoin(Assignment, Assignment.id == InboundEmail.assignment_id)
        .outerjoin(Unit, Unit.id == Assignment.unit_id),
        issuers,
    )
    if ids is not None:
        query = query.where(InboundEmail.id.in_(ids))
    if outcome:
        query = query.where(InboundEmail.outcome == outcome)
    return [
        InboundRow(row.id, row.arrived_at, row.sender, row.subject, code, name, row.assignment_id, str(row.outcome), str(row.reason), row.folder, row.detail)
        for row, code, name in session.execute(query.order_by(InboundEmail.id.desc()).limit(limit))
    ]


def inbound_counts(session: Session, issuers: ColumnElement[bool] | None = None) -> dict[str, int]:
    """How many replies each outcome has had (of those about the plans `issuers` keeps, if given)."""
    query = _about_plans(select(InboundEmail.outcome, func.count()), issuers).group_by(InboundEmail.outcome)
    counts = dict(session.execute(query).tuples().all())
    return {outcome: int(counts.get(IntakeOutcome(outcome), 0)) for outcome in OUTCOMES}
