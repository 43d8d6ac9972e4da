"""The cycle's calendar: every issued plan's milestones stored from its duties, and read back in day order.

No Prefect here: `cascade calendar` reads it in a second; the daily tick's tasks (`milestones`) use it too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade.settings import get_settings
from models.calendar import load_calendar
from models.db import session_scope
from models.milestones import KIND_ORDER, Milestone, MilestoneKind, MilestoneStatus, escalation_offset, escalation_spec, milestone_specs
from models.plan import DutyKind, Plan, PlanStatus, ReportDuty, plan_tree
from tasks.plans.lookup import find_plan
from templates import message


def open_duties(session: Session) -> list[ReportDuty]:
    """The duties of every issued plan, in id order."""
    return list(session.scalars(select(ReportDuty).join(Plan, Plan.id == ReportDuty.plan_id).where(Plan.status == PlanStatus.ISSUED).order_by(ReportDuty.id)))


def store_milestones(session: Session, duties: list[ReportDuty]) -> int:
    """Store the milestones of these duties; pending ones follow a changed deadline, steps or calendar.

    Milestones already done or skipped are history and never change. Once a duty's escalation has run,
    its pending repeat (added by the tick, not by `milestone_specs`) is kept and follows the deadline too,
    and the first escalation is not stored again (a changed `escalate_after_days` does not start a second
    series); after an amendment moved the deadline (its steps done before are kept as 'escalate-5@v1') the
    first escalation is stored again for the new deadline and the pending repeat follows it. A closed duty
    (`ReportDuty.closed_on`) gets no new milestone and its pending ones are skipped. Returns how many were added.
    """
    if not duties:
        return 0
    calendar = load_calendar(session)
    settings = get_settings()
    after, repeat = settings.escalate_after_days, settings.escalate_repeat_days
    stored: dict[int, dict[tuple[str, str], Milestone]] = defaultdict(dict)  # duty id → (kind, step) → its milestone
    for m in session.scalars(select(Milestone).where(Milestone.duty_id.in_([d.id for d in duties]))):
        stored[m.duty_id][str(m.kind), m.step] = m
    added = 0
    for duty in duties:
        own = stored.get(duty.id, {})
        if duty.closed_on is not None:
            outcome = message("milestones.outcome.duty_closed", note=duty.closed_note or message("milestones.duty_closed_note", day=duty.closed_on))
            for row in own.values():
                if row.status == MilestoneStatus.PENDING:
                    row.status, row.done_on, row.outcome = MilestoneStatus.SKIPPED, duty.closed_on, outcome
            continue
        ran = [row.step for row in own.values() if row.kind == MilestoneKind.ESCALATION and row.status != MilestoneStatus.PENDING]
        escalated = bool(ran)  # the series has begun: its pending repeat is kept
        for_this_deadline = any("@" not in step for step in ran)  # and it began for the deadline in force
        wanted = {
            (str(spec.kind), spec.step): spec
            for spec in milestone_specs(duty, calendar, after)
            if not (for_this_deadline and spec.kind == MilestoneKind.ESCALATION)
        }
        for key, spec in wanted.items():
            found = own.get(key)
            if found is None:
                session.add(Milestone(plan_id=duty.plan_id, duty_id=duty.id, kind=spec.kind, step=spec.step, rank=spec.rank, due_on=spec.due_on, day=spec.day))
                added += 1
            elif found.status == MilestoneStatus.PENDING:
                found.rank, found.due_on, found.day = spec.rank, spec.due_on, spec.day
        for key, row in own.items():
            if key in wanted or row.status != MilestoneStatus.PENDING:
                continue
            if row.kind == MilestoneKind.ESCALATION and escalated and after > 0 and repeat > 0:
                spec = escalation_spec(duty.due_on, escalation_offset(row.step), calendar)  # a repeat: it follows the deadline
                row.due_on, row.day = spec.due_on, spec.day
            else:
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
