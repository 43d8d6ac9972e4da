"""The `cascade` command as a user types it: real files, a real database and a real SMTP sink."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cascade.cli import common as cli
from cascade.cli.main import app
from models.audit import AuditEvent
from models.db import session_scope

pytestmark = pytest.mark.usefixtures("prefect_harness")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "department-2024"
runner = CliRunner()


def cascade(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_annual_cycle_from_the_command_line(workspace, smtp_server, monkeypatch) -> None:
    monkeypatch.setattr(cli.console, "width", 240)  # one table row per line
    cascade("units", "import", str(EXAMPLE / "units.yaml"))
    assert "Plan imported: 74-kh-sxd-2024" in cascade("plan", "import", str(EXAMPLE / "plan.yaml"))
    assert "74/KH-SXD" in cascade("plan", "list")
    assert "7 new assignment(s) over 1 level(s); implementing plans drafted 0, issued 0; emails sent 7" in cascade(
        "plan", "cascade", "74/KH-SXD", "--as-of", "05/04/2024"
    )
    with session_scope() as session:  # what the commands did is in the audit log, by the system user who ran them
        acts = [(str(e.action), e.subject, e.as_of) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        actors = {e.actor for e in session.scalars(select(AuditEvent))}
    assert acts == [("import", "units.yaml", None), ("import", "plan.yaml → 74-kh-sxd-2024", None), ("cascade", "74-kh-sxd-2024", date(2024, 4, 5))]
    assert len(actors) == 1 and actors.pop().startswith("cli:")

    out = cascade("submit", str(EXAMPLE / "submissions" / "sxd.vp.yaml"), "--as-of", "2024-10-20")
    assert "Recorded version 1." in out
    again = cascade("submit", str(EXAMPLE / "submissions" / "sxd.vp.yaml"), "--as-of", "2024-10-21")
    assert "Already recorded as version 1" in again

    assert "Reminders queued 6" in cascade("remind", "--as-of", "2024-10-23")
    status = cascade("status", "74-kh-sxd-2024", "--as-of", "2024-10-31")
    assert status.count("Quá hạn, chưa nộp") == 6 and status.count("Đã nộp đúng hạn") == 1

    # The cycle's calendar: stored when the plan was cascaded; 27/10/2024 (before-3) is a Sunday, so Friday 25/10.
    calendar = cascade("calendar", "74/KH-SXD")
    lines = [line for line in calendar.splitlines() if "/2024" in line]
    assert [line.split("│")[1].strip() for line in lines] == [
        "23/10/2024",
        "25/10/2024",
        "29/10/2024",
        "30/10/2024",
        "31/10/2024",
        "31/10/2024",
        "04/11/2024",
        "06/11/2024",
    ]
    assert "Nhắc trước hạn 3 ngày" in lines[1] and "Tổng hợp báo cáo" in calendar and "Báo thủ trưởng và văn phòng" in lines[6]
    assert "Hộp thư đi: 0 thư chờ gửi" in cascade("status")

    out = cascade("consolidate", "74/KH-SXD", "bao_cao_nam", "--as-of", "2024-11-08")
    assert "submitted 1/7, late 0, missing 6" in out
    assert (workspace / "reports" / "74-kh-sxd-2024" / "bao_cao_nam-2024-11-08.md").exists()


def test_a_bad_file_prints_every_problem_with_its_place_and_exits_1(workspace, tmp_path) -> None:
    cascade("units", "import", str(EXAMPLE / "units.yaml"))
    bad = tmp_path / "plan.yaml"
    text = (EXAMPLE / "plan.yaml").read_text(encoding="utf-8").replace("comparator: gt", "comparator: about", 1)
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "comparator: about" in row)

    result = runner.invoke(app, ["plan", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:{line}: plan.targets[" in result.output and "got 'about'" in result.output
    assert "Plan imported" not in result.output


def test_unknown_plan_is_one_line_and_exit_1(workspace) -> None:
    result = runner.invoke(app, ["status", "99/KH-XYZ"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: plan '99/KH-XYZ' not found")


def test_bad_date_is_refused(workspace) -> None:
    result = runner.invoke(app, ["remind", "--as-of", "30-10-2024"])
    assert result.exit_code != 0 and "YYYY-MM-DD or DD/MM/YYYY" in result.output


def test_schema_commands_print_json_schemas() -> None:
    for kind in ("units", "plan", "submission"):
        document = json.loads(cascade("schema", kind))
        assert document["type"] == "object" and document["properties"]
    assert runner.invoke(app, ["schema", "nope"]).exit_code == 1


@pytest.mark.timeout(900)
def test_demo_runs_the_whole_cycle(tmp_path) -> None:
    """`cascade demo` as `make demo` runs it: its own process (on the session's Prefect server, to save starting one)."""
    from prefect.settings import PREFECT_API_URL

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")}, "COLUMNS": "240", "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "cascade"), "demo", "--workspace", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = out.stdout
    assert out.returncode == 0, out.stdout + out.stderr
    # The cycle moves day by day with the daily tick: it reminds, records deadlines, consolidates each ward on its own
    # day and then the town; at the end every milestone of every level up to the demo's last day has run or been skipped.
    assert "reminders run" not in output and "daily tick: reminders or overdue notices" in output
    assert re.search(r"24/10/2024  daily tick: .*reports consolidated 4", output)
    assert re.search(r"31/10/2024  daily tick: .*reports consolidated 1", output)
    assert re.search(r"Calendar of every level up to 15/11/2024: (\d+) milestones, done \d+, skipped \d+, pending 0\.", output)
    # Three levels: the town, its four wards (their own plans issued, one of them late), their twelve units.
    assert "tb.lochung  issues 104-kh-ubnd-2024--tb.lochung: 6 assignments" in output
    assert "Wards reported 4/4 (on time 4, late 0); targets met 2/4." in output
    # The units report on the portal, through the links in their emails; one is returned and corrected.
    assert output.count("(typed on the portal") == 9 and "uploaded on the portal" in output
    assert "tb.antinh.ca    version 1 (typed on the portal, with evidence Bien ban" in output
    assert "tb.antinh.qs    version 2 (corrected after the return)" in output
    # One unit replies to its notice with the Excel form: its slip is answered cell by cell, its correction recorded;
    # another unit's autoresponder is set aside, unanswered. The replies went through SMTP into Dovecot and back over IMAP.
    assert "tb.giabinh.qs   replies to its notice with the Excel form; the system answers: Nội dung báo cáo!B" in output
    assert "“khoảng 90”, không phải là số" in output
    assert "tb.giabinh.qs   replies again with the form corrected: recorded 1; receipt “Đã nhận báo cáo – lần 1 [GV-" in output
    assert "tb.lochung.yt's autoresponder answers the reminder: collected, set aside 1" in output
    assert re.search(r"quansu@giabinh\S*\s+│.*│ Đã ghi nhận\s+│ Đã xử lý", output)
    assert re.search(r"tramyte@lochung\S*\s+│.*│ Cần xem xét\s+│ Cần xem xét", output)
    assert len(re.findall(r"^tb\.\S+\s+http://127\.0\.0\.1:\d+/u/[A-Za-z0-9_-]{32}$", output, re.M)) == 16
    # The dashboard's password is made by this run and printed, never a fixed word.
    password = re.search(r"/admin \(user vanphong, password ([A-Za-z0-9_-]{12})\)", output)
    assert password is not None and f"CASCADE_DASHBOARD_PASSWORD={password.group(1)} " in output
    # Each level's office has its own account, its password made by this run; the ward's office returned the report itself
    for account, unit, role in (
        ("vanphong@trangbang", "tb", "secretariat"),
        ("lanhdao@trangbang", "tb", "viewer"),
        ("vanphong@antinh", "tb.antinh", "secretariat"),
    ):
        assert re.search(rf"{account}\.example\.gov\.vn\s+│ {re.escape(unit)}\s+│ {role}\s+│ [A-Za-z0-9_-]{{12}}", output), account
    with sqlite3.connect(tmp_path / "demo" / "cascade.db") as db:
        reviewers = db.execute("select actor from audit_event where action = 'review'").fetchall()
    assert reviewers == [("vanphong@antinh.example.gov.vn",)]
    reports = {path.parent.name: path.read_text(encoding="utf-8") for path in (tmp_path / "demo" / "reports").rglob("*.md")}
    assert set(reports) == {"104-kh-ubnd-2024", *(f"104-kh-ubnd-2024--tb.{ward}" for ward in ("giabinh", "gialoc", "antinh", "lochung"))}
    assert "Đơn vị chưa báo cáo: Trạm Y tế phường Lộc Hưng" in reports["104-kh-ubnd-2024--tb.lochung"]
    assert "| Cấp 2 | 12 | 11 | 91,7% | 10 | 83,3% |" in reports["104-kh-ubnd-2024"]
    messages = list((tmp_path / "demo" / "maildir" / "new").iterdir())
    printed = output.split("Emails: ")[1].split("\nReport:")[0]
    assert len(messages) == sum(int(part.rsplit("×", 1)[1]) for part in printed.replace("\n", " ").split(", "))
    assert "Trả lại để bổ sung báo cáo ×1" in printed.replace("\n", " ")  # the returned unit was told why
    assert "Chưa ghi nhận báo cáo ×1" in " ".join(printed.split())  # the emailing unit's slip
    shutil.rmtree(tmp_path / "demo")


