"""The `cascade` command: thin wrappers that parse arguments and run a flow or a query."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

# Quiet Prefect's per-task logging unless the user asks for it (it costs 30–40% in-flow).
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server gives up after 20 s by default, which a busy machine can exceed.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from cascade import clock  # noqa: E402
from cascade.errors import CascadeError, ConflictError, InputError, NotFound  # noqa: E402

app = typer.Typer(help="plan-cascade: cascade a plan down the hierarchy and gather the reports back up.", no_args_is_help=True, pretty_exceptions_enable=False)
units_app = typer.Typer(help="The unit tree.", no_args_is_help=True)
plan_app = typer.Typer(help="Plans: import, list, cascade, issue, export.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(plan_app, name="plan")
app.add_typer(db_app, name="db")
console = Console()


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


def run(action):  # type: ignore[no-untyped-def]
    """Run an action; print a CascadeError on stderr (every problem on its own line) and exit 1."""
    from prefect import tags
    from prefect.logging.configuration import setup_logging

    from flows.runtime import local_runs

    if not logging.getLogger().handlers:
        setup_logging()  # Prefect's console handler, so that the filter below has something to sit on
    _quiet_refusals()
    try:
        with local_runs(), tags("cli"):  # runs started by hand are told apart from scheduled ones in the UI
            return action()
    except InputError as exc:
        typer.echo(exc.details(), err=True)  # unwrapped: one problem per line, file:line: path: message
        raise typer.Exit(1) from None
    except CascadeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def warn(warnings: Sequence[str]) -> None:
    """Print a command's warnings on stderr, one a line, unwrapped ('warning: plan.yaml:40: plan.duties[1].due_on: …')."""
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)


def ready() -> None:
    """Bring the database's schema up to date (migrations; one query when it already is)."""
    from models.schema import ensure_current

    ensure_current()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the schema migrations up to the latest (creates the tables in an empty database)."""
    from sqlalchemy.engine import make_url

    from models.schema import upgrade
    from cascade.settings import get_settings

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
    result = run(lambda: import_units(file))
    console.print(f"Units: {result.created} created, {result.updated} updated.")


@plan_app.command("import")
def plan_import(file: Path, replace: Annotated[bool, typer.Option(help="Replace a plan with the same key that has no assignments yet.")] = False) -> None:
    """Import a plan from a YAML file (all or nothing)."""
    from tasks.plans.imports import import_plan_file

    ready()
    result = run(lambda: import_plan_file(file, replace=replace))
    warn(result.warnings)
    console.print(f"Plan imported: {result.key}")


@plan_app.command("list")
def plan_list() -> None:
    """List the plans in the database, implementing plans under the plan they implement."""
    from sqlalchemy import select

    from models.db import session_scope
    from models.plan import Plan

    ready()
    table = Table("Key", "Số", "Ngày", "Cơ quan ban hành", "Cấp", "Trạng thái")
    with session_scope() as session:
        plans = session.scalars(select(Plan).order_by(Plan.year, Plan.level, Plan.key)).all()
        children: dict[int | None, list[Plan]] = {}
        for plan in plans:
            children.setdefault(plan.parent_plan_id if plan.parent_plan_id in {p.id for p in plans} else None, []).append(plan)

        def add(plan: Plan, depth: int) -> None:
            table.add_row("  " * depth + plan.key, plan.code, plan.issued_on.strftime("%d/%m/%Y"), plan.issuer.display_name, str(plan.level), STATUS_WORDS[plan.status])
            for child in children.get(plan.id, []):
                add(child, depth + 1)

        for root in children.get(None, []):
            add(root, 0)
    console.print(table)


STATUS_WORDS = {"draft": "Dự thảo", "issued": "Đã ban hành", "closed": "Đã kết thúc"}


@plan_app.command("cascade")
def plan_cascade(
    plan: Annotated[str, typer.Argument(help="Plan key (74-kh-sxd-2024) or number/symbol (74/KH-SXD).")],
    as_of: AsOf = None,
    units: Annotated[str | None, typer.Option(help="Comma-separated unit codes instead of the issuer's direct subordinates.")] = None,
) -> None:
    """Assign the plan's duties to its units, draft their implementing plans, go on down every level, and email them."""
    from flows.cascade_plan import cascade_plan
    from tasks.reporting.queries import check_references

    ready()
    only = [u.strip() for u in units.split(",") if u.strip()] if units else None
    run(lambda: check_references(plan, units=only or ()))
    result = run(lambda: cascade_plan(plan, parse_day(as_of), only))
    warn(result.warnings)
    console.print(
        f"{result.plan_key}: {result.assigned} new assignment(s) over {result.levels} level(s); implementing plans drafted {result.drafted}, "
        f"issued {result.issued}; emails sent {result.delivery.sent}, retrying {result.delivery.retrying}, failed {result.delivery.failed}."
    )


