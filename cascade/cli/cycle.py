"""The cycle's commands: deliver, collect and list replies, remind, tick, submit, consolidate."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cascade import clock
from cascade.cli.common import AsOf, checked, console, note_act, parse_day, ready, run
from cascade.cli.tables import show

# Commands import what they use inside their bodies: flows and tasks pull in Prefect (seconds), models
# SQLAlchemy and Alembic; `cascade --help` and a mistyped command should pay for none of them.


app = typer.Typer()


@app.command("deliver")
def deliver(as_of: AsOf = None) -> None:
    """Send every queued email that is due."""
    from flows.deliver_outbox import deliver_outbox

    ready()
    tally = run(lambda: deliver_outbox(parse_day(as_of)))
    console.print(f"Emails sent {tally.sent}, retrying {tally.retrying}, failed {tally.failed}.")


def replies_table(ids: list[int] | None, outcome: str | None = None, limit: int = 50) -> Table:
    """The replies read (those of `ids`, or all), newest first: when, who, which unit, what became of them and why."""
    from models.db import session_scope
    from tasks.intake.inbound import inbound
    from templates import message, words

    c, outcomes = words("cli.replies.columns"), words("intake.outcome")
    table = Table(c["arrived_at"], c["sender"], c["subject"], c["unit"], c["outcome"], c["folder"], c["reason"], title=message("cli.replies.title"))
    with session_scope() as session:
        for row in inbound(session, ids=ids, outcome=outcome, limit=limit):
            table.add_row(
                row.arrived_at.astimezone(clock.VN_TZ).strftime("%d/%m/%Y %H:%M"), row.sender or "-", row.subject[:60], row.unit_code or "-",
                outcomes[row.outcome], row.folder, row.detail.splitlines()[0] if row.detail else row.reason,
            )  # fmt: skip
    return table


@app.command("collect")
def collect(
    as_of: AsOf = None,
    every: Annotated[
        int | None, typer.Option(help="Keep collecting every N minutes until Ctrl-C (without a Prefect server; `cascade serve` schedules it instead).", min=1)
    ] = None,
) -> None:
    """Read the units' replies from the reply mailbox (IMAP): record the forms, answer the units, set the rest aside."""
    from flows.collect_replies import collect_replies

    ready()
    try:
        while True:
            day = parse_day(as_of)
            tally, delivery = run(partial(collect_replies, day))
            if tally.fetched:
                show(console, replies_table(list(tally.inbound_ids)))
            console.print(
                f"Replies read {tally.fetched}: recorded {tally.recorded}, answered with problems {tally.refused}, quarantined {tally.quarantined}, "
                f"set aside {tally.set_aside}, already handled {tally.seen_before}. Emails sent {delivery.sent}, failed {delivery.failed}."
            )
            if every is None:
                return
            time.sleep(every * 60)
    except KeyboardInterrupt:  # a run cut short files nothing it has not committed: the next one picks up
        # Not through rich: it empties its buffer only after flushing it, so a Ctrl-C just after a line
        # was printed would print that line again before this one
        typer.echo("Stopped.")


@app.command("replies")
def replies(
    outcome: Annotated[str | None, typer.Option(help="Only: recorded, refused, quarantined or set_aside.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """The replies read so far, newest first, with what became of each and why."""
    from models.inbound import IntakeOutcome

    if outcome is not None and outcome not in set(IntakeOutcome):
        raise typer.BadParameter(f"expected one of {', '.join(IntakeOutcome)}, got {outcome!r}")
    ready()
    show(console, replies_table(None, outcome, limit))


@app.command("remind")
def remind(as_of: AsOf = None, plan: Annotated[str | None, typer.Option(help="Only this plan.")] = None) -> None:
    """Queue and send the reminders and overdue notices due on the day."""
    from tasks.plans.lookup import check_references

    ready()
    if plan is not None:
        checked(lambda: check_references(plan))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from flows.send_reminders import send_reminders

    queued, tally = run(lambda: send_reminders(parse_day(as_of), plan))
    console.print(f"Reminders queued {queued}; emails sent {tally.sent}, retrying {tally.retrying}, failed {tally.failed}.")


@app.command("tick")
def tick(
    as_of: AsOf = None,
    until: Annotated[str | None, typer.Option(help="Run every day from --as-of to this day, in order (replaying a stretch of the cycle).")] = None,
) -> None:
    """Run the daily tick by hand: every milestone of the cycle's calendar due on the day (or on each day
    of a range) that has not run yet: reminders, overdue notices, escalations, deadlines, consolidations."""
    from flows.daily_tick import daily_tick

    ready()
    first = parse_day(as_of)
    last = parse_day(until) if until else first
    if last < first:
        raise typer.BadParameter(f"--until {last:%d/%m/%Y} is before --as-of {first:%d/%m/%Y}", param_hint="--until")
    day = first
    while day <= last:
        result = run(partial(daily_tick, day))
        console.print(
            f"{day:%d/%m/%Y}: reminders {result.reminders}, skipped steps {result.skipped}, escalation digests {result.escalation_digests}, "
            f"deadlines {result.deadlines}, consolidated {result.consolidated}; emails sent {result.delivery.sent}, failed {result.delivery.failed}."
        )
        day += timedelta(days=1)


EvidenceDir = Annotated[
    Path | None, typer.Option("--evidence-dir", help="Folder the file's attachments are read from (default: the file's own folder); never outside it.")
]


@app.command("submit")
def submit(file: Path, as_of: AsOf = None, evidence_dir: EvidenceDir = None) -> None:
    """Record a unit's report from a filled Excel form (.xlsx), or a YAML or JSON file, and send its receipt."""
    from tasks.intake.form_reader import read_form
    from tasks.intake.submission_files import submission_input

    ready()
    # Read and checked first: a wrong file is refused before any flow (and its server) starts
    report = checked(lambda: read_form(file) if file.suffix.lower() == ".xlsx" else submission_input(file, evidence_dir=evidence_dir))
    from flows.record_submission import submit_report

    recorded = run(lambda: submit_report(report, parse_day(as_of)))
    if recorded.is_new:
        console.print(f"Recorded version {recorded.version}{' (late)' if recorded.is_late else ''}.")
    else:
        console.print(f"Already recorded as version {recorded.version}: nothing changed.")


@app.command("consolidate")
def consolidate(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    as_of: AsOf = None,
    all_levels: Annotated[
        bool, typer.Option("--all-levels/--this-level", help="Consolidate every implementing plan below first (default), or this plan only.")
    ] = True,
) -> None:
    """Consolidate the units' reports for a duty into a report (Markdown and HTML) and submit it upward."""
    from tasks.plans.lookup import check_references

    ready()
    checked(lambda: check_references(plan, duty=duty))
    # Imported after the check: a mistyped code is refused without loading Prefect.
    from flows.consolidate import consolidate as consolidate_flow

    day = parse_day(as_of)
    outcome = run(lambda: consolidate_flow(plan, duty, day, all_levels))
    note_act("consolidate", f"{plan} · {duty}", day)
    r = outcome.result
    if outcome.below:
        console.print(f"Implementing plans consolidated below: {outcome.below}.")
    console.print(f"Targets met {r.met}/{r.judged}; submitted {len(r.submitted)}/{r.expected}, late {len(r.late)}, missing {len(r.missing)}.")
    for path in outcome.files:
        console.print(f"  {path}")
