"""Who is asking: the signed-in principal of a request (its session in the database), and the one way
routes run a page for them. Out-of-scope objects answer 404, as missing ones do, so that a ward's
secretariat cannot even learn which plans of other wards exist; a viewer's POST answers 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cascade import clock
from models.db import session_scope
from portal import security
from tasks.accounts.scope import Principal
from tasks.accounts.signin import principal_of
from templates import message


def _lookup(token: str | None) -> Principal | None:
    with session_scope() as session:
        return principal_of(session, token, now=clock.utc_now())


async def principal(request: Request) -> Principal | None:
    """The request's signed-in principal, or None (no cookie, or its session is over)."""
    token = request.cookies.get(security.SESSION_COOKIE)
    return await run_in_threadpool(_lookup, token) if token else None


def login_redirect() -> Response:
    return RedirectResponse("/admin/login", status_code=303)


async def signed_in(request: Request, render: Callable[..., Response], *args: Any) -> Response:
    """`render(request, principal, *args)` off the event loop for a signed-in principal; the sign-in page otherwise."""
    who = await principal(request)
    if who is None:
        return login_redirect()
    return await run_in_threadpool(render, request, who, *args)


def visible_jobs(request: Request, who: Principal) -> list[Any]:
    """The flow runs started from the portal that this principal may see: an admin all, others their own."""
    return [job for job in request.app.state.jobs.recent if who.is_admin or job.owner == who.login]


def may_act(who: Principal) -> None:
    """Raise 403 unless the principal may change things (a viewer may not)."""
    if not who.can_act:
        raise StarletteHTTPException(403, detail=message("accounts.viewer_only"))


def admin_only(who: Principal) -> None:
    """Raise 404 (the page does not exist for them) unless the principal is an admin."""
    if not who.is_admin:
        raise StarletteHTTPException(404)
