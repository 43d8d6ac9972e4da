"""`make bench`: the annual cycle for one unit with many subordinates, timed phase by phase.

Writes the figures into BENCHMARKS.md. Runs on the embedded default (SQLite file, local SMTP
sink in this process, Prefect's temporary server), so it measures what one machine does.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade.cli.handover import ENVIRONMENT_DEFAULTS  # the standard library only: before Prefect loads

for _name, _value in {**ENVIRONMENT_DEFAULTS, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}.items():
    os.environ.setdefault(_name, _value)

import json
import statistics
from email.message import EmailMessage
from email.utils import make_msgid

import yaml
from imap_tools import MailBoxUnencrypted
from sqlalchemy import select, update
from yagmail import sender as yagmail_sender

from cascade.net import free_port
from cascade.settings import get_settings
from flows.amend_plan import amend_plan
from flows.cascade_plan import cascade_plan
from flows.collect_replies import collect_replies
from flows.consolidate import consolidate
from flows.daily_tick import daily_tick
from flows.deliver_outbox import deliver_outbox
from flows.runtime import local_runs
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.db import session_scope
from models.outbox import OutboundEmail, OutgoingEmail
from models.plan import Plan
from models.schema import create_schema
from models.submission import Channel
from models.unit import Unit
from portal.app import create_app
from portal.jobs import Jobs
from portal.live import free_port as portal_port
from portal.live import serving
from sandbox.demo import type_into_form, use_workspace
from sandbox.imap_server import LocalImapServer
from sandbox.portal_visitors import Secretariat, UnitOffice
from tasks.cascading import assign
from tasks.documents.forms import form_filename, form_spec, write_form
from tasks.documents.word import notice_document_context, write_notice_document
from tasks.intake.submissions import FigureInput, SubmissionInput, record_submission
from tasks.outbound import mail
from tasks.outbound.mail import build_message
from tasks.plans.contexts import portal_link, reply_address
from tasks.plans.exports import plan_document
from tasks.plans.lookup import find_assignment, find_plan
from tests.fixtures.builders import make_plan, make_unit_tree


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"SMTP sink did not start on port {port}")


def report_of(plan: str, unit: str):  # type: ignore[no-untyped-def]
    """One unit's annual report on the benchmark plan (make_plan's four targets)."""
    return SubmissionInput(
        plan=plan, duty="bao_cao_nam", unit=unit, channel=Channel.FILE, source_key=unit,
        values={"nha_o_xa_hoi": FigureInput(value=1), "dan_van_kheo": FigureInput(value=1),
                "nuoc_sach": FigureInput(numerator=9, denominator=10), "hai_long": FigureInput(value=96)},
        sections={"tinh_hinh": "Tình hình chung.", "ket_qua": "Kết quả."},
    )  # fmt: skip


def tree_figures(widths_text: str, timed) -> None:  # type: ignore[no-untyped-def]
    """The recursive phases on a deep tree: cascade through every level, leaves report, bottom-up consolidation."""
    widths = [int(w) for w in widths_text.split(",")]
    with session_scope() as session:
        root = Unit(code="TREE", name="UBND tỉnh", issuer_symbol="UBND", emails=["vanthu@tinh.example.gov.vn"], place="Biên Hòa")
        session.add(root)
        level = [root]
        for depth, width in enumerate(widths, start=1):
            following = []
            for parent in level:
                for i in range(width):
                    unit = Unit(
                        code=f"{parent.code}.{i + 1}",
                        name=f"Đơn vị {parent.code}.{i + 1}",
                        issuer_symbol="UB",
                        parent=parent,
                        emails=[f"u{depth}.{len(following)}@example.gov.vn"],
                    )
                    session.add(unit)
                    following.append(unit)
            level = following
        leaves = [u.code for u in level]
    total = sum(math.prod(widths[: i + 1]) for i in range(len(widths)))
    plan = make_plan("TREE", key="tree-2024")
    with session_scope() as session:
        session.execute(update(Plan).where(Plan.key == plan).values(cascade_policy={"levels": [{"lead_days": 5}, {"lead_days": 3}, {"lead_days": 2}]}))
    label = "→".join(["1", *map(str, widths)])
    timed(f"Tree {label}: cascade {total} units through {len(widths)} levels", total, lambda: cascade_plan(plan, date(2024, 4, 5)))

    def leaves_report() -> None:
        for code in leaves:
            record_submission.fn(report_of(plan, code), date(2024, 10, 10))

    timed(f"Tree {label}: {len(leaves)} leaves report", len(leaves), leaves_report)
    outcome = timed(
        f"Tree {label}: consolidate bottom-up ({total - len(leaves) + 1} reports)", total, lambda: consolidate(plan, "bao_cao_nam", date(2024, 11, 8))
    )
    assert outcome.result.levels[-1].submitted == len(leaves), outcome.result.levels


class Stopwatch:
    """Time spent in named functions while it is on: each is wrapped where its callers look it up (the module
    attribute they imported), and restored when it is off. Nested parts are counted in each that holds them."""

    def __init__(self, parts: dict[str, tuple[object, str]]) -> None:
        self.parts, self.seconds, self.calls = parts, dict.fromkeys(parts, 0.0), dict.fromkeys(parts, 0)
        self.saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> Stopwatch:
        for label, (owner, name) in self.parts.items():
            original = getattr(owner, name)
            self.saved.append((owner, name, original))

            def timed(*args, __original=original, __label=label, **kwargs):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return __original(*args, **kwargs)
                finally:
                    self.seconds[__label] += time.perf_counter() - started
                    self.calls[__label] += 1

            setattr(owner, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)


def cascade_stopwatch() -> Stopwatch:
    """The parts of a cascade's time per unit: its documents, its notice queued, the message built and written out,
    and the time the SMTP server took to take it (its transfer and the server's own work: the floor's share)."""
    return Stopwatch({
        "the letter (Word)": (assign, "write_notice_document"),
        "the form (Excel)": (assign, "write_form"),
        "the notice's text (Jinja2) and context": (assign, "render_email"),
        "everything written for a unit (documents, text, its outbox row's values)": (assign, "notice_row"),
        "the outbox rows (one statement a batch)": (assign, "queue_rows"),
        "the MIME message (yagmail), in a sending thread": (mail, "build_message"),
        "the message as text, in a sending thread": (mail, "message_text"),
        "the SMTP transfer, waiting for the server, summed over the connections": (yagmail_sender.SMTP, "_attempt_send"),
        "the delivery after the last batch was queued (wall time)": (sys.modules["flows.cascade_plan"], "deliver_outbox"),
    })  # fmt: skip


def run_peer(script: str, *args: str) -> tuple[int, float]:
    """A peer script run as its reader would run it, in a process of its own (its memory is not the cascade's):
    how many messages it sent and in how many seconds, from its one line of output."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers" / script), *args], capture_output=True, text=True, check=True)
    found = re.search(r"^(\d+) messages in ([\d.]+) s", done.stdout)
    assert found is not None, done.stdout + done.stderr
    return int(found[1]), float(found[2])


