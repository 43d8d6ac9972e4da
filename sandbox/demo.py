"""`cascade demo`: a three-level annual cycle on a fresh workspace and a local mailbox.

The town of Trảng Bàng's plan 104/KH-UBND goes to four wards; each ward issues its own
implementing plan (one of them late, after reminders), which goes on to the ward's police
station, military command and health station. The units report (one late, one never), each
ward consolidates its units' reports and its report goes up as its submission to the town,
which consolidates the wards' reports into its own.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import load_workbook
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from cascade import clock
from cascade.cli.cycle import replies_table
from cascade.cli.prefect_server import recorded as recorded_server
from cascade.cli.prefect_server import stop_workspace_server
from cascade.formatting import vn_number
from cascade.settings import Settings, get_settings
from cascade.workspace_paths import resolved_path
from flows.cascade_plan import cascade_plan
from flows.collect_replies import collect_replies
from flows.daily_tick import daily_tick
from flows.issue_plan import issue_plan
from flows.record_submission import submit_report
from models.account import AccountRole
from models.aggregation import Verdict
from models.assignment import Assignment
from models.consolidation import consolidate
from models.db import reset_engines, session_scope
from models.milestones import MilestoneStatus, milestone_title
from models.plan import Plan, ReportDuty
from models.report import Report
from models.schema import create_schema
from models.unit import Unit
from portal.app import create_app
from portal.jobs import Jobs
from portal.live import free_port, serving
from sandbox.email_units import EmailingUnit, latest_to, mistype_score, save_form
from sandbox.imap_server import LocalImapServer
from sandbox.portal_visitors import Secretariat, UnitOffice, link_in, minimal_pdf
from sandbox.smtp_sink import LocalMailbox, read_maildir
from tasks.accounts.registry import add_account
from tasks.cascading.implementing import derived_key
from tasks.documents.forms import form_spec
from tasks.documents.pdf import pdf_available, to_pdf
from tasks.documents.word import plan_document_path
from tasks.followup.milestone_calendar import next_milestone_day, plan_calendar
from tasks.intake.access import latest_version
from tasks.intake.submission_files import submission_input
from tasks.plans.contexts import portal_link
from tasks.plans.imports import import_plan, import_units
from tasks.plans.lookup import find_assignment, find_duty, find_plan
from tasks.reporting.consolidation import load_input
from tasks.reporting.queries import plan_status, trace_figure
from templates import measure, message, words

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.consolidation import Consolidation
    from tasks.documents.forms import FormSpec
    from tasks.intake.submissions import SubmissionInput

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "town-2024"
PLAN_KEY = "104-kh-ubnd-2024"
DUTY = "bao_cao_nam"

CASCADE_DAY = date(2024, 1, 31)
# The wards issue their implementing plans (due 23/02/2024); Lộc Hưng is late.
WARDS_ISSUE = [("tb.giabinh", date(2024, 2, 15)), ("tb.gialoc", date(2024, 2, 19)), ("tb.antinh", date(2024, 2, 22)), ("tb.lochung", date(2024, 2, 28))]
AWAY_ANSWERS = date(2024, 10, 17)  # the day after the first reminder of the annual report (16/10)
DEMO_END = date(2024, 11, 15)  # the daily tick runs every milestone up to this day: the cycle's calendar is then accounted for
FORM_UNIT = "tb.gialoc.yt"  # uploads on the portal the Excel form sent with its notice, instead of typing
EVIDENCE_UNIT = "tb.antinh.ca"  # attaches scanned minutes as evidence
# The demo's accounts, one per level's office (and a viewer at the town): (address, unit, role). Their passwords
# are made by each run and printed; the ward's office returns a report through its own account, which sees only its ward.
DEMO_ACCOUNTS = [
    ("vanphong@trangbang.example.gov.vn", "tb", "secretariat"),
    ("lanhdao@trangbang.example.gov.vn", "tb", "viewer"),
    ("vanphong@antinh.example.gov.vn", "tb.antinh", "secretariat"),
]
RETURNED_UNIT = "tb.antinh.qs"  # its ward returns its report with a comment; it corrects and resubmits
RETURN_DAY, RESUBMIT_DAY = date(2024, 10, 22), date(2024, 10, 23)
EMAIL_UNIT = "tb.giabinh.qs"  # replies to its notice with the filled Excel form: once with a slip, then corrected
AWAY_UNIT = "tb.lochung.yt"  # its autoresponder answers the first reminder; the reply is set aside
REPLY_MAILBOX = "baocao@trangbang.example.gov.vn"


@dataclass
class Day:
    """The day the demo's portal acts on: the demo moves it through the cycle."""

    value: date


