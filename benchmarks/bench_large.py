"""`make bench-large`: a province-sized tree through the cycle, on SQLite and on PostgreSQL.

A four-level tree (1 → 10 → 200 → 20,000 units) is cascaded (every unit gets its documents and a
notice, delivered to an SMTP sink in another process), its leaves are reminded, half of them report
(receipts delivered), and it is consolidated bottom-up. Each run is a process of its own, so that its
peak memory is its own; the same run at a tenth of the size (2,000 leaves) gives the memory growth.
The daily tick is timed with the same number of units due (a second plan's 1,000 units, first and
second reminder step) on 20,000 assignments and again after 180,000 more are added (not due then).
Writes BENCHMARKS-LARGE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade.cli.handover import ENVIRONMENT_DEFAULTS  # the standard library only: before Prefect loads

for _name, _value in {**ENVIRONMENT_DEFAULTS, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}.items():
    os.environ.setdefault(_name, _value)

from sqlalchemy import delete, func, insert, literal, select, update

from benchmarks.bench_cycle import report_of, wait_for_port
from cascade.net import free_port
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.daily_tick import daily_tick
from flows.deliver_outbox import deliver_outbox
from flows.runtime import local_runs
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.calendar import load_calendar
from models.db import reset_engines, session_scope
from models.plan import Plan, ReportDuty
from models.reminders import reminder_steps, step_day
from models.schema import create_schema
from models.unit import Unit
from sandbox.demo import use_workspace
from tasks.intake.access import close_plan
from tasks.intake.submissions import record_submission
from tests.fixtures.builders import make_plan
from tests.fixtures.postgres import fresh_database

# Units per parent below the root, and the second plan's units: 20,210 and 2,210 units; `tiny` checks the script
SIZES = {"large": ((10, 20, 100), 1000), "small": ((10, 20, 10), 1000), "tiny": ((2, 2, 3), 6)}
CASCADE_DAY, CONSOLIDATION_DAY = date(2024, 4, 5), date(2024, 11, 8)
TICK_DUE = date(2024, 5, 31)  # the second plan's deadline: its first and second reminder steps on 24/05 and 28/05
EXTRA_DUTIES = 9  # × the leaves: the assignments added before the second tick
EXTRA_PREFIX = "them_"


def build_tree(widths: tuple[int, ...]) -> tuple[int, list[str]]:
    """The units, level by level under TREE, written a level a statement (no ORM object per unit: the
    run's memory is the cycle's, not this set-up's); their number and the leaves' codes."""
    with session_scope() as session:
        root = Unit(code="TREE", name="UBND tỉnh", issuer_symbol="UBND", emails=["vanthu@tinh.example.gov.vn"], place="Biên Hòa")
        session.add(root)
        session.flush()
        level, total = [(root.id, root.code)], 1
        for depth, width in enumerate(widths, start=1):
            rows = [
                {"code": f"{code}.{i + 1}", "name": f"Đơn vị {code}.{i + 1}", "issuer_symbol": "UB", "parent_id": parent_id}
                for parent_id, code in level
                for i in range(width)
            ]
            for n, row in enumerate(rows):
                row["emails"] = [f"u{depth}.{n}@example.gov.vn"]
            session.execute(insert(Unit), rows)
            ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.parent_id.in_([parent_id for parent_id, _ in level]))).tuples().all())
            level, total = [(ids[row["code"]], row["code"]) for row in rows], total + len(rows)
        return total, [code for _, code in level]


def add_assignments(plan: str) -> int:
    """EXTRA_DUTIES more duties on the tree's plan, each assigned to every leaf, due in December with no
    reminder: nothing in them is due in May; how many assignments were added."""
    with session_scope() as session:
        source = session.scalars(select(ReportDuty).join(Plan).where(Plan.key == plan, ReportDuty.code == "bao_cao_nam")).one()
        leaf_duties = select(ReportDuty.id).join(Plan).where(Plan.key.startswith(f"{plan}--"), ReportDuty.code == source.code)  # the leaves' own plans
        added = 0
        for n in range(1, EXTRA_DUTIES + 1):
            duty = ReportDuty(plan_id=source.plan_id, code=f"{EXTRA_PREFIX}{n}", kind=source.kind, title=f"{source.title} ({n})",
                              due_on=date(2024, 12, 20), reminder_days=[], overdue_days=[], sections=source.sections, assignee_codes=["-"])  # fmt: skip
            session.add(duty)
            session.flush()
            rows = select(
                literal(duty.id), Assignment.unit_id, literal(duty.due_on), Assignment.status, Assignment.token + f"-{n}",
                Assignment.link_token + f"-{n}", Assignment.created_at,
            ).join(Unit, Unit.id == Assignment.unit_id).where(Assignment.duty_id.in_(leaf_duties), ~Unit.children.any())  # fmt: skip
            columns = ["duty_id", "unit_id", "due_on", "status", "token", "link_token", "created_at"]
            session.execute(insert(Assignment).from_select(columns, rows))
            added += session.scalar(select(func.count()).where(Assignment.duty_id == duty.id)) or 0  # psycopg gives no rowcount for INSERT … SELECT
    return added


def remove_assignments(plan: str) -> None:
    """Take the added duties and their assignments away again (the rest of the run is the tree's own)."""
    with session_scope() as session:
        extra = select(ReportDuty.id).join(Plan).where(Plan.key == plan, ReportDuty.code.startswith(EXTRA_PREFIX))
        session.execute(delete(Assignment).where(Assignment.duty_id.in_(extra)))
        session.execute(delete(ReportDuty).where(ReportDuty.id.in_(extra)))


def run(widths: tuple[int, ...], tick_units: int, database: str, workspace: Path, port: int) -> dict[str, Any]:
    """The whole run on one database ('sqlite', or a PostgreSQL URL); its figures."""
    figures: dict[str, Any] = {"phases": []}

    def timed(label: str, count: int, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
        figures["phases"].append((label, seconds, count))
        print(f"  {label}: {seconds:.1f} s, peak memory so far {peak_mib():,.0f} MiB", flush=True)
        return result

    use_workspace(workspace, port, "http://127.0.0.1:8765")
    os.environ["CASCADE_SMTP_USER"] = "bench@plan-cascade.local"
    if database != "sqlite":
        os.environ["CASCADE_DATABASE_URL"] = database
        reset_engines()
    started = time.perf_counter()
    with local_runs():
        create_schema()
        deliver_outbox(date(2024, 4, 1))  # starts Prefect's temporary server: not timed
        total, leaves = timed("Build the tree", 0, lambda: build_tree(widths))
        plan = make_plan("TREE", key="tree-2024")
        with session_scope() as session:
            session.execute(update(Plan).where(Plan.key == plan).values(cascade_policy={"levels": [{"lead_days": 5}, {"lead_days": 3}, {"lead_days": 2}]}))
        timed(f"Cascade to {total:,} units through {len(widths)} levels (documents, a notice each, delivered)", total, lambda: cascade_plan(plan, CASCADE_DAY))

        # The daily tick with the same number due, on the tree's assignments and then on ten times as many
        make_tick_plan(tick_units)
        timed(f"Cascade a second plan to {tick_units:,} units", tick_units, lambda: cascade_plan("tick-2024", date(2024, 5, 2)))
        with session_scope() as session:
            before = session.scalar(select(func.count()).select_from(Assignment)) or 0
        first = timed(f"Daily tick, {tick_units:,} reminders due, {before:,} assignments", tick_units, lambda: daily_tick(date(2024, 5, 24)))
        added = timed(f"Add {EXTRA_DUTIES * len(leaves):,} assignments (SQL)", EXTRA_DUTIES * len(leaves), lambda: add_assignments(plan))
        second = timed(f"Daily tick, {tick_units:,} reminders due, {before + added:,} assignments", tick_units, lambda: daily_tick(date(2024, 5, 28)))
        assert first.reminders == second.reminders == tick_units, (first, second)
        figures["tick_ratio"] = figures["phases"][-1][1] / figures["phases"][-3][1]
        remove_assignments(plan)
        close_plan("tick-2024", date(2024, 6, 30))  # its overdue notices are not the tree's reminders

        remind_day = first_reminder_day(plan)
        queued, _ = timed(f"Reminders, first step ({len(leaves):,} leaves, delivered)", len(leaves), lambda: send_reminders(remind_day))
        assert queued == len(leaves), queued
        half = leaves[::2]

        def report_half() -> None:
            for code in half:
                record_submission.fn(report_of(plan, code), remind_day)

        timed(f"Record {len(half):,} leaves' reports (receipts queued)", len(half), report_half)
        timed(f"Deliver {len(half):,} receipts", len(half), lambda: deliver_outbox(remind_day))
        outcome = timed(f"Consolidate bottom-up ({total - len(leaves):,} reports)", total, lambda: consolidate(plan, "bao_cao_nam", CONSOLIDATION_DAY))
        assert outcome.result.levels[-1].submitted == len(half), outcome.result.levels
    figures["total_seconds"] = time.perf_counter() - started
    figures["units"], figures["tick_units"] = total, tick_units
    figures["peak_mib"] = peak_mib()
    return figures


def peak_mib() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_reminder_day(plan: str) -> date:
    """The working day of the leaves' first reminder (their deadline less the duty's first reminder days)."""
    with session_scope() as session:
        due, days = session.execute(
            select(Assignment.due_on, ReportDuty.reminder_days).join(ReportDuty).join(Plan)
            .join(Unit, Unit.id == Assignment.unit_id).where(Plan.key.startswith(f"{plan}--"), ~Unit.children.any()).limit(1)
        ).one()  # fmt: skip
        calendar = load_calendar(session)
    return step_day(reminder_steps(days, [])[0], due, calendar)


def make_tick_plan(units: int) -> None:
    """A second plan of the root's, due 31/05, to the first `units` leaves (as its direct assignees)."""
    with session_scope() as session:
        codes = list(session.scalars(select(Unit.code).where(~Unit.children.any()).order_by(Unit.id).limit(units)))
    make_plan("TREE", key="tick-2024", due_on=TICK_DUE, assignees=codes)


def one_run(args: argparse.Namespace) -> None:
    """A child process: one size on one database; prints its figures as JSON on the last line."""
    widths, tick_units = SIZES[args.size]
    workspace = Path(tempfile.mkdtemp(prefix="cascade-bench-large-"))
    os.environ["PREFECT_HOME"] = str(workspace / "prefect")
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "cascade.cli", "mailbox", "--maildir", str(workspace / "maildir"), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
    wait_for_port(port)
    try:
        if args.database == "postgresql":
            with fresh_database("cascade_bench") as url:
                figures = run(widths, tick_units, url, workspace / "data", port)
        else:
            figures = run(widths, tick_units, "sqlite", workspace / "data", port)
        if sink.poll() is not None:  # every message would have waited for a retry: the figures would be the retries'
            raise RuntimeError(f"the SMTP sink ended during the run (exit status {sink.returncode})")
    finally:
        sink.terminate()
        sink.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(workspace)], check=False)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), help="One run of this size (else: small and large on SQLite, large on PostgreSQL).")
    parser.add_argument("--database", choices=["sqlite", "postgresql"])
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS-LARGE.md")
    args = parser.parse_args()
    if args.size:
        one_run(args)
        return
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for size, database in (("small", "sqlite"), ("large", "sqlite"), ("large", "postgresql")):
        print(f"{size} tree on {database}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--size", size, "--database", database], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            results[size, database] = json.loads(lines.pop())
        else:  # its traceback went to stderr; the report says where it stopped, and the other runs go on
            results[size, database] = {"failed": f"exit {done.returncode} after “{lines[-1].strip() if lines else 'nothing'}”", "phases": []}
        print("\n".join(lines), f"  whole run: {time.perf_counter() - started:.0f} s", sep="\n", flush=True)
    write_report(results, args.output)
    if any("failed" in figures for figures in results.values()):
        raise SystemExit("a run failed: see BENCHMARKS-LARGE.md and the output above")


