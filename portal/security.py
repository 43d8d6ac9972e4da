"""The portal's protections: its key, CSRF tokens, the name of the session cookie (the sessions
themselves are kept in the database: tasks.accounts.signin), slowing down guessers, the request-size
limit and the security headers.

CSRF uses a double-submit pair: a random cookie (SameSite=Lax, HttpOnly) and a form field holding an
HMAC of it under the portal's key. A page from another site can make the browser send the cookie
but cannot read it, so it cannot compute the field; a foreign Origin header is refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cascade.settings import Settings

CSRF_COOKIE = "cascade_csrf"
CSRF_FIELD = "csrf"
SESSION_COOKIE = "cascade_session"


def portal_key(settings: Settings) -> bytes:
    """The configured secret, or a random one kept in the workspace (0600) so restarts keep sessions."""
    if settings.portal_secret is not None:
        return settings.portal_secret.get_secret_value().encode()
    path = settings.workspace / "portal.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(secrets.token_urlsafe(32))
        partial.chmod(0o600)
        partial.replace(path)
    return path.read_text().strip().encode()


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(key: bytes, cookie: str) -> str:
    """The form field that goes with a CSRF cookie."""
    return _sign(key, f"csrf:{cookie}")


def csrf_ok(key: bytes, cookie: str | None, field: str | None, origin: str | None, own_origin: str) -> bool:
    """Whether a POST carries the field matching its cookie and, if the browser names an origin, comes from ours.
    'null' names none (privacy settings and sandboxed frames send it): the token alone decides then."""
    if origin not in (None, "null") and origin.rstrip("/") != own_origin.rstrip("/"):
        return False
    if not cookie or not field:
        return False
    return hmac.compare_digest(csrf_token(key, cookie), field)


THROTTLE_WINDOW_SECONDS = 900.0


def backoff(attempts: int, *, free: int, base_delay: float, max_delay: float = 8.0) -> float:
    """How long to hold back the answer to the `attempts`-th bad attempt in the window: nothing for the
    first `free`, then `base_delay`, doubling with each further one, up to `max_delay`."""
    over = attempts - free
    return 0.0 if over <= 0 else min(base_delay * 2 ** (over - 1), max_delay)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answers 413 to a request whose body is over `limit` bytes: at once from its Content-Length,
    before a byte of it is read, or, for a chunked body, as soon as the running count passes it
    (the handler is stopped before anything is stored)."""

    def __init__(self, app: ASGIApp, limit: int, page: Callable[[], bytes]) -> None:
        self.app, self.limit, self.page = app, limit, page

    async def _refuse(self, send: Send) -> None:
        body = self.page()
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers + SECURITY_HEADERS})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted_receive() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracked_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)


# Nothing from another origin, no framing, no referrer to other sites: a unit's page address is its
# key and must not leak to a site its page links to. 'same-origin' rather than 'no-referrer', under
# which Chromium sends 'Origin: null' on our own forms and the origin check would learn nothing.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(n, v) for n, v in SECURITY_HEADERS if n not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
