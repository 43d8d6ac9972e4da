"""Loading a duty's submissions for consolidation, writing the report files and the Prefect artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy import select

from cascade import clock
from cascade.errors import NotFound
from cascade.settings import get_settings
from models.aggregation import TargetRule, UnitFigure
from models.assignment import Assignment
from models.consolidation import (
    Consolidation,
    ConsolidationInput,
    ExpectedUnit,
    SectionText,
    expected_reporters,
)
from models.db import session_scope
from models.plan import Plan, ReportDuty
from models.report import Report
from models.submission import Submission, SubmissionSection, SubmissionValue
from models.unit import Unit
from tasks.render import duty_targets, plan_context
from templates import COMPARATOR_WORDS, VERDICT_WORDS, measure, render


@dataclass(frozen=True)
class ReportHeader:
    """What the report prints besides the figures: issuer, plan, duty, recipients, signer."""

    plan: dict[str, Any]
    issuer: dict[str, Any]
    duty: dict[str, Any]
    recipients: tuple[str, ...]
    signer_title: str
    signer_name: str
    duty_id: int
    issuer_id: int


@task(name="load-consolidation")
def load_consolidation(plan_id: int, duty_code: str, as_of: date) -> tuple[ReportHeader, ConsolidationInput]:
    """Everything the consolidation needs, as of the end of `as_of` (later versions are ignored)."""
    end_of_day = clock.start_of_day(as_of + timedelta(days=1))
    with session_scope() as session:
        plan = session.get_one(Plan, plan_id)
        duty = session.scalar(select(ReportDuty).where(ReportDuty.plan_id == plan_id, ReportDuty.code == duty_code))
        if duty is None:
            raise NotFound(f"plan {plan.code} has no duty {duty_code!r}; it has: {', '.join(d.code for d in plan.duties)}")
        assignments = session.execute(
            select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id).where(Assignment.duty_id == duty.id).order_by(Unit.code)
        ).all()
        versions = session.execute(
            select(Submission.assignment_id, Submission.id, Submission.version, Submission.received_at)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .where(Assignment.duty_id == duty.id, Submission.received_at < end_of_day)
            .order_by(Submission.assignment_id, Submission.version)
        ).all()
        first_on: dict[int, date] = {}
        latest: dict[int, tuple[int, int]] = {}
        for assignment_id, submission_id, version, received_at in versions:
            first_on.setdefault(assignment_id, clock.local_date(received_at))
            latest[assignment_id] = (submission_id, version)

        unit_of_submission = {latest[a.id][0]: u for a, u in assignments if a.id in latest}
        units = tuple(
            ExpectedUnit(u.code, u.name, a.due_on, first_on.get(a.id), *(latest.get(a.id) or (None, None)))
            for a, u in assignments
        )
        targets = duty_targets(session, duty)
        assignee_codes = [u.code for _, u in assignments]
        rules = tuple(
            (
                TargetRule(t.code, t.metric, t.text, t.unit_of_measure, t.comparator, t.value, t.aggregation, t.unit_comparator, t.unit_threshold),
                expected_reporters(t.reporter_codes, assignee_codes),
            )
            for t in targets
        )
        figures: dict[str, list[UnitFigure]] = {}
        for value in session.scalars(select(SubmissionValue).where(SubmissionValue.submission_id.in_(unit_of_submission))):
            unit = unit_of_submission[value.submission_id]
            figures.setdefault(value.indicator_code, []).append(
                UnitFigure(unit.code, value.value, value.numerator, value.denominator, value.submission_id)
            )
        narratives: dict[str, list[SectionText]] = {}
        sections = session.scalars(
            select(SubmissionSection).where(SubmissionSection.submission_id.in_(unit_of_submission))
        ).all()
        for section in sorted(sections, key=lambda s: unit_of_submission[s.submission_id].code):
            if section.text.strip():
                unit = unit_of_submission[section.submission_id]
                narratives.setdefault(section.code, []).append(SectionText(unit.code, unit.name, section.text.strip(), section.submission_id))

        issuer = plan.issuer
        header = ReportHeader(
            plan=plan_context(plan),
            issuer={
                "name": issuer.name,
                "short_name": issuer.display_name,
                "governing_body": issuer.governing_body,
                "symbol": issuer.issuer_symbol or "",
                "place": issuer.place or "",
            },
            duty={"code": duty.code, "title": duty.title, "due_on": duty.due_on, "cutoff_on": duty.cutoff_on, "kind": str(duty.kind)},
            recipients=tuple(plan.recipients),
            signer_title=plan.signer_title,
            signer_name=plan.signer_name,
            duty_id=duty.id,
            issuer_id=issuer.id,
        )
        data = ConsolidationInput(
            as_of=as_of,
            units=units,
            rules=rules,
            figures={code: tuple(items) for code, items in figures.items()},
            sections=tuple((s["code"], s["title"]) for s in duty.sections),
            narratives={code: tuple(items) for code, items in narratives.items()},
        )
    return header, data


def report_context(header: ReportHeader, result: Consolidation) -> dict[str, Any]:
    return {"header": header, "plan": header.plan, "issuer": header.issuer, "duty": header.duty, "r": result}


@task(name="write-report-files")
def write_report(header: ReportHeader, result: Consolidation) -> list[str]:
    """Render the consolidated report as Markdown and HTML into the workspace; returns the paths."""
    folder = get_settings().reports_dir / header.plan["key"]
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{header.duty['code']}-{result.as_of.isoformat()}"
    context = report_context(header, result)
    paths = []
    for suffix in ("md", "html"):
        path = folder / f"{stem}.{suffix}"
        partial = path.with_suffix(f".{suffix}.part")
        partial.write_text(render(f"reports/consolidation.{suffix}.j2", **context), encoding="utf-8")
        partial.replace(path)
        paths.append(str(path.resolve()))
    return paths


def summary_of(result: Consolidation) -> dict[str, Any]:
    """The figures stored with the report, each traceable to the submissions behind it."""
    return {
        "expected": result.expected,
        "submitted": [u.code for u in result.submitted],
        "late": [u.code for u in result.late],
        "missing": [u.code for u in result.missing],
        "targets": [
            {
                "code": r.rule.code,
                "figure": None if r.figure is None else str(r.figure),
                "verdict": str(r.verdict),
                "reported": r.reported,
                "expected": r.expected,
                "sources": [{"unit": code, "submission_id": sid} for code, sid in r.sources],
            }
            for r in result.results
        ],
    }


@task(name="save-report")
def save_report(header: ReportHeader, result: Consolidation, files: list[str]) -> int:
    """Record the consolidation (figures, sources, files); returns the report id."""
    with session_scope() as session:
        report = Report(
            duty_id=header.duty_id,
            unit_id=header.issuer_id,
            as_of=result.as_of,
            created_at=clock.moment(result.as_of),
            completeness=result.completeness,
            timeliness=result.timeliness,
            summary=summary_of(result),
            files=files,
        )
        session.add(report)
        session.flush()
        return report.id


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    raw = "-".join(parts).lower()
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in raw).strip("-")


@task(name="publish-report-artifacts")
def publish_artifacts(header: ReportHeader, result: Consolidation, files: list[str]) -> None:
    """A markdown summary and a per-target table in the Prefect UI."""
    key = artifact_key(header.plan["key"], header.duty["code"])
    create_markdown_artifact(key=key, markdown=Path(files[0]).read_text(encoding="utf-8"), description=f"Báo cáo tổng hợp {header.duty['title']}")
    create_table_artifact(
        key=f"{key}-targets",
        table=[
            {
                "Chỉ tiêu": r.rule.metric,
                "Mục tiêu": f"{COMPARATOR_WORDS[r.rule.comparator]} {measure(r.rule.value, r.rule.unit_of_measure)}",
                "Kết quả": measure(r.figure, r.rule.unit_of_measure),
                "Đánh giá": VERDICT_WORDS[r.verdict],
                "Đơn vị báo cáo": f"{r.reported}/{r.expected}",
            }
            for r in result.results
        ],
        description="Chỉ tiêu và kết quả",
    )