def write_report(results: dict[tuple[str, str], dict[str, Any]], output: Path) -> None:
    """BENCHMARKS-LARGE.md from the runs' figures; a failed run shows where it stopped."""
    small, large, postgresql = results["small", "sqlite"], results["large", "sqlite"], results["large", "postgresql"]

    def cell(figures: dict[str, Any], text: Callable[[dict[str, Any]], str]) -> str:
        return f"failed: {figures['failed']}" if "failed" in figures else text(figures)

    def minutes(figures: dict[str, Any]) -> str:
        return f"{figures['total_seconds'] / 60:.1f} min"

    def mebibytes(figures: dict[str, Any]) -> str:
        return f"{figures['peak_mib']:,.0f} MiB"

    def ratio(figures: dict[str, Any]) -> str:
        return f"{figures['tick_ratio']:.2f}×"

    labels = [label for label, _, _ in large["phases"]] or [label for label, _, _ in postgresql["phases"]]
    rows = []
    for label in labels:
        found = [next(((s, n) for lab, s, n in figures["phases"] if lab == label), None) for figures in (large, postgresql)]
        shown = [f"{s:.1f} s" + (f" ({n / s:,.0f}/s)" if n and s else "") if (s, n) != (None, None) else "" for s, n in (f or (None, None) for f in found)]
        rows.append(f"| {label} | {shown[0]} | {shown[1]} |")
    lines = [
        "# Benchmarks at a province's size",
        "",
        f"`make bench-large` on this machine ({os.cpu_count()} cores): a tree of 20,210 units (1 → 10 → 200 → 20,000), SMTP sink",
        "(`cascade mailbox`) in another process, Prefect's temporary server; each run a process of its own. Rerun to refresh.",
        "",
        "| Phase | SQLite | PostgreSQL |",
        "| --- | --- | --- |",
        *rows,
        f"| Whole run | {cell(large, minutes)} | {cell(postgresql, minutes)} |",
        "",
        "| Scale | Figure |",
        "| --- | --- |",
        f"| Peak memory, 2,210 units → 20,210 units (SQLite) | {cell(small, mebibytes)} → {cell(large, mebibytes)} |",
        f"| Peak memory, 20,210 units on PostgreSQL | {cell(postgresql, mebibytes)} |",
        f"| Daily tick with the same units due on ten times the assignments ÷ on the tree's own: SQLite, PostgreSQL | {cell(large, ratio)}, {cell(postgresql, ratio)} |",
        "",
    ]
    output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