def test_a_json_submission_with_evidence_is_recorded_and_its_errors_have_lines(workspace, smtp_server, tmp_path) -> None:
    import hashlib

    import yaml

    cascade("units", "import", str(EXAMPLE / "units.yaml"))
    cascade("plan", "import", str(EXAMPLE / "plan.yaml"))
    cascade("plan", "cascade", "74-kh-sxd-2024", "--as-of", "2024-04-05")
    data = yaml.safe_load((EXAMPLE / "submissions" / "sxd.vp.yaml").read_text(encoding="utf-8"))
    evidence = tmp_path / "minh-chung" / "Thống kê hồ sơ.csv"
    evidence.parent.mkdir()
    evidence.write_bytes("Tháng,Hồ sơ\n1,65\n".encode())
    data["attachments"] = ["minh-chung/Thống kê hồ sơ.csv"]
    good = tmp_path / "vp.json"
    good.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    assert "Recorded version 1." in cascade("submit", str(good), "--as-of", "2024-10-20")
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert (workspace / "attachments" / digest[:2] / digest).read_bytes() == evidence.read_bytes()

    data["values"]["dan_van_kheo"] = "12,3,4"
    bad = tmp_path / "bad.json"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"dan_van_kheo"' in row)
    result = runner.invoke(app, ["submit", str(bad), "--as-of", "2024-10-21"])
    assert result.exit_code == 1
    assert f"{bad}:{line}: values.dan_van_kheo:" in result.output


