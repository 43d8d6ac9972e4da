"""A plan on the secretariat's pages: read it, adjust the draft drafted for the unit (tasks, targets, deadlines),
preview its Word document as PDF, issue it with a number from the register and start its cascade; a top
level's office imports its plan file. The checks are the importers' own (tasks.plans.editing), and every
route holds to the account's scope (portal.access)."""

from __future__ import annotations

import io
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cascade.errors import CascadeError, ImportFileError
from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from flows.issue_plan import issue_plan
from models.assignment import Assignment
from models.audit import AuditAction, record_act
from models.db import session_scope
from models.plan import Plan, PlanAmendment, PlanStatus, ReportDuty, plan_by_ref
from models.unit import Unit
from portal.access import login_redirect, may_act, principal, signed_in, visible_jobs
from portal.pages import client_of, download, not_found, page, read_form, refused, upload_on_disk
from tasks.accounts.scope import Principal, sees_unit
from tasks.cascading.implementing import next_number
from tasks.documents.pdf import pdf_available, to_pdf
from tasks.documents.word import write_plan_document
from tasks.intake.access import close_duty
from tasks.plans.changes import PlanChange, plan_changes
from tasks.plans.editing import FieldProblem, edited_document, form_problems, save_edited
from tasks.plans.exports import plan_document
from tasks.plans.imports import import_plan_file, load_plan, own_deadlines
from tasks.plans.targets import inherited_value, target_sharers
from tasks.plans.workbook import plan_workbook
from templates import message

router = APIRouter(prefix="/admin")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTICES = ("saved", "issued", "imported", "cascaded", "duty-closed", "amended")


def _plan_in_scope(session: Session, who: Principal, key: str) -> Plan | None:
    plan = plan_by_ref(session, key)
    return plan if plan is not None and sees_unit(session, who, plan.issuer_id) else None


def _asked_of_issuer(session: Session, plan: Plan) -> tuple[dict[str, Any], dict[str, date]]:
    """What the parent plan asks of this plan's issuer: each target's value, each duty's deadline."""
    parent = plan.parent_plan
    if parent is None:
        return {}, {}
    sharers = target_sharers(session, parent, plan.issued_on)
    targets = {t.code: inherited_value(t, plan.issuer.code, sharers.get(t.code, [])) for t in parent.targets}
    return targets, own_deadlines(session, parent, plan.issuer_id)


def _shown(change: PlanChange) -> PlanChange:
    """A change as the page prints it: days as 23/10/2024, numbers with a decimal comma."""
    if change.kind == "deadline":
        return replace(change, before=f"{date.fromisoformat(change.before):%d/%m/%Y}", after=f"{date.fromisoformat(change.after):%d/%m/%Y}")
    if change.kind == "target":
        return replace(change, before=change.before.replace(".", ","), after=change.after.replace(".", ","))
    return change


def _plan_page(request: Request, who: Principal, key: str, *, form: dict[str, str] | None = None, problems: list[FieldProblem] | None = None,
               status: int = 200) -> Response:  # fmt: skip
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        if plan is None:
            return not_found()
        whole = plan_document(session, plan)
        document = whole["plan"]
        changes = [_shown(c) for c in plan_changes(plan.drafted, whole)] if plan.drafted else None
        for duty in document["duties"]:
            duty["due_date"] = date.fromisoformat(duty["due_on"])
        asked_targets, asked_deadlines = _asked_of_issuer(session, plan)
        assigned = session.scalar(select(Assignment.id).join(ReportDuty).where(ReportDuty.plan_id == plan.id).limit(1)) is not None
        context = {
            "plan": {"key": plan.key, "code": plan.code, "status": str(plan.status), "level": plan.level, "issuer": plan.issuer.name,
                     "issued_on": plan.issued_on, "parent": plan.parent_plan.code if plan.parent_plan else None,
                     "parent_key": plan.parent_plan.key if plan.parent_plan else None,
                     "parent_in_scope": plan.parent_plan is not None and sees_unit(session, who, plan.parent_plan.issuer_id)},
            "doc": document, "asked_targets": asked_targets, "asked_deadlines": asked_deadlines, "assigned": assigned,
            "next_number": next_number(session, plan.issuer_id, plan.year), "changes": changes,
            "duty_states": [{"code": d.code, "title": d.title, "closed_on": d.closed_on, "note": d.closed_note} for d in plan.duties if not d.withdrawn],
            "version": plan.version,
            "amendments": [{"version": a.version, "code": a.code, "issued_on": a.issued_on, "kind_word": a.kind_word, "changes": len(a.changes)}
                           for a in session.scalars(select(PlanAmendment).where(PlanAmendment.plan_id == plan.id).order_by(PlanAmendment.version))],
        }  # fmt: skip
    ok = request.query_params.get("ok") or ""
    return page(request, "admin_plan.html.j2", status=status, user=who.login, me=who, form=form or {}, problems=problems or [],
                field_problems={p.field: p.message for p in problems or [] if p.field}, as_of=request.app.state.today(),
                notice=ok if ok in NOTICES else None, pdf=pdf_available(), jobs=visible_jobs(request, who), **context)  # fmt: skip