def unit_address(code: str) -> str:

    with session_scope() as session:
        return session.scalars(select(Unit).where(Unit.code == code)).one().emails[0]


def _assignment(session: Session, code: str) -> Assignment:

    return find_assignment(session, find_plan(session, PLAN_KEY), DUTY, code)


def latest_submission(code: str) -> tuple[int, int]:
    """(assignment id, latest version's id) of a unit's annual report."""
    with session_scope() as session:
        assignment = _assignment(session, code)
        latest = latest_version(session, assignment.id)
        assert latest is not None
        return assignment.id, latest.id


def form_of(code: str, as_of: date) -> FormSpec:

    with session_scope() as session:
        return form_spec(session, _assignment(session, code), as_of=as_of)


def due_of(code: str) -> date:

    with session_scope() as session:
        return _assignment(session, code).due_on


def minutes_pdf(workspace: Path) -> Path:
    """The scanned minutes a unit attaches as evidence."""
    path = workspace / "uploads" / "Bien ban kiem tra cong tac dan van 2024.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(minimal_pdf("Bien ban kiem tra cong tac dan van chinh quyen nam 2024"))
    return path


def submission_days(files: list[Path]) -> list[tuple[date, Path]]:
    """Spread the units' annual reports over the cycle: early, after the first reminders, and one
    late (the day after the units' own due date 23/10, the day their wards consolidate)."""
    days = []
    for index, path in enumerate(files):
        if index == len(files) - 1:
            day = date(2024, 10, 24)
        elif index < len(files) // 2:
            day = date(2024, 10, 14)
        else:
            day = date(2024, 10, 21)
        days.append((day, path))
    return days


def type_into_form(path: Path, data: SubmissionInput) -> None:
    """Fill a unit's Excel form as a person would: by the visible labels, numbers typed the
    Vietnamese way as text ('88,7%', '1.234'), Đạt / Không đạt for a yes/no criterion."""
    label, answer = words("demo.form"), words("forms.answer")
    wb = load_workbook(path)
    table, narrative = wb[label["indicator_sheet"]], wb[label["narrative_sheet"]]
    header_row, header = next((number, row) for number, row in enumerate(table.iter_rows(), start=1) if any(cell.value == label["value"] for cell in row))
    column = {cell.value: cell.column for cell in header if cell.value}
    with session_scope() as session:
        plan = find_plan(session, data.plan)
        metrics = {t.metric: (t.code, t.unit_of_measure) for t in plan.targets}
        titles = {s["code"]: s["title"] for duty in plan.duties if duty.code == data.duty for s in duty.sections}
    for number, row in enumerate(table.iter_rows(min_row=header_row + 1), start=header_row + 1):
        metric = row[column[label["metric"]] - 1].value
        target = metrics.get(metric) if isinstance(metric, str) else None
        figure = data.values.get(target[0]) if target is not None else None
        if target is None or figure is None:
            continue
        if figure.numerator is not None:
            table.cell(number, column[label["numerator"]]).value = vn_number(figure.numerator)
            table.cell(number, column[label["denominator"]]).value = vn_number(figure.denominator)
        elif row[column[label["unit_target"]] - 1].value == answer["met"]:
            table.cell(number, column[label["value"]]).value = answer["met" if figure.value == 1 else "not_met"]
        else:
            table.cell(number, column[label["value"]]).value = vn_number(figure.value) + ("%" if target[1] == "%" else "")
        table.cell(number, column[label["note"]]).value = figure.note or None
    for cell in narrative["A"]:
        for code, title in titles.items():
            if cell.value == f"{list(titles).index(code) + 1}. {title}":
                narrative.cell(cell.row + 1, 1).value = data.sections.get(code, "")
        if isinstance(cell.value, str) and cell.value.startswith(label["score"]) and data.self_score is not None:
            narrative.cell(cell.row, 2).value = vn_number(data.self_score)
        if isinstance(cell.value, str) and cell.value.startswith(label["assessment"]):
            narrative.cell(cell.row + 1, 1).value = data.self_assessment or None
    wb.save(path)