def peer_figures(plan: str, maildir: Path, port: int, cascade_seconds: float, figures: list[tuple[str, str]], merge_sample: int = 200) -> None:
    """The cascade beside its peers on the same SMTP sink: the bare delivery of the very messages it sent
    (benchmarks/peers/bare_delivery.py) and a plain mail-merge script building and sending the same notices
    (benchmarks/peers/mail_merge.py) from a merge list in JSON; both as processes of their own."""
    n, bare = run_peer("bare_delivery.py", str(maildir), "--port", str(port))
    rows, plan_document = [], None
    with session_scope() as session:
        found = find_plan(session, plan)
        for duty in found.duties:
            # The script takes about 100 ms a notice here: a sample keeps `make bench` within its 10 minutes; compared per message.
            for a in session.scalars(select(Assignment).where(Assignment.duty_id == duty.id).order_by(Assignment.id).limit(merge_sample)):
                context = notice_document_context(session, a, as_of=date(2024, 4, 5))
                spec = form_spec(session, a, as_of=date(2024, 4, 5))
                row = session.scalars(select(OutboundEmail).where(OutboundEmail.assignment_id == a.id)).first()
                assert row is not None
                plan_document = row.attachments[1]
                rows.append({
                    "to": list(a.unit.emails), "subject": row.subject, "letter": context,
                    "form": {
                        "cells": {
                            "Chỉ tiêu": {"A1": spec.plan.issuer_name.upper(), "A4": spec.duty.title, "A7": f"Đơn vị báo cáo: {spec.unit.name}",
                                         "A8": f"Mã biểu mẫu: {spec.reference}", "E8": f"Hạn gửi: {spec.due_on:%d/%m/%Y}"},
                            "Nội dung báo cáo": {"A2": f"{spec.unit.name} - {spec.duty.title}"},
                        },
                        "indicators": [[i.metric, i.unit_of_measure, str(i.goal_value or "")] for i in spec.indicators],
                        "sections": [s.title for s in spec.sections],
                    },
                })  # fmt: skip
    merge_list = Path(tempfile.mkdtemp(prefix="cascade-bench-merge-")) / "merge.json"
    merge_list.write_text(json.dumps({"plan_document": str(plan_document), "rows": rows}, default=str, ensure_ascii=False), encoding="utf-8")
    m, merged = run_peer("mail_merge.py", str(merge_list), "--port", str(port))
    figures.append((f"Peer: the same {n} messages, already built, sent over one SMTP connection (the floor)", f"{bare:.1f} s ({n / bare:,.0f}/s)"))
    figures.append((f"Peer: a mail-merge script building and sending {m} of the same notices (docxtpl, openpyxl, EmailMessage, smtplib)",
                    f"{merged:.1f} s ({m / merged:,.1f}/s)"))  # fmt: skip
    figures.append(("Cascade ÷ the floor, per message (target ≤ 3×)", f"{cascade_seconds / bare:.1f}×"))
    figures.append(("Cascade ÷ the mail-merge script, per message (below 1: the cascade is faster)", f"{(cascade_seconds / n) / (merged / m):.2f}×"))
    print(*figures[-4:], sep="\n", flush=True)


