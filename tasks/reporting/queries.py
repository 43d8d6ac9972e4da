"""Read-only queries behind `cascade status` and the demo's summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, select
from sqlalchemy.orm import Session

from cascade.clock import local_date
from cascade.errors import NotFound
from models.assignment import Assignment, AssignmentStatus
from models.base import IDS_PER_STATEMENT
from models.db import session_scope
from models.outbox import EmailStatus, OutboundEmail
from models.plan import Plan, ReportDuty, plan_tree
from models.reminders import reminder_steps
from models.report import Report
from models.submission import Submission, SubmissionValue
from models.unit import Unit, active_successor
from tasks.batching import batches
from tasks.plans.lookup import find_plan


@dataclass(frozen=True)
class AssignmentRow:
    level: int  # of the unit below the plan's issuer: 1 = its direct subordinates
    unit_code: str
    unit_name: str
    duty_code: str
    due_on: date
    state: str
    submitted_on: date | None
    versions: int
    last_reminder: str | None
    emails_sent: int
    emails_waiting: int  # queued or being sent (retrying ones included)
    plan_code: str = ""  # the plan the duty belongs to: '12/KH-SXD', or a ward's implementing plan
    merged_into: str | None = None  # a merged assignment: the successor now reporting for the duty
    transferred_from: str | None = None  # an assignment taken over from a unit that merged into this one
    emails_failed: int = 0  # given up on (a permanent refusal, or the retry period ended): `cascade outbox retry --failed`


def state_of(due_on: date, submitted_on: date | None, as_of: date, status: AssignmentStatus | None = None) -> str:
    """'on_time', 'late', 'pending' or 'overdue' for an assignment on `as_of`; 'merged', or 'returned'
    while a returned report awaits its correction, by the assignment's current status."""
    if status == AssignmentStatus.MERGED:
        return "merged"
    if status == AssignmentStatus.RETURNED:
        return "returned"
    if submitted_on is not None and submitted_on <= as_of:
        return "on_time" if submitted_on <= due_on else "late"
    return "overdue" if as_of > due_on else "pending"


def plan_status(plan: str, as_of: date, *, all_levels: bool = False, include_merged: bool = False) -> tuple[str, list[AssignmentRow]]:
    """The plan's code and one row per assignment (unit × duty), ordered by level, duty and unit;
    with `all_levels`, the assignments of every implementing plan below are included, and with
    `include_merged` those closed because their unit merged into a successor."""
    with session_scope() as session:
        found = find_plan(session, plan)
        plan_levels = plan_tree(session, found.id) if all_levels else {found.id: 0}
        query = _assignments(plan_levels)
        if not include_merged:
            query = query.where(Assignment.status != AssignmentStatus.MERGED)
        rows = session.execute(query).all()
        rows = sorted(rows, key=lambda row: (plan_levels[row[2].plan_id], row[2].code, row[1].code))
        return found.code, _rows(session, rows, plan_levels, as_of)


@dataclass(frozen=True)
class StatusSummary:
    """A plan's assignments at every level on a day: how many in each state, and the rows to show."""

    code: str
    counts: dict[str, int]  # state (see `state_of`) → assignments, merged ones left out
    rows: list[AssignmentRow]  # every assignment, or when there are more than asked for, the first still awaited


def status_summary(plan: str, as_of: date, *, at_most: int) -> StatusSummary:
    """`plan_status(all_levels=True)` for a page that shows `at_most` rows: the states counted by the
    database, and the rows made only for what is shown (a tree of 200,000 assignments costs its count,
    not 200,000 rows): every one when they fit, else the first `at_most` pending or overdue."""
    with session_scope() as session:
        found = find_plan(session, plan)
        plan_levels = plan_tree(session, found.id)
        state = _state(as_of)
        counts = dict(
            session.execute(
                select(state, func.count())
                .select_from(Assignment)
                .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
                .where(ReportDuty.plan_id.in_(plan_levels), Assignment.status != AssignmentStatus.MERGED, *still_in_plan())
                .group_by(state)
            )
            .tuples()
            .all()
        )
        if sum(counts.values()) <= at_most:
            return StatusSummary(found.code, counts, plan_status(plan, as_of, all_levels=True)[1])
        # A plan's level in the tree is its own level less the root's: the same order as plan_status's
        awaited = (
            _assignments(plan_levels)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .where(state.in_(("pending", "overdue")))
            .order_by(None)
            .order_by(Plan.level, ReportDuty.code, Unit.code)
            .limit(at_most)
        )
        return StatusSummary(found.code, counts, _rows(session, session.execute(awaited).all(), plan_levels, as_of))


def _assignments(plan_levels: dict[int, int]) -> Select[tuple[Assignment, Unit, ReportDuty]]:
    return (
        select(Assignment, Unit, ReportDuty)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .where(ReportDuty.plan_id.in_(plan_levels), *still_in_plan())
        .order_by(ReportDuty.due_on, ReportDuty.code, Unit.code)
    )


def still_in_plan() -> tuple[ColumnElement[bool], ...]:
    """Conditions on Assignment joined to its ReportDuty: neither taken from its unit nor its duty withdrawn by an amendment."""
    return (Assignment.status != AssignmentStatus.WITHDRAWN, ReportDuty.withdrawn.is_(False))


