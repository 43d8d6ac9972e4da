"""Signing in to the secretariat's pages (password, or a one-time link by email), signing out, and a
person's own account (their password). Sessions live in the database (tasks.accounts.signin)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cascade import clock
from cascade.errors import InvalidValue
from cascade.settings import get_settings
from flows.deliver_outbox import deliver_outbox
from models.audit import failed_sign_ins
from models.db import session_scope
from portal import security
from portal.access import login_redirect, principal, signed_in
from portal.pages import client_of, page, read_form, refused
from tasks.accounts.registry import set_password
from tasks.accounts.scope import Principal
from tasks.accounts.signin import end_session, link_is_open, request_sign_in_link, sign_in_with_link, sign_in_with_password
from templates import message, words

router = APIRouter(prefix="/admin")


def _signed_in_response(request: Request, token: str) -> Response:
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(security.SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.secure, path="/admin",
                        max_age=int(get_settings().session_hours * 3600))  # fmt: skip
    return response


def _login_page(request: Request, *, status: int = 200, error: str | None = None, notice: str | None = None, user: str = "") -> Response:
    """The sign-in page; the name is filled in only with what this person just typed (never a default: a
    name on the page is half of what a guesser needs)."""
    return page(request, "login.html.j2", status=status, error=error, notice=notice, user=user)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_page(request)


def _failed_sign_ins(client: str) -> int:
    with session_scope() as session:
        return failed_sign_ins(session, client, clock.utc_now() - timedelta(seconds=security.THROTTLE_WINDOW_SECONDS))


def _password_sign_in(login: str, password: str, client: str) -> str | None:
    with session_scope() as session:
        return sign_in_with_password(session, login, password, now=clock.utc_now(), client=client)


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
    login_name = str(form.get("user") or "").strip()
    token = await run_in_threadpool(_password_sign_in, login_name, str(form.get("password") or ""), client)
    if token is None:
        if delay := security.backoff(failures + 1, free=settings.portal_throttle_free, base_delay=settings.portal_throttle_delay_seconds):
            await asyncio.sleep(delay)
        return _login_page(request, status=401, error=message("portal.login_failed"), user=login_name)
    return _signed_in_response(request, token)


def _ask_for_link(request: Request, email: str, client: str) -> bool:
    with session_scope() as session:
        asked = request_sign_in_link(session, email, now=clock.utc_now(), base_url=get_settings().portal_base_url, client=client)
    if asked.sent:
        request.app.state.jobs.start("deliver-outbox", deliver_outbox, request.app.state.today())
    return asked.sent


@router.post("/login/link")
async def ask_for_link(request: Request) -> Response:
    """Send a one-time sign-in link to an account's address. The answer is the same whether or not the
    address has an account, so the page tells a stranger nothing; it counts against the same throttle."""
    client = client_of(request)
    settings = get_settings()
    if await run_in_threadpool(_failed_sign_ins, client) >= settings.portal_throttle_block:
        return refused(429)
    form = await read_form(request)
    await run_in_threadpool(_ask_for_link, request, str(form.get("email") or "")[:254], client)
    return _login_page(request, notice=message("accounts.link_sent", minutes=f"{settings.sign_in_link_minutes:g}"))


def _link_open(token: str) -> bool:
    with session_scope() as session:
        return link_is_open(session, token, now=clock.utc_now())


@router.get("/login/link/{token}")
async def link_page(request: Request, token: str) -> Response:
    """The page behind an emailed link: a button that signs in. Opening the link uses nothing, so a mail
    scanner that follows links cannot spend it before its owner does."""
    if not await run_in_threadpool(_link_open, token):
        return _login_page(request, status=404, error=message("accounts.link_closed"))
    return page(request, "login_link.html.j2", token=token)


def _link_sign_in(token: str, client: str) -> str | None:
    with session_scope() as session:
        return sign_in_with_link(session, token, now=clock.utc_now(), client=client)


@router.post("/login/link/{token}")
async def use_link(request: Request, token: str) -> Response:
    await read_form(request)
    session_token = await run_in_threadpool(_link_sign_in, token, client_of(request))
    if session_token is None:
        return _login_page(request, status=404, error=message("accounts.link_closed"))
    return _signed_in_response(request, session_token)


def _sign_out(token: str | None, client: str) -> None:
    with session_scope() as session:
        end_session(session, token, now=clock.utc_now(), client=client)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await read_form(request)
    await run_in_threadpool(_sign_out, request.cookies.get(security.SESSION_COOKIE), client_of(request))
    response = login_redirect()
    response.delete_cookie(security.SESSION_COOKIE, path="/admin")
    return response


def _own_account(request: Request, who: Principal, error: str | None = None, notice: str | None = None, status: int = 200) -> Response:
    return page(request, "admin_account.html.j2", status=status, user=who.login, me=who, error=error, notice=notice,
                role_word=words("accounts.roles")[str(who.role)], min_length=get_settings().password_min_length)  # fmt: skip


@router.get("/account")
async def own_account(request: Request) -> Response:
    return await signed_in(request, _own_account)


def _change_password(request: Request, who: Principal, password: str, again: str) -> Response:
    if who.unit_id is None:  # the built-in admin's password is a setting
        return _own_account(request, who, error=message("accounts.builtin_password"), status=409)
    if password != again:
        return _own_account(request, who, error=message("accounts.password_mismatch"), status=400)
    try:
        with session_scope() as session:
            set_password(session, who.login, password, actor=who.login, client=client_of(request))
    except InvalidValue as exc:
        return _own_account(request, who, error=str(exc), status=400)
    return _own_account(request, who, notice=message("accounts.password_set"))


@router.post("/account")
async def change_password(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return login_redirect()
    form = await read_form(request)
    return await run_in_threadpool(_change_password, request, who, str(form.get("password") or ""), str(form.get("again") or ""))
