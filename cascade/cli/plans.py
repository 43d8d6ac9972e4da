"""`cascade db|units|plan|link|schema`: the database, the unit tree, plans and the units' links."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cascade.cli.common import AsOf, checked, console, note_act, parse_day, ready, run, warn
from cascade.cli.tables import show
from cascade.settings import get_settings

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()
units_app = typer.Typer(help="The unit tree.", no_args_is_help=True)

plan_app = typer.Typer(help="Plans: import, list, cascade, issue, export, amend, roll over, close.", no_args_is_help=True)

db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(plan_app, name="plan")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the schema migrations up to the latest (creates the tables in an empty database)."""
    from sqlalchemy.engine import make_url

    from models.schema import upgrade

    revision = upgrade()
    url = make_url(get_settings().resolved_database_url).render_as_string(hide_password=True)
    console.print(f"Database {url} at revision {revision}")


@db_app.command("init")
def db_init() -> None:
    """The same as `db upgrade` (kept for scripts written before migrations)."""
    db_upgrade()


@units_app.command("import")
def units_import(file: Path) -> None:
    """Import or update units from a YAML or CSV file (all or nothing)."""
    from tasks.plans.imports import import_units

    ready()
    result = checked(lambda: import_units(file))
    note_act("import", file.name, note=f"{result.created} created, {result.updated} updated")
    console.print(f"Units: {result.created} created, {result.updated} updated.")


@units_app.command("list")
def units_list(
    under: Annotated[str | None, typer.Option(help="Only this unit and those below it (a unit code).")] = None,
    as_of: AsOf = None,
) -> None:
    """The unit tree, subordinates under their unit: codes, names, addresses, and which units exist on the day."""
    from models.db import session_scope
    from models.unit import tree_order
    from templates import message, words

    ready()
    day = parse_day(as_of)
    c = words("cli.units.columns")
    with session_scope() as session:
        rows = tree_order(session, under)
        if under and not rows:
            typer.echo(f"error: unit {under!r} not found", err=True)
            raise typer.Exit(1)
        table = Table(c["code"], c["name"], c["emails"], c["head_email"], c["state"], title=message("cli.units.title", count=len(rows)))
        for depth, unit in rows:
            if unit.valid_from and day < unit.valid_from:
                validity = message("cli.units.not_yet", day=unit.valid_from)
            elif unit.valid_to and unit.valid_to < day:
                validity = (
                    message("cli.units.merged", day=unit.valid_to, successor=unit.successor.code)
                    if unit.successor
                    else message("cli.units.ended", day=unit.valid_to)
                )
            else:
                validity = message("cli.units.active")
            table.add_row("  " * depth + unit.code, unit.name, ", ".join(unit.emails), unit.head_email or "", validity)
    show(console, table)


@plan_app.command("import")
def plan_import(file: Path, replace: Annotated[bool, typer.Option(help="Replace a plan with the same key that has no assignments yet.")] = False) -> None:
    """Import a plan from a YAML file (all or nothing)."""
    from tasks.plans.imports import import_plan_file

    ready()
    result = checked(lambda: import_plan_file(file, replace=replace))
    note_act("import", f"{file.name} → {result.key}")
    warn(result.warnings)
    console.print(f"Plan imported: {result.key}")


@plan_app.command("list")
def plan_list() -> None:
    """List the plans in the database, implementing plans under the plan they implement."""
    from sqlalchemy import select

    from models.db import session_scope
    from models.plan import Plan
    from templates import words

    ready()
    c, status_words = words("cli.plans.columns"), words("plans.status")
    table = Table("Key", c["number"], c["date"], c["issuer"], c["level"], c["status"])
    with session_scope() as session:
        plans = session.scalars(select(Plan).order_by(Plan.year, Plan.level, Plan.key)).all()
        children: dict[int | None, list[Plan]] = {}
        for plan in plans:
            children.setdefault(plan.parent_plan_id if plan.parent_plan_id in {p.id for p in plans} else None, []).append(plan)

        def add(plan: Plan, depth: int) -> None:
            table.add_row(
                "  " * depth + plan.key, plan.code, plan.issued_on.strftime("%d/%m/%Y"), plan.issuer.display_name, str(plan.level), status_words[plan.status]
            )
            for child in children.get(plan.id, []):
                add(child, depth + 1)

        for root in children.get(None, []):
            add(root, 0)
    show(console, table)


@plan_app.command("cascade")
def plan_cascade(
    plan: Annotated[str, typer.Argument(help="Plan key (74-kh-sxd-2024) or number/symbol (74/KH-SXD).")],
    as_of: AsOf = None,
    units: Annotated[str | None, typer.Option(help="Comma-separated unit codes instead of the issuer's direct subordinates.")] = None,
) -> None:
    """Assign the plan's duties to its units, draft their implementing plans, go on down every level, and email them."""
    from tasks.plans.lookup import check_references

    ready()
    only = [u.strip() for u in units.split(",") if u.strip()] if units else None
    checked(lambda: check_references(plan, units=only or ()))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from flows.cascade_plan import cascade_plan

    day = parse_day(as_of)
    result = run(lambda: cascade_plan(plan, day, only))
    note_act("cascade", result.plan_key, day, note=f"{result.assigned} assignments, {result.delivery.sent} emails")
    warn(result.warnings)
    console.print(
        f"{result.plan_key}: {result.assigned} new assignment(s) over {result.levels} level(s); implementing plans drafted {result.drafted}, "
        f"issued {result.issued}; emails sent {result.delivery.sent}, retrying {result.delivery.retrying}, failed {result.delivery.failed}."
    )


