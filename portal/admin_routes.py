"""The secretariat's dashboard, behind the login configured in settings: plans, a duty's units × state
at every level, a unit's versions with review, the consolidated reports, and buttons that start the
reminder and consolidation flows (visible in the Prefect UI like any other run)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cascade import clock
from cascade.errors import ConflictError, NotFound
from cascade.formatting import parse_vn_number
from cascade.settings import get_settings
from flows.consolidate import consolidate
from flows.deliver_outbox import deliver_outbox
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.audit import AuditAction, failed_sign_ins, recent_acts, record_act
from models.db import session_scope
from models.milestones import milestone_title
from models.plan import ReportDuty, plan_by_ref
from models.report import Report
from models.submission import Attachment, ReviewAction, Submission
from portal import security
from portal.board import STATES, board, plans
from portal.pages import client_of, download, not_found, page, read_form, refused
from portal.progress_chart import progress_chart
from portal.unit_page import page_context
from tasks.followup.milestone_calendar import plan_calendar
from tasks.intake.inbound import OUTCOMES, inbound, inbound_counts
from tasks.intake.review import review_submission
from tasks.intake.submissions import attachment_path
from templates import message, words

router = APIRouter(prefix="/admin")
MEDIA_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def _user(request: Request) -> str | None:
    return security.session_user(request.app.state.key, request.cookies.get(security.SESSION_COOKIE), time.time())


def _login_redirect() -> Response:
    return RedirectResponse("/admin/login", status_code=303)


async def _signed_in(request: Request, render: Callable[..., Response], *args: Any) -> Response:
    """`render(request, user, *args)` off the event loop for a signed-in user; the login page otherwise."""
    user = _user(request)
    if user is None:
        return _login_redirect()
    return await run_in_threadpool(render, request, user, *args)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return page(request, "login.html.j2", error=None, user="")  # nothing pre-filled: the name is half of what a guesser needs


def _failed_sign_ins(client: str) -> int:
    with session_scope() as session:
        return failed_sign_ins(session, client, clock.utc_now() - timedelta(seconds=security.THROTTLE_WINDOW_SECONDS))


@router.post("/login")
async def login(request: Request) -> Response:
    """Failed sign-ins are counted from the audit log, so that every process of the portal, and a restart,
    slows down and then refuses (429) the same guesser."""
    client = client_of(request)
    settings = get_settings()
    failures = await run_in_threadpool(_failed_sign_ins, client)
    if failures >= settings.portal_throttle_block:
        return refused(429)
    form = await read_form(request)
    expected = settings.dashboard_password.get_secret_value() if settings.dashboard_password else None
    name = str(form.get("user") or "")
    if name != settings.dashboard_user or not security.password_ok(str(form.get("password") or ""), expected):
        await run_in_threadpool(_record, name[:200], AuditAction.SIGN_IN_FAILED, "", client)
        if delay := security.backoff(failures + 1, free=settings.portal_throttle_free, base_delay=settings.portal_throttle_delay_seconds):
            await asyncio.sleep(delay)
        return page(request, "login.html.j2", status=401, error=message("portal.login_failed"), user=name)
    await run_in_threadpool(_record, name, AuditAction.SIGN_IN, "", client)
    response = RedirectResponse("/admin", status_code=303)
    cookie = security.session_cookie(request.app.state.key, name, time.time())
    response.set_cookie(security.SESSION_COOKIE, cookie, httponly=True, samesite="strict", secure=request.app.state.secure,
                        path="/admin", max_age=security.SESSION_SECONDS)  # fmt: skip
    return response


def _record(actor: str, action: AuditAction, subject: str, client: str | None, as_of: date | None = None) -> None:
    """One act in the audit log, in a transaction of its own (the act itself is already done)."""
    with session_scope() as session:
        record_act(session, actor, action, subject, as_of=as_of, client=client)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await read_form(request)
    if (user := _user(request)) is not None:
        await run_in_threadpool(_record, user, AuditAction.SIGN_OUT, "", client_of(request))
    response = _login_redirect()
    response.delete_cookie(security.SESSION_COOKIE, path="/admin")
    return response


def _plans(request: Request, user: str) -> Response:
    with session_scope() as session:
        rows = [
            {"key": p.key, "code": p.code, "title": p.title, "issuer": p.issuer.name, "year": p.year, "status": str(p.status), "level": p.level,
             "duties": [{"code": d.code, "title": d.title, "due_on": d.due_on, "kind": str(d.kind)} for d in p.duties]}
            for p in plans(session)
        ]  # fmt: skip
        replies = inbound_counts(session)
    return page(
        request, "admin_plans.html.j2", user=user, plans=rows, replies=replies, jobs=list(request.app.state.jobs.recent), as_of=request.app.state.today(),
    )  # fmt: skip


def _replies(request: Request, user: str) -> Response:
    wanted = request.query_params.get("outcome") or ""
    if wanted and wanted not in OUTCOMES:
        return not_found()
    with session_scope() as session:
        rows = inbound(session, outcome=wanted or None, limit=200)
        counts = inbound_counts(session)
    return page(request, "admin_replies.html.j2", user=user, rows=rows, counts=counts, outcomes=OUTCOMES, wanted=wanted)


@router.get("/replies")
async def replies_page(request: Request) -> Response:
    return await _signed_in(request, _replies)


def _audit(request: Request, user: str) -> Response:
    wanted = request.query_params.get("action") or ""
    if wanted and wanted not in {a.value for a in AuditAction}:
        return not_found()
    with session_scope() as session:
        acts = [
            {"at": e.at, "as_of": e.as_of, "actor": e.actor, "action": str(e.action), "subject": e.subject, "client": e.client, "detail": e.detail}
            for e in recent_acts(session, limit=300, action=AuditAction(wanted) if wanted else None)
        ]
    return page(request, "admin_audit.html.j2", user=user, acts=acts, actions=[a.value for a in AuditAction], wanted=wanted)


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    return await _signed_in(request, _audit)


@router.get("")
async def dashboard(request: Request) -> Response:
    return await _signed_in(request, _plans)


def _board(request: Request, user: str, plan_key: str, duty: str) -> Response:
    as_of = request.app.state.today()
    wanted = request.query_params.get("state")
    with session_scope() as session:
        plan = plan_by_ref(session, plan_key)
        if plan is None:
            return not_found()
        try:
            found = board(session, plan, duty, as_of)
        except NotFound:
            return not_found()
    rows = [r for r in found.rows if wanted in (None, "", r.state)]
    return page(request, "admin_board.html.j2", user=user, board=found, rows=rows, states=STATES, wanted=wanted or "",
                chart=progress_chart(found.rows, as_of), calendar=_duty_calendar(found.plan_key, found.duty_title),
                as_of=as_of, jobs=list(request.app.state.jobs.recent), notice=request.query_params.get("ok"))  # fmt: skip


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
    return await _signed_in(request, _board, plan_key, duty)


def _duty_exists(plan_key: str, duty: str) -> bool:
    with session_scope() as session:
        plan = plan_by_ref(session, plan_key)
        return plan is not None and any(d.code == duty for d in plan.duties)


@router.post("/plans/{plan_key}/{duty}/{action}")
async def start_flow(request: Request, plan_key: str, duty: str, action: str) -> Response:
    """'remind': every unit of the duty that has not reported gets a reminder now; 'consolidate': the
    duty is consolidated at every level as of today. Both run as Prefect flow runs."""
    user = _user(request)
    if user is None:
        return _login_redirect()
    await read_form(request)
    if not await run_in_threadpool(_duty_exists, plan_key, duty):
        return not_found()
    as_of = request.app.state.today()
    jobs = request.app.state.jobs
    if action == "remind":
        jobs.start(f"send-reminders {plan_key} {duty}", send_reminders, as_of, plan=plan_key, duty=duty, now=True)
    elif action == "consolidate":
        jobs.start(f"consolidate {plan_key} {duty}", consolidate, plan_key, duty, as_of)
    else:
        return not_found()
    acts = {"remind": AuditAction.REMIND_NOW, "consolidate": AuditAction.CONSOLIDATE}
    await run_in_threadpool(_record, user, acts[action], f"{plan_key} · {duty}", client_of(request), as_of)
    return RedirectResponse(f"/admin/plans/{plan_key}/{duty}?ok={action}", status_code=303)


def _assignment(request: Request, user: str, assignment_id: int, error: str | None = None, status: int = 200) -> Response:
    as_of = request.app.state.today()
    with session_scope() as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            return not_found()
        context = page_context(session, assignment, as_of)
        context["plan_key"], context["duty_code"] = assignment.duty.plan.key, assignment.duty.code
        context["root"] = _root_of(session, assignment)
    return page(request, "admin_assignment.html.j2", status=status, user=user, error=error, notice=request.query_params.get("ok"), **context)


def _root_of(session: Session, assignment: Assignment) -> dict[str, str]:
    """The plan and duty at the top of the chain the assignment reports into (its board)."""
    duty = assignment.duty
    while duty.source_duty_id is not None:
        duty = session.get_one(ReportDuty, duty.source_duty_id)
    return {"plan_key": duty.plan.key, "duty_code": duty.code}


@router.get("/assignments/{assignment_id}")
async def assignment_page(request: Request, assignment_id: int) -> Response:
    return await _signed_in(request, _assignment, assignment_id)


def _review(request: Request, user: str, submission_id: int, form: Any) -> Response:
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
        review = review_submission(submission_id, ReviewAction(action), reviewer=user, as_of=request.app.state.today(),
                                   comment=str(form.get("comment") or ""), score=score)  # fmt: skip
    except NotFound:
        return not_found()
    except ConflictError as exc:
        with session_scope() as session:
            assignment_id = session.get_one(Submission, submission_id).assignment_id
        return _assignment(request, user, assignment_id, error=str(exc), status=409)
    request.app.state.jobs.start("deliver-outbox", deliver_outbox, request.app.state.today())
    with session_scope() as session:
        submission = session.get_one(Submission, review.submission_id)
        assignment_id = submission.assignment_id
        subject = (
            f"{submission.assignment.duty.plan.code} · {submission.assignment.duty.code} · {submission.assignment.unit.name} · lần gửi {submission.version}"
        )
        record_act(session, user, AuditAction.REVIEW, subject, as_of=request.app.state.today(), client=client_of(request),
                   decision=action, comment=review.comment, score=str(review.score_after) if review.score_after is not None else None)  # fmt: skip
    return RedirectResponse(f"/admin/assignments/{assignment_id}?ok={action}", status_code=303)


@router.post("/submissions/{submission_id}/review")
async def review(request: Request, submission_id: int) -> Response:
    user = _user(request)
    if user is None:
        return _login_redirect()
    form = await read_form(request)
    return await run_in_threadpool(_review, request, user, submission_id, form)


def _report_file(report_id: int, index: int) -> Response:
    with session_scope() as session:
        report = session.get(Report, report_id)
        files = list(report.files) if report else []
    if not 0 <= index < len(files):  # an index into what the report recorded: no path comes from the request
        return not_found()
    path = Path(files[index])
    if not path.is_file():
        return not_found()
    return download(path.read_bytes(), path.name, MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


@router.get("/reports/{report_id}/{index}")
async def report_file(request: Request, report_id: int, index: int) -> Response:
    if _user(request) is None:
        return _login_redirect()
    return await run_in_threadpool(_report_file, report_id, index)


def _attachment(attachment_id: int) -> Response:
    with session_scope() as session:
        found = session.get(Attachment, attachment_id)
        if found is None:
            return not_found()
        name, sha, media_type = found.filename, found.sha256, found.content_type
    return download(attachment_path(sha).read_bytes(), name, media_type)


@router.get("/attachments/{attachment_id}")
async def attachment(request: Request, attachment_id: int) -> Response:
    if _user(request) is None:
        return _login_redirect()
    return await run_in_threadpool(_attachment, attachment_id)
