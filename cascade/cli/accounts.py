"""`cascade accounts add|list|disable|enable|password`: who signs in to the secretariat's pages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cascade.cli.common import checked, console, ready
from cascade.cli.tables import show

# Commands import what they use inside their bodies: `cascade --help` should pay for no database library.

app = typer.Typer()
accounts_app = typer.Typer(help="Accounts of the secretariats: each sees its unit and the units below it.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")]


def _actor() -> str:
    import getpass
    import os

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for the process's uid (a container's)
        return f"cli:{os.getuid()}"


def _password_from_stdin() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        typer.echo("error: --password-stdin: standard input holds no password", err=True)
        raise typer.Exit(1)
    return line


@accounts_app.command("add")
def accounts_add(
    unit: Annotated[str, typer.Argument(help="The code of the account's unit.")],
    email: Annotated[str, typer.Argument(help="Its address: the sign-in name, where sign-in links are sent.")],
    role: Annotated[str, typer.Option(help="secretariat (sees and acts), viewer (sees only) or admin (every unit, the accounts).")] = "secretariat",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an account. Without a password its owner signs in first with a link sent by email (the sign-in page)."""
    from cascade import clock
    from models.db import session_scope
    from tasks.accounts.registry import add_account, parse_role

    ready()
    password = _password_from_stdin() if password_stdin else None

    def add() -> str:
        with session_scope() as session:
            account = add_account(session, unit, email, parse_role(role), actor=_actor(), now=clock.utc_now(), password=password)
            return f"Account {account.email} ({account.role}) of {account.unit.name} added."

    console.print(checked(add))


@accounts_app.command("list")
def accounts_list(under: Annotated[str | None, typer.Option(help="Only accounts of this unit and those below it (a unit code).")] = None) -> None:
    """The accounts: address, unit, role, how they sign in, last sign-in, disabled or not."""
    from sqlalchemy import select

    from cascade.formatting import vn_datetime
    from models.db import session_scope
    from models.unit import Unit
    from tasks.accounts.registry import account_rows
    from tasks.accounts.scope import subtree_ids

    ready()
    with session_scope() as session:
        scope = None
        if under:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == under))
            if unit_id is None:
                typer.echo(f"error: unit {under!r} not found", err=True)
                raise typer.Exit(1)
            scope = subtree_ids(unit_id)
        rows = account_rows(session, scope)
    table = Table("email", "unit", "role", "sign-in", "last sign-in", "state", title=f"{len(rows)} account(s)")
    for row in rows:
        table.add_row(
            row.email, f"{row.unit_code} · {row.unit_name}", row.role, "password or link" if row.has_password else "link",
            vn_datetime(row.last_sign_in_at) if row.last_sign_in_at else "-", f"disabled {vn_datetime(row.disabled_at)}" if row.disabled_at else "active",
        )  # fmt: skip
    show(console, table)


def _switch(email: str, disabled: bool) -> None:
    from cascade import clock
    from models.db import session_scope
    from tasks.accounts.registry import set_disabled

    ready()

    def switch() -> str:
        with session_scope() as session:
            account = set_disabled(session, email, disabled, actor=_actor(), now=clock.utc_now())
            return f"Account {account.email} {'disabled: its sessions have ended' if disabled else 'enabled'}."

    console.print(checked(switch))


@accounts_app.command("disable")
def accounts_disable(email: str) -> None:
    """Disable an account: it can no longer sign in, and its open sessions end at once."""
    _switch(email, True)


@accounts_app.command("enable")
def accounts_enable(email: str) -> None:
    """Enable a disabled account again."""
    _switch(email, False)


@accounts_app.command("password")
def accounts_password(email: str, password_stdin: PasswordStdin = False) -> None:
    """Set an account's password (asked twice, hidden; or read from standard input)."""
    from models.db import session_scope
    from tasks.accounts.registry import set_password

    ready()
    password = _password_from_stdin() if password_stdin else typer.prompt("New password", hide_input=True, confirmation_prompt=True)

    def set_it() -> str:
        with session_scope() as session:
            return f"Password of {set_password(session, email, password, actor=_actor()).email} set."

    console.print(checked(set_it))
