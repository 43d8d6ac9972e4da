"""The portal: units report through their magic link; the secretariat follows and reviews on its dashboard.

`create_app` builds the FastAPI application. Its `today` supplies the day the portal acts on (the
real Vietnam date by default; the demo and tests replay days of the cycle). Pages are rendered from
`templates/web/` with the one Jinja2 environment, autoescaped; every POST carries a CSRF token;
every response carries the security headers; requests over the size limit get 413 unread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cascade import clock
from portal import security
from portal.jobs import Jobs
from cascade.settings import get_settings
from templates import TEMPLATE_DIR, render

STATIC = {"portal.css": ("web/portal.css", "text/css; charset=utf-8")}


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page of templates/web/, with the CSRF field for its forms (setting the cookie on first visit)."""
    key: bytes = request.app.state.key
    cookie = request.cookies.get(security.CSRF_COOKIE)
    fresh = cookie is None
    if fresh:
        cookie = security.new_csrf_cookie()
    html = render(f"web/{name}", csrf_field=security.CSRF_FIELD, csrf=security.csrf_token(key, cookie), **context)
    response = HTMLResponse(html, status_code=status)
    if fresh:
        response.set_cookie(security.CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=request.app.state.secure, path="/")
    return response


def not_found() -> HTMLResponse:
    """The one 404 page: a missing page, a wrong link and an expired link all look the same."""
    return HTMLResponse(render("web/error.html.j2", status=404), status_code=404)


def refused(status: int, **context: Any) -> HTMLResponse:
    return HTMLResponse(render("web/error.html.j2", status=status, **context), status_code=status)


async def read_form(request: Request) -> Any:
    """The POSTed form, once its CSRF pair and origin are checked; raises 403 otherwise."""
    settings = get_settings()
    form = await request.form(max_files=settings.portal_max_files + 1, max_fields=2000, max_part_size=1024 * 1024)
    own = f"{request.url.scheme}://{request.url.netloc}"
    if not security.csrf_ok(request.app.state.key, request.cookies.get(security.CSRF_COOKIE), form.get(security.CSRF_FIELD),  # type: ignore[arg-type]
                            request.headers.get("origin"), own):  # fmt: skip
        await form.close()  # its uploads are spooled to temporary files: drop them now
        raise StarletteHTTPException(403)
    return form


def download(content: bytes, filename: str, media_type: str) -> Response:
    """A file download; the name is given both plainly (ASCII) and exactly (RFC 6266 filename*)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=utf-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"content-disposition": disposition})


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def create_app(today: Callable[[], date] = clock.today, *, jobs: Jobs | None = None) -> FastAPI:
    """The portal application; `today` is the day it acts on, `jobs` runs the flows it starts."""
    settings = get_settings()
    jobs = jobs or Jobs()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(title="plan-cascade portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.today = today
    app.state.key = security.portal_key(settings)
    app.state.secure = settings.portal_base_url.startswith("https://")
    app.state.jobs = jobs
    app.state.throttle = security.Throttle(
        free=settings.portal_throttle_free, block=settings.portal_throttle_block, base_delay=settings.portal_throttle_delay_seconds
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found()
        return refused(exc.status_code)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:  # a fixed list: no path from the request reaches the file system
            return not_found()
        path, media_type = STATIC[name]
        return Response((TEMPLATE_DIR / path).read_bytes(), media_type=media_type, headers={"cache-control": "public, max-age=3600"})

    @app.get("/")
    def home() -> Response:
        return HTMLResponse(render("web/home.html.j2"))

    from portal import admin_routes, unit_routes

    app.include_router(unit_routes.router)
    app.include_router(admin_routes.router)
    app.add_middleware(security.SecurityHeaders)  # type: ignore[arg-type]
    limit = int(settings.portal_max_request_mb * 1024 * 1024)
    app.add_middleware(security.BodyLimit, limit=limit, page=lambda: render("web/error.html.j2", status=413, limit_mb=settings.portal_max_request_mb).encode())  # type: ignore[arg-type]
    return app
