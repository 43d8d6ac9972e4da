"""The replies read from the mailbox, as the dashboard and `cascade replies` list them. Read-only queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.assignment import Assignment
from models.inbound import InboundEmail, IntakeOutcome
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


def inbound(session: Session, *, ids: list[int] | None = None, outcome: str | None = None, limit: int = 50) -> list[InboundRow]:
    """The replies read (those of `ids`, or all; of one outcome), newest first."""
    query = (
        select(InboundEmail, Unit.code, Unit.name)
        .outerjoin(Assignment, Assignment.id == InboundEmail.assignment_id)
        .outerjoin(Unit, Unit.id == Assignment.unit_id)
    )
    if ids is not None:
        query = query.where(InboundEmail.id.in_(ids))
    if outcome:
        query = query.where(InboundEmail.outcome == outcome)
    return [
        InboundRow(row.id, row.arrived_at, row.sender, row.subject, code, name, row.assignment_id, str(row.outcome), str(row.reason), row.folder, row.detail)
        for row, code, name in session.execute(query.order_by(InboundEmail.id.desc()).limit(limit))
    ]


def inbound_counts(session: Session) -> dict[str, int]:
    """How many replies each outcome has had."""
    counts = dict(session.execute(select(InboundEmail.outcome, func.count()).group_by(InboundEmail.outcome)).tuples().all())
    return {outcome: int(counts.get(IntakeOutcome(outcome), 0)) for outcome in OUTCOMES}
