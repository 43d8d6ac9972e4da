"""The audit log: who did what, when, from where, to what. One row per act, never changed or deleted.

Acts come from the portal (sign-in, review decisions, reminders and consolidations started by hand) and
from the command line (issuing, cascading, consolidating, imports); the actor is the portal's signed-in
user or `cli:<system user>`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cascade import clock
from models.base import Base


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    REVIEW = "review"  # accept, return or adjust a score: detail['decision']
    REMIND_NOW = "remind_now"
    CONSOLIDATE = "consolidate"
    ISSUE = "issue"
    CASCADE = "cascade"
    IMPORT = "import"
    ACCOUNT_ADD = "account_add"
    ACCOUNT_DISABLE = "account_disable"
    ACCOUNT_ENABLE = "account_enable"
    PASSWORD_SET = "password_set"
    PLAN_EDIT = "plan_edit"  # a drafted plan adjusted on the portal
    AMEND = "amend"  # an issued plan amended: subject is the plan, note the amendment
    CLOSE_DUTY = "close_duty"  # one duty of a plan ended early: subject is 'plan/duty'
    SIGN_IN_LINK = "sign_in_link"  # a one-time link asked for: detail['sent'] says whether one went out
    BAD_LINK = "bad_link"  # a unit's page asked for with an unknown link: subject is its first characters (portal.link_guard)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True, comment="The real instant of the act (not the replayed day).")
    as_of: Mapped[date | None] = mapped_column(comment="The day of the cycle the act was made for, when it names one.")
    actor: Mapped[str] = mapped_column(String(200), comment="The signed-in user, or cli:<system user>; for a failed sign-in, the name typed.")
    action: Mapped[AuditAction] = mapped_column(String(24), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="", comment="What it was done to: a plan and duty, a unit's version, a file.")
    client: Mapped[str | None] = mapped_column(String(64), comment="The client address, for acts through the portal.")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_act(
    session: Session, actor: str, action: AuditAction, subject: str = "", *, as_of: date | None = None, client: str | None = None, **detail: Any
) -> AuditEvent:
    """Add one act to the log in the caller's transaction (so that it is kept exactly when the act is)."""
    event = AuditEvent(at=clock.utc_now(), as_of=as_of, actor=actor, action=action, subject=subject, client=client, detail=detail)
    session.add(event)
    return event


def recent_acts(session: Session, limit: int = 200, action: AuditAction | None = None) -> list[AuditEvent]:
    """The latest acts, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


def failed_sign_ins(session: Session, client: str, since: datetime) -> int:
    """How many sign-ins from `client` failed since `since`: the sign-in throttle's count, which every
    process of the portal shares and a restart keeps."""
    query = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == AuditAction.SIGN_IN_FAILED, AuditEvent.client == client, AuditEvent.at >= since)
    )
    return session.scalar(query) or 0
