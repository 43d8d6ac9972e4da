"""Unknown links to units' pages, counted in the audit log by client address and by the link's first
characters together: every process of the portal and a restart share the counts, and one person's
mistyped link slows down that link, not the colleagues behind the same office address.

A link that opens a page is always served, whatever its address did before: a link holds 192 random
bits, so the guard only keeps a guesser from costing the server much. Per (address, first characters
of the link): the first `portal_throttle_free` unknown links cost nothing, each further one waits twice
as long (up to 8 s), and from `portal_throttle_block` on that link pattern gets 429. Per address, every
unknown link together: 429 from `portal_throttle_address_block` on, within the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from cascade import clock
from cascade.settings import get_settings
from models.audit import AuditAction, AuditEvent, record_act
from models.db import session_scope
from portal.security import THROTTLE_WINDOW_SECONDS, backoff

PREFIX = 6  # characters of a link that tell one person's mistyped link from another's
ANONYMOUS = "anonymous"


def _prefix(token: str) -> str:
    return token[:PREFIX]


def _counts(client: str, prefix: str, since: datetime) -> tuple[int, int]:
    """Unknown links from `client` since `since`: those starting like this one, and all of them."""
    with session_scope() as session:
        recent = (
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == AuditAction.BAD_LINK, AuditEvent.client == client, AuditEvent.at >= since)
        )
        return session.scalar(recent.where(AuditEvent.subject == prefix)) or 0, session.scalar(recent) or 0


def over_limit(client: str, token: str) -> bool:
    """Whether unknown links like `token` from `client` are refused (429) for now."""
    same, everything = _counts(client, _prefix(token), clock.utc_now() - timedelta(seconds=THROTTLE_WINDOW_SECONDS))
    return _refused(same, everything)


def _refused(same: int, everything: int) -> bool:
    settings = get_settings()
    return same >= settings.portal_throttle_block or everything >= settings.portal_throttle_address_block


def unknown_link(client: str, token: str) -> tuple[float, bool]:
    """Record an unknown link from `client`; returns how long to hold the 404 back, and whether to answer 429
    instead (a refused attempt is not recorded again: a guesser cannot grow the log without end)."""
    settings = get_settings()
    same, everything = _counts(client, _prefix(token), clock.utc_now() - timedelta(seconds=THROTTLE_WINDOW_SECONDS))
    if _refused(same, everything):
        return 0.0, True
    with session_scope() as session:
        record_act(session, ANONYMOUS, AuditAction.BAD_LINK, _prefix(token), client=client)
    return backoff(same + 1, free=settings.portal_throttle_free, base_delay=settings.portal_throttle_delay_seconds), False
