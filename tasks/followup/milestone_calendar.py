"""The cycle's calendar: every issued plan's milestones stored from its duties, and read back in day order.

No Prefect here: `cascade calendar` reads it in a second; the daily tick's tasks (`milestones`) use it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade.settings import get_settings
from models.calendar import load_calendar
from models.db import session_scope
from models.milestones import KIND_ORDER, Milestone, MilestoneKind, MilestoneStatus, milestone_specs
from models.plan import DutyKind, Plan, PlanStatus, ReportDuty, plan_tree
from tasks.plans.lookup import find_plan


def open_duties(session: Session) -> list[ReportDuty]:
    """The duties of every issued plan, in id order."""
    return list(session.scalars(select(ReportDuty).join(Plan, Plan.id == ReportDuty.plan_id).where(Plan.status == PlanStatus.ISSUED).order_by(ReportDuty.id)))


def store_milestones(session: Session, duties: list[ReportDuty]) -> int:
    """Store the milestones of these duties; pending ones follow a changed deadline, steps or calendar.

    Milestones already done or skipped are history and never change. Returns how many were added.
    """
    if not duties:
        return 0
    calendar = load_calendar(session)
    escalate = get_settings().escalate_after_days
    stored: dict[tuple[int, str, str], Milestone] = {
        (m.duty_id, str(m.kind), m.step): m for m in session.scalars(select(Milestone).where(Milestone.duty_id.in_([d.id for d in duties])))
    }
    added = 0
    for duty in duties:
        wanted = {(duty.id, str(spec.kind), spec.step): spec for spec in milestone_specs(duty, calendar, escalate)}
        for key, spec in wanted.items():
            row = stored.get(key)
            if row is None:
                session.add(Milestone(plan_id=duty.plan_id, duty_id=duty.id, kind=spec.kind, step=spec.step, rank=spec.rank, due_on=spec.due_on, day=spec.day))
                added += 1
            elif row.status == MilestoneStatus.PENDING:
                row.rank, row.due_on, row.day = spec.rank, spec.due_on, spec.day
        for key, row in stored.items():
            if key[0] == duty.id and key not in wanted and row.status == MilestoneStatus.PENDING:
                session.delete(row)  # a step the duty no longer has
    return added


def next_milestone_day(after: date | None = None) -> date | None:
    """The earliest day (later than `after`, when given) on which an issued plan has a milestone still pending;
    None when nothing is left."""
    with session_scope() as session:
        query = (
            select(func.min(Milestone.day)).join(Plan, Plan.id == Milestone.plan_id)
            .where(Milestone.status == MilestoneStatus.PENDING, Plan.status == PlanStatus.ISSUED)
        )  # fmt: skip
        if after is not None:
            query = query.where(Milestone.day > after)
        return session.scalar(query)


@dataclass(frozen=True)
class CalendarRow:
    day: date
    plan_code: str
    duty_title: str
    duty_kind: DutyKind
    kind: MilestoneKind
    step: str
    status: MilestoneStatus
    done_on: date | None
    outcome: str | None


def plan_calendar(plan: str, *, all_levels: bool = True) -> tuple[str, list[CalendarRow]]:
    """The plan's code and its milestones (and, with `all_levels`, those of every plan below) in day order.

    Milestones are stored first if the plan has none yet (a plan issued before the tick last ran).
    """
    with session_scope() as session:
        found = find_plan(session, plan)
        plan_ids = list(plan_tree(session, found.id)) if all_levels else [found.id]
        duties = list(session.scalars(select(ReportDuty).join(Plan).where(Plan.id.in_(plan_ids), Plan.status != PlanStatus.DRAFT)))
        store_milestones(session, duties)
        session.flush()
        rows = session.execute(
            select(Milestone, Plan, ReportDuty)
            .join(Plan, Plan.id == Milestone.plan_id)
            .join(ReportDuty, ReportDuty.id == Milestone.duty_id)
            .where(Milestone.plan_id.in_(plan_ids))
        ).all()
        result = [
            CalendarRow(m.day, p.code, d.title, d.kind, m.kind, m.step, m.status, m.done_on, m.outcome)
            for m, p, d in sorted(rows, key=lambda r: (r[0].day, -r[1].level, KIND_ORDER[r[0].kind], r[0].rank, r[0].id))
        ]
        return found.code, result
