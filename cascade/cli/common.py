"""What every command shares: the console, dates typed by users, running an action with its errors printed as one line each."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from cascade import clock
from cascade.cli.handover import ENVIRONMENT_DEFAULTS
from cascade.errors import CascadeError, ConflictError, InputError, NotFound
from cascade.settings import get_settings

for _name, _value in ENVIRONMENT_DEFAULTS.items():  # set by `cascade` before anything else; here too for callers of the app itself
    os.environ.setdefault(_name, _value)

console = Console()
T = TypeVar("T")


def parse_day(text: str | None) -> date:
    """'2024-10-30' or '30/10/2024'; today (Vietnam) when omitted."""
    if text is None:
        return clock.today()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"expected a date as YYYY-MM-DD or DD/MM/YYYY, got {text!r}")


AsOf = Annotated[str | None, typer.Option("--as-of", help="The day to act as (YYYY-MM-DD or DD/MM/YYYY); default today in Vietnam.")]


class _RefusalsLeftToTheCli(logging.Filter):
    """Drops, from the console only, Prefect's report of a run that ended in a CascadeError: `run` prints
    that error as one line, so the traceback Prefect logs with it would only bury the line. The Prefect
    API handler still records it for the UI; any other exception keeps its traceback."""

    NAMES = tuple(f"{cls.__name__}" for cls in (CascadeError, InputError, ConflictError, NotFound))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not record.name.startswith("prefect"):
            return True
        if record.exc_info and isinstance(record.exc_info[1], CascadeError):
            return False
        message = record.getMessage()
        return not any(f"{name}(" in message or f"{name}:" in message for name in self.NAMES)


def _quiet_refusals() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RefusalsLeftToTheCli) for f in handler.filters):
            handler.addFilter(_RefusalsLeftToTheCli())


def checked(action: Callable[[], T]) -> T:
    """Run an action that starts no flow; print a CascadeError on stderr (every problem on its own line) and exit 1."""
    try:
        return action()
    except InputError as exc:
        typer.echo(exc.details(), err=True)  # unwrapped: one problem per line, file:line: path: message
        raise typer.Exit(1) from None
    except CascadeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@contextmanager
def prefect_api(*, command_server: bool = True) -> Iterator[str]:
    """Point this process's flow runs, and the processes it starts, at one Prefect server: the one Prefect
    is already set to (PREFECT_API_URL), else `prefect_api_url`, else the workspace's own server, started
    in the background if none runs yet; with that one, the workspace's command server is started too
    unless `command_server` is False (`cascade.cli.command_server`). Yields the API URL."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from cascade.cli import command_server as commands
    from cascade.cli.prefect_server import PrefectServer, workspace_server

    def announce(server: PrefectServer) -> None:
        typer.echo(f"Starting the workspace's Prefect server: {server.ui_url} (log: {server.log}) …", err=True)

    settings = get_settings()
    url = PREFECT_API_URL.value() or settings.prefect_api_url
    if not url:
        url = workspace_server(settings, announce=announce)[0].api_url
        if command_server:
            commands.start(settings, os.environ)  # for the next commands, with this one's environment as it came
    os.environ["PREFECT_API_URL"] = url
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


def run(action: Callable[[], T], *, api: bool = True, command_server: bool = True) -> T:
    """Run an action that may start flows (tagged `cli` in the Prefect UI), its errors printed as by
    `checked`. The runs report to the server `prefect_api` picks, unless `api` is False (for `cascade
    serve`, which picks its own); `command_server` as there."""
    from prefect import tags
    from prefect.logging.configuration import setup_logging

    from cascade.cli.progress_bars import progress_bars
    from flows.runtime import local_runs

    if not logging.getLogger().handlers:
        setup_logging()  # Prefect's console handler, so that the filter below has something to sit on
    _quiet_refusals()

    def in_prefect() -> T:
        # Runs started by hand are told apart from scheduled ones in the UI by their tag
        with prefect_api(command_server=command_server) if api else nullcontext(), local_runs(), tags("cli"), progress_bars():
            return action()

    return checked(in_prefect)


def warn(warnings: Sequence[str]) -> None:
    """Print a command's warnings on stderr, one a line, unwrapped ('warning: plan.yaml:40: plan.duties[1].due_on: …')."""
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)


def ready() -> None:
    """Bring the database's schema up to date (one query when it already is; the migrations otherwise)."""
    from models.revision import is_current

    if not is_current():
        from models.schema import ensure_current  # Alembic costs half a second: only when there is work for it

        ensure_current()


def note_act(action: str, subject: str, as_of: date | None = None, note: str = "") -> None:
    """Keep a command's act in the audit log (models.audit), by `cli:<system user>`, once it has succeeded."""
    import getpass

    from models.audit import AuditAction, record_act
    from models.db import session_scope

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the process's uid (a container's)
        user = str(os.getuid())
    with session_scope() as session:
        record_act(session, f"cli:{user}", AuditAction(action), subject, as_of=as_of, note=note)
