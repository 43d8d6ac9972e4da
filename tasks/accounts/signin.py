"""Signing in and staying signed in: by password or by a one-time link sent by email, into a session
kept in the database (so that every portal process shares it, sign-out and disabling end it at once, and
a restart keeps it). The browser holds a random token; the database holds only its SHA-256.

The workspace's built-in admin (settings `dashboard_user` / `dashboard_password`) signs in by password
only and sees every unit: the first admin of a new workspace, before any account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cascade.settings import get_settings
from models.account import Account, AccountRole, AccountSession, SignInLink, account_by_email
from models.audit import AuditAction, record_act
from models.db import affected_rows
from models.outbox import EmailKind
from tasks.accounts.passwords import verify_password
from tasks.accounts.scope import Principal
from tasks.outbound.outbox import queue_email
from templates import render_email, words

# A session's last use is written at most this often: a page view is a read, not a write.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _builtin_ok(login: str, password: str) -> bool:
    settings = get_settings()
    expected = settings.dashboard_password.get_secret_value() if settings.dashboard_password else ""
    if not expected or login != settings.dashboard_user:
        return False
    return hmac.compare_digest(hashlib.sha256(password.encode()).digest(), hashlib.sha256(expected.encode()).digest())


def start_session(session: Session, account: Account | None, login: str, *, now: datetime, client: str | None) -> str:
    """A new session for `account` (None: the built-in admin), in the caller's transaction; returns its token."""
    token = secrets.token_urlsafe(32)
    settings = get_settings()
    expires = now + timedelta(hours=settings.session_hours)
    session.add(
        AccountSession(
            token_hash=_digest(token),
            account_id=account.id if account else None,
            login=login,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
            client=client,
        )
    )
    if account is not None:
        account.last_sign_in_at = now
    record_act(session, login, AuditAction.SIGN_IN, "", client=client, how="password" if account is None or account.password_hash else "link")
    return token


def sign_in_with_password(session: Session, login: str, password: str, *, now: datetime, client: str | None) -> str | None:
    """The new session's token when `login` (an account's address or the built-in admin's name) and
    `password` match an active account; None otherwise, with the failure in the audit log (the throttle's count)."""
    if _builtin_ok(login, password):
        return start_session(session, None, login, now=now, client=client)
    account = account_by_email(session, login) if "@" in login else None
    ok, rehashed = verify_password(password, account.password_hash if account is not None and account.disabled_at is None else None)
    if not ok or account is None:
        record_act(session, login[:200], AuditAction.SIGN_IN_FAILED, "", client=client)
        return None
    if rehashed is not None:
        account.password_hash = rehashed
    return start_session(session, account, account.email, now=now, client=client)


def principal_of(session: Session, token: str | None, *, now: datetime) -> Principal | None:
    """Who the session of `token` signs in, or None when it is unknown, ended, expired, idle too long, or
    its account is disabled (or, for the built-in admin, its password is no longer set)."""
    if not token:
        return None
    found = session.scalar(select(AccountSession).where(AccountSession.token_hash == _digest(token)))
    settings = get_settings()
    if found is None or found.ended_at is not None or found.expires_at <= now:
        return None
    if now - found.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        found.ended_at = now
        return None
    if found.account_id is None:
        if settings.dashboard_password is None or found.login != settings.dashboard_user:
            return None
        principal = Principal(found.login, AccountRole.ADMIN, None, "", found.id)
    else:
        account = session.get(Account, found.account_id)
        if account is None or account.disabled_at is not None:
            return None
        principal = Principal(account.email, AccountRole(account.role), account.unit_id, account.unit.name, found.id)
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    return principal


def end_session(session: Session, token: str | None, *, now: datetime, client: str | None) -> None:
    """Sign out: the session ends (whatever its state); the act goes to the audit log."""
    if not token:
        return
    found = session.scalar(select(AccountSession).where(AccountSession.token_hash == _digest(token), AccountSession.ended_at.is_(None)))
    if found is not None:
        found.ended_at = now
        record_act(session, found.login, AuditAction.SIGN_OUT, "", client=client)


@dataclass(frozen=True)
class LinkRequest:
    """What asking for a sign-in link did: whether a link went out (the page says the same either way)."""

    sent: bool


def request_sign_in_link(session: Session, email: str, *, now: datetime, base_url: str, client: str | None) -> LinkRequest:
    """Queue a one-time sign-in link to `email` if it names an active account, in the caller's transaction.
    At most one link a minute goes to an address; the attempt is in the audit log either way."""
    settings = get_settings()
    account = account_by_email(session, email) if "@" in email else None
    recent = (
        account is not None
        and session.scalar(select(SignInLink.id).where(SignInLink.account_id == account.id, SignInLink.created_at > now - timedelta(minutes=1))) is not None
    )
    sent = account is not None and account.disabled_at is None and not recent
    record_act(session, email.strip()[:200], AuditAction.SIGN_IN_LINK, "", client=client, sent=sent)
    if not sent or account is None:
        return LinkRequest(sent=False)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=settings.sign_in_link_minutes)
    session.add(SignInLink(token_hash=_digest(token), account_id=account.id, created_at=now, expires_at=expires))
    rendered = render_email(
        "sign_in", email=account.email, unit_name=account.unit.name, role_word=words("accounts.roles")[str(account.role)],
        link=f"{base_url.rstrip('/')}/admin/login/link/{token}", expires_at=expires,
    )  # fmt: skip
    queue_email(session, key=f"sign-in:{_digest(token)}", kind=EmailKind.SIGN_IN, email_to=[account.email], rendered=rendered, created_at=now)
    return LinkRequest(sent=True)


def link_is_open(session: Session, token: str, *, now: datetime) -> bool:
    """Whether the sign-in link of `token` can still be used (unused, unexpired, its account active)."""
    return _open_link(session, token, now) is not None


def _open_link(session: Session, token: str, now: datetime) -> SignInLink | None:
    found = session.scalar(select(SignInLink).where(SignInLink.token_hash == _digest(token)))
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    account = session.get(Account, found.account_id)
    return found if account is not None and account.disabled_at is None else None


def sign_in_with_link(session: Session, token: str, *, now: datetime, client: str | None) -> str | None:
    """Use the link of `token` once: the new session's token, or None when the link cannot be used. Two
    requests racing on one link: the conditional update lets exactly one of them through."""
    found = _open_link(session, token, now)
    if found is None:
        return None
    used = session.execute(update(SignInLink).where(SignInLink.id == found.id, SignInLink.used_at.is_(None)).values(used_at=now))
    if affected_rows(used) != 1:
        return None
    account = session.get_one(Account, found.account_id)
    return start_session(session, account, account.email, now=now, client=client)
