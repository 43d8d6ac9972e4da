"""Who may sign in to the secretariat's pages: accounts, their sessions and their one-time sign-in links.

An account belongs to a unit and acts within that unit's subtree (tasks.accounts.scope): a secretariat
reviews and acts, a viewer only looks, an admin sees every unit and manages the accounts. Sessions and
sign-in links are kept as the SHA-256 of their token, so that a copy of the database signs nobody in.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base
from models.unit import Unit


class AccountRole(StrEnum):
    SECRETARIAT = "secretariat"  # its unit's plans and subtree: sees, reviews, reminds, consolidates
    VIEWER = "viewer"  # the same pages, nothing it can change
    ADMIN = "admin"  # every unit, the accounts and the audit log


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="The sign-in name, lower case: sign-in links are sent there.")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True, comment="The unit whose subtree the account acts on.")
    role: Mapped[AccountRole] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255), comment="Argon2 (PHC string); none: sign-in by emailed link only.")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(comment="Set when the account was disabled: no sign-in, its sessions end.")
    last_sign_in_at: Mapped[datetime | None]

    unit: Mapped[Unit] = relationship()


class AccountSession(Base):
    """One signed-in browser: ends at `expires_at`, when idle past the settings' limit, on sign-out, or when
    its account is disabled."""

    __tablename__ = "account_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True, comment="None: the workspace's built-in admin (settings).")
    login: Mapped[str] = mapped_column(String(254), comment="The name signed in with.")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    client: Mapped[str | None] = mapped_column(String(64))


class SignInLink(Base):
    """A one-time sign-in link sent by email: used once, before `expires_at`."""

    __tablename__ = "sign_in_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


def account_by_email(session: Session, email: str) -> Account | None:
    return session.scalar(select(Account).where(Account.email == email.strip().lower()))