def test_documents_and_a_report_sent_back_in_its_excel_form(workspace, smtp_server, tmp_path) -> None:
    from openpyxl import load_workbook

    from sandbox.demo import type_into_form
    from tasks.intake.submission_files import submission_input

    cascade("units", "import", str(EXAMPLE / "units.yaml"))
    cascade("plan", "import", str(EXAMPLE / "plan.yaml"))
    cascade("plan", "cascade", "74/KH-SXD", "--as-of", "05/04/2024")

    plan_word, plan_pdf = (Path(line) for line in cascade("document", "plan", "74/KH-SXD", "--pdf").splitlines())
    assert plan_word.suffix == ".docx" and plan_pdf.suffix == ".pdf" and plan_pdf.stat().st_size > 10_000
    form = Path(cascade("document", "form", "74/KH-SXD", "bao_cao_nam", "sxd.tt").strip())
    assert form.name.startswith("Biểu mẫu báo cáo GV-") and form.suffix == ".xlsx"

    # A value typed as words is refused with its sheet and cell; nothing is recorded.
    data = submission_input(EXAMPLE / "submissions" / "sxd.tt.yaml")
    type_into_form(form, data)
    wb = load_workbook(form)
    table = wb["Chỉ tiêu"]
    header = next(row for row in table.iter_rows() if any(cell.value == "Giá trị" for cell in row))
    value_column = next(cell.column_letter for cell in header if cell.value == "Giá trị")
    typed = next(cell for cell in table[value_column][header[0].row :] if cell.value not in (None, ""))
    good, typed.value = typed.value, "khoảng 30"
    wb.save(form)
    bad = runner.invoke(app, ["submit", str(form), "--as-of", "2024-10-20"])
    assert bad.exit_code == 1 and f"Chỉ tiêu!{typed.coordinate}" in bad.output and "khoảng 30" in bad.output

    typed.value = good
    wb.save(form)
    assert "Recorded version 1." in cascade("submit", str(form), "--as-of", "2024-10-20")
    receipt = [m for m in smtp_server.messages() if str(m["Subject"]).startswith("Đã nhận báo cáo")]
    assert len(receipt) == 1 and receipt[0]["To"].addresses[0].addr_spec.startswith("thanhtra")


def test_status_shows_each_rows_plan_and_the_merged_units(workspace, smtp_server, monkeypatch, tmp_path) -> None:
    import yaml

    monkeypatch.setattr(cli.console, "width", 400)  # one table row per line
    cascade("units", "import", str(EXAMPLE / "units.yaml"))
    cascade("plan", "import", str(EXAMPLE / "plan.yaml"))
    cascade("plan", "cascade", "74/KH-SXD", "--as-of", "05/04/2024")

    # The Inspectorate (sxd.tt) ceases on 30/06/2024 and merges into the Office (sxd.vp), which already reports.
    units = yaml.safe_load((EXAMPLE / "units.yaml").read_text(encoding="utf-8"))
    names = {u["code"]: u["name"] for u in units["units"]}
    merged = next(u for u in units["units"] if u["code"] == "sxd.tt")
    merged["valid_to"], merged["successor"] = "2024-06-30", "sxd.vp"
    changed = tmp_path / "units.yaml"
    changed.write_text(yaml.safe_dump(units, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cascade("units", "import", str(changed))
    cascade("remind", "--as-of", "2024-07-01")  # the merger takes effect on the next run

    status = cascade("status", "74-kh-sxd-2024", "--as-of", "2024-07-01")
    header = next(line for line in status.splitlines() if "Đơn vị" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")][:3] == ["Cấp", "Kế hoạch", "Đơn vị"]
    rows = [line for line in status.splitlines() if "bao_cao_nam" in line]
    assert len(rows) == 7 and all("74/KH-SXD" in row for row in rows)
    merged_row = next(row for row in rows if names["sxd.tt"] in row)
    assert f"{names['sxd.tt']} (đã sáp nhập vào {names['sxd.vp']})" in merged_row and "Đã sáp nhập" in merged_row
    assert sum(names["sxd.vp"] in row and "đã sáp nhập vào" not in row for row in rows) == 1  # one assignment for the successor
