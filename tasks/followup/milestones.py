"""The daily tick's work: keep every open plan's milestones stored, find what is due, run it once.

Each milestone is marked done (or skipped) in the same transaction as the work it stands for, or
after work that is itself idempotent (reminders are keyed per assignment and step in the
outbox), so a crashed tick rerun never repeats a message and never forgets a step.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from email.utils import formataddr, parseaddr

from prefect import task
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from cascade import clock
from cascade.calendar import WorkingCalendar
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.calendar import load_calendar
from models.consolidation import consolidate
from models.db import affected_rows, session_scope
from models.milestones import MESSAGE_KINDS, Milestone, MilestoneKind, MilestoneStatus, escalation_offset, is_repeat, next_escalation
from models.outbox import EmailKind, OutboundEmail
from models.plan import Plan, PlanStatus, ReportDuty
from models.reminders import stale_reason
from models.unit import Unit
from tasks.followup.milestone_calendar import open_duties, store_milestones
from tasks.followup.reminders import DueReminder, still_awaited
from tasks.outbound.outbox import queue_email
from tasks.plans.contexts import recipients
from tasks.reporting.consolidation import load_input, report_files, store_report
from templates import message, render_email

log = logging.getLogger(__name__)


@task(name="refresh-milestones")
def refresh_milestones() -> int:
    """Store the milestones of every issued plan (plans issued before the calendar existed included)."""
    with session_scope() as session:
        return store_milestones(session, open_duties(session))


@dataclass(frozen=True)
class MessageStep:
    milestone_id: int
    duty_id: int
    step: str
    rank: int
    is_overdue: bool
    day: date


@dataclass(frozen=True)
class ConsolidationStep:
    milestone_id: int
    duty_id: int
    level: int  # the plan's level: deeper plans are consolidated first, so their reports reach the level above
    name: str  # 'KH 74/KH-UBND: Báo cáo năm'


@dataclass
class DueWork:
    """What the tick runs on a day: ids of pending milestones whose day has come, by kind."""

    messages: list[MessageStep] = field(default_factory=list)  # the latest reminder or overdue step of each duty
    superseded: dict[int, str] = field(default_factory=dict)  # milestone id → the later step that replaces it
    stale: dict[int, str] = field(default_factory=dict)  # milestone id → why it is skipped: its day is long past
    escalations: list[int] = field(default_factory=list)
    consolidations: list[ConsolidationStep] = field(default_factory=list)  # deepest plans first
    deadlines: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.messages or self.superseded or self.stale or self.escalations or self.consolidations or self.deadlines)


@task(name="find-due-milestones")
def due_milestones(as_of: date) -> DueWork:
    """Every pending milestone of an issued plan with its day on or before `as_of`, oldest first.

    Messages and escalations only go out on working days; on a day off they wait for the next
    one. Of several reminder steps of one duty that came due while the tick was not running,
    only the latest is sent and the others are skipped, so a unit never gets a pile of reminders;
    an overdue step or a first escalation whose day is long past (models.reminders.stale_reason) is
    skipped too, so a plan cascaded late never sends "quá hạn 225 ngày" (a repeated escalation is
    sent late instead: its series is under way). Milestones of a closed duty never come due.
    """
    work = DueWork()
    after = get_settings().escalate_after_days
    with session_scope() as session:
        calendar = load_calendar(session)
        working = calendar.is_working_day(as_of)
        rows = session.execute(
            select(Milestone, Plan.level, Plan.number, Plan.symbol, ReportDuty.title)
            .join(Plan, Plan.id == Milestone.plan_id)
            .join(ReportDuty, ReportDuty.id == Milestone.duty_id)
            .where(Milestone.status == MilestoneStatus.PENDING, Milestone.day <= as_of, Plan.status == PlanStatus.ISSUED, ReportDuty.closed_on.is_(None))
            .order_by(Milestone.day, Milestone.rank, Milestone.id)
        ).all()
        latest: dict[int, Milestone] = {}
        for milestone, level, number, symbol, duty_title in rows:
            if milestone.kind in MESSAGE_KINDS and working:
                earlier = latest.get(milestone.duty_id)
                if earlier is None or milestone.rank > earlier.rank:
                    latest[milestone.duty_id] = milestone
            elif milestone.kind == MilestoneKind.ESCALATION and working:
                if reason := stale_reason(True, milestone.day, milestone.due_on, as_of, calendar, repeat=is_repeat(milestone.step, after)):
                    work.stale[milestone.id] = reason
                else:
                    work.escalations.append(milestone.id)
            elif milestone.kind == MilestoneKind.CONSOLIDATION:
                work.consolidations.append(
                    ConsolidationStep(
                        milestone.id, milestone.duty_id, level, message("milestones.consolidation_step", number=number, symbol=symbol, duty_title=duty_title)
                    )
                )
            elif milestone.kind == MilestoneKind.DUE:
                work.deadlines.append(milestone.id)
        work.consolidations.sort(key=lambda c: -c.level)
        for milestone, *_ in rows:
            chosen = latest.get(milestone.duty_id)
            if milestone.kind in MESSAGE_KINDS and chosen is not None and milestone.id != chosen.id:
                work.superseded[milestone.id] = chosen.step
        for m in latest.values():
            is_overdue = m.kind == MilestoneKind.OVERDUE
            if reason := stale_reason(is_overdue, m.day, m.due_on, as_of, calendar):
                work.stale[m.id] = reason
            else:
                work.messages.append(MessageStep(m.id, m.duty_id, m.step, m.rank, is_overdue, m.day))
    return work


@task(name="find-unreported-for-steps")
def reminders_for(steps: list[MessageStep]) -> list[DueReminder]:
    """The assignments each step reaches: still awaited (not reported or returned for correction, not merged, no
    implementing plan issued), not yet sent this step or a later one, and notified before the step's day (a unit
    assigned late is not reminded the moment its notice arrives)."""
    by_duty = {s.duty_id: s for s in steps}
    if not by_duty:
        return []
    with session_scope() as session:
        rows = session.execute(
            select(Assignment.id, Assignment.duty_id, Assignment.reminder_rank, Assignment.created_at)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .where(Assignment.duty_id.in_(by_duty), still_awaited())
            .order_by(Assignment.id)
        ).all()
    due = []
    for assignment_id, duty_id, rank, created_at in rows:
        step = by_duty[duty_id]
        if rank < step.rank and clock.local_date(created_at) < step.day:
            due.append(DueReminder(assignment_id, step.step, step.rank, step.is_overdue))
    return due


@task(name="finish-milestones")
def finish_milestones(outcomes: dict[int, str], as_of: date, status: MilestoneStatus = MilestoneStatus.DONE) -> int:
    """Mark pending milestones done (or skipped) on `as_of` with what they did; returns how many changed."""
    changed = 0
    with session_scope() as session:
        for milestone_id, outcome in outcomes.items():
            result = session.execute(
                update(Milestone)
                .where(Milestone.id == milestone_id, Milestone.status == MilestoneStatus.PENDING)
                .values(status=status, done_on=as_of, outcome=outcome)
            )
            changed += affected_rows(result)
    return changed


@task(name="record-deadlines")
def record_deadlines(milestone_ids: list[int], as_of: date) -> int:
    """Close the deadline milestones with how many units had reported by then."""
    with session_scope() as session:
        outcomes = {}
        for milestone in session.scalars(select(Milestone).where(Milestone.id.in_(milestone_ids))):
            counts = session.execute(
                select(func.count(), func.count(Assignment.submitted_on).filter(Assignment.submitted_on <= milestone.due_on)).where(
                    Assignment.duty_id == milestone.duty_id, Assignment.status != AssignmentStatus.MERGED
                )
            ).one()
            outcomes[milestone.id] = message("milestones.outcome.deadline", on_time=counts[1], expected=counts[0])
    return finish_milestones.fn(outcomes, as_of)


@dataclass(frozen=True)
class _Overdue:
    unit: str
    unit_code: str
    head: str | None
    duty: str
    plan: str
    due_on: date
    days: int
    times: int  # the how-many-th time it is escalated: 2 and up for a repeat
    last_on: date | None  # the day it was escalated before (a repeat), None the first time

    @property
    def is_repeat(self) -> bool:
        return self.times > 1


def secretariat_addresses(plan: Plan) -> list[str]:
    """Who answers for a plan's units: the configured secretariat for a root plan, else the issuing unit's office."""
    secretariat = get_settings().secretariat_email
    if plan.level == 0 and secretariat:
        return [secretariat]
    return recipients(plan.issuer)


@task(name="escalate-overdue")
def escalate(milestone_ids: list[int], as_of: date) -> int:
    """Report every assignment of these milestones' duties still awaited, and not yet escalated on `as_of`, to the
    unit's head and the secretariat: one digest per recipient for the day, whatever mix of first escalations and
    repeats it lists. Each assignment counts its escalations; the digest words a repeat as one ("nhắc lại lần 2").
    Returns the digests queued.

    Each escalation that leaves units of its duty still awaited adds the next repeat to the calendar
    (`escalate_repeat_days`; none when it is 0, the duty is closed or the plan is not issued). The digests,
    the assignments' counts, the milestones and the repeats commit together.
    """
    created_at = clock.moment(as_of)
    settings = get_settings()
    with session_scope() as session:
        calendar = load_calendar(session)
        milestones = session.scalars(
            select(Milestone).where(Milestone.id.in_(milestone_ids), Milestone.status == MilestoneStatus.PENDING).options(selectinload(Milestone.duty))
        ).all()
        duty_ids = [m.duty_id for m in milestones]
        assignments = session.scalars(
            select(Assignment)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .where(Assignment.duty_id.in_(duty_ids), still_awaited(), or_(Assignment.escalated_on.is_(None), Assignment.escalated_on < as_of))
            .options(selectinload(Assignment.unit), selectinload(Assignment.duty).selectinload(ReportDuty.plan).selectinload(Plan.issuer))
            .order_by(Assignment.id)
        ).all()
        digests: dict[str, tuple[str, list[_Overdue]]] = {}  # address (lower) → (display address, items)
        heads: dict[str, list[_Overdue]] = defaultdict(list)
        for assignment in assignments:
            unit: Unit = assignment.unit
            plan = assignment.duty.plan
            item = _Overdue(
                unit.name, unit.code, unit.head_email, assignment.duty.title, plan.code, assignment.due_on,
                (as_of - assignment.due_on).days, assignment.escalations + 1, assignment.escalated_on,
            )  # fmt: skip
            targets = [formataddr((message("milestones.head", title=unit.head_title, unit=unit.name), unit.head_email))] if unit.head_email else []
            for address in targets:
                heads[address.lower()].append(item)
            for address in [*targets, *secretariat_addresses(plan)]:
                digests.setdefault(parseaddr(address)[1].lower(), (address, []))[1].append(item)
            assignment.escalations, assignment.escalated_on = assignment.escalations + 1, as_of
        queued = 0
        for key_address, (address, items) in sorted(digests.items()):
            is_head = any(parseaddr(a)[1].lower() == key_address for a in heads)
            rendered = render_email(
                "escalation", items=items, as_of=as_of, to_head=is_head, after_days=settings.escalate_after_days, repeat_days=settings.escalate_repeat_days
            )
            # One digest per recipient per day; a second escalation the same day (a plan issued late) gets its own.
            key = f"escalation:{as_of.isoformat()}:{key_address}"
            earlier = session.scalar(select(func.count()).where(OutboundEmail.idempotency_key.startswith(key, autoescape=True)))
            queued += queue_email(
                session, key=key if not earlier else f"{key}:{earlier + 1}", kind=EmailKind.ESCALATION, email_to=[address], rendered=rendered, created_at=created_at,
            )  # fmt: skip
        counted: dict[int, int] = defaultdict(int)
        for assignment in assignments:
            counted[assignment.duty_id] += 1
        session.flush()  # the repeats below count the units still awaited
        for milestone in milestones:
            repeat = _schedule_repeat(session, milestone, as_of, calendar)
            milestone.status, milestone.done_on = MilestoneStatus.DONE, as_of
            milestone.outcome = message("milestones.outcome.escalated", count=counted[milestone.duty_id], next=repeat.day if repeat else None)
        return queued


def _schedule_repeat(session: Session, milestone: Milestone, as_of: date, calendar: WorkingCalendar) -> Milestone | None:
    """The escalation repeating `milestone` (run on `as_of`), added pending while units of its duty are still
    awaited (the one already stored, if any); None when the duty's series ends here."""
    duty = milestone.duty
    settings = get_settings()
    if duty.closed_on is not None or duty.plan.status != PlanStatus.ISSUED:
        return None
    spec = next_escalation(duty.due_on, escalation_offset(milestone.step), as_of, calendar, settings.escalate_after_days, settings.escalate_repeat_days)
    if spec is None:
        return None
    awaited = session.scalar(
        select(Assignment.id).join(ReportDuty, ReportDuty.id == Assignment.duty_id).where(Assignment.duty_id == duty.id, still_awaited()).limit(1)
    )
    if awaited is None:
        return None
    stored = session.scalar(select(Milestone).where(Milestone.duty_id == duty.id, Milestone.kind == MilestoneKind.ESCALATION, Milestone.step == spec.step))
    if stored is not None:
        return stored if stored.status == MilestoneStatus.PENDING else None
    repeat = Milestone(plan_id=duty.plan_id, duty_id=duty.id, kind=spec.kind, step=spec.step, rank=spec.rank, due_on=spec.due_on, day=spec.day)
    session.add(repeat)
    return repeat


@task(name="consolidate-milestones")
def consolidate_milestones(steps: list[ConsolidationStep], as_of: date) -> tuple[int, list[str]]:
    """Consolidate each step's duty and mark its milestone done in the same transaction, submitting
    each report upward; a duty that raises is rolled back and stays pending. Returns (done, failed names)."""
    done, failed = 0, []
    for step in steps:
        try:
            with session_scope() as session:
                header, data = load_input(session, session.get_one(ReportDuty, step.duty_id), as_of)
                result = consolidate(data)
                store_report(session, header, result, report_files(header, data, result))
                milestone = session.get_one(Milestone, step.milestone_id)
                milestone.status, milestone.done_on = MilestoneStatus.DONE, as_of
                milestone.outcome = message("milestones.outcome.consolidated", submitted=len(result.submitted), expected=result.expected)
        except Exception as exc:
            log.error("consolidating %s failed: %s: %s", step.name, type(exc).__name__, exc)
            failed.append(step.name)
        else:
            done += 1
    return done, failed
