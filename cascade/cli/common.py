"""What every command shares: the console, dates typed by users, running an action with its errors printed as one line each."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from cascade import clock
from cascade.errors import CascadeError, ConflictError, InputError, NotFound

# Quiet Prefect's per-task logging unless the user asks for it (it costs 30–40% in-flow).
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server gives up after 20 s by default, which a busy machine can exceed.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

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


def run(action: Callable[[], T]) -> T:
    """Run an action that may start flows (tagged `cli` in the Prefect UI), its errors printed as by `checked`."""
    from prefect import tags
    from prefect.logging.configuration import setup_logging

    from flows.runtime import local_runs

    if not logging.getLogger().handlers:
        setup_logging()  # Prefect's console handler, so that the filter below has something to sit on
    _quiet_refusals()

    def in_prefect() -> T:
        with local_runs(), tags("cli"):  # runs started by hand are told apart from scheduled ones in the UI
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
