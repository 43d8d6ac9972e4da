"""The secretariat's dashboard, for signed-in accounts (portal.access): plans, a duty's units × state at
every level, a unit's versions with review, the consolidated reports, and buttons that start the
reminder and consolidation flows (visible in the Prefect UI like any other run). Every route shows only
what the account's scope holds (its unit and those below; an admin everything): anything else is 404."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cascade.errors import ConflictError, NotFound
from cascade.formatting import parse_vn_number
from cascade.workspace_paths import resolved_path
from flows.consolidate import consolidate
from flows.deliver_outbox import deliver_outbox
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.audit import AuditAction, recent_acts, record_act
from models.db import session_scope
from models.milestones import milestone_title
from models.plan import Plan, ReportDuty, plan_by_ref
from models.report import Report
from models.submission import Attachment, ReviewAction, Submission
from portal.access import admin_only, login_redirect, may_act, principal, signed_in, visible_jobs
from portal.board import STATES, board, plans
from portal.pages import client_of, download, not_found, page, read_form
from portal.progress_chart import progress_chart
from portal.unit_page import page_context
from tasks.accounts.scope import Principal, sees_unit, within
from tasks.followup.milestone_calendar import plan_calendar
from tasks.intake.inbound import OUTCOMES, inbound, inbound_counts
from tasks.intake.review import review_submission
from tasks.intake.submissions import attachment_path
from templates import words

router = APIRouter(prefix="/admin")
MEDIA_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def _record(actor: str, action: AuditAction, subject: str, client: str | None, as_of: date | None = None) -> None:
    """One act in the audit log, in a transaction of its own (the act itself is already done)."""
    with session_scope() as session:
        record_act(session, actor, action, subject, as_of=as_of, client=client)


def _plans(request: Request, who: Principal) -> Response:
    with session_scope() as session:
        rows = [
            {"key": p.key, "code": p.code, "title": p.title, "issuer": p.issuer.name, "year": p.year, "status": str(p.status), "level": p.level,
             "duties": [{"code": d.code, "title": d.title, "due_on": d.due_on, "kind": str(d.kind)} for d in p.duties]}
            for p in plans(session, within(who, Plan.issuer_id))
        ]  # fmt: skip
        replies = inbound_counts(session, within(who, Plan.issuer_id))
    return page(request, "admin_plans.html.j2", user=who.login, me=who, plans=rows, replies=replies, jobs=visible_jobs(request, who),
                as_of=request.app.state.today())  # fmt: skip


@router.get("")
async def dashboard(request: Request) -> Response:
    return await signed_in(request, _plans)


def _replies(request: Request, who: Principal) -> Response:
    wanted = request.query_params.get("outcome") or ""
    if wanted and wanted not in OUTCOMES:
        return not_found()
    scope = within(who, Plan.issuer_id)
    with session_scope() as session:
        rows = inbound(session, outcome=wanted or None, limit=200, issuers=scope)
        counts = inbound_counts(session, scope)
    return page(request, "admin_replies.html.j2", user=who.login, me=who, rows=rows, counts=counts, outcomes=OUTCOMES, wanted=wanted)


@router.get("/replies")
async def replies_page(request: Request) -> Response:
    return await signed_in(request, _replies)


def _audit(request: Request, who: Principal) -> Response:
    admin_only(who)
    wanted = request.query_params.get("action") or ""
    if wanted and wanted not in {a.value for a in AuditAction}:
        return not_found()
    with session_scope() as session:
        acts = [
            {"at": e.at, "as_of": e.as_of, "actor": e.actor, "action": str(e.action), "subject": e.subject, "client": e.client, "detail": e.detail}
            for e in recent_acts(session, limit=300, action=AuditAction(wanted) if wanted else None)
        ]
    return page(request, "admin_audit.html.j2", user=who.login, me=who, acts=acts, actions=[a.value for a in AuditAction], wanted=wanted)


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    return await signed_in(request, _audit)


def _plan_in_scope(session: Session, who: Principal, plan_key: str) -> Plan | None:
    """The plan `plan_key` if the principal may see it (its issuer is theirs or below), else None."""
    plan = plan_by_ref(session, plan_key)
    return plan if plan is not None and sees_unit(session, who, plan.issuer_id) else None


def _board(request: Request, who: Principal, plan_key: str, duty: str) -> Response:
    as_of = request.app.state.today()
    wanted = request.query_params.get("state")
    with session_scope() as session:
        plan = _plan_in_scope(session, who, plan_key)
        if plan is None:
            return not_found()
        try:
            found = board(session, plan, duty, as_of)
        except NotFound:
            return not_found()
    rows = [r for r in found.rows if wanted in (None, "", r.state)]
    return page(request, "admin_board.html.j2", user=who.login, me=who, board=found, rows=rows, states=STATES, wanted=wanted or "",
                chart=progress_chart(found.rows, as_of), calendar=_duty_calendar(found.plan_key, found.duty_title),
                as_of=as_of, jobs=visible_jobs(request, who), notice=request.query_params.get("ok"))  # fmt: skip


def _duty_calendar(plan_key: str, duty_title: str) -> list[dict[str, Any]]:
    """The duty's milestones at the plan's own level, in day order, as the board lists them."""
    _, rows = plan_calendar(plan_key, all_levels=False)
    statuses = words("milestones.status")
    return [
        {"day": r.day, "title": milestone_title(r.kind, r.step, r.duty_kind), "status": str(r.status), "status_word": statuses[r.status],
         "done_on": r.done_on, "outcome": r.outcome}
        for r in rows
        if r.duty_title == duty_title
    ]  # fmt: skip


@router.get("/plans/{plan_key}/{duty}")
async def duty_board(request: Request, plan_key: str, duty: str) -> Response:
    return await signed_in(request, _board, plan_key, duty)


def _duty_in_scope(who: Principal, plan_key: str, duty: str) -> bool:
    with session_scope() as session:
        plan = _plan_in_scope(session, who, plan_key)
        return plan is not None and any(d.code == duty for d in plan.duties)


@router.post("/plans/{plan_key}/{duty}/{action}")
async def start_flow(request: Request, plan_key: str, duty: str, action: str) -> Response:
    """'remind': every unit of the duty that has not reported gets a reminder now; 'consolidate': the
    duty is consolidated at every level as of today. Both run as Prefect flow runs."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    await read_form(request)
    if action not in ("remind", "consolidate") or not await run_in_threadpool(_duty_in_scope, who, plan_key, duty):
        return not_found()
    may_act(who)
    as_of = request.app.state.today()
    jobs = request.app.state.jobs
    if action == "remind":
        jobs.start(f"send-reminders {plan_key} {duty}", send_reminders, as_of, plan=plan_key, duty=duty, now=True, owner=who.login)
    else:
        jobs.start(f"consolidate {plan_key} {duty}", consolidate, plan_key, duty, as_of, owner=who.login)
    acts = {"remind": AuditAction.REMIND_NOW, "consolidate": AuditAction.CONSOLIDATE}
    await run_in_threadpool(_record, who.login, acts[action], f"{plan_key} · {duty}", client_of(request), as_of)
    return RedirectResponse(f"/admin/plans/{plan_key}/{duty}?ok={action}", status_code=303)