def maildir_files(maildir: Path) -> set[Path]:
    return {*maildir.glob("new/*"), *maildir.glob("cur/*")}


def floor_figure(what: str, maildir: Path, before: set[Path], port: int, seconds: float, figures: list[tuple[str, str]]) -> None:
    """The bare delivery of the messages a phase sent (those the sink stored since `before`, linked into a Maildir
    of their own), beside the phase's time."""
    fresh = sorted(maildir_files(maildir) - before)
    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-phase-"))
    (folder / "new").mkdir()
    for path in fresh:
        os.link(path, folder / "new" / path.name)
    size = sum(path.stat().st_size for path in fresh) / max(1, len(fresh)) / 1024
    count, bare = run_peer("bare_delivery.py", str(folder), "--port", str(port))
    figures.append((f"Peer: {what}, already built, sent over one connection ({count}, {size:,.0f} KiB each)",
                    f"{bare:.1f} s ({count / bare:,.0f}/s); the phase took {seconds / bare:.1f}× that"))  # fmt: skip
    print(figures[-1], flush=True)


def document_figures(plan: str, figures: list[tuple[str, str]], count: int = 200) -> None:
    """What one unit's documents cost, measured alone on `count` assignments: the letter (Word),
    the form (Excel), and building the message that carries them with the plan."""
    with session_scope() as session:
        assignments = session.scalars(select(Assignment).order_by(Assignment.id).limit(count)).all()
        started = time.perf_counter()
        for a in assignments:
            write_notice_document(session, a, as_of=date(2024, 4, 5))
        letter = (time.perf_counter() - started) / len(assignments)
        folder = Path(tempfile.mkdtemp(prefix="cascade-bench-forms-"))
        started = time.perf_counter()
        for a in assignments:
            write_form(form_spec(session, a, as_of=date(2024, 4, 5)), folder / f"{a.id}.xlsx")
        form = (time.perf_counter() - started) / len(assignments)
        rows = session.scalars(select(OutboundEmail).where(OutboundEmail.assignment_id.in_([a.id for a in assignments]))).all()
        started = time.perf_counter()
        size = 0
        for row in rows:
            size += len(build_message(OutgoingEmail.from_row(row), sender="bench@plan-cascade.local", sender_name="Bench", date=row.created_at).as_string())
        message = (time.perf_counter() - started) / len(rows)
    figures.append(("Per unit: the assignment letter (Word)", f"{letter * 1000:.1f} ms"))
    figures.append(("Per unit: the data-entry form (Excel)", f"{form * 1000:.1f} ms"))
    figures.append(("Per unit: building the notice with its 3 attachments", f"{message * 1000:.1f} ms ({size / len(rows) / 1024:,.0f} KiB a message)"))
    print(figures[-3:], flush=True)