@router.get("/plan/{key}")
async def plan_page(request: Request, key: str) -> Response:
    return await signed_in(request, _plan_page, key)


def _save(request: Request, who: Principal, key: str, form: dict[str, str]) -> Response:
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        if plan is None:
            return not_found()
        if plan.status != PlanStatus.DRAFT:
            return refused(409, detail=message("plan_pages.not_draft"))
        document = plan_document(session, plan)
    edited, problems = edited_document(document, form)
    if not problems:
        try:
            save_edited(edited, get_settings().workspace / "tmp")
        except ImportFileError as exc:
            problems = form_problems(exc)
    if problems:
        return _plan_page(request, who, key, form=form, problems=problems, status=400)
    with session_scope() as session:
        record_act(session, who.login, AuditAction.PLAN_EDIT, key, as_of=request.app.state.today(), client=client_of(request))
    return RedirectResponse(f"/admin/plan/{key}?ok=saved", status_code=303)


@router.post("/plan/{key}")
async def save_plan(request: Request, key: str) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    posted = await read_form(request)
    may_act(who)
    form = {name: value for name, value in posted.items() if isinstance(value, str) and name != "csrf"}
    return await run_in_threadpool(_save, request, who, key, form)


def _document(request: Request, who: Principal, key: str, as_pdf: bool) -> Response:
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        if plan is None:
            return not_found()
        docx = write_plan_document(session, plan)
    if not as_pdf:
        return download(docx.read_bytes(), docx.name, DOCX)
    if not pdf_available():
        return refused(503, detail=message("plan_pages.no_pdf"))
    with tempfile.TemporaryDirectory() as folder:
        pdf = to_pdf([docx], Path(folder))[0]
        return Response(pdf.read_bytes(), media_type="application/pdf", headers={"content-disposition": "inline"})


@router.get("/plan/{key}/preview.pdf")
async def plan_pdf(request: Request, key: str) -> Response:
    return await signed_in(request, _document, key, True)


@router.get("/plan/{key}/document.docx")
async def plan_docx(request: Request, key: str) -> Response:
    return await signed_in(request, _document, key, False)


def _issuable(who: Principal, key: str) -> tuple[str, int] | None:
    """(the plan's key, its issuer's id) if the principal may issue it (a draft in scope), else None."""
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        return (plan.key, plan.issuer_id) if plan is not None and plan.status == PlanStatus.DRAFT else None


@router.post("/plan/{key}/issue")
async def issue(request: Request, key: str) -> Response:
    """Issue the draft on the portal's day with the number typed (from the issuer's register), then cascade it:
    an ordinary `issue-plan` flow run."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    found = await run_in_threadpool(_issuable, who, key)
    if found is None:
        return not_found()
    may_act(who)
    number = str(form.get("number") or "").strip()
    if not number[:1].isdigit() or len(number) > 16:
        return await run_in_threadpool(
            _plan_page, request, who, key, problems=[FieldProblem("number", message("plan_pages.bad_number", number=number))], status=400
        )
    as_of = request.app.state.today()
    request.app.state.jobs.start(f"issue-plan {found[0]}", issue_plan, found[0], as_of, number=number, owner=who.login)
    await run_in_threadpool(_record, who.login, AuditAction.ISSUE, found[0], client_of(request), as_of, number)
    return RedirectResponse(f"/admin/plan/{found[0]}?ok=issued", status_code=303)


def _record(actor: str, action: AuditAction, subject: str, client: str, as_of: date, number: str | None = None) -> None:
    with session_scope() as session:
        record_act(session, actor, action, subject, as_of=as_of, client=client, **({"number": number} if number else {}))


def _cascadable(who: Principal, key: str) -> str | None:
    """The key of an issued top plan in scope that has not been cascaded yet (None otherwise)."""
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        if plan is None or plan.status != PlanStatus.ISSUED or plan.parent_plan_id is not None:
            return None
        assigned = session.scalar(select(Assignment.id).join(ReportDuty).where(ReportDuty.plan_id == plan.id).limit(1))
        return plan.key if assigned is None else None


@router.post("/plan/{key}/cascade")
async def cascade(request: Request, key: str) -> Response:
    """Cascade an issued plan to the units below its issuer: an ordinary `cascade-plan` flow run."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    await read_form(request)
    found = await run_in_threadpool(_cascadable, who, key)
    if found is None:
        return not_found()
    may_act(who)
    as_of = request.app.state.today()
    request.app.state.jobs.start(f"cascade-plan {found}", cascade_plan, found, as_of, owner=who.login)
    await run_in_threadpool(_record, who.login, AuditAction.CASCADE, found, client_of(request), as_of)
    return RedirectResponse(f"/admin/plan/{found}?ok=cascaded", status_code=303)


