"""Read-only queries behind `cascade status` and the demo's summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from models.assignment import Assignment
from models.db import session_scope
from models.outbox import EmailStatus, OutboundEmail
from models.plan import ReportDuty
from models.reminders import reminder_steps
from models.submission import Submission
from models.unit import Unit
from tasks.assign import find_plan


@dataclass(frozen=True)
class AssignmentRow:
    unit_code: str
    unit_name: str
    duty_code: str
    due_on: date
    state: str
    submitted_on: date | None
    versions: int
    last_reminder: str | None
    emails_sent: int
    emails_waiting: int


STATE_WORDS = {
    "on_time": "Đã nộp đúng hạn",
    "late": "Nộp muộn",
    "pending": "Chưa nộp",
    "overdue": "Quá hạn, chưa nộp",
}


def state_of(due_on: date, submitted_on: date | None, as_of: date) -> str:
    """'on_time', 'late', 'pending' or 'overdue' for an assignment on `as_of`."""
    if submitted_on is not None and submitted_on <= as_of:
        return "on_time" if submitted_on <= due_on else "late"
    return "overdue" if as_of > due_on else "pending"


def plan_status(plan: str, as_of: date) -> tuple[str, list[AssignmentRow]]:
    """The plan's code and one row per assignment (unit × duty), ordered by duty and unit."""
    with session_scope() as session:
        found = find_plan(session, plan)
        rows = session.execute(
            select(Assignment, Unit, ReportDuty)
            .join(Unit, Unit.id == Assignment.unit_id)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .where(ReportDuty.plan_id == found.id)
            .order_by(ReportDuty.due_on, ReportDuty.code, Unit.code)
        ).all()
        ids = [a.id for a, _, _ in rows]
        versions = dict(session.execute(select(Submission.assignment_id, func.count()).where(Submission.assignment_id.in_(ids)).group_by(Submission.assignment_id)).all())
        mail = Counter(
            (assignment_id, status == EmailStatus.SENT)
            for assignment_id, status in session.execute(select(OutboundEmail.assignment_id, OutboundEmail.status).where(OutboundEmail.assignment_id.in_(ids)))
        )
        result = []
        for assignment, unit, duty in rows:
            steps = {s.rank: s.name for s in reminder_steps(duty.reminder_days, duty.overdue_days)}
            result.append(
                AssignmentRow(
                    unit_code=unit.code,
                    unit_name=unit.name,
                    duty_code=duty.code,
                    due_on=assignment.due_on,
                    state=state_of(assignment.due_on, assignment.submitted_on, as_of),
                    submitted_on=assignment.submitted_on,
                    versions=versions.get(assignment.id, 0),
                    last_reminder=steps.get(assignment.reminder_rank),
                    emails_sent=mail[(assignment.id, True)],
                    emails_waiting=mail[(assignment.id, False)],
                )
            )
        return found.code, result
