"""The admin's pages for accounts: the list, adding one, disabling and enabling. Everyone else gets 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cascade import clock
from cascade.errors import CascadeError
from models.account import Account
from models.db import session_scope
from models.unit import tree_order
from portal.access import admin_only, login_redirect, principal, signed_in
from portal.pages import client_of, not_found, page, read_form
from tasks.accounts.registry import account_rows, add_account, parse_role, set_disabled
from tasks.accounts.scope import Principal
from templates import message, words

router = APIRouter(prefix="/admin")


def _accounts(request: Request, who: Principal, *, error: str | None = None, status: int = 200, form: dict[str, str] | None = None) -> Response:
    admin_only(who)
    with session_scope() as session:
        rows = account_rows(session)
        units = tree_order(session)
    # A fixed sentence chosen by a word of the address: nothing the address carries is shown
    notices = {"added": message("accounts.added"), "disabled": message("accounts.disabled"), "enabled": message("accounts.enabled")}
    notice = notices.get(request.query_params.get("ok") or "")
    return page(request, "admin_accounts.html.j2", status=status, user=who.login, me=who, accounts=rows, units=units, roles=words("accounts.roles"),
                error=error, notice=notice, form=form or {"unit": "", "email": "", "role": "secretariat"})  # fmt: skip


@router.get("/accounts")
async def accounts_page(request: Request) -> Response:
    return await signed_in(request, _accounts)


def _add(request: Request, who: Principal, fields: dict[str, str]) -> Response:
    admin_only(who)
    try:
        with session_scope() as session:
            add_account(session, fields["unit"], fields["email"], parse_role(fields["role"]), actor=who.login, now=clock.utc_now(),
                                  client=client_of(request))  # fmt: skip
    except CascadeError as exc:
        return _accounts(request, who, error=str(exc), status=400, form=fields)
    return RedirectResponse("/admin/accounts?ok=added", status_code=303)


@router.post("/accounts")
async def add(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    fields = {name: str(form.get(name) or "").strip()[:254] for name in ("unit", "email", "role")}
    return await run_in_threadpool(_add, request, who, fields)


def _switch(request: Request, who: Principal, account_id: int, action: str) -> Response:
    admin_only(who)
    with session_scope() as session:
        account: Any = session.get(Account, account_id)
        if account is None or action not in ("disable", "enable"):
            return not_found()
        set_disabled(session, account.email, action == "disable", actor=who.login, now=clock.utc_now(), client=client_of(request))
    return RedirectResponse(f"/admin/accounts?ok={action}d", status_code=303)


@router.post("/accounts/{account_id}/{action}")
async def switch(request: Request, account_id: int, action: str) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    await read_form(request)
    return await run_in_threadpool(_switch, request, who, account_id, action)
