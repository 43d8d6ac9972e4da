"""The org chart on the secretariat's pages: the tree of the account's unit and those below it (an admin's:
all) with each unit's validity, a unit's detail with its accounts and plans, and, for admins, the upload
of a units file (CSV, Excel or YAML) read by the same importer as `cascade units import`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cascade.errors import ImportFileError, Problem
from models.audit import AuditAction, record_act
from models.db import session_scope
from models.plan import Plan
from models.unit import Unit, tree_order
from portal.access import admin_only, login_redirect, principal, signed_in
from portal.pages import client_of, not_found, page, read_form, upload_on_disk
from tasks.accounts.registry import account_rows
from tasks.accounts.scope import Principal, sees_unit
from tasks.plans.imports import import_units
from templates import message, words

router = APIRouter(prefix="/admin")
UNIT_FILES = (".csv", ".xlsx", ".yaml", ".yml", ".json")


def _tree(request: Request, who: Principal, *, problems: list[Problem] | None = None, file_name: str = "", status: int = 200) -> Response:
    as_of = request.app.state.today()
    with session_scope() as session:
        root = None if who.everywhere else session.get(Unit, who.unit_id)
        rows = [
            {"depth": depth, "code": u.code, "name": u.name, "emails": list(u.emails), "valid_from": u.valid_from, "valid_to": u.valid_to,
             "successor": u.successor.name if u.successor else None, "active": u.is_active(as_of)}
            for depth, u in tree_order(session, root.code if root is not None else None)
        ]  # fmt: skip
    done = request.query_params.get("ok") or ""
    notice = message("unit_pages.imported", counts=done) if done and all(part.isdigit() for part in done.split("-")) else None
    return page(request, "admin_units.html.j2", status=status, user=who.login, me=who, rows=rows, as_of=as_of, problems=problems or [],
                file_name=file_name, notice=notice)  # fmt: skip


@router.get("/units")
async def units_page(request: Request) -> Response:
    return await signed_in(request, _tree)


def _unit(request: Request, who: Principal, code: str) -> Response:
    as_of = request.app.state.today()
    with session_scope() as session:
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None or not sees_unit(session, who, unit.id):
            return not_found()
        detail = {
            "code": unit.code, "name": unit.name, "short_name": unit.short_name, "kind": words("unit_pages.kinds").get(str(unit.kind), str(unit.kind)),
            "emails": list(unit.emails), "head_title": unit.head_title, "head_name": unit.head_name, "head_email": unit.head_email,
            "valid_from": unit.valid_from, "valid_to": unit.valid_to, "successor": unit.successor, "active": unit.is_active(as_of),
            "parent": unit.parent if unit.parent is not None and sees_unit(session, who, unit.parent.id) else None,
            "children": sorted(unit.children, key=lambda c: c.code),
        }  # fmt: skip
        accounts = account_rows(session, [unit.id])
        plans = [
            {"key": p.key, "code": p.code, "title": p.title, "status": str(p.status)} for p in session.scalars(select(Plan).where(Plan.issuer_id == unit.id))
        ]
    return page(request, "admin_unit.html.j2", user=who.login, me=who, unit=detail, accounts=accounts, plans=plans,
                roles=words("accounts.roles"), as_of=as_of)  # fmt: skip


@router.get("/units/{code}")
async def unit_page(request: Request, code: str) -> Response:
    return await signed_in(request, _unit, code)


def _import(request: Request, who: Principal, name: str, content: bytes) -> Response:
    admin_only(who)
    suffix = Path(name).suffix.lower()
    if suffix not in UNIT_FILES:
        return _tree(request, who, problems=[Problem(message("unit_pages.bad_suffix", suffix=suffix or name))], file_name=name, status=400)
    with upload_on_disk(content, suffix) as path:
        try:
            result = import_units(path)
        except ImportFileError as exc:  # the temporary file's name means nothing to the office: the problems name rows and columns
            return _tree(request, who, problems=exc.problems, file_name=name, status=400)
    with session_scope() as session:
        record_act(session, who.login, AuditAction.IMPORT, name, client=client_of(request), created=result.created, updated=result.updated)
    return RedirectResponse(f"/admin/units?ok={result.created}-{result.updated}-{result.unchanged}", status_code=303)


@router.post("/units/import")
async def import_file(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    admin_only(who)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await run_in_threadpool(_tree, request, who, problems=[Problem(message("unit_pages.no_file"))], status=400)
    content = await upload.read()
    await form.close()
    return await run_in_threadpool(_import, request, who, upload.filename, content)