def portal_figures(plan: str, first: int, count: int, figures: list[tuple[str, str]]) -> None:
    """The portal under a burst of units: each opens its page and sends its report over HTTP to uvicorn
    in this process (receipts delivered by the portal's own flow runs); then the dashboard's board."""
    day = date(2024, 10, 25)
    jobs = Jobs()
    port = portal_port()
    with session_scope() as session:
        found = find_plan(session, plan)
        units = []
        for i in range(first, first + count):
            assignment = find_assignment(session, found, "bao_cao_nam", f"U{i}")
            units.append((f"U{i}", "/u/" + portal_link(assignment).rsplit("/u/", 1)[1], form_spec(session, assignment, as_of=day)))
    opened, sent = [], []
    with serving(create_app(lambda: day, jobs=jobs), "127.0.0.1", port) as base, UnitOffice(base) as office:
        started = time.perf_counter()
        for code, path, spec in units:
            t0 = time.perf_counter()
            office.client.get(path).raise_for_status()
            t1 = time.perf_counter()
            office.report(path, spec, report_of(plan, code))
            sent.append(time.perf_counter() - t1)
            opened.append(t1 - t0)
        jobs.wait(600)
        seconds = time.perf_counter() - started
        password = get_settings().dashboard_password
        board_times = []
        if password is not None:
            with Secretariat(base, get_settings().dashboard_user, password.get_secret_value()) as secretariat:
                for _ in range(3):
                    t0 = time.perf_counter()
                    secretariat.client.get(f"/admin/plans/{plan}/bao_cao_nam").raise_for_status()
                    board_times.append(time.perf_counter() - t0)

    def ms(values: list[float], q: float) -> str:
        return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.0f} ms"

    figures.append((f"Portal: {count} units open their page and send their report (HTTP, receipts delivered)", f"{seconds:.1f} s ({count / seconds:,.1f}/s)"))
    figures.append(("Portal: open a unit's page, median / 95th percentile", f"{ms(opened, 50)} / {ms(opened, 95)}"))
    figures.append(("Portal: send a report (store, queue receipt, redirect), median / 95th percentile", f"{ms(sent, 50)} / {ms(sent, 95)}"))
    if board_times:
        figures.append(("Dashboard: the board of all units, best of 3", f"{min(board_times) * 1000:.0f} ms"))
    print(*figures[-4:], sep="\n", flush=True)


def intake_figures(plan: str, first: int, count: int, figures: list[tuple[str, str]]) -> None:
    """Reply collection under a burst: `count` units' replies, each with its filled Excel form, waiting in a
    Dovecot mailbox; one collect_replies run reads, records, answers and files them all (receipts delivered)."""
    day = date(2024, 10, 25)
    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-forms-"))
    with LocalImapServer(user="baocao") as imap:
        os.environ.update(imap.settings_env())
        get_settings.cache_clear()
        messages = []
        with session_scope() as session:
            found = find_plan(session, plan)
            for i in range(first, first + count):
                code = f"U{i}"
                assignment = find_assignment(session, found, "bao_cao_nam", code)
                spec = form_spec(session, assignment, as_of=day)
                path = write_form(spec, folder / code / form_filename(spec))
                type_into_form(path, report_of(plan, code))
                reply = EmailMessage()
                reply["From"], reply["To"] = assignment.unit.emails[0], reply_address(assignment)
                reply["Subject"], reply["Message-ID"] = f"Re: báo cáo năm {code}", make_msgid(domain="bench.example")
                reply.set_content("Đơn vị gửi báo cáo năm kèm biểu mẫu.")
                reply.add_attachment(
                    path.read_bytes(), maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=path.name
                )
                messages.append(reply.as_bytes())
        with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as box:
            for raw in messages:
                box.append(raw, "INBOX")
        size = sum(len(m) for m in messages) / len(messages)
        started = time.perf_counter()
        tally, delivery = collect_replies(day)
        seconds = time.perf_counter() - started
    for name in imap.settings_env():
        os.environ.pop(name)
    get_settings.cache_clear()
    assert tally.recorded == count, tally
    figures.append(
        (
            f"Collect {count} emailed forms from IMAP (read, record, move; {delivery.sent} receipts sent; {size / 1024:.0f} KiB each)",
            f"{seconds:.1f} s ({count / seconds:,.1f}/s)",
        )
    )
    figures.append(("Collect: one reply, all in", f"{seconds / count * 1000:.0f} ms"))
    print(*figures[-2:], sep="\n", flush=True)