def dashboard_password() -> str:
    """The dashboard's password `use_workspace` made for this run."""
    password = get_settings().dashboard_password
    assert password is not None, "use_workspace sets the dashboard's password"
    return password.get_secret_value()


def add_demo_accounts() -> dict[str, str]:
    """The demo's accounts (DEMO_ACCOUNTS) with a new password each: address → password."""
    made = {}
    with session_scope() as session:
        for email, unit, role in DEMO_ACCOUNTS:
            made[email] = secrets.token_urlsafe(9)
            add_account(session, unit, email, AccountRole(role), actor="cli:demo", now=clock.utc_now(), password=made[email])
    return made


def use_workspace(workspace: Path, smtp_port: int, portal_url: str, imap: LocalImapServer | None = None) -> None:

    for name in ("CASCADE_IMAP_HOST", "CASCADE_IMAP_PORT", "CASCADE_IMAP_SECURITY", "CASCADE_IMAP_USER", "CASCADE_IMAP_PASSWORD"):
        os.environ.pop(name, None)
    if imap is not None:
        os.environ.update(imap.settings_env())

    os.environ["CASCADE_PORTAL_BASE_URL"] = portal_url
    os.environ["CASCADE_DASHBOARD_PASSWORD"] = secrets.token_urlsafe(9)  # a new one each run, printed at the end: none to guess
    os.environ["CASCADE_WORKSPACE"] = str(workspace)
    os.environ["CASCADE_SMTP_HOST"] = "127.0.0.1"
    os.environ["CASCADE_SMTP_PORT"] = str(smtp_port)
    os.environ["CASCADE_SMTP_SSL"] = "false"
    os.environ["CASCADE_SMTP_STARTTLS"] = "false"
    os.environ["CASCADE_SMTP_USER"] = "vanthu@trangbang.example.gov.vn"
    os.environ["CASCADE_MAIL_FROM_NAME"] = message("demo.mail_from_name")
    os.environ["CASCADE_MAIL_REPLY_TO"] = REPLY_MAILBOX
    os.environ.pop("CASCADE_DATABASE_URL", None)
    os.environ.pop("CASCADE_SMTP_PASSWORD", None)
    get_settings.cache_clear()
    reset_engines()


def report_by_email(workspace: Path, maildir: Path, smtp_port: int, data: SubmissionInput, when: date, console: Console) -> None:
    """A unit saves the form from its notice, fills it and replies; the system answers its slip cell by cell; it corrects and replies again."""
    address = unit_address(data.unit)
    office = EmailingUnit(address, smtp_port)
    notice = latest_to(read_maildir(maildir), address, message("demo.subject_starts.report_assignment"))
    form = save_form(notice, workspace / "units" / data.unit)
    type_into_form(form, data)
    cell = mistype_score(form, message("demo.typed.mistyped_score"))
    office.reply(notice, [form], message("demo.typed.reply_with_form"))
    collect_replies(when)
    answer = latest_to(read_maildir(maildir), address, message("demo.subject_starts.not_recorded"))
    slip = answer.get_body(preferencelist=("plain",))
    if slip is None:
        raise RuntimeError("the system's answer has no plain-text part")
    problem = next(line.strip(" -") for line in slip.get_content().splitlines() if cell in line)
    console.print(f"  {when:%d/%m/%Y}  {data.unit:<15} replies to its notice with the Excel form; the system answers: {problem}", highlight=False)
    type_into_form(form, data)
    office.reply(answer, [form], message("demo.typed.reply_corrected"))
    tally, _ = collect_replies(when)
    receipt = latest_to(read_maildir(maildir), address, message("demo.subject_starts.receipt"))
    console.print(
        f"  {when:%d/%m/%Y}  {data.unit:<15} replies again with the form corrected: recorded {tally.recorded}; receipt “{receipt['Subject']}”", highlight=False
    )


