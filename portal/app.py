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
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cascade import clock
from cascade.settings import get_settings
from portal import account_routes, admin_routes, amendment_routes, plan_routes, security, sign_in_routes, unit_routes, unit_tree_routes
from portal.jobs import Jobs
from portal.pages import not_found, refused
from templates import TEMPLATE_DIR, render

STATIC = {"portal.css": ("web/portal.css", "text/css; charset=utf-8")}


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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found()
        # A reason the route gave (not the status's own phrase, which Starlette puts there by default)
        detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else None
        return refused(exc.status_code, detail=detail)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:  # a fixed list: no path from the request reaches the file system
            return not_found()
        path, media_type = STATIC[name]
        return Response((TEMPLATE_DIR / path).read_bytes(), media_type=media_type, headers={"cache-control": "public, max-age=3600"})

    @app.get("/")
    def home() -> Response:
        return HTMLResponse(render("web/home.html.j2"))

    app.include_router(unit_routes.router)
    app.include_router(sign_in_routes.router)
    app.include_router(account_routes.router)
    app.include_router(plan_routes.router)
    app.include_router(amendment_routes.router)
    app.include_router(unit_tree_routes.router)
    app.include_router(admin_routes.router)
    app.add_middleware(security.SecurityHeaders)
    limit = int(settings.portal_max_request_mb * 1024 * 1024)
    app.add_middleware(security.BodyLimit, limit=limit, page=lambda: render("web/error.html.j2", status=413, limit_mb=settings.portal_max_request_mb).encode())
    return app
