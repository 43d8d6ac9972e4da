"""Adding, listing, disabling accounts and setting their passwords; every change kept in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cascade.errors import ConflictError, InvalidValue, NotFound
from cascade.settings import get_settings
from models.account import Account, AccountRole, AccountSession, account_by_email
from models.audit import AuditAction, record_act
from models.unit import Unit
from tasks.accounts.passwords import check_new_password, hash_password
from templates import message


@dataclass(frozen=True)
class AccountRow:
    """An account as the lists show it."""

    id: int
    email: str
    role: str
    unit_code: str
    unit_name: str
    has_password: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    last_sign_in_at: datetime | None


def normalized_email(value: str) -> str:
    """The address in the form accounts are kept under (lower case); InvalidValue when it is no address."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidValue(message("accounts.bad_email", email=value, reason=str(exc))) from exc


def parse_role(value: str) -> AccountRole:
    try:
        return AccountRole(value.strip().lower())
    except ValueError:
        raise InvalidValue(message("accounts.bad_role", role=value, roles=", ".join(r.value for r in AccountRole))) from None


def add_account(session: Session, unit_code: str, email: str, role: AccountRole, *, actor: str, now: datetime,
                password: str | None = None, client: str | None = None) -> Account:  # fmt: skip
    """A new account of the unit `unit_code`, in the caller's transaction; NotFound for an unknown unit,
    ConflictError when the address has an account already, InvalidValue for a bad address or password."""
    address = normalized_email(email)
    unit = session.scalar(select(Unit).where(Unit.code == unit_code.strip()))
    if unit is None:
        raise NotFound(message("accounts.no_unit", unit=unit_code))
    if account_by_email(session, address) is not None:
        raise ConflictError(message("accounts.exists", email=address))
    if password is not None:
        check_new_password(password, min_length=get_settings().password_min_length, email=address)
    account = Account(email=address, unit_id=unit.id, role=role, password_hash=hash_password(password) if password is not None else None,
                      created_at=now, created_by=actor)  # fmt: skip
    session.add(account)
    session.flush()
    record_act(session, actor, AuditAction.ACCOUNT_ADD, address, client=client, unit=unit.code, role=str(role), password=password is not None)
    return account


def _account(session: Session, email: str) -> Account:
    account = account_by_email(session, email)
    if account is None:
        raise NotFound(message("accounts.not_found", email=email))
    return account


def set_disabled(session: Session, email: str, disabled: bool, *, actor: str, now: datetime, client: str | None = None) -> Account:
    """Disable (its open sessions end at once) or enable again the account of `email`."""
    account = _account(session, email)
    if disabled and account.disabled_at is None:
        account.disabled_at = now
        session.execute(update(AccountSession).where(AccountSession.account_id == account.id, AccountSession.ended_at.is_(None)).values(ended_at=now))
        record_act(session, actor, AuditAction.ACCOUNT_DISABLE, account.email, client=client)
    elif not disabled and account.disabled_at is not None:
        account.disabled_at = None
        record_act(session, actor, AuditAction.ACCOUNT_ENABLE, account.email, client=client)
    return account


def set_password(session: Session, email: str, password: str, *, actor: str, client: str | None = None) -> Account:
    """Set the account's password (checked against the rules); its other sessions stay open."""
    account = _account(session, email)
    check_new_password(password, min_length=get_settings().password_min_length, email=account.email)
    account.password_hash = hash_password(password)
    record_act(session, actor, AuditAction.PASSWORD_SET, account.email, client=client)
    return account


def account_rows(session: Session, unit_ids: object = None) -> list[AccountRow]:
    """Every account (or those of units whose id `unit_ids` selects: a collection or a subquery), by unit then address."""
    query = select(Account, Unit).join(Unit, Unit.id == Account.unit_id).order_by(Unit.code, Account.email)
    if unit_ids is not None:
        query = query.where(Account.unit_id.in_(unit_ids))  # type: ignore[arg-type]  # a collection or a select
    return [
        AccountRow(a.id, a.email, str(a.role), u.code, u.name, a.password_hash is not None, a.created_at, a.created_by, a.disabled_at, a.last_sign_in_at)
        for a, u in session.execute(query).tuples()
    ]