def _assignment_in_scope(session: Session, who: Principal, assignment_id: int) -> Assignment | None:
    """The assignment if the principal may review it (the plan it answers was issued by their unit or one below)."""
    assignment = session.get(Assignment, assignment_id)
    return assignment if assignment is not None and sees_unit(session, who, assignment.duty.plan.issuer_id) else None


def _assignment(request: Request, who: Principal, assignment_id: int, error: str | None = None, status: int = 200) -> Response:
    as_of = request.app.state.today()
    with session_scope() as session:
        assignment = _assignment_in_scope(session, who, assignment_id)
        if assignment is None:
            return not_found()
        context = page_context(session, assignment, as_of)
        context["plan_key"], context["duty_code"] = assignment.duty.plan.key, assignment.duty.code
        context["root"] = _root_of(session, who, assignment)
    return page(request, "admin_assignment.html.j2", status=status, user=who.login, me=who, error=error, notice=request.query_params.get("ok"),
                **context)  # fmt: skip


def _root_of(session: Session, who: Principal, assignment: Assignment) -> dict[str, str]:
    """The plan and duty at the top of the chain the assignment reports into that the principal may see (its board)."""
    duty = assignment.duty
    while duty.source_duty_id is not None:
        above = session.get_one(ReportDuty, duty.source_duty_id)
        if not sees_unit(session, who, above.plan.issuer_id):
            break
        duty = above
    return {"plan_key": duty.plan.key, "duty_code": duty.code}


