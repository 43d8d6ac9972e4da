"""Amending an issued plan on the secretariat's pages: the office uploads the amendment file (the plan as exported,
edited, with its `amendment:` block); it is checked at once, all or nothing, and run as an ordinary `amend-plan`
flow (`cascade plan amend`). The file is kept in the workspace with the plan's documents."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cascade import clock
from cascade.errors import CascadeError, ImportFileError
from cascade.settings import get_settings
from flows.amend_plan import amend_plan
from models.audit import AuditAction, record_act
from models.db import session_scope
from models.plan import Plan, PlanStatus, plan_by_ref
from portal.access import login_redirect, may_act, principal, signed_in
from portal.pages import client_of, download, not_found, page, read_form
from tasks.accounts.scope import Principal, sees_unit
from tasks.plans.exports import plan_yaml
from tasks.plans.versions import check_amendment
from templates import message

router = APIRouter(prefix="/admin")


def _amendable(session: Session, who: Principal, key: str) -> Plan | None:
    plan = plan_by_ref(session, key)
    return plan if plan is not None and plan.status == PlanStatus.ISSUED and sees_unit(session, who, plan.issuer_id) else None


def _store(key: str, name: str, content: bytes, when: datetime) -> str:
    """The upload kept under the plan's documents ('amendments/<key>/20240219-083000.yaml'): the flow reads it later."""
    suffix = ".json" if name.lower().endswith(".json") else ".yaml"
    folder = get_settings().documents_dir / key / "amendments"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when:%Y%m%d-%H%M%S-%f}{suffix}"
    path.write_bytes(content)
    return str(path)


def _problems(request: Request, who: Principal, key: str, name: str, problems: list[str]) -> Response:
    return page(request, "admin_plan_amend.html.j2", status=400, user=who.login, me=who, key=key, file_name=name, problems=problems)


def _amendable_key(who: Principal, key: str) -> str | None:
    with session_scope() as session:
        plan = _amendable(session, who, key)
        return plan.key if plan is not None else None


def _amend(request: Request, who: Principal, key: str, name: str, content: bytes) -> Response:
    path = _store(key, name, content, clock.utc_now())
    try:
        check_amendment(key, path)
    except ImportFileError as exc:
        return _problems(request, who, key, name, [str(p) for p in exc.problems])
    except CascadeError as exc:
        return _problems(request, who, key, name, [str(exc)])
    as_of = request.app.state.today()
    request.app.state.jobs.start(f"amend-plan {key}", amend_plan, key, path, as_of, owner=who.login)
    with session_scope() as session:
        record_act(session, who.login, AuditAction.AMEND, key, as_of=as_of, client=client_of(request), file=name)
    return RedirectResponse(f"/admin/plan/{key}?ok=amended", status_code=303)


def _plan_file(request: Request, who: Principal, key: str) -> Response:
    with session_scope() as session:
        plan = plan_by_ref(session, key)
        if plan is None or not sees_unit(session, who, plan.issuer_id):
            return not_found()
        text = plan_yaml(session, plan)
        name = message("plan_pages.plan_file_name", key=plan.key)
    return download(text.encode("utf-8"), name, "application/yaml")


@router.get("/plan/{key}/plan.yaml")
async def plan_file(request: Request, key: str) -> Response:
    """The plan in the plan file format (`cascade plan export`): to edit into an amendment, or into a draft's next version."""
    return await signed_in(request, _plan_file, key)


@router.post("/plan/{key}/amend")
async def amend(request: Request, key: str) -> Response:
    """Check an uploaded amendment file against the plan and, when it has no problem, amend the plan on the portal's day."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    try:
        found = await run_in_threadpool(_amendable_key, who, key)
        if found is None:
            return not_found()
        may_act(who)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _problems(request, who, found, "", [message("plan_pages.no_file")])
        name, content = upload.filename, await upload.read()
    finally:
        await form.close()
    return await run_in_threadpool(_amend, request, who, found, name, content)
