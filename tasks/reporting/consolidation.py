"""Loading a duty's submissions for consolidation, writing the report files and the Prefect artifacts."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade import clock
from cascade.formatting import body_in_sentence
from cascade.settings import get_settings
from cascade.workspace_paths import stored_path
from models.aggregation import TargetRule, UnitFigure
from models.assignment import EXPECTED_STATUSES, Assignment
from models.calendar import load_calendar
from models.consolidation import (
    Consolidation,
    ConsolidationInput,
    ExpectedUnit,
    ReportHeader,
    SectionText,
    consolidate,
    expected_reporters,
)
from models.db import session_scope
from models.outbox import EmailKind
from models.plan import DutyKind, Plan, PlanAmendment, ReportDuty, Target
from models.report import Report
from models.report_outline import report_outline
from models.submission import Review, ReviewAction, Submission, SubmissionSection, SubmissionValue
from models.unit import Unit
from tasks.cascading.duty_tree import duty_tree
from tasks.documents.pdf import pdf_available, to_pdf
from tasks.documents.report_workbook import report_file_name, report_workbook_name, write_report_workbook
from tasks.documents.word import issuer_context, with_archive_line, write_report_document
from tasks.outbound.outbox import queue_email
from tasks.plans.contexts import plan_context, recipients
from tasks.plans.lookup import find_duty
from tasks.plans.targets import duty_targets, target_reporters
from tasks.plans.versions import snapshot_duty, snapshot_targets, version_in_force
from tasks.reporting.upward import submit_upward
from templates import measure, message, render, render_email, words

log = logging.getLogger(__name__)


def load_input(session: Session, duty: ReportDuty, as_of: date) -> tuple[ReportHeader, ConsolidationInput]:
    """Everything one duty's consolidation needs, as of the end of `as_of` (later versions are ignored)."""
    end_of_day = clock.start_of_day(as_of + timedelta(days=1))
    plan = duty.plan
    assignments = session.execute(
        select(Assignment, Unit)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.duty_id == duty.id, Assignment.status.in_(EXPECTED_STATUSES))
        .order_by(Unit.code)
    ).all()
    versions = session.execute(
        select(Submission.assignment_id, Submission.id, Submission.version, Submission.received_at)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(Assignment.duty_id == duty.id, Assignment.status.in_(EXPECTED_STATUSES), Submission.received_at < end_of_day)
        .order_by(Submission.assignment_id, Submission.received_at, Submission.version)
    ).all()
    first_on: dict[int, date] = {}
    latest: dict[int, tuple[int, int]] = {}
    latest_on: dict[int, date] = {}
    for assignment_id, submission_id, version, received_at in versions:
        first_on.setdefault(assignment_id, clock.local_date(received_at))
        latest[assignment_id] = (submission_id, version)
        latest_on[assignment_id] = clock.local_date(received_at)
    returned = returned_by(session, [sid for sid, _ in latest.values()], end_of_day)
    # The version of the plan in force on the day judges it: a day before an amendment reads the plan as it was
    in_force = version_in_force(session, plan, as_of)
    then = snapshot_duty(in_force, duty.code) if in_force is not None else None
    if in_force is not None and then is not None:
        kept = snapshot_targets(in_force)
        targets = [] if duty.kind == DutyKind.IMPLEMENTING_PLAN else [t for t in kept if not then["indicators"] or t.code in then["indicators"]]
        due_then: date | None = date.fromisoformat(then["due_on"])
    else:
        targets, due_then = duty_targets(session, duty), None
    earlier = _earlier_plans(session, plan, targets, {a.id: latest_on[a.id] for a, _ in assignments if a.id in latest_on}, as_of)

    # A returned version is left out (figures, narrative) until the unit sends its corrected one.
    unit_of_submission = {latest[a.id][0]: u for a, u in assignments if a.id in latest and latest[a.id][0] not in returned}
    units = tuple(
        ExpectedUnit(
            u.code,
            u.name,
            due_then or a.due_on,
            first_on.get(a.id),
            submission_id=latest[a.id][0] if a.id in latest else None,
            version=latest[a.id][1] if a.id in latest else None,
            returned=a.id in latest and latest[a.id][0] in returned,
            earlier_plan=earlier.get(a.id),
        )
        for a, u in assignments
    )
    assignee_codes = [u.code for _, u in assignments]
    rules = tuple(
        (
            TargetRule(
                t.code,
                t.metric,
                t.text,
                t.unit_of_measure,
                t.comparator,
                t.value,
                t.aggregation,
                t.unit_comparator,
                t.unit_threshold,
                t.numerator_code,
                t.denominator_code,
            ),
            expected_reporters(target_reporters(t, targets), assignee_codes),
        )
        for t in targets
    )
    figures: dict[str, list[UnitFigure]] = {}
    values = session.scalars(select(SubmissionValue).where(SubmissionValue.submission_id.in_(unit_of_submission))).all()
    for value in sorted(values, key=lambda v: (unit_of_submission[v.submission_id].code, v.indicator_code)):
        unit = unit_of_submission[value.submission_id]
        figures.setdefault(value.indicator_code, []).append(
            UnitFigure(unit.code, value.value, value.numerator, value.denominator, value.submission_id, value.covers)
        )
    narratives: dict[str, list[SectionText]] = {}
    sections = session.scalars(select(SubmissionSection).where(SubmissionSection.submission_id.in_(unit_of_submission))).all()
    for section in sorted(sections, key=lambda s: unit_of_submission[s.submission_id].code):
        if section.text.strip():
            unit = unit_of_submission[section.submission_id]
            narratives.setdefault(section.code, []).append(SectionText(unit.code, unit.name, section.text.strip(), section.submission_id))

    tree = duty_tree(session, duty.id)
    weights = tree.weights()
    issuer = plan.issuer
    above = (
        plan.parent_plan.issuer_names
        if plan.parent_plan is not None
        else issuer.parent.name
        if issuer.parent is not None
        else body_in_sentence(issuer.governing_body or "") or None
    )
    latest_change = session.scalar(
        select(PlanAmendment).where(PlanAmendment.plan_id == plan.id, PlanAmendment.issued_on > as_of).order_by(PlanAmendment.version).limit(1)
    )
    header = ReportHeader(
        plan={
            **plan_context(plan),
            "version_note": message("reporting.before_amendment", code=latest_change.code, issued_on=latest_change.issued_on) if latest_change else "",
        },
        issuer={**issuer_context(issuer), "short_name": issuer.display_name},
        duty={"code": duty.code, "title": duty.title, "due_on": duty.due_on, "cutoff_on": duty.cutoff_on, "kind": str(duty.kind)},
        recipients=tuple(plan.recipients),
        signer_title=issuer.head_title or plan.signer_title,
        signer_name=issuer.head_name or plan.signer_name,
        duty_id=duty.id,
        issuer_id=issuer.id,
        report_recipients=tuple(plan.report_recipients) or ((above,) if above else ()),
        above=above,
        outline=report_outline(duty.sections, has_figures=bool(targets)),
        issuer_emails=tuple(recipients(issuer)),
        top_level=plan.parent_plan_id is None,
    )
    data = ConsolidationInput(
        as_of=as_of,
        units=units,
        rules=rules,
        figures={code: tuple(items) for code, items in figures.items()},
        sections=tuple((s["code"], s["title"]) for s in duty.sections),
        narratives={code: tuple(items) for code, items in narratives.items()},
        weights={u.code: weights.get((duty.id, u.id), 1) for _, u in assignments},
        levels=tree.level_rates(as_of),
    )
    return header, data