@dataclass
class Calendar:
    """The demo's daily tick: it runs on every day of the cycle that has a milestone pending, in order, as
    `cascade serve` would each morning (a tick on a day with nothing due does nothing)."""

    console: Console
    last: date | None = None

    def run_until(self, day: date) -> None:
        """Tick every day after the last one ticked, up to `day`, that has something due."""
        while (due := next_milestone_day(self.last)) is not None and due <= day:
            result = daily_tick(due)
            self.last = due
            done = {
                "reminders or overdue notices": result.reminders, "steps skipped": result.skipped, "escalation digests": result.escalation_digests,
                "deadlines recorded": result.deadlines, "reports consolidated": result.consolidated,
            }  # fmt: skip
            if any(done.values()):
                said = ", ".join(f"{what} {count}" for what, count in done.items() if count)
                self.console.print(f"  {due:%d/%m/%Y}  daily tick: {said}; emails sent {result.delivery.sent}", highlight=False)
        self.last = max(self.last or day, day - timedelta(days=1))


def ward_report(code: str) -> str:
    """One ward's latest report, in a line: when the tick made it, how many of its units reported, targets met."""
    with session_scope() as session:
        duty = find_duty(session, find_plan(session, derived_key(PLAN_KEY, code)), DUTY)
        report = session.scalars(select(Report).where(Report.duty_id == duty.id).order_by(Report.id.desc())).first()
        if report is None:
            return "no report"
        summary = report.summary
        met = sum(1 for t in summary["targets"] if t["verdict"] == Verdict.MET)
        return (
            f"report of {report.as_of:%d/%m/%Y}: {len(summary['submitted'])}/{summary['expected']} units reported; targets met {met}/{len(summary['targets'])}"
        )


def town_report() -> tuple[Consolidation, list[str], date]:
    """The town's latest report (made by the daily tick on its consolidation day): its figures as judged on
    that day, its files and the day."""
    with session_scope() as session:
        duty = find_duty(session, find_plan(session, PLAN_KEY), DUTY)
        report = session.scalars(select(Report).where(Report.duty_id == duty.id).order_by(Report.id.desc())).first()
        assert report is not None, "the town's report was not made"
        _, data = load_input(session, duty, report.as_of)
        return consolidate(data), [str(resolved_path(path)) for path in report.files], report.as_of


def calendar_summary(console: Console) -> None:
    """What the cycle's calendar says at the end: every milestone up to DEMO_END done or skipped, with why."""
    _, rows = plan_calendar(PLAN_KEY)
    c, statuses = words("milestones.columns"), words("milestones.status")
    mine = Table(c["day"], c["milestone"], c["status"], c["outcome"], title=message("demo.tables.calendar"))
    for row in rows:
        if row.plan_code == "104/KH-UBND":
            mine.add_row(f"{row.day:%d/%m/%Y}", f"{milestone_title(row.kind, row.step, row.duty_kind)}", statuses[row.status], row.outcome or "")
    console.print(mine)
    past = [row for row in rows if row.day <= DEMO_END]
    counts = Counter(row.status for row in past)
    console.print(
        f"Calendar of every level up to {DEMO_END:%d/%m/%Y}: {len(past)} milestones, done {counts[MilestoneStatus.DONE]}, "
        f"skipped {counts[MilestoneStatus.SKIPPED]}, pending {counts[MilestoneStatus.PENDING]}.",
        highlight=False,
    )
    for reason, count in Counter(row.outcome for row in past if row.status == MilestoneStatus.SKIPPED).most_common():
        console.print(f"  skipped ×{count}: {reason}", highlight=False)


def fresh_workspace(folder: Path) -> Path:
    """Empty the demo's folder (stopping the Prefect server an earlier demo left running there, whose
    database is in it) and make it the workspace; returns its absolute path."""
    workspace = folder.resolve()
    stop_workspace_server(Settings(workspace=workspace))
    if workspace.exists():
        shutil.rmtree(workspace)
    os.environ["CASCADE_WORKSPACE"] = str(workspace)
    get_settings.cache_clear()
    return workspace


