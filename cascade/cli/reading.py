"""Reading the cycle: `cascade status`, `trace` and `calendar`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from cascade.cli.common import AsOf, checked, console, parse_day, ready
from cascade.cli.tables import show

if TYPE_CHECKING:
    from tasks.outbound.quota import OutboxWaiting

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()


@app.command("trace")
def trace(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    indicator: Annotated[str, typer.Argument(help="Indicator (target) code, e.g. nha_o_xa_hoi.")],
) -> None:
    """Show where a consolidated figure comes from: the submissions behind it, level by level."""
    from tasks.plans.lookup import check_references
    from templates import message

    ready()
    checked(lambda: check_references(plan, duty=duty))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from tasks.reporting.queries import TraceNode, trace_figure

    report, nodes = checked(lambda: trace_figure(plan, duty, indicator))
    figure = next(t for t in report.summary["targets"] if t["code"] == indicator)
    tree = Tree(
        message("cli.trace.root", indicator=indicator, figure=figure["figure"], as_of=report.as_of, reported=figure["reported"], expected=figure["expected"])
    )

    def add(branch: Tree, node: TraceNode) -> None:
        shown = f"{node.numerator}/{node.denominator}" if node.numerator is not None else str(node.value)
        child = branch.add(message("cli.trace.node", node=node, shown=shown))
        for grandchild in node.children:
            add(child, grandchild)

    for node in nodes:
        add(tree, node)
    console.print(tree)


@app.command("status")
def status(
    plan: Annotated[str | None, typer.Argument(help="Plan key or number/symbol; without one, only the outbox.")] = None,
    as_of: AsOf = None,
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Include the units of every implementing plan below (default).")] = True,
) -> None:
    """A table of the plan's units × assignment state, level by level, and what waits in the outbox."""
    from tasks.plans.lookup import check_references
    from templates import message, words

    ready()
    day = parse_day(as_of)
    if plan is not None:
        checked(lambda: check_references(plan))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from tasks.outbound.quota import outbox_waiting
    from tasks.reporting.queries import plan_status

    if plan is not None:
        code, rows = checked(lambda: plan_status(plan, day, all_levels=all_levels, include_merged=True))
        c, states = words("reporting.columns"), words("reporting.state")
        table = Table(
            c["level"], c["plan"], c["unit"], c["duty"], c["due_on"], c["state"], c["submitted_on"], c["versions"], c["last_reminder"],
            c["emails_sent"], c["emails_waiting"], c["emails_failed"], title=message("cli.status.title", code=code, day=day),
        )  # fmt: skip
        for row in rows:
            unit = row.unit_name
            if row.state == "merged":
                unit += message("cli.status.merged_into", successor=row.merged_into) if row.merged_into else message("cli.status.merged")
            elif row.transferred_from:
                unit += message("cli.status.transferred_from", predecessor=row.transferred_from)
            table.add_row(
                str(row.level),
                row.plan_code,
                unit,
                row.duty_code,
                f"{row.due_on:%d/%m/%Y}",
                states[row.state],
                f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "-",
                str(row.versions),
                row.last_reminder or "-",
                str(row.emails_sent),
                str(row.emails_waiting),
                str(row.emails_failed),
            )
        show(console, table)
    waiting = outbox_waiting(day)
    show(console, outbox_table(waiting))
    if waiting.troubled:
        show(console, trouble_table(waiting))
    if waiting.failed:
        console.print(message("cli.outbox.failed", failed=waiting.failed))


def trouble_table(waiting: OutboxWaiting) -> Table:
    """The messages the server did not take, failed first, each with its last error."""
    from templates import message, words

    c, kinds, state = words("cli.outbox.trouble_columns"), words("outbox.kind"), words("cli.outbox.trouble_state")
    table = Table(c["state"], c["to"], c["kind"], c["attempts"], c["error"], title=message("cli.outbox.trouble_title"))
    for row in waiting.troubled:
        table.add_row(state["failed" if row.failed else "retrying"], row.to, kinds.get(row.kind, row.kind), str(row.attempts), row.last_error)
    return table


def outbox_table(waiting: OutboxWaiting) -> Table:
    """What waits in the outbox, best priority first, with the daily quota's view."""
    from templates import message, words

    total = sum(n for _, _, n in waiting.by_kind)
    caption = message("cli.outbox.caption", retrying=waiting.retrying, room_today=waiting.room_today, days_to_drain=waiting.days_to_drain)
    c, kinds = words("cli.outbox.columns"), words("outbox.kind")
    table = Table(c["priority"], c["kind"], c["count"], title=message("cli.outbox.title", total=total), caption=caption)
    for kind, priority, count in waiting.by_kind:
        table.add_row(str(priority), kinds.get(kind, kind), str(count))
    return table


@app.command("calendar")
def calendar(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Include every implementing plan below (default).")] = True,
) -> None:
    """The plan's milestones: what the daily tick does on which day, and what it did."""
    from models.milestones import milestone_title
    from tasks.plans.lookup import check_references
    from templates import message, words

    ready()
    checked(lambda: check_references(plan))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from tasks.followup.milestone_calendar import plan_calendar

    code, rows = checked(lambda: plan_calendar(plan, all_levels=all_levels))
    c, statuses = words("milestones.columns"), words("milestones.status")
    table = Table(c["day"], c["plan"], c["duty"], c["milestone"], c["status"], c["outcome"], title=message("cli.calendar.title", code=code))
    for row in rows:
        state = statuses[row.status] + (f" ({row.done_on:%d/%m/%Y})" if row.done_on and row.done_on != row.day else "")
        table.add_row(
            f"{row.day:%d/%m/%Y}", row.plan_code, row.duty_title, milestone_title(row.kind, row.step, row.duty_kind), state, row.outcome or "",
        )  # fmt: skip
    show(console, table)