def _earlier_plans(session: Session, plan: Plan, targets: list[Target], reported_on: dict[int, date], as_of: date) -> dict[int, str]:
    """Assignment id → the code of the latest amendment in force by `as_of` that its latest report predates and that
    changed a target the duty reports (its figures answer the plan as it was: marked, still counted)."""
    if not reported_on:
        return {}
    codes = {t.code for t in targets}
    changed = [
        (a.issued_on, a.code)
        for a in session.scalars(
            select(PlanAmendment).where(PlanAmendment.plan_id == plan.id, PlanAmendment.issued_on <= as_of).order_by(PlanAmendment.version)
        )
        if any(c["kind"] in ("target", "target_added", "target_removed") and c["code"] in codes for c in a.changes)
    ]
    marked = {}
    for assignment_id, day in reported_on.items():
        after = [code for issued_on, code in changed if issued_on > day]
        if after:
            marked[assignment_id] = after[-1]
    return marked


def returned_by(session: Session, submission_ids: list[int], end: datetime) -> set[int]:
    """The versions among these that the upper level had returned for correction before `end`."""
    if not submission_ids:
        return set()
    return set(
        session.scalars(select(Review.submission_id).where(Review.submission_id.in_(submission_ids), Review.action == ReviewAction.RETURN, Review.at < end))
    )


@task(name="load-consolidation")
def load_consolidation(plan_id: int, duty_code: str, as_of: date) -> tuple[ReportHeader, ConsolidationInput]:
    """Everything the consolidation of one duty of a plan needs, as of the end of `as_of`."""
    with session_scope() as session:
        return load_input(session, find_duty(session, session.get_one(Plan, plan_id), duty_code), as_of)