@router.get("/assignments/{assignment_id}")
async def assignment_page(request: Request, assignment_id: int) -> Response:
    return await signed_in(request, _assignment, assignment_id)


def _submission_in_scope(who: Principal, submission_id: int) -> bool:
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        return submission is not None and _assignment_in_scope(session, who, submission.assignment_id) is not None


def _review(request: Request, who: Principal, submission_id: int, form: Any) -> Response:
    action = str(form.get("action") or "")
    score = None
    if action not in {a.value for a in ReviewAction}:
        return not_found()
    if action == ReviewAction.ADJUST_SCORE:
        try:
            score = parse_vn_number(str(form.get("score") or "").strip())
        except (ValueError, InvalidOperation):
            score = Decimal("NaN")
        if not score.is_finite():
            score = None
    try:
        review = review_submission(submission_id, ReviewAction(action), reviewer=who.login, as_of=request.app.state.today(),
                                   comment=str(form.get("comment") or ""), score=score)  # fmt: skip
    except NotFound:
        return not_found()
    except ConflictError as exc:
        with session_scope() as session:
            assignment_id = session.get_one(Submission, submission_id).assignment_id
        return _assignment(request, who, assignment_id, error=str(exc), status=409)
    request.app.state.jobs.start("deliver-outbox", deliver_outbox, request.app.state.today())
    with session_scope() as session:
        submission = session.get_one(Submission, review.submission_id)
        assignment_id = submission.assignment_id
        subject = (
            f"{submission.assignment.duty.plan.code} · {submission.assignment.duty.code} · {submission.assignment.unit.name} · lần gửi {submission.version}"
        )
        record_act(session, who.login, AuditAction.REVIEW, subject, as_of=request.app.state.today(), client=client_of(request),
                   decision=action, comment=review.comment, score=str(review.score_after) if review.score_after is not None else None)  # fmt: skip
    return RedirectResponse(f"/admin/assignments/{assignment_id}?ok={action}", status_code=303)


@router.post("/submissions/{submission_id}/review")
async def review(request: Request, submission_id: int) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    if not await run_in_threadpool(_submission_in_scope, who, submission_id):
        return not_found()
    may_act(who)
    return await run_in_threadpool(_review, request, who, submission_id, form)


def _report_file(request: Request, who: Principal, report_id: int, index: int) -> Response:
    with session_scope() as session:
        report = session.get(Report, report_id)
        files = list(report.files) if report is not None and sees_unit(session, who, report.unit_id) else []
    if not 0 <= index < len(files):  # an index into what the report recorded: no path comes from the request
        return not_found()
    path = resolved_path(files[index])
    if not path.is_file():
        return not_found()
    return download(path.read_bytes(), path.name, MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


@router.get("/reports/{report_id}/{index}")
async def report_file(request: Request, report_id: int, index: int) -> Response:
    return await signed_in(request, _report_file, report_id, index)


def _attachment(request: Request, who: Principal, attachment_id: int) -> Response:
    with session_scope() as session:
        found = session.get(Attachment, attachment_id)
        if found is None or _assignment_in_scope(session, who, found.submission.assignment_id) is None:
            return not_found()
        name, sha, media_type = found.filename, found.sha256, found.content_type
    return download(attachment_path(sha).read_bytes(), name, media_type)


@router.get("/attachments/{attachment_id}")
async def attachment(request: Request, attachment_id: int) -> Response:
    return await signed_in(request, _attachment, attachment_id)