@plan_app.command("issue")
def plan_issue(
    plan: Annotated[str, typer.Argument(help="Key of a draft: an implementing plan (104-kh-ubnd-2024--tb.giabinh) or a rolled-over plan (1-kh-ubnd-2025).")],
    as_of: AsOf = None,
    number: Annotated[str | None, typer.Option(help="The number from the issuer's register; default: its next for the year.")] = None,
) -> None:
    """Issue a draft (an implementing plan, or next year's plan drafted by `plan rollover`) and cascade it to the issuer's subordinates."""
    from tasks.plans.lookup import check_references

    ready()
    checked(lambda: check_references(plan))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from flows.issue_plan import issue_plan

    day = parse_day(as_of)
    result = run(lambda: issue_plan(plan, day, number))
    note_act("issue", result.plan_key, day, note=f"{result.assigned} assignments")
    warn(result.warnings)
    console.print(f"{result.plan_key} issued; {result.assigned} new assignment(s), emails sent {result.delivery.sent}.")


@plan_app.command("export")
def plan_export(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    version: Annotated[int | None, typer.Option(help="An earlier version (1 as issued; each amendment adds one); default the one in force.")] = None,
) -> None:
    """Print a plan in the plan file format (to adjust a draft, then `plan import --replace`; or to write an amendment, then `plan amend`)."""
    from models.db import session_scope
    from tasks.plans.exports import plan_yaml
    from tasks.plans.lookup import find_plan

    ready()

    def export() -> str:
        with session_scope() as session:
            return plan_yaml(session, find_plan(session, plan), version)

    sys.stdout.write(checked(export))


@plan_app.command("close")
def plan_close(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str | None, typer.Option("--duty", help="Close only this duty (its code) and the duties answering it down the levels.")] = None,
    as_of: AsOf = None,
) -> None:
    """Close the plan's cycle and that of every implementing plan below: no more submissions or reminders;
    the units' links show their pages read-only for `portal_link_days_after_close` days, then expire.

    With --duty, end that duty early instead ("Đóng ngày dd/mm/yyyy"), with every duty answering it down the
    levels: no more reminders, overdue notices or escalations for it; its pending milestones are skipped."""
    from tasks.intake.access import close_duty, close_plan

    ready()
    day = parse_day(as_of)
    if duty is None:
        closed = checked(lambda: close_plan(plan, day))
        console.print(f"Closed {len(closed)} plan(s): {', '.join(closed)}.")
        return
    done = checked(lambda: close_duty(plan, duty, day))
    if not done.already:
        note_act("close_duty", f"{done.plan}/{duty}", day)
    said = f"already closed on {done.closed_on:%d/%m/%Y}" if done.already else f"closed on {done.closed_on:%d/%m/%Y}"
    console.print(
        f"Duty {duty} of {done.plan} {said}; duties answering it closed now: {len(done.below)}; pending milestones skipped: {done.skipped}.",
        highlight=False,
    )


link_app = typer.Typer(help="The units' portal links.", no_args_is_help=True)
app.add_typer(link_app, name="link")


def _assignment_id(plan: str, duty: str, unit: str) -> int:
    from models.db import session_scope
    from tasks.plans.lookup import find_assignment, find_plan

    with session_scope() as session:
        return find_assignment(session, find_plan(session, plan), duty, unit).id


@link_app.command("show")
def link_show(plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")], duty: Annotated[str, typer.Argument(help="Duty code.")],
              unit: Annotated[str, typer.Argument(help="Unit code.")]) -> None:  # fmt: skip
    """Print a unit's portal link (to give it again to a unit that lost its email)."""
    from models.assignment import Assignment
    from models.db import session_scope
    from tasks.plans.contexts import portal_link

    ready()

    def show() -> str:
        with session_scope() as session:
            return portal_link(session.get_one(Assignment, _assignment_id(plan, duty, unit)))

    typer.echo(checked(show))


@link_app.command("revoke")
def link_revoke(plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")], duty: Annotated[str, typer.Argument(help="Duty code.")],
                unit: Annotated[str, typer.Argument(help="Unit code.")], as_of: AsOf = None,
                send: Annotated[bool, typer.Option(help="Email the new link to the unit.")] = True) -> None:  # fmt: skip
    """Replace a unit's portal link: the old one answers 404 at once; the unit is emailed the new one."""
    ready()
    day = parse_day(as_of)
    assignment_id = checked(lambda: _assignment_id(plan, duty, unit))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from flows.deliver_outbox import deliver_outbox
    from tasks.intake.access import revoke_link

    def revoke() -> str:
        reference = revoke_link(assignment_id, day, send=send)
        if send:
            deliver_outbox(day)
        return reference

    console.print(f"{run(revoke)}: link replaced{'; the unit was emailed the new one' if send else ''}.")


@app.command("schema")
def schema(kind: Annotated[str, typer.Argument(help="units, plan, amendment or submission")]) -> None:
    """Print the JSON Schema of an input file format."""
    from models.specs import json_schema

    try:
        document = json_schema(kind)
    except (KeyError, ValueError):
        typer.echo(f"error: unknown schema {kind!r}: expected units, plan, amendment or submission", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
