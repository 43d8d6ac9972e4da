"""Implementing plans: drafting a unit's plan from its parent's, issuing it, and what issuing fulfils.

A unit that receives a plan and has subordinates of its own gets a drafted implementing plan:
it cites the parent, inherits the tasks that concern it and the targets it reports (a sum target at the unit's
allocation), and answers each of the unit's duties with a duty of its own, due earlier by the
working days the unit keeps for consolidating. Issuing gives it the issuer's next number for
the year and records it as the unit's answer to the parent's implementing_plan duty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade import clock
from cascade.calendar import WorkingCalendar, weekday_name
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import EXPECTED_STATUSES, Assignment
from models.calendar import load_calendar
from models.cascading import IssueMode, level_policy, task_concerns
from models.db import session_scope
from models.plan import DutyKind, Plan, PlanStatus, PlanTask, ReportDuty, Target, TaskUnit, derived_key, next_number
from models.submission import Channel
from models.unit import Unit, parents_with_active_children, subtrees
from tasks.intake.submissions import SubmissionInput, queue_receipt, store_version
from tasks.plans.contexts import plan_context
from tasks.plans.targets import duty_targets, inherited_value, target_sharers, targets_for_unit
from templates import message, render

MAX_DEPTH = 12  # deeper than any real administrative tree: a loop in the unit tree, not a plan


@dataclass(frozen=True)
class DerivationBatch:
    parent_plan_id: int
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class Derived:
    drafted: int
    issued: int  # issued by this run (auto)
    ready_plan_ids: tuple[int, ...]  # issued implementing plans to cascade next (this run's and earlier ones)
    warnings: tuple[str, ...] = ()  # deadlines moved because the plan reached the level late


def implementing_due(calendar: WorkingCalendar, parent: Plan, parent_due: date, issued_on: date) -> date:
    """An implementing-plan duty passed down: the same number of working days after the unit's own
    plan is issued as the parent allowed after issuing its plan."""
    span = max(calendar.working_days_between(parent.issued_on, parent_due), 1)
    return calendar.add_working_days(issued_on, span)


def keep_feasible(calendar: WorkingCalendar, plan: Plan, as_of: date) -> None:
    """No back-scheduled report deadline before the day the level is assigned: a plan that reaches a level
    too late for a deadline gives the first working day from `as_of` instead, and records the back-scheduled
    day in `back_scheduled_on` (the notice explains it)."""
    first = calendar.roll_forward(as_of)
    for duty in plan.duties:
        if duty.kind == DutyKind.IMPLEMENTING_PLAN or duty.due_on >= first:
            continue
        duty.back_scheduled_on = duty.back_scheduled_on or duty.due_on
        duty.due_on = first
        if duty.cutoff_on and duty.cutoff_on > first:
            duty.cutoff_on = first


def late_warnings(plan: Plan) -> list[str]:
    """One warning per deadline of the plan that its late arrival moved."""
    return [
        f"{plan.code} ({plan.key}): duty '{d.code}' back-scheduled to {d.back_scheduled_on:%d/%m/%Y}, before the plan reached this level: "
        f"due {d.due_on:%d/%m/%Y} ({weekday_name(d.due_on)}), the first working day from then"
        for d in plan.duties
        if d.back_scheduled_on is not None
    ]


def inherited_tasks(parent: Plan, unit: Unit, subtree: set[int]) -> list[PlanTask]:
    """The parent's tasks that concern the unit (models.cascading.task_concerns), each naming the units
    below the unit that the parent named, in their roles (a task the unit itself was given names no
    unit in its plan: it applies to all of the unit's subordinates)."""
    return [
        PlanTask(
            code=t.code,
            position=t.position,
            title=t.title,
            content=t.content,
            units=[TaskUnit(unit_id=tu.unit_id, role=tu.role) for tu in t.units if tu.unit_id in subtree and tu.unit_id != unit.id],
        )
        for t in parent.tasks
        if task_concerns({tu.unit_id for tu in t.units}, subtree)
    ]


def draft_plan(
    session: Session,
    parent: Plan,
    unit: Unit,
    assignments: Sequence[Assignment],
    sharers: dict[str, list[str]],
    as_of: date,
    calendar: WorkingCalendar,
    subtree: set[int] | None = None,
) -> Plan:
    """A new draft implementing plan of `unit` for `parent`, answering the unit's assignments;
    `subtree` is the unit's and its descendants' ids (read here when not given)."""
    level = parent.level + 1
    policy = level_policy(parent.cascade_policy, level)
    parent_ctx = plan_context(parent)
    reported: dict[int, list[str]] = {a.duty_id: [t.code for t in targets_for_unit(duty_targets(session, a.duty), unit.code)] for a in assignments}
    wanted = {code for codes in reported.values() for code in codes}
    recipients = render("plans/recipients.txt.j2", parent=parent_ctx, has_subordinates=True)
    plan = Plan(
        key=derived_key(parent.key, unit.code),
        number=None,
        symbol=f"KH-{unit.issuer_symbol or unit.code.upper()}",
        issuer_id=unit.id,
        issued_on=as_of,
        place=unit.place or parent.place,
        title=parent.title,
        year=parent.year,
        basis=[render("plans/basis.txt.j2", parent=parent_ctx).strip()],
        parent_plan_id=parent.id,
        purposes=parent.purposes,
        requirements=parent.requirements,
        recipients=[line.strip() for line in recipients.splitlines() if line.strip()],
        signer_title=unit.head_title or message("plans.default_signer_title"),
        signer_name=unit.head_name or "",
        status=PlanStatus.DRAFT,
        level=level,
        cascade_policy=dict(parent.cascade_policy or {}),
    )
    plan.tasks = inherited_tasks(parent, unit, subtree if subtree is not None else subtrees(session, [unit.id])[unit.id])
    plan.targets = [
        Target(
            code=t.code,
            position=t.position,
            text=t.text,
            metric=t.metric,
            unit_of_measure=t.unit_of_measure,
            comparator=t.comparator,
            value=inherited_value(t, unit.code, sharers.get(t.code, [])),
            aggregation=t.aggregation,
            numerator_code=t.numerator_code,
            denominator_code=t.denominator_code,
            unit_comparator=t.unit_comparator,
            unit_threshold=t.unit_threshold,
            reporter_codes=[],
            allocations={},
            allocation_rule=t.allocation_rule,
        )
        for t in parent.targets
        if t.code in wanted
    ]
    for assignment in sorted(assignments, key=lambda a: (a.due_on, a.duty.code)):
        duty = assignment.duty
        if duty.kind == DutyKind.IMPLEMENTING_PLAN:
            due_on = implementing_due(calendar, parent, assignment.due_on, as_of)
        else:
            due_on = calendar.subtract_working_days(assignment.due_on, policy.lead_days)
        plan.duties.append(
            ReportDuty(
                code=duty.code,
                kind=duty.kind,
                title=duty.title,
                period_start=duty.period_start,
                cutoff_on=min(duty.cutoff_on, due_on) if duty.cutoff_on else None,
                due_on=due_on,
                reminder_days=list(duty.reminder_days),
                overdue_days=list(duty.overdue_days),
                on_day_off=duty.on_day_off,
                sections=[dict(s) for s in duty.sections],
                indicator_codes=reported[duty.id],
                assignee_codes=[],
                source_duty_id=duty.id,
            )
        )
    keep_feasible(calendar, plan, as_of)  # a draft already shows feasible dates; `issue` checks again on its day
    session.add(plan)
    session.flush()
    return plan


def issue(session: Session, plan: Plan, as_of: date, calendar: WorkingCalendar, *, number: str | None = None, notify: bool = False) -> list[str]:
    """Issue a draft on `as_of`: its number (the issuer's next unless given), its implementing-plan
    deadlines counted from today, no report deadline before today (`feasible_due`), and the parent's
    implementing_plan duty fulfilled. Returns a warning per deadline the plan's late arrival moved."""
    if plan.status != PlanStatus.DRAFT:
        raise ConflictError(f"plan {plan.code} ({plan.key}) is {plan.status}, not a draft: only a draft can be issued")
    number = number or plan.number or next_number(session, plan.issuer_id, plan.year)
    twin = session.scalar(
        select(Plan.key).where(Plan.issuer_id == plan.issuer_id, Plan.year == plan.year, Plan.symbol == plan.symbol, Plan.number == number, Plan.id != plan.id)
    )
    if twin is not None:
        raise ConflictError(f"number {number}/{plan.symbol} of {plan.year} is already used by plan {twin}")
    plan.number = number
    plan.issued_on = as_of
    plan.status = PlanStatus.ISSUED
    parent = plan.parent_plan
    if parent is not None:
        sources = {d.id: d for d in parent.duties}
        for duty in plan.duties:
            if duty.kind == DutyKind.IMPLEMENTING_PLAN and duty.source_duty_id in sources:
                own = session.scalar(select(Assignment.due_on).where(Assignment.duty_id == duty.source_duty_id, Assignment.unit_id == plan.issuer_id))
                duty.due_on = implementing_due(calendar, parent, own or sources[duty.source_duty_id].due_on, as_of)
    keep_feasible(calendar, plan, as_of)
    session.flush()
    fulfil_implementing_duty(session, plan, notify=notify)
    return late_warnings(plan)


def fulfil_implementing_duty(session: Session, plan: Plan, *, notify: bool = False) -> int:
    """Record an issued implementing plan as its issuer's answer to the parent's implementing_plan
    duties (once: reruns find the same version); returns how many were new."""
    parent = plan.parent_plan
    if parent is None or plan.status != PlanStatus.ISSUED:
        return 0
    new = 0
    for duty in parent.duties:
        if duty.kind != DutyKind.IMPLEMENTING_PLAN:
            continue
        assignment = session.scalar(
            select(Assignment).where(Assignment.duty_id == duty.id, Assignment.unit_id == plan.issuer_id, Assignment.status.in_(EXPECTED_STATUSES))
        )
        if assignment is None:
            continue
        data = SubmissionInput(
            plan=parent.key,
            duty=duty.code,
            unit=plan.issuer.code,
            channel=Channel.PLAN,
            source_key=f"plan:{plan.id}",
            self_assessment=render("plans/issued_note.txt.j2", plan=plan_context(plan)).strip(),
        )
        submission, is_new = store_version(session, assignment, data, received_at=clock.moment(plan.issued_on))
        if is_new:
            new += 1
            if notify:
                queue_receipt(session, submission, as_of=plan.issued_on)
    return new


@task(name="plan-derivation-batches")
def derivation_batches(plan_ids: list[int], as_of: date) -> list[DerivationBatch]:
    """The units assigned by these plans that have subordinates active on `as_of`, in batches."""
    size = get_settings().cascade_batch_size
    batches: list[DerivationBatch] = []
    with session_scope() as session:
        for plan_id in plan_ids:
            plan = session.get_one(Plan, plan_id)
            if plan.level >= MAX_DEPTH:
                raise ConflictError(f"plan {plan.key} is {plan.level} levels below its root: is there a loop in the units' parents?")
            assigned = (
                select(Assignment.unit_id)
                .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
                .where(ReportDuty.plan_id == plan_id, Assignment.status.in_(EXPECTED_STATUSES))
            )
            unit_ids = parents_with_active_children(session, assigned, as_of)
            for start in range(0, len(unit_ids), size):
                batches.append(DerivationBatch(plan_id, tuple(unit_ids[start : start + size])))
    return batches


@task(name="derive-plans")
def derive_plans(batch: DerivationBatch, as_of: date) -> Derived:
    """Draft the batch's missing implementing plans in one transaction, issuing them where the level
    issues automatically; returns the issued ones (new or earlier) that are ready to cascade."""
    with session_scope() as session:
        parent = session.get_one(Plan, batch.parent_plan_id)
        calendar = load_calendar(session)
        existing = {p.issuer_id: p for p in session.scalars(select(Plan).where(Plan.parent_plan_id == parent.id, Plan.issuer_id.in_(batch.unit_ids)))}
        assignments: dict[int, list[Assignment]] = defaultdict(list)
        for assignment in session.scalars(
            select(Assignment)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .where(
                ReportDuty.plan_id == parent.id,
                ReportDuty.closed_on.is_(None),
                Assignment.unit_id.in_(batch.unit_ids),
                Assignment.status.in_(EXPECTED_STATUSES),
            )
        ):
            assignments[assignment.unit_id].append(assignment)
        units = session.scalars(select(Unit).where(Unit.id.in_(batch.unit_ids)).order_by(Unit.code)).all()
        sharers = target_sharers(session, parent, as_of)
        below = subtrees(session, [u.id for u in units if u.id not in existing]) if any(t.units for t in parent.tasks) else {}
        drafted = issued = 0
        ready: list[int] = []
        warnings: list[str] = []
        for unit in units:
            plan = existing.get(unit.id)
            if plan is None:
                plan = draft_plan(session, parent, unit, assignments[unit.id], sharers, as_of, calendar, below.get(unit.id, {unit.id}))
                drafted += 1
                if level_policy(parent.cascade_policy, plan.level).issue == IssueMode.AUTO:
                    warnings += issue(session, plan, as_of, calendar)
                    issued += 1
                else:
                    warnings += late_warnings(plan)
            elif plan.status == PlanStatus.ISSUED:
                fulfil_implementing_duty(session, plan)  # a plan the unit wrote itself and imported
            if plan.status == PlanStatus.ISSUED:
                ready.append(plan.id)
        return Derived(drafted, issued, tuple(ready), tuple(warnings))


@task(name="issue-plan")
def issue_plan(plan_id: int, as_of: date, number: str | None = None) -> list[str]:
    """Issue a drafted implementing plan on `as_of` (its issuer's own decision) and send the receipt;
    returns the warnings of deadlines its late issue moved."""
    with session_scope() as session:
        plan = session.get_one(Plan, plan_id)
        return issue(session, plan, as_of, load_calendar(session), number=number, notify=True)