def _duty_closable(who: Principal, key: str, duty: str) -> tuple[str, str] | None:
    """(the plan's key, the duty's code) if the principal may close the duty: one still open, of an issued plan in scope."""
    with session_scope() as session:
        plan = _plan_in_scope(session, who, key)
        if plan is None or plan.status != PlanStatus.ISSUED:
            return None
        found = next((d for d in plan.duties if d.code == duty and d.closed_on is None), None)
        return (plan.key, found.code) if found is not None else None


@router.post("/plan/{key}/close-duty")
async def close_duty_early(request: Request, key: str) -> Response:
    """End one duty of an issued plan on the portal's day, with every duty answering it down the levels: no more
    reminders, overdue notices or escalations for it (`cascade plan close PLAN --duty CODE`)."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    found = await run_in_threadpool(_duty_closable, who, key, str(form.get("duty") or ""))
    if found is None:
        return not_found()
    may_act(who)
    as_of = request.app.state.today()
    await run_in_threadpool(close_duty, found[0], found[1], as_of)
    await run_in_threadpool(_record, who.login, AuditAction.CLOSE_DUTY, f"{found[0]}/{found[1]}", client_of(request), as_of)
    return RedirectResponse(f"/admin/plan/{found[0]}?ok=duty-closed", status_code=303)


def _import(request: Request, who: Principal, name: str, content: bytes) -> Response:
    """Import an uploaded plan file whose issuer is in the principal's scope; its problems by line, all or nothing."""
    suffix = next((s for s in (".json", ".xlsx") if name.lower().endswith(s)), ".yaml")
    with upload_on_disk(content, suffix) as path:
        try:
            issuer = load_plan(path).spec.issuer
            with session_scope() as session:
                unit_id = session.scalar(select(Unit.id).where(Unit.code == issuer))
                if unit_id is not None and not sees_unit(session, who, unit_id):
                    return _plans_with_error(request, who, name, [message("plan_pages.issuer_out_of_scope", issuer=issuer)])
            imported = import_plan_file(path)
        except ImportFileError as exc:
            return _plans_with_error(request, who, name, [str(p) for p in exc.problems])
        except CascadeError as exc:
            return _plans_with_error(request, who, name, [str(exc)])
    with session_scope() as session:
        record_act(session, who.login, AuditAction.IMPORT, f"{name} → {imported.key}", client=client_of(request))
    return RedirectResponse(f"/admin/plan/{imported.key}?ok=imported", status_code=303)


def _plans_with_error(request: Request, who: Principal, name: str, problems: list[str]) -> Response:
    return page(request, "admin_plan_import.html.j2", status=400, user=who.login, me=who, file_name=name, problems=problems)


def _template(request: Request, who: Principal) -> Response:
    buffer = io.BytesIO()
    plan_workbook().save(buffer)
    return download(buffer.getvalue(), message("plan_pages.template_name"), XLSX)


@router.get("/plans/template.xlsx")
async def template(request: Request) -> Response:
    """The plan workbook's template: fill it in and import it like a plan file."""
    return await signed_in(request, _template)


@router.post("/plans/import")
async def import_plan(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    may_act(who)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return page(request, "admin_plan_import.html.j2", status=400, user=who.login, me=who, file_name="", problems=[message("plan_pages.no_file")])
    content = await upload.read()
    await form.close()
    return await run_in_threadpool(_import, request, who, upload.filename, content)