def run_demo(workspace: Path, console: Console) -> None:
    """The whole cycle on `workspace`, emptied first by `fresh_workspace`."""
    started = time.perf_counter()
    maildir = workspace / "maildir"

    day = Day(CASCADE_DAY)
    port = free_port(8765)
    with LocalImapServer(user="baocao") as imap, LocalMailbox(maildir, deliveries=[imap.delivery(REPLY_MAILBOX)]) as mailbox:
        use_workspace(workspace, mailbox.port, f"http://127.0.0.1:{port}", imap)
        create_schema()
        jobs = Jobs()
        with serving(create_app(lambda: day.value, jobs=jobs), "127.0.0.1", port) as portal_url:
            console.rule("[bold]1. Import the org chart (3 levels) and the town's plan")
            units = import_units(EXAMPLE / "units.yaml")
            key = import_plan(EXAMPLE / "plan.yaml")
            passwords = add_demo_accounts()
            console.print(
                f"Units: {units.created} created. Plan: {key}. Local SMTP server on 127.0.0.1:{mailbox.port}; reply mailbox {REPLY_MAILBOX} "
                f"in Dovecot (IMAP 127.0.0.1:{imap.port}); portal on {portal_url}."
            )

            console.rule(f"[bold]2. The town cascades its plan on {CASCADE_DAY:%d/%m/%Y}")
            result = cascade_plan(PLAN_KEY, CASCADE_DAY)
            console.print(
                f"{result.assigned} assignments to the wards; {result.drafted} implementing plans drafted for them to adjust and issue; "
                f"{result.delivery.sent} emails sent."
            )

            calendar = Calendar(console, CASCADE_DAY)
            console.rule("[bold]3. The wards issue their implementing plans, which go on down; the daily tick reminds the late ones")
            events: list[tuple[date, str | Path]] = [(d, code) for code, d in WARDS_ISSUE]  # a ward's code: it issues its plan
            events.append((date(2024, 2, 20), EXAMPLE / "submissions" / "ke-hoach" / "tb.giabinh.ca.yaml"))  # a file: a plan reported
            for when, subject in sorted(events, key=lambda e: e[0]):
                calendar.run_until(when - timedelta(days=1))  # each day's tick runs after that day's work
                if isinstance(subject, str):
                    issued = issue_plan(derived_key(PLAN_KEY, subject), when)
                    console.print(f"  {when:%d/%m/%Y}  {subject:<11} issues {issued.plan_key}: {issued.assigned} assignments to its units")
                else:  # a plan is sent as a signed document, not typed into the portal
                    data = submission_input(subject)
                    recorded = submit_report(data, when)
                    console.print(f"  {when:%d/%m/%Y}  {data.unit:<11} reports its own plan (version {recorded.version})")

            console.rule("[bold]4. The units report on the portal or by replying to their email; the daily tick reminds, consolidates each ward and the town")
            files = {submission_input(path).unit: path for path in sorted((EXAMPLE / "submissions").glob("*.yaml"))}
            timeline = sorted(
                [(when, 0, "report", path) for when, path in submission_days(list(files.values()))]
                + [(AWAY_ANSWERS, 1, "away", None)]
                + [(RETURN_DAY, 2, "return", files[RETURNED_UNIT]), (RESUBMIT_DAY, 2, "resubmit", files[RETURNED_UNIT])],
                key=lambda e: (e[0], e[1]),
            )
            for when, _, action, path in timeline:
                calendar.run_until(when - timedelta(days=1))
                day.value = when
                if action == "away":
                    away = unit_address(AWAY_UNIT)
                    EmailingUnit(away, mailbox.port).out_of_office(
                        latest_to(read_maildir(maildir), away, message("demo.subject_starts.reminder")), "25/10/2024"
                    )
                    tally, _ = collect_replies(when)
                    console.print(
                        f"  {when:%d/%m/%Y}  {AWAY_UNIT}'s autoresponder answers the reminder: collected, set aside {tally.set_aside} (no answer to a machine)"
                    )
                    continue
                assert path is not None  # only the autoresponder's day has no file
                data = submission_input(path)
                if data.unit == EMAIL_UNIT:
                    report_by_email(workspace, maildir, mailbox.port, data, when, console)
                    continue
                link = link_in(read_maildir(maildir), unit_address(data.unit))
                how = "typed on the portal"
                if action == "return":
                    assignment_id, submission_id = latest_submission(data.unit)
                    ward_office_email = next(email for email, unit, _ in DEMO_ACCOUNTS if unit == RETURNED_UNIT.rsplit(".", 1)[0])
                    with Secretariat(portal_url, ward_office_email, passwords[ward_office_email]) as ward_office:
                        ward_office.return_report(assignment_id, submission_id, message("demo.typed.return_comment"))
                    jobs.wait(300)
                    console.print(f"  {when:%d/%m/%Y}  the ward returns the report of {data.unit} with a comment (emailed to the unit)", highlight=False)
                    continue
                if action == "resubmit":
                    link = link_in(read_maildir(maildir), unit_address(data.unit), message("demo.subject_starts.returned"))
                    addition = message("demo.typed.resubmit_addition")
                    data = replace(data, sections={**data.sections, "ket_qua": data.sections["ket_qua"] + " " + addition})
                    how = "corrected after the return"
                with UnitOffice(portal_url) as office:
                    if data.unit == FORM_UNIT:  # this unit types into the Excel form it was emailed and uploads it
                        any_form = message("forms.filename", form={"reference": "*"})  # 'Biểu mẫu báo cáo *.xlsx'
                        form = next((workspace / "documents").glob(f"*/{data.unit}/{any_form}"))
                        type_into_form(form, data)
                        version, how = office.upload_form(link, form), f"Excel form {form.name} uploaded on the portal"
                    else:
                        evidence = [minutes_pdf(workspace)] if data.unit == EVIDENCE_UNIT else []
                        version = office.report(link, form_of(data.unit, when), data, evidence)
                        if evidence:
                            how += ", with evidence " + evidence[0].name
                jobs.wait(300)
                late = when > due_of(data.unit)
                console.print(
                    f"  {when:%d/%m/%Y}  report from {data.unit:<15} version {version}{'  [red](late)[/red]' if late else ''} ({how})", highlight=False
                )
            calendar.run_until(DEMO_END)

            console.rule("[bold]5. The reports the daily tick made: each ward's went up to the town, the town's is its report upward")
            for code, _ in WARDS_ISSUE:
                ward = ward_report(code)
                console.print(f"  {code:<11} {ward}")

    r, town_files, town_day = town_report()
    _, rows = plan_status(PLAN_KEY, town_day, all_levels=True)
    c, states = words("reporting.columns"), words("reporting.state")
    for duty, title, wanted in (("ke_hoach", message("demo.tables.ward_plans"), {1}), (DUTY, message("demo.tables.annual_reports"), {1, 2})):
        table = Table(c["level"], c["unit"], c["due_on"], c["state"], c["submitted_on"], title=title)
        for row in rows:
            if row.duty_code == duty and row.level in wanted:
                submitted = f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "-"
                table.add_row(str(row.level), row.unit_name, f"{row.due_on:%d/%m/%Y}", states[row.state], submitted)
        console.print(table)

    c = words("demo.levels_columns")
    levels = Table(c["level"], c["expected"], c["submitted"], c["on_time"], title=message("demo.tables.levels"))
    for lv in r.levels:
        levels.add_row(str(lv.level), str(lv.expected), str(lv.submitted), str(lv.on_time))
    console.print(levels)
    c = words("reporting.target_columns")
    targets = Table(c["metric"], c["target"], c["figure"], c["verdict"], title=message("demo.tables.targets"))
    for t in r.results:
        targets.add_row(
            t.rule.metric, measure(t.rule.value, t.rule.unit_of_measure), measure(t.figure, t.rule.unit_of_measure), words("reporting.verdict")[t.verdict]
        )
    console.print(targets)

    _, trace = trace_figure(PLAN_KEY, DUTY, "mo_hinh_dan_van_kheo")
    console.print("Where the models figure comes from (ward report → unit reports):")
    for node in trace:
        leaves = ", ".join(f"{leaf.unit_code} {measure(leaf.value, '')}" for leaf in node.children)
        console.print(f"  {node.unit_code}: {measure(node.value, '')} ← {leaves}", highlight=False)

    messages = read_maildir(maildir)
    kinds = Counter(re.split(r" – | \[|:", m["Subject"], maxsplit=1)[0] for m in messages)  # what kind of message: the words before its facts
    attached = Counter((part.get_filename() or "").rsplit(".", 1)[-1] for m in messages for part in m.iter_attachments())
    documents = sorted(p for p in (workspace / "documents").rglob("*") if p.suffix in (".docx", ".xlsx"))
    town_documents = [Path(f) for f in town_files if f.endswith((".docx", ".xlsx"))]
    with session_scope() as session:
        plan_word = plan_document_path(session.scalars(select(Plan).where(Plan.key == PLAN_KEY)).one())
    pdfs: list[Path] = []
    if pdf_available():
        pdfs = to_pdf([plan_word, town_documents[0]])
    console.rule("[bold]Documents")
    console.print(
        f"{len(documents)} documents sent with the assignments (letters and plans in Word, report forms in Excel); "
        f"attachments in the emails: " + ", ".join(f"{kind} ×{count}" for kind, count in attached.most_common())
    )
    shown = [("Town plan (Word):", plan_word)] + [(f"Town report ({'Word' if p.suffix == '.docx' else 'Excel'}):", p) for p in town_documents]
    for label, path in shown + [("PDF:", p) for p in pdfs]:
        console.print(f"{label:<22}{path}", highlight=False)
    if not pdfs:
        console.print("No PDF: LibreOffice is not installed (make demo installs it when run as root).")

    console.rule("[bold]Reply mailbox")

    console.print(replies_table(None, limit=20))

    console.rule("[bold]Portal")
    with session_scope() as session:
        for code, assignment in session.execute(
            select(Unit.code, Assignment).join(Assignment, Assignment.unit_id == Unit.id).join(ReportDuty).where(ReportDuty.code == DUTY).order_by(Unit.code)
        ).tuples():
            console.print(f"{code:<15} {portal_link(assignment)}", highlight=False)
    accounts = Table(
        "account", "unit", "role", "password",
        title=f"Accounts of the offices: sign in at {get_settings().portal_base_url}/admin with the address and password (each sees its unit and those below it)",
    )  # fmt: skip
    for email, unit, role in DEMO_ACCOUNTS:
        accounts.add_row(email, unit, role, passwords[email])
    accounts.add_row(get_settings().dashboard_user, "(every unit)", "admin (built-in)", dashboard_password())
    console.print(accounts)
    console.print(
        f"Each unit's page is the link in its emails. Dashboard: {get_settings().portal_base_url}/admin (user {get_settings().dashboard_user}, "
        f"password {dashboard_password()}). To browse the demo's portal now:\n"
        f"  CASCADE_WORKSPACE={workspace} CASCADE_DASHBOARD_PASSWORD={dashboard_password()} CASCADE_PORTAL_BASE_URL={get_settings().portal_base_url} "
        f"uv run cascade portal --as-of {town_day.isoformat()}",
        highlight=False,
    )
    prefect_ui = os.environ["PREFECT_API_URL"].removesuffix("/").removesuffix("/api")  # set by the command's `prefect_api`
    kept = recorded_server(get_settings())  # None when the runs went to a server named by PREFECT_API_URL or prefect_api_url
    console.print(
        f"Every flow run of the demo is in the Prefect UI at {prefect_ui}"
        + (f"; the workspace's Prefect server keeps running for it until\n  CASCADE_WORKSPACE={workspace} uv run cascade server stop" if kept else "."),
        highlight=False,
    )

    console.rule("[bold]The cycle's calendar")
    calendar_summary(console)

    console.rule("[bold]Summary")
    console.print(f"Wards reported {len(r.submitted)}/{r.expected} (on time {len(r.on_time)}, late {len(r.late)}); targets met {r.met}/{len(r.results)}.")
    console.print("Emails: " + ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common()))
    console.print(f"Report:  {town_files[0]}\n         {town_files[1]}")
    console.print(f"Maildir: {maildir}")
    console.print(f"Finished in {time.perf_counter() - started:.1f} s.")