@task(name="levels-below")
def levels_below(plan_id: int, duty_code: str) -> list[list[int]]:
    """The duties answering a plan's duty, level by level from the top (issued implementing plans only)."""
    with session_scope() as session:
        tree = duty_tree(session, find_duty(session, session.get_one(Plan, plan_id), duty_code).id)
        levels: list[list[int]] = []
        for level in tree.rows[:-1]:
            owns = sorted({tree.answering[r.duty_id, r.unit_id] for r in level if (r.duty_id, r.unit_id) in tree.answering})
            if owns:
                levels.append(owns)
        return levels


def report_context(header: ReportHeader, result: Consolidation) -> dict[str, Any]:
    return {
        "header": header,
        "plan": header.plan,
        "issuer": header.issuer,
        "duty": header.duty,
        "r": result,
        "recipients": with_archive_line(list(header.report_recipients)),
    }


def report_files(header: ReportHeader, data: ConsolidationInput, result: Consolidation) -> list[str]:
    """Render the consolidated report into the workspace and return the paths: Markdown, HTML, the
    Word report per Decree 30, the Excel table of units × indicators, and a PDF of the Word report
    when `report_pdf` is set and LibreOffice is installed."""
    return with_pdfs([report_documents(header, data, result)])[0]


def with_pdfs(reports: list[list[str]]) -> list[list[str]]:
    """Each report's files (as `report_documents` gives them) and, when `report_pdf` is set and LibreOffice
    is installed, a PDF of its Word report: all of them made by one LibreOffice process."""
    if not reports or not get_settings().report_pdf:
        return reports
    if not pdf_available():
        log.warning("report_pdf is set but LibreOffice is not installed: no PDF of %d report(s)", len(reports))
        return reports
    words = [next(Path(path) for path in files if path.endswith(".docx")) for files in reports]
    return [[*files, str(pdf)] for files, pdf in zip(reports, to_pdf(words), strict=True)]


def report_documents(header: ReportHeader, data: ConsolidationInput, result: Consolidation) -> list[str]:
    """`report_files` but the PDF."""
    settings = get_settings()
    folder = settings.reports_dir / header.plan["key"]
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{header.duty['code']}-{result.as_of.isoformat()}"
    context = report_context(header, result)
    paths = []
    for suffix in ("md", "html"):
        path = folder / f"{stem}.{suffix}"
        partial = path.with_suffix(f".{suffix}.part")
        partial.write_text(render(f"reports/consolidation.{suffix}.j2", **context), encoding="utf-8")
        partial.replace(path)
        paths.append(path)
    word = write_report_document(header, result, folder / report_file_name("document", header, result))
    paths += [word, write_report_workbook(header, data, result, folder / report_workbook_name(header, result))]
    return [str(path.resolve()) for path in paths]


write_report = task(name="write-report-files")(report_files)


def summary_of(result: Consolidation) -> dict[str, Any]:
    """The figures stored with the report, each traceable to the submissions behind it."""
    return {
        "expected": result.expected,
        "submitted": [u.code for u in result.submitted],
        "late": [u.code for u in result.late],
        "missing": [u.code for u in result.missing],
        "returned": [u.code for u in result.returned],
        "levels": [{"level": lv.level, "expected": lv.expected, "submitted": lv.submitted, "on_time": lv.on_time} for lv in result.levels],
        "targets": [
            {
                "code": r.rule.code,
                "figure": None if r.figure is None else str(r.figure),
                "verdict": str(r.verdict),
                "reported": r.reported,
                "expected": r.expected,
                "covers": r.covers,
                "sources": [{"unit": code, "submission_id": sid} for code, sid in r.sources],
            }
            for r in result.results
        ],
    }


def store_report(session: Session, header: ReportHeader, result: Consolidation, files: list[str], *, send_summary: bool = True) -> Report:
    """Record the consolidation (figures, sources, files) and, where the duty answers a parent's duty,
    submit it there as the unit's own report, in the caller's transaction; `send_summary` queues the
    report to the unit's own mailboxes."""
    report = Report(
        duty_id=header.duty_id,
        unit_id=header.issuer_id,
        as_of=result.as_of,
        created_at=clock.moment(result.as_of),
        completeness=result.completeness,
        timeliness=result.timeliness,
        summary=summary_of(result),
        files=[stored_path(path) for path in files],  # relative to the workspace: a restore elsewhere finds them
    )
    session.add(report)
    session.flush()
    upward = submit_upward(session, report, result)
    if send_summary:
        queue_report_summary(session, header, result, files, submitted_upward=upward is not None)
    return report


