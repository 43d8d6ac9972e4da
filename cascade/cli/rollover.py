"""`cascade plan rollover`: next year's plan drafted from this year's, imported as a draft.

The command joins the `plan` group of `cascade.cli.plans`; `cascade.cli.main` imports this module so
that it is registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import checked, note_act, ready, warn
from cascade.cli.plans import plan_app

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


@plan_app.command("rollover")
def plan_rollover(
    plan: Annotated[str, typer.Argument(help="This year's plan: its key (104-kh-ubnd-2024) or number/symbol (104/KH-UBND).")],
    year: Annotated[int, typer.Option("--year", min=2000, max=2100, help="The year to draft the plan for, after the plan's own: 2025.")],
    raises: Annotated[
        list[str] | None,
        typer.Option("--raise", metavar="CODE=VALUE", help="A target's new value (repeatable): --raise mo_hinh_dan_van_kheo=15. Others are carried."),
    ] = None,
    number: Annotated[str | None, typer.Option(help="The new plan's number from the issuer's register; default: its next for the year.")] = None,
    basis: Annotated[
        list[str] | None, typer.Option("--basis", metavar="TEXT", help="A document of the new basis (repeatable); default: the old basis is kept.")
    ] = None,
    parent: Annotated[
        str | None, typer.Option(help="An implementing plan: the new year's plan it implements (key), when the parent's issuer has several that year.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the draft plan file; default: <new key>.yaml in the current folder.")] = None,
) -> None:
    """Draft next year's plan from this year's: the same tasks, targets and duties, deadlines at the same working-day
    positions of the new year, the units of the new year's first day. Written as a plan file, imported as a draft
    (adjust it with `plan export` / `plan import --replace`, issue it with `plan issue`); the changes are printed."""
    from tasks.plans.rollover import roll_over
    from templates import message

    ready()
    result = checked(
        lambda: roll_over(
            plan,
            year,
            raises=raises or [],
            number=number,
            basis=basis or [],
            parent=parent,
            out=out,
        )
    )
    note_act("import", f"{result.path.name} → {result.key}", note=f"rollover of {result.source_key} for {result.year}")
    warn(result.warnings)
    typer.echo(
        message(
            "rollover.drafted", code=result.code, year=result.year, key=result.key, old_code=result.source_code, old_year=result.source_year, path=result.path
        )
    )
    typer.echo(message("rollover.changes_title", old_code=result.source_code, old_year=result.source_year))
    for line in result.changes:
        typer.echo(f"- {line}")
    typer.echo(message("rollover.next_steps", key=result.key, path=result.path))
