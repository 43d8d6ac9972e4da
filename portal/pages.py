"""What every route answers with: pages rendered from templates/web/ (with their CSRF field), the one
404 page, refusals, checked form posts and file downloads."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from cascade.settings import get_settings
from portal import security
from templates import render


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page of templates/web/, with the CSRF field for its forms (setting the cookie on first visit)."""
    key: bytes = request.app.state.key
    cookie = request.cookies.get(security.CSRF_COOKIE)
    fresh = cookie is None
    if cookie is None:
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


async def read_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF pair and origin are checked; raises 403 otherwise."""
    settings = get_settings()
    form = await request.form(max_files=settings.portal_max_files + 1, max_fields=2000, max_part_size=1024 * 1024)
    own = f"{request.url.scheme}://{request.url.netloc}"
    token = form.get(security.CSRF_FIELD)  # an upload under the field's name is no token
    if not security.csrf_ok(request.app.state.key, request.cookies.get(security.CSRF_COOKIE), token if isinstance(token, str) else None,
                            request.headers.get("origin"), own):  # fmt: skip
        await form.close()  # its uploads are spooled to temporary files: drop them now
        raise StarletteHTTPException(403)
    return form


def download(content: bytes, filename: str, media_type: str) -> Response:
    """A file download; the name is given both plainly (ASCII) and exactly (RFC 6266 filename*)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=utf-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"content-disposition": disposition})


@contextmanager
def upload_on_disk(content: bytes, suffix: str) -> Iterator[Path]:
    """An uploaded file's bytes in a temporary file of the workspace named only by `suffix` (no name from
    the request reaches the file system), for the importers that read paths; removed afterwards."""
    folder = get_settings().workspace / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", suffix=suffix, dir=folder, delete=False) as handle:
        handle.write(content)
        path = Path(handle.name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"
