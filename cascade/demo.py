"""`cascade demo`: the example plan's whole annual cycle on a fresh workspace and a local mailbox.

The department's plan 74/KH-SXD goes to its six offices and its centre; most report on
time, one late, one not at all; reminders run on several days; the reports are consolidated.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cascade.mailbox import LocalMailbox, read_maildir
from cascade.settings import get_settings
from templates import VERDICT_WORDS, measure

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "department-2024"
PLAN_KEY = "74-kh-sxd-2024"
DUTY = "bao_cao_nam"

CASCADE_DAY = date(2024, 4, 5)
REMINDER_DAYS = [date(2024, 10, 23), date(2024, 10, 27), date(2024, 10, 29), date(2024, 10, 31), date(2024, 11, 6)]
CONSOLIDATION_DAY = date(2024, 11, 8)


def submission_days(files: list[Path]) -> list[tuple[date, Path]]:
    """Spread the example submissions over the cycle: early, after the first reminder, and one late."""
    days = []
    for index, path in enumerate(files):
        if index == len(files) - 1:
            day = date(2024, 11, 4)  # late: after the due date and the first overdue notice
        elif index < len(files) // 2:
            day = date(2024, 10, 18)
        else:
            day = date(2024, 10, 25)
        days.append((day, path))
    return days


def use_workspace(workspace: Path, smtp_port: int) -> None:
    from models.db import reset_engines

    os.environ["CASCADE_WORKSPACE"] = str(workspace)
    os.environ["CASCADE_SMTP_HOST"] = "127.0.0.1"
    os.environ["CASCADE_SMTP_PORT"] = str(smtp_port)
    os.environ["CASCADE_SMTP_SSL"] = "false"
    os.environ["CASCADE_SMTP_STARTTLS"] = "false"
    os.environ["CASCADE_SMTP_USER"] = "vanthu@sxd.dongnai.example.gov.vn"
    os.environ["CASCADE_MAIL_FROM_NAME"] = "Sở Xây dựng tỉnh Đồng Nai"
    os.environ["CASCADE_MAIL_REPLY_TO"] = "baocao@sxd.dongnai.example.gov.vn"
    os.environ.pop("CASCADE_DATABASE_URL", None)
    os.environ.pop("CASCADE_SMTP_PASSWORD", None)
    get_settings.cache_clear()
    reset_engines()


def run_demo(workspace: Path, console: Console) -> None:
    from flows.cascade_plan import cascade_plan
    from flows.consolidate import consolidate
    from flows.record_submission import submit_report
    from flows.send_reminders import send_reminders
    from models.db import create_schema
    from tasks.imports import import_plan, import_units
    from tasks.submission_files import submission_input
    from tasks.queries import STATE_WORDS, plan_status

    started = time.perf_counter()
    workspace = workspace.resolve()
    if workspace.exists():
        shutil.rmtree(workspace)
    maildir = workspace / "maildir"

    with LocalMailbox(maildir) as mailbox:
        use_workspace(workspace, mailbox.port)
        create_schema()
        console.rule("[bold]1. Import the org chart and the plan")
        units = import_units(EXAMPLE / "units.yaml")
        key = import_plan(EXAMPLE / "plan.yaml")
        console.print(f"Units: {units.created} created. Plan: {key}. Local SMTP sink on 127.0.0.1:{mailbox.port}.")

        console.rule(f"[bold]2. Cascade on {CASCADE_DAY:%d/%m/%Y}")
        result = cascade_plan(PLAN_KEY, CASCADE_DAY)
        console.print(f"{result.assigned} assignments; {result.delivery.sent} emails sent:")
        for message in read_maildir(maildir):
            console.print(f"  → {message['To']}\n    {message['Subject']}", highlight=False)

        console.rule("[bold]3. Reports come in; reminders go out")
        files = sorted((EXAMPLE / "submissions").glob("*.yaml"))
        plan_of_days = sorted([(day, "submit", path) for day, path in submission_days(files)] + [(day, "remind", None) for day in REMINDER_DAYS], key=lambda item: (item[0], item[1] != "submit"))
        for day, action, path in plan_of_days:
            if action == "submit":
                data = submission_input(path)
                recorded = submit_report(data, day)
                console.print(f"  {day:%d/%m/%Y}  report from {data.unit:<6} version {recorded.version}{'  [red](late)[/red]' if recorded.is_late else ''}")
            else:
                queued, _ = send_reminders(day, PLAN_KEY)
                console.print(f"  {day:%d/%m/%Y}  reminders run: {queued} sent")

        console.rule(f"[bold]4. Consolidate on {CONSOLIDATION_DAY:%d/%m/%Y}")
        outcome = consolidate(PLAN_KEY, DUTY, CONSOLIDATION_DAY)

    _, rows = plan_status(PLAN_KEY, CONSOLIDATION_DAY)
    table = Table("Đơn vị", "Trạng thái", "Ngày nộp", "Nhắc gần nhất", "Thư", title="Tình trạng báo cáo")
    for row in rows:
        table.add_row(row.unit_name, STATE_WORDS[row.state], f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "-", row.last_reminder or "-", str(row.emails_sent))
    console.print(table)

    r = outcome.result
    targets = Table("Chỉ tiêu", "Kết quả", "Đánh giá", title="Chỉ tiêu")
    for t in r.results:
        targets.add_row(t.rule.metric, measure(t.figure, t.rule.unit_of_measure), VERDICT_WORDS[t.verdict])
    console.print(targets)

    kinds = Counter(m["Subject"].split(":")[0] for m in read_maildir(maildir))
    console.rule("[bold]Summary")
    console.print(f"Submitted {len(r.submitted)}/{r.expected} (on time {len(r.on_time)}, late {len(r.late)}), missing {len(r.missing)}; targets met {r.met}/{len(r.results)}.")
    console.print("Emails: " + ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common()))
    console.print(f"Report:  {outcome.files[0]}\n         {outcome.files[1]}")
    console.print(f"Maildir: {maildir}")
    console.print(f"Finished in {time.perf_counter() - started:.1f} s.")
