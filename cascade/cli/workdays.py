"""`cascade workdays show|set|unset`: the working-day calendar with the office's own overrides."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from cascade.calendar import weekday_name
from cascade.cli.common import parse_day, ready

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()
calendar_app = typer.Typer(help="The working-day calendar: holidays, make-up days, overrides.", no_args_is_help=True)
app.add_typer(calendar_app, name="workdays")


def _calendar_line(day: date, reason: str, working: bool) -> str:
    from templates import message

    return message("cli.workdays.line", day=day, weekday=weekday_name(day), reason=reason, working=working)


@calendar_app.command("show")
def calendar_show(year: Annotated[int, typer.Argument(min=1901, max=2099, help="The year, e.g. 2025.")]) -> None:
    """Print every day off of the year other than ordinary weekends, every working Saturday or Sunday, and every override."""
    from models.calendar import load_calendar
    from models.db import session_scope

    ready()
    with session_scope() as session:
        calendar = load_calendar(session)
        days = dict(calendar.days_off(year))
        days.update(calendar.working_weekends(year))
        for day, reason in sorted(days.items()):
            typer.echo(_calendar_line(day, reason, calendar.is_working_day(day)))


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD or DD/MM/YYYY.")],
    working: Annotated[bool, typer.Option("--working/--day-off", help="Make the day a working day, or a day off.")],
    note: Annotated[str, typer.Option(help="Why, in the words of the announcement: 'Nghỉ bù theo Thông báo 6150/TB-BLĐTBXH'.")],
) -> None:
    """Declare a day a working day or a day off, whatever the national calendar says."""
    from models.calendar import set_override
    from models.db import session_scope
    from templates import message

    when = parse_day(day)
    if not note.strip():
        raise typer.BadParameter("the note must say why the day is changed", param_hint="--note")
    ready()
    with session_scope() as session:
        set_override(session, when, working, note.strip())
    typer.echo(message("cli.workdays.set", when=when, weekday=weekday_name(when), working=working, note=note.strip()))


@calendar_app.command("unset")
def calendar_unset(day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD or DD/MM/YYYY.")]) -> None:
    """Remove a day's override: the national calendar applies again."""
    from models.calendar import remove_override
    from models.db import session_scope
    from templates import message

    when = parse_day(day)
    ready()
    with session_scope() as session:
        removed = remove_override(session, when)
    if not removed:
        typer.echo(message("cli.workdays.not_set", when=when), err=True)
        raise typer.Exit(1)
    typer.echo(message("cli.workdays.unset", when=when))