def _state(as_of: date) -> ColumnElement[str]:
    """`state_of` in SQL, for counting in the database."""
    submitted = and_(Assignment.submitted_on.is_not(None), Assignment.submitted_on <= as_of)
    return case(
        (Assignment.status == AssignmentStatus.MERGED, "merged"),
        (Assignment.status == AssignmentStatus.RETURNED, "returned"),
        (and_(submitted, Assignment.submitted_on <= Assignment.due_on), "on_time"),
        (submitted, "late"),
        (Assignment.due_on < as_of, "overdue"),
        else_="pending",
    )


def _rows(session: Session, rows: Sequence[Row[tuple[Assignment, Unit, ReportDuty]]], plan_levels: dict[int, int], as_of: date) -> list[AssignmentRow]:
    """The rows for these assignments, in their order, with their versions and emails counted."""
    versions: dict[int, int] = {}
    mail: Counter[tuple[int | None, EmailStatus]] = Counter()
    for ids in batches([a.id for a, _, _ in rows], IDS_PER_STATEMENT):
        versions.update(
            session.execute(select(Submission.assignment_id, func.count()).where(Submission.assignment_id.in_(ids)).group_by(Submission.assignment_id))
            .tuples()
            .all()
        )
        sent = session.execute(select(OutboundEmail.assignment_id, OutboundEmail.status).where(OutboundEmail.assignment_id.in_(ids))).tuples()
        mail.update((assignment_id, EmailStatus(status)) for assignment_id, status in sent)
    result = []
    for assignment, unit, duty in rows:
        steps = {s.rank: s.name for s in reminder_steps(duty.reminder_days, duty.overdue_days)}
        result.append(
            AssignmentRow(
                level=plan_levels[duty.plan_id] + 1,
                unit_code=unit.code,
                unit_name=unit.name,
                duty_code=duty.code,
                due_on=assignment.due_on,
                state=state_of(assignment.due_on, assignment.submitted_on, as_of, assignment.status),
                submitted_on=assignment.submitted_on,
                versions=versions.get(assignment.id, 0),
                last_reminder=steps.get(assignment.reminder_rank),
                emails_sent=mail[(assignment.id, EmailStatus.SENT)],
                emails_waiting=mail[(assignment.id, EmailStatus.QUEUED)] + mail[(assignment.id, EmailStatus.SENDING)],
                emails_failed=mail[(assignment.id, EmailStatus.FAILED)],
                plan_code=duty.plan.code,
                merged_into=merged_into(unit, as_of) if assignment.status == AssignmentStatus.MERGED else None,
                transferred_from=assignment.transferred_from.name if assignment.transferred_from is not None else None,
            )
        )
    return result


def merged_into(unit: Unit, on: date) -> str | None:
    """The name of the unit that carries on a merged unit's work on `on` (its direct successor if none is active)."""
    successor = active_successor(unit, on) or unit.successor
    return successor.name if successor is not None else None


@dataclass(frozen=True)
class TraceNode:
    """One submission behind a consolidated figure, with the submissions behind it in turn."""

    unit_code: str
    unit_name: str
    submission_id: int
    version: int
    channel: str
    received_on: date
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    covers: int | None
    children: tuple[TraceNode, ...]


def trace_figure(plan: str, duty: str, indicator: str) -> tuple[Report, list[TraceNode]]:
    """The latest report of a plan's duty and, for one indicator, the tree of submissions its figure
    was added up from, down to the units that typed the numbers; raises NotFound."""
    with session_scope() as session:
        found = find_plan(session, plan)
        report = session.scalar(
            select(Report).join(ReportDuty, ReportDuty.id == Report.duty_id)
            .where(ReportDuty.plan_id == found.id, ReportDuty.code == duty)
            .order_by(Report.id.desc()).limit(1)
        )  # fmt: skip
        if report is None:
            raise NotFound(f"no report yet for duty {duty!r} of plan {found.code}: run cascade consolidate first")
        target = next((t for t in report.summary.get("targets", []) if t["code"] == indicator), None)
        if target is None:
            known = ", ".join(t["code"] for t in report.summary.get("targets", []))
            raise NotFound(f"the report has no indicator {indicator!r}; it has: {known}")
        session.expunge(report)
        return report, _trace(session, [source["submission_id"] for source in target["sources"]], indicator)


def _trace(session: Session, submission_ids: list[int], indicator: str) -> list[TraceNode]:
    if not submission_ids:
        return []
    rows = session.execute(
        select(Submission, Unit, SubmissionValue)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(SubmissionValue, (SubmissionValue.submission_id == Submission.id) & (SubmissionValue.indicator_code == indicator))
        .where(Submission.id.in_(submission_ids))
        .order_by(Unit.code)
    ).all()
    nodes = []
    for submission, unit, value in rows:
        children = _trace(session, [sid for _, sid in value.sources], indicator)
        nodes.append(
            TraceNode(
                unit.code, unit.name, submission.id, submission.version, str(submission.channel), local_date(submission.received_at),
                value.value, value.numerator, value.denominator, value.covers, tuple(children),
            )
        )  # fmt: skip
    return nodes