def queue_report_summary(session: Session, header: ReportHeader, result: Consolidation, files: list[str], *, submitted_upward: bool) -> bool:
    """Queue the report, with its Word, Excel (and PDF) files, to the consolidating unit's own mailboxes
    (and the configured secretariat for a top-level plan); once per duty and figures: consolidating
    again with nothing changed sends nothing."""
    to = list(header.issuer_emails)
    secretariat = get_settings().secretariat_email
    if secretariat and header.top_level and all(secretariat.lower() not in address.lower() for address in to):
        to.append(secretariat)
    if not to:
        return False
    digest = hashlib.sha256(json.dumps(summary_of(result), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    attachments = [path for path in files if path.endswith((".docx", ".xlsx", ".pdf"))]
    return queue_email(
        session,
        key=f"report:{header.duty_id}:{digest}",
        kind=EmailKind.REPORT,
        email_to=to,
        rendered=render_email(
            "report",
            **report_context(header, result),
            above=header.above,
            submitted_upward=submitted_upward,
            has_pdf=any(path.endswith(".pdf") for path in attachments),
        ),
        created_at=clock.moment(result.as_of),
        attachments=attachments,
    )


@task(name="save-report")
def save_report(header: ReportHeader, result: Consolidation, files: list[str]) -> int:
    """Record the consolidation and submit it upward, in one transaction; returns the report id."""
    with session_scope() as session:
        return store_report(session, header, result, files).id


def own_day(session: Session, duty: ReportDuty, as_of: date) -> date | None:
    """The day a unit's own duty was due to be consolidated (its consolidation milestone: the first
    working day after its deadline), when that is before `as_of` and the unit has not consolidated
    it by `as_of` (a report it made itself, on its day or later, keeps its own day); else None.

    A level above consolidating later must not make the unit's report upward late: the unit's
    report is first made as of its own day, as the daily tick would have made it.
    """
    if duty.source_duty_id is None or duty.kind == DutyKind.IMPLEMENTING_PLAN:
        return None
    day = load_calendar(session).next_working_day(duty.due_on)
    if day >= as_of:
        return None
    if session.scalar(select(Report.id).where(Report.duty_id == duty.id, Report.as_of <= as_of).limit(1)) is not None:
        return None
    return day


@task(name="consolidate-duties")
def consolidate_duties(duty_ids: list[int], as_of: date) -> int:
    """Consolidate a batch of units' duties (one level), each report stored in its own transaction and
    submitted upward; returns how many. The batch's PDFs are made by one LibreOffice process (two when
    some duties have an earlier day, below), before any report that lists them is stored.

    A duty whose own consolidation day passed unconsolidated is first consolidated as of that day
    (its report upward dated then, without a second email of the report), then as of `as_of`.
    """
    with session_scope() as session:
        earlier = [(duty_id, day) for duty_id in duty_ids if (day := own_day(session, session.get_one(ReportDuty, duty_id), as_of)) is not None]
    _consolidate_each(earlier, send_summary=False)
    _consolidate_each([(duty_id, as_of) for duty_id in duty_ids], send_summary=True)
    return len(duty_ids)


def _consolidate_each(duties: list[tuple[int, date]], *, send_summary: bool) -> None:
    """Consolidate each duty as of its day and write its files, make the PDFs, then store each report.
    A crash before a report is stored leaves only files that the next run writes again."""
    made = []
    for duty_id, day in duties:
        with session_scope() as session:
            header, data = load_input(session, session.get_one(ReportDuty, duty_id), day)
        result = consolidate(data)
        made.append((header, result, report_documents(header, data, result)))
    for (header, result, _), files in zip(made, with_pdfs([files for *_, files in made]), strict=True):
        with session_scope() as session:
            store_report(session, header, result, files, send_summary=send_summary)


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    raw = "-".join(parts).lower()
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in raw).strip("-")


@task(name="publish-report-artifacts")
def publish_artifacts(header: ReportHeader, result: Consolidation, files: list[str]) -> None:
    """A markdown summary and a per-target table in the Prefect UI."""
    key = artifact_key(header.plan["key"], header.duty["code"])
    create_markdown_artifact(
        key=key, markdown=Path(files[0]).read_text(encoding="utf-8"), description=message("reporting.artifacts.summary", duty_title=header.duty["title"])
    )
    c, verdicts = words("reporting.target_columns"), words("reporting.verdict")
    create_table_artifact(
        key=f"{key}-targets",
        table=[
            {
                c["metric"]: r.rule.metric,
                c["target"]: message("reporting.target", rule=r.rule),
                c["figure"]: message("reporting.nothing_to_count") if r.nothing_to_count else measure(r.figure, r.rule.unit_of_measure),
                c["verdict"]: verdicts[r.verdict],
                c["reported"]: f"{r.reported}/{r.expected}",
            }
            for r in result.results
        ],
        description=message("reporting.artifacts.targets"),
    )
