"""A unit's consolidation submitted upward: its report becomes its submission to the parent's duty."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade import clock
from models.assignment import EXPECTED_STATUSES, Assignment, AssignmentStatus
from models.consolidation import Consolidation
from models.plan import Aggregation, ReportDuty
from models.report import Report
from models.submission import Channel, Submission
from tasks.intake.submissions import FigureInput, SubmissionInput, queue_receipt, store_version
from templates import render


def upward_input(unit_code: str, plan_key: str, duty_code: str, result: Consolidation) -> SubmissionInput:
    """A consolidation as the unit's own submission: figures by each target's rule, with what they
    cover and come from, and each section compiled with the name of every unit that wrote it.
    A rate with nothing to count goes up as 0/0; a rate computed from two counts does not go up
    (the level above computes it from the counts)."""
    values: dict[str, FigureInput] = {}
    for r in result.results:
        if (r.figure is None and not r.nothing_to_count) or r.rule.numerator_code is not None:
            continue
        if r.rule.aggregation in (Aggregation.WEIGHTED_RATE, Aggregation.SHARE_OF_UNITS):
            values[r.rule.code] = FigureInput(numerator=r.numerator, denominator=r.denominator, covers=r.covers, sources=r.sources)
        else:
            values[r.rule.code] = FigureInput(value=r.figure, covers=r.covers, sources=r.sources)
    sections = {code: render("reports/compiled_section.txt.j2", texts=texts).strip() for code, _, texts in result.sections if texts}
    canonical = json.dumps(
        {
            "values": {code: [str(f.value), str(f.numerator), str(f.denominator), f.covers, f.sources] for code, f in values.items()},
            "sections": sections,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return SubmissionInput(
        plan=plan_key,
        duty=duty_code,
        unit=unit_code,
        channel=Channel.CONSOLIDATION,
        source_key=f"consolidation:{hashlib.sha256(canonical.encode()).hexdigest()}",
        values=values,
        sections=sections,
    )


def submit_upward(session: Session, report: Report, result: Consolidation) -> int | None:
    """Submit a report to the parent's duty it answers, as a new version when it changed; returns the submission id."""
    duty = session.get_one(ReportDuty, report.duty_id)
    if duty.source_duty_id is None:
        return None
    assignment = session.scalar(
        select(Assignment).where(Assignment.duty_id == duty.source_duty_id, Assignment.unit_id == report.unit_id, Assignment.status.in_(EXPECTED_STATUSES))
    )
    if assignment is None or assignment.status == AssignmentStatus.ACCEPTED:
        return None
    if not result.submitted:
        return None  # nothing came from below: the unit has nothing to report yet, and stays due (and reminded)
    data = upward_input(assignment.unit.code, assignment.duty.plan.key, assignment.duty.code, result)
    # Unchanged means: the same as the unit's latest version as of the day, not as any version
    # (a replayed earlier day needs its own version even if a later one has the same figures).
    latest = session.scalar(
        select(Submission)
        .where(Submission.assignment_id == assignment.id, Submission.received_at < clock.start_of_day(result.as_of + timedelta(days=1)))
        .order_by(Submission.received_at.desc(), Submission.version.desc())
        .limit(1)
    )
    if latest is not None and latest.source_key.startswith(data.source_key):
        return latest.id
    if session.scalar(select(Submission.id).where(Submission.assignment_id == assignment.id, Submission.source_key == data.source_key)):
        versions = session.scalar(select(func.count()).select_from(Submission).where(Submission.assignment_id == assignment.id)) or 0
        data = replace(data, source_key=f"{data.source_key}:{versions + 1}")
    submission, is_new = store_version(session, assignment, data, received_at=clock.moment(result.as_of), report_id=report.id)
    if is_new:
        queue_receipt(session, submission, as_of=result.as_of)
    return submission.id