@plan_app.command("issue")
def plan_issue(
    plan: Annotated[str, typer.Argument(help="Key of a drafted implementing plan (104-kh-ubnd-2024--tb.giabinh).")],
    as_of: AsOf = None,
    number: Annotated[str | None, typer.Option(help="The number from the issuer's register; default: its next for the year.")] = None,
) -> None:
    """Issue a drafted implementing plan and cascade it to the unit's subordinates."""
    from flows.issue_plan import issue_plan
    from tasks.reporting.queries import check_references

    ready()
    run(lambda: check_references(plan))
    result = run(lambda: issue_plan(plan, parse_day(as_of), number))
    warn(result.warnings)
    console.print(f"{result.plan_key} issued; {result.assigned} new assignment(s), emails sent {result.delivery.sent}.")


@plan_app.command("export")
def plan_export(plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")]) -> None:
    """Print a plan in the plan file format (to adjust a draft, then `plan import --replace`)."""
    from models.db import session_scope
    from tasks.cascading.assign import find_plan
    from tasks.plans.exports import plan_yaml

    ready()

    def export() -> str:
        with session_scope() as session:
            return plan_yaml(session, find_plan(session, plan))

    sys.stdout.write(run(export))


@plan_app.command("close")
def plan_close(plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")], as_of: AsOf = None) -> None:
    """Close the plan's cycle and that of every implementing plan below: no more submissions or reminders;
    the units' links show their pages read-only for `portal_link_days_after_close` days, then expire."""
    from tasks.intake.access import close_plan

    ready()
    closed = run(lambda: close_plan(plan, parse_day(as_of)))
    console.print(f"Closed {len(closed)} plan(s): {', '.join(closed)}.")


link_app = typer.Typer(help="The units' portal links.", no_args_is_help=True)
app.add_typer(link_app, name="link")


def _assignment_id(plan: str, duty: str, unit: str) -> int:
    from models.db import session_scope
    from tasks.cascading.assign import find_plan
    from tasks.intake.submissions import find_assignment

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

    typer.echo(run(show))


@link_app.command("revoke")
def link_revoke(plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")], duty: Annotated[str, typer.Argument(help="Duty code.")],
                unit: Annotated[str, typer.Argument(help="Unit code.")], as_of: AsOf = None,
                send: Annotated[bool, typer.Option(help="Email the new link to the unit.")] = True) -> None:  # fmt: skip
    """Replace a unit's portal link: the old one answers 404 at once; the unit is emailed the new one."""
    from flows.deliver_outbox import deliver_outbox
    from tasks.intake.access import revoke_link

    ready()
    day = parse_day(as_of)

    def revoke() -> str:
        reference = revoke_link(_assignment_id(plan, duty, unit), day, send=send)
        if send:
            deliver_outbox(day)
        return reference

    console.print(f"{run(revoke)}: link replaced{'; the unit was emailed the new one' if send else ''}.")


@app.command("portal")
def portal(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the port of portal_base_url.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Act as on this day (replaying a cycle); default: each day's real date.")] = None,
) -> None:
    """Serve the units' report pages and the secretariat's dashboard (Ctrl-C to stop)."""
    from urllib.parse import urlsplit

    import uvicorn

    from portal.app import create_app
    from flows.runtime import local_runs
    from cascade.settings import get_settings

    ready()
    settings = get_settings()
    day = parse_day(as_of) if as_of else None
    app_ = create_app((lambda: day) if day else clock.today)
    listen = port or urlsplit(settings.portal_base_url).port or 8765
    console.print(f"Portal on http://{host}:{listen} (links in emails use {settings.portal_base_url}); dashboard at /admin (Ctrl-C to stop)")
    if settings.dashboard_password is None:
        console.print("[yellow]CASCADE_DASHBOARD_PASSWORD is not set: the dashboard refuses every login.[/yellow]")
    with local_runs():
        uvicorn.run(app_, host=host, port=listen, log_level="warning", proxy_headers=True)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address the Prefect server and the portal listen on.")] = "127.0.0.1",
    prefect_port: Annotated[int | None, typer.Option(help="Port of the Prefect server started here; default 4200 if free.")] = None,
    portal_port: Annotated[int | None, typer.Option(help="Default: the port of portal_base_url.")] = None,
) -> None:
    """Run everything on this machine: a Prefect server (or CASCADE_PREFECT_API_URL's), the daily tick and
    reply collection on their schedules, and the portal, until Ctrl-C or SIGTERM."""
    from cascade.cli.serve import serve as serve_all
    from cascade.settings import get_settings

    ready()
    run(lambda: serve_all(get_settings(), host=host, prefect_port=prefect_port, portal_port=portal_port, echo=typer.echo))


@app.command("deliver")
def deliver(as_of: AsOf = None) -> None:
    """Send every queued email that is due."""
    from flows.deliver_outbox import deliver_outbox

    ready()
    tally = run(lambda: deliver_outbox(parse_day(as_of)))
    console.print(f"Emails sent {tally.sent}, retrying {tally.retrying}, failed {tally.failed}.")


OUTCOME_WORDS = {"recorded": "Đã ghi nhận", "refused": "Đã trả lời lỗi", "quarantined": "Cách ly", "set_aside": "Cần xem xét"}


def replies_table(ids: list[int] | None, outcome: str | None = None, limit: int = 50) -> Table:
    """The replies read (those of `ids`, or all), newest first: when, who, which unit, what became of them and why."""
    from models.db import session_scope
    from tasks.intake.inbound import inbound

    table = Table("Nhận lúc", "Người gửi", "Tiêu đề", "Đơn vị", "Kết quả", "Thư mục", "Lý do", title="Thư trả lời đã đọc")
    with session_scope() as session:
        for row in inbound(session, ids=ids, outcome=outcome, limit=limit):
            table.add_row(
                row.arrived_at.astimezone(clock.VN_TZ).strftime("%d/%m/%Y %H:%M"), row.sender or "-", row.subject[:60], row.unit_code or "-",
                OUTCOME_WORDS[row.outcome], row.folder, row.detail.splitlines()[0] if row.detail else row.reason,
            )  # fmt: skip
    return table


@app.command("collect")
def collect(
    as_of: AsOf = None,
    every: Annotated[int | None, typer.Option(help="Keep collecting every N minutes until Ctrl-C (without a Prefect server; `cascade serve` schedules it instead).", min=1)] = None,
) -> None:
    """Read the units' replies from the reply mailbox (IMAP): record the forms, answer the units, set the rest aside."""
    import time

    from flows.collect_replies import collect_replies

    ready()
    try:
        while True:
            day = parse_day(as_of)
            tally, delivery = run(lambda: collect_replies(day))
            if tally.fetched:
                console.print(replies_table(list(tally.inbound_ids)))
            console.print(
                f"Replies read {tally.fetched}: recorded {tally.recorded}, answered with problems {tally.refused}, quarantined {tally.quarantined}, "
                f"set aside {tally.set_aside}, already handled {tally.seen_before}. Emails sent {delivery.sent}, failed {delivery.failed}."
            )
            if every is None:
                return
            time.sleep(every * 60)
    except KeyboardInterrupt:  # a run cut short files nothing it has not committed: the next one picks up
        console.print("Stopped.")


@app.command("replies")
def replies(
    outcome: Annotated[str | None, typer.Option(help="Only: recorded, refused, quarantined or set_aside.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """The replies read so far, newest first, with what became of each and why."""
    if outcome is not None and outcome not in OUTCOME_WORDS:
        raise typer.BadParameter(f"expected one of {', '.join(OUTCOME_WORDS)}, got {outcome!r}")
    ready()
    console.print(replies_table(None, outcome, limit))


@app.command("remind")
def remind(as_of: AsOf = None, plan: Annotated[str | None, typer.Option(help="Only this plan.")] = None) -> None:
    """Queue and send the reminders and overdue notices due on the day."""
    from flows.send_reminders import send_reminders
    from tasks.reporting.queries import check_references

    ready()
    if plan is not None:
        run(lambda: check_references(plan))
    queued, tally = run(lambda: send_reminders(parse_day(as_of), plan))
    console.print(f"Reminders queued {queued}; emails sent {tally.sent}, retrying {tally.retrying}, failed {tally.failed}.")


@app.command("tick")
def tick(
    as_of: AsOf = None,
    until: Annotated[str | None, typer.Option(help="Run every day from --as-of to this day, in order (replaying a stretch of the cycle).")] = None,
) -> None:
    """Run the daily tick by hand: every milestone of the cycle's calendar due on the day (or on each day
    of a range) that has not run yet: reminders, overdue notices, escalations, deadlines, consolidations."""
    from datetime import timedelta

    from flows.daily_tick import daily_tick

    ready()
    first = parse_day(as_of)
    last = parse_day(until) if until else first
    if last < first:
        raise typer.BadParameter(f"--until {last:%d/%m/%Y} is before --as-of {first:%d/%m/%Y}", param_hint="--until")
    day = first
    while day <= last:
        result = run(lambda: daily_tick(day))  # noqa: B023 (called at once, inside the loop)
        console.print(
            f"{day:%d/%m/%Y}: reminders {result.reminders}, skipped steps {result.skipped}, escalation digests {result.escalation_digests}, "
            f"deadlines {result.deadlines}, consolidated {result.consolidated}; emails sent {result.delivery.sent}, failed {result.delivery.failed}."
        )
        day += timedelta(days=1)


@app.command("submit")
def submit(file: Path, as_of: AsOf = None) -> None:
    """Record a unit's report from a filled Excel form (.xlsx), or a YAML or JSON file, and send its receipt."""
    from flows.record_submission import submit_report
    from tasks.intake.form_reader import read_form
    from tasks.intake.submission_files import submission_input

    ready()
    read = read_form if file.suffix.lower() == ".xlsx" else submission_input
    recorded = run(lambda: submit_report(read(file), parse_day(as_of)))
    if recorded.is_new:
        console.print(f"Recorded version {recorded.version}{' (late)' if recorded.is_late else ''}.")
    else:
        console.print(f"Already recorded as version {recorded.version}: nothing changed.")


@app.command("consolidate")
def consolidate(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    as_of: AsOf = None,
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Consolidate every implementing plan below first (default), or this plan only.")] = True,
) -> None:
    """Consolidate the units' reports for a duty into a report (Markdown and HTML) and submit it upward."""
    from flows.consolidate import consolidate as consolidate_flow
    from tasks.reporting.queries import check_references

    ready()
    run(lambda: check_references(plan, duty=duty))
    outcome = run(lambda: consolidate_flow(plan, duty, parse_day(as_of), all_levels))
    r = outcome.result
    if outcome.below:
        console.print(f"Implementing plans consolidated below: {outcome.below}.")
    console.print(f"Targets met {r.met}/{r.judged}; submitted {len(r.submitted)}/{r.expected}, late {len(r.late)}, missing {len(r.missing)}.")
    for path in outcome.files:
        console.print(f"  {path}")


@app.command("trace")
def trace(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    indicator: Annotated[str, typer.Argument(help="Indicator (target) code, e.g. nha_o_xa_hoi.")],
) -> None:
    """Show where a consolidated figure comes from: the submissions behind it, level by level."""
    from rich.tree import Tree

    from tasks.reporting.queries import TraceNode, check_references, trace_figure

    ready()
    run(lambda: check_references(plan, duty=duty))
    report, nodes = run(lambda: trace_figure(plan, duty, indicator))
    figure = next(t for t in report.summary["targets"] if t["code"] == indicator)
    tree = Tree(f"{indicator} = {figure['figure']} (báo cáo ngày {report.as_of:%d/%m/%Y}, {figure['reported']}/{figure['expected']} đơn vị)")

    def add(branch: Tree, node: TraceNode) -> None:
        shown = f"{node.numerator}/{node.denominator}" if node.numerator is not None else str(node.value)
        covers = f", {node.covers} đơn vị" if node.covers else ""
        child = branch.add(f"{node.unit_name} ({node.unit_code}): {shown}{covers} — bản #{node.submission_id} lần {node.version}, {node.channel}, {node.received_on:%d/%m/%Y}")
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
    from tasks.reporting.queries import STATE_WORDS, plan_status
    from tasks.outbound.quota import outbox_waiting

    ready()
    day = parse_day(as_of)
    if plan is not None:
        code, rows = run(lambda: plan_status(plan, day, all_levels=all_levels, include_merged=True))
        table = Table(
            "Cấp", "Kế hoạch", "Đơn vị", "Báo cáo", "Hạn", "Trạng thái", "Ngày nộp", "Lần nộp", "Nhắc gần nhất", "Thư đã gửi", "Thư chờ gửi",
            title=f"Kế hoạch {code} — ngày {day:%d/%m/%Y}",
        )  # fmt: skip
        for row in rows:
            unit = row.unit_name
            if row.state == "merged":
                unit += f" (đã sáp nhập vào {row.merged_into})" if row.merged_into else " (đã sáp nhập)"
            elif row.transferred_from:
                unit += f" (tiếp nhận từ {row.transferred_from}, đã sáp nhập)"
            table.add_row(
                str(row.level), row.plan_code, unit, row.duty_code, f"{row.due_on:%d/%m/%Y}", STATE_WORDS[row.state],
                f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "-", str(row.versions),
                row.last_reminder or "-", str(row.emails_sent), str(row.emails_waiting),
            )
        console.print(table)
    console.print(outbox_table(outbox_waiting(day)))


def outbox_table(waiting) -> Table:  # type: ignore[no-untyped-def]
    """What waits in the outbox, best priority first, with the daily quota's view."""
    total = sum(n for _, _, n in waiting.by_kind)
    caption = f"{waiting.retrying} thư đang chờ gửi lại sau lỗi."
    if waiting.room_today is not None:
        caption += f" Hạn mức hôm nay còn {waiting.room_today} thư; cần khoảng {waiting.days_to_drain} ngày để gửi hết."
    table = Table("Ưu tiên", "Loại thư", "Số thư chờ", title=f"Hộp thư đi: {total} thư chờ gửi", caption=caption)
    for kind, priority, count in waiting.by_kind:
        table.add_row(str(priority), EMAIL_KIND_WORDS.get(kind, kind), str(count))
    return table


EMAIL_KIND_WORDS = {
    "receipt": "Xác nhận đã nhận báo cáo", "link": "Đường dẫn mới", "intake": "Trả lời thư báo cáo", "alert": "Cảnh báo văn phòng",
    "review": "Kết quả xem xét", "overdue": "Thông báo quá hạn", "escalation": "Tổng hợp quá hạn (thủ trưởng, văn phòng)",
    "reminder": "Nhắc hạn", "report": "Báo cáo tổng hợp", "assignment": "Giao nhiệm vụ",
}


@app.command("calendar")
def calendar(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    all_levels: Annotated[bool, typer.Option("--all-levels/--this-level", help="Include every implementing plan below (default).")] = True,
) -> None:
    """The plan's milestones: what the daily tick does on which day, and what it did."""
    from models.milestones import STATUS_WORDS, milestone_title
    from tasks.followup.milestones import plan_calendar

    ready()
    code, rows = run(lambda: plan_calendar(plan, all_levels=all_levels))
    table = Table("Ngày", "Kế hoạch", "Báo cáo", "Mốc", "Trạng thái", "Kết quả", title=f"Lịch thực hiện Kế hoạch {code}")
    for row in rows:
        state = STATUS_WORDS[row.status] + (f" ({row.done_on:%d/%m/%Y})" if row.done_on and row.done_on != row.day else "")
        table.add_row(
            f"{row.day:%d/%m/%Y}", row.plan_code, row.duty_title, milestone_title(row.kind, row.step, row.duty_kind), state, row.outcome or "",
        )  # fmt: skip
    console.print(table)


@app.command("schema")
def schema(kind: Annotated[str, typer.Argument(help="units, plan or submission")]) -> None:
    """Print the JSON Schema of an input file format."""
    from models.specs import json_schema

    try:
        document = json_schema(kind)
    except (KeyError, ValueError):
        typer.echo(f"error: unknown schema {kind!r}: expected units, plan or submission", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


@app.command("mailbox")
def mailbox(
    maildir: Annotated[Path | None, typer.Option(help="Maildir folder; default <workspace>/maildir.")] = None,
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the configured SMTP port.")] = None,
) -> None:
    """Run a local SMTP server that stores every message in a Maildir (for trying things out)."""
    from sandbox.smtp_sink import serve_forever
    from cascade.settings import get_settings

    settings = get_settings()
    folder = maildir or settings.workspace / "maildir"
    console.print(f"SMTP sink on {host}:{port or settings.smtp_port}, storing into {folder.resolve()} (Ctrl-C to stop)")
    serve_forever(folder, host, port or settings.smtp_port)


@app.command("demo")
def demo(workspace: Annotated[Path, typer.Option(help="Folder for the demo (emptied first).")] = Path("demo-workspace")) -> None:
    """Run the whole annual cycle of the example plan on a fresh workspace and a local mailbox."""
    from sandbox.demo import run_demo

    run(lambda: run_demo(workspace, console))


# --- calendar: working days, holidays and the office's own overrides ---------------------

document_app = typer.Typer(help="Documents: the plan in Word, a unit's form in Excel, PDF copies.", no_args_is_help=True)
app.add_typer(document_app, name="document")


@document_app.command("plan")
def document_plan(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    pdf: Annotated[bool, typer.Option(help="Also make a PDF (LibreOffice).")] = False,
) -> None:
    """Write the plan as a Word document per Decree 30/2020 (and as PDF); prints the paths."""
    from models.db import session_scope
    from tasks.cascading.assign import find_plan
    from tasks.documents.word import write_plan_document
    from tasks.documents.pdf import to_pdf

    ready()

    def write() -> list[Path]:
        with session_scope() as session:
            word = write_plan_document(session, find_plan(session, plan))
        return [word, *(to_pdf([word]) if pdf else [])]

    for path in run(write):
        typer.echo(str(path))


@document_app.command("form")
def document_form(
    plan: Annotated[str, typer.Argument(help="Plan key or number/symbol.")],
    duty: Annotated[str, typer.Argument(help="Duty code, e.g. bao_cao_nam.")],
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    as_of: AsOf = None,
) -> None:
    """Write a unit's data-entry form for a duty again (e.g. when it lost the one sent); prints its path."""
    from models.db import session_scope
    from tasks.cascading.assign import find_plan
    from tasks.documents.word import notice_document_path
    from tasks.documents.forms import form_filename, form_spec, needs_form, write_form
    from tasks.intake.submissions import find_assignment

    ready()

    def write() -> Path:
        with session_scope() as session:
            assignment = find_assignment(session, find_plan(session, plan), duty, unit)
            if not needs_form(assignment.duty):
                raise ConflictError(f"duty {duty} asks for an implementing plan, not figures: it has no form")
            spec = form_spec(session, assignment, as_of=parse_day(as_of))
            return write_form(spec, notice_document_path(assignment).with_name(form_filename(spec)))

    typer.echo(str(run(write)))


@document_app.command("pdf")
def document_pdf(files: Annotated[list[Path], typer.Argument(help="Word or Excel files.")]) -> None:
    """Convert documents to PDF beside them with LibreOffice headless; prints the PDFs' paths."""
    from tasks.documents.pdf import to_pdf

    for path in run(lambda: to_pdf(files)):
        typer.echo(str(path))


calendar_app = typer.Typer(help="The working-day calendar: holidays, make-up days, overrides.", no_args_is_help=True)
app.add_typer(calendar_app, name="workdays")


def _calendar_line(day: date, reason: str, working: bool) -> str:
    from cascade.calendar import weekday_name

    return f"{day:%d/%m/%Y}  {weekday_name(day)}  {reason}{'  (ngày làm việc)' if working else ''}"


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
    from cascade.calendar import weekday_name
    from models.calendar import set_override
    from models.db import session_scope

    when = parse_day(day)
    if not note.strip():
        raise typer.BadParameter("the note must say why the day is changed", param_hint="--note")
    ready()
    with session_scope() as session:
        set_override(session, when, working, note.strip())
    kind = "ngày làm việc" if working else "ngày nghỉ"
    typer.echo(f"Đã đặt {when:%d/%m/%Y} ({weekday_name(when)}) là {kind}: {note.strip()}")


@calendar_app.command("unset")
def calendar_unset(day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD or DD/MM/YYYY.")]) -> None:
    """Remove a day's override: the national calendar applies again."""
    from models.calendar import remove_override
    from models.db import session_scope

    when = parse_day(day)
    ready()
    with session_scope() as session:
        removed = remove_override(session, when)
    if not removed:
        typer.echo(f"error: ngày {when:%d/%m/%Y} không có điều chỉnh nào", err=True)
        raise typer.Exit(1)
    typer.echo(f"Đã bỏ điều chỉnh ngày {when:%d/%m/%Y}: áp dụng lịch chung.")


if __name__ == "__main__":
    app()