def command_figures(plan: str, figures: list[tuple[str, str]], runs: int = 3) -> None:
    """Each read-only command, and a flow command with nothing to do, as a user runs it: a process of its own
    on the benchmark's workspace (median of `runs`), loading everything itself (CASCADE_COMMAND_SERVER=off)
    and handed to the workspace's command server. The flow command reports to the workspace's Prefect
    server; both servers are started first (not timed), as the first flow command of a day would."""
    cascade = str(Path(sys.executable).with_name("cascade"))
    served = {**os.environ, "COLUMNS": "200"}
    served.pop("PREFECT_API_URL", None)
    alone = {**served, "CASCADE_COMMAND_SERVER": "off"}
    read_only = [
        ("status", plan), ("calendar", plan), ("trace", plan, "bao_cao_nam", "nha_o_xa_hoi"), ("replies",), ("plan", "list"), ("plan", "export", plan),
        ("schema", "plan"), ("workdays", "show", "2024"), ("link", "show", plan, "bao_cao_nam", "U1"), ("units", "list"),
    ]  # fmt: skip

    def median_seconds(args: tuple[str, ...], env: dict[str, str]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([cascade, *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def read_only_figures(env: dict[str, str], how: str) -> None:
        each = {" ".join(a[:2] if a[0] in ("plan", "link", "units") else a[:1]): median_seconds(a, env) for a in read_only}
        slowest = max(each, key=lambda name: each[name])
        figures.append((f"Read-only commands, {how}, median of {runs}: the slowest ({slowest})", f"{each[slowest]:.2f} s"))
        figures.append((f"Read-only commands, {how}, each", ", ".join(f"{name} {seconds:.2f} s" for name, seconds in each.items())))

    read_only_figures(alone, "a process each loading what it needs")
    subprocess.run([cascade, "server", "start"], env=served, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    try:
        read_only_figures(served, "handed to the command server")
        for how, env in (("loading Prefect and the flows itself", alone), ("handed to the command server", served)):
            figures.append((f"A flow command with nothing to do (`cascade remind`) on the workspace's Prefect server, {how}, median of {runs}",
                            f"{median_seconds(('remind', '--as-of', '2024-12-30'), env):.2f} s"))  # fmt: skip
        figures.append(("`cascade --help` in a process of its own (the floor: Python, the CLI, no database)", f"{median_seconds(('--help',), alone):.2f} s"))
        figures.append(("`cascade --help` handed to the command server", f"{median_seconds(('--help',), served):.2f} s"))
    finally:
        subprocess.run([cascade, "server", "stop"], env=served, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    print(*figures[-8:], sep="\n", flush=True)


def amendment_file(plan: str, folder: Path, day: date) -> Path:
    """The plan as exported with every judged target asked a little more of, and an amendment's number and day."""
    with session_scope() as session:
        document = plan_document(session, find_plan(session, plan))
    for target in document["plan"]["targets"]:
        if target.get("comparator") in ("ge", "gt") and not target.get("allocations"):
            target["value"] = target["value"] + 1
    path = folder / "amendment.yaml"
    path.write_text(yaml.safe_dump({"amendment": {"number": "900", "issued_on": day.isoformat()}, **document}, allow_unicode=True), encoding="utf-8")
    return path


def amendment_figures(plan: str, n: int, folder: Path, timed) -> None:  # type: ignore[no-untyped-def]
    """An amendment raising the targets every unit reports: n notices, each with the amendment and the unit's new form."""
    day = date(2024, 11, 11)
    result = timed(
        f"Amend the plan: targets raised for {n} units (one notice each with the amendment and its new form, sent)", n,
        lambda: amend_plan(plan, str(amendment_file(plan, folder, day)), day),
    )  # fmt: skip
    assert len(result.top.notified) == n, result.top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000, help="Subordinate units of the issuer.")
    parser.add_argument("--tree", type=str, default="10,10,20", help="Widths of a deep tree's levels below its root, for the recursive phases.")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()

    workspace = Path(tempfile.mkdtemp(prefix="cascade-bench-"))
    os.environ["PREFECT_HOME"] = str(workspace / "prefect")

    figures: list[tuple[str, str]] = []

    def timed(label: str, count: int, action):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
        figures.append((label, f"{seconds:.1f} s ({count / seconds:,.0f}/s)"))
        print(f"{label}: {seconds:.1f} s", flush=True)
        return result

    # The SMTP sink runs in its own process, as a real server would: its work is not ours.
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "cascade.cli", "mailbox", "--maildir", str(workspace / "maildir"), "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    wait_for_port(port)
    try:
        with local_runs():
            use_workspace(workspace / "data", port, "http://127.0.0.1:8765")
            os.environ["CASCADE_SMTP_USER"] = "bench@plan-cascade.local"
            create_schema()
            deliver_outbox(date(2024, 4, 1))  # starts Prefect's temporary server: not timed
            make_unit_tree(depth=2, width=args.units)
            plan = make_plan()
            n = args.units

            started = time.perf_counter()
            with cascade_stopwatch() as watch:
                timed(f"Cascade to {n} units (assign, write 3 documents each, queue, send {n} emails)", n, lambda: cascade_plan(plan, date(2024, 4, 5)))
            cascade_seconds = time.perf_counter() - started
            for label, seconds in watch.seconds.items():
                figures.append((f"Cascade profile, per unit: {label}", f"{seconds / n * 1000:.1f} ms"))
            # The sending threads build and send while others wait for the server: only the main thread's parts add up
            accounted = ("everything written for a unit (documents, text, its outbox row's values)", "the outbox rows (one statement a batch)",
                         "the delivery after the last batch was queued (wall time)")  # fmt: skip
            rest = cascade_seconds - sum(watch.seconds[label] for label in accounted)
            figures.append(("Cascade profile, per unit: the rest (assignments, implementing plans, queries, Prefect's task runs)", f"{rest / n * 1000:.1f} ms"))
            peer_figures(plan, workspace / "maildir", port, cascade_seconds, figures)
            document_figures(plan, figures)
            before, started = maildir_files(workspace / "maildir"), time.perf_counter()
            timed(f"Reminders, first step ({n} emails)", n, lambda: send_reminders(date(2024, 10, 23)))
            floor_figure("the reminders", workspace / "maildir", before, port, time.perf_counter() - started, figures)
            timed("Reminders rerun, nothing due", n, lambda: send_reminders(date(2024, 10, 24)))
            timed(f"Daily tick, nothing to send ({n} units' milestones checked)", n, lambda: daily_tick(date(2024, 10, 24)))

            half = n // 2

            def submit_half() -> None:
                for i in range(half):
                    code = f"U{i + 1}"
                    record_submission.fn(report_of(plan, code), date(2024, 10, 25))

            timed(f"Record {half} submissions (one transaction each, receipts queued)", half, submit_half)
            before, started = maildir_files(workspace / "maildir"), time.perf_counter()
            timed(f"Deliver {half} receipts", half, lambda: deliver_outbox(date(2024, 10, 25)))
            floor_figure("the receipts", workspace / "maildir", before, port, time.perf_counter() - started, figures)
            tick = timed(
                f"Daily tick after 10 missed days ({n - half} overdue notices, escalation digest, consolidation of {n} units, delivery)", n,
                lambda: daily_tick(date(2024, 11, 4)),
            )  # fmt: skip
            assert tick.reminders == n - half and tick.consolidated == 1 and tick.escalation_digests >= 1, tick
            outcome = timed(f"Consolidate {n} units", n, lambda: consolidate(plan, "bao_cao_nam", date(2024, 11, 8)))
            assert len(outcome.result.submitted) == half
            portal_figures(plan, half + 1, min(100, n - half), figures)
            if n - half > 100:
                intake_figures(plan, half + 101, min(300, n - half - 100), figures)

            amendment_figures(plan, n, workspace, timed)
            command_figures(plan, figures)
            tree_figures(args.tree, timed)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(("Peak memory of the process", f"{peak_mib:,.0f} MiB"))
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` on this machine ({os.cpu_count()} cores): one issuer, {n} subordinate units, SQLite,",
        "local SMTP sink (`cascade mailbox`) in another process, Dovecot for the reply mailbox, Prefect's temporary server; then a deep tree",
        f"(root → {args.tree.replace(',', ' → ')} units per parent) cascaded, reported and consolidated through every level. Rerun to refresh.",
        "",
        "| Phase | Time (rate) |",
        "| --- | --- |",
        *[f"| {label} | {value} |" for label, value in figures],
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
