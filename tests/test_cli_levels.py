"""The three-level example through the `cascade` command: drafts, adjusting and issuing, status, trace."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cascade.cli import common as cli
from cascade.cli.main import app
from tests.flows.helpers import text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")
TOWN = Path(__file__).resolve().parents[1] / "examples" / "town-2024"
runner = CliRunner()
WARD = "104-kh-ubnd-2024--tb.giabinh"


def cascade(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_ward_adjusts_its_drafted_plan_issues_it_and_reports_up(workspace, smtp_server, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(cli.console, "width", 240)
    cascade("units", "import", str(TOWN / "units.yaml"))
    cascade("plan", "import", str(TOWN / "plan.yaml"))
    out = cascade("plan", "cascade", "104-kh-ubnd-2024", "--as-of", "2024-01-31")
    assert "8 new assignment(s) over 1 level(s); implementing plans drafted 4, issued 0; emails sent 8" in out

    # Each ward's notice asks for its own share of the town's 12 models (3 each), not the whole.
    notice = next(m for m in smtp_server.messages() if "giabinh" in str(m["To"]) and "Giao nhiệm vụ báo cáo" in str(m["Subject"]))
    assert "Mô hình “Dân vận khéo” đăng ký và thực hiện: mục tiêu ít nhất 3 mô hình" in text_part(notice)

    listing = cascade("plan", "list")
    assert f"  {WARD}" in listing and listing.count("Dự thảo") == 4  # the drafts, indented under the town's plan

    # The ward exports its draft, asks more than the town does (4 models instead of its allocation of 3) and re-imports it.
    exported = yaml.safe_load(cascade("plan", "export", WARD))
    plan = exported["plan"]
    assert plan["parent_plan"] == "104-kh-ubnd-2024" and plan["number"] is None
    assert plan["basis"] == ["Kế hoạch số 104/KH-UBND ngày 30/01/2024 của Ủy ban nhân dân thị xã Trảng Bàng thực hiện công tác Dân vận chính quyền năm 2024"]
    models = next(t for t in plan["targets"] if t["code"] == "mo_hinh_dan_van_kheo")
    assert models["value"] == 3 and models["allocation_rule"] == "equal"
    models["value"] = 4
    plan["tasks"].append({"code": "khu_pho", "title": "Dân vận khéo ở các khu phố", "content": "", "lead": ["tb.giabinh.ca"], "support": []})
    adjusted = tmp_path / "ward.yaml"
    adjusted.write_text(yaml.safe_dump(exported, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cascade("plan", "import", str(adjusted), "--replace")

    # Loosening is refused with the line of the offending value.
    models["value"] = 2
    loosened = tmp_path / "looser.yaml"
    text = yaml.safe_dump(exported, allow_unicode=True, sort_keys=False)
    loosened.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", "import", str(loosened), "--replace"])
    assert result.exit_code == 1
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if row.strip() == "value: 2")
    assert f"{loosened}:{line}: plan.targets[2].value: 'mo_hinh_dan_van_kheo' asks ≥ 2, looser than the parent plan 104/KH-UBND" in result.output

    out = cascade("plan", "issue", WARD, "--as-of", "2024-02-15")
    assert f"{WARD} issued; 6 new assignment(s)" in out
    # The ward's units are asked for their equal share of the ward's (adjusted) 4 models: 2, 1 and 1.
    shares = {}
    for message in smtp_server.messages():
        if str(message["Subject"]).startswith("Giao nhiệm vụ báo cáo") and "@giabinh" in str(message["To"]) and "vanthu@" not in str(message["To"]):
            shares[str(message["To"])] = text_part(message).split("Dân vận khéo” đăng ký và thực hiện: mục tiêu ít nhất ")[1].split(" ")[0]
    assert sorted(shares.values()) == ["1", "1", "2"]
    assert "1/KH-UBND" in cascade("plan", "list")
    cascade("plan", "issue", "104-kh-ubnd-2024--tb.gialoc", "--as-of", "2024-02-16")
    ambiguous = runner.invoke(app, ["status", "1/KH-UBND"])  # both wards' first plan of 2024
    assert ambiguous.exit_code == 1 and "names 2 plans of 2024 by different issuers" in ambiguous.output
    # Reminders for the town's plan cover every plan under it: on 21/02 the two wards still drafting are at
    # their "2 days before" step for ke_hoach (due 23/02); the issued wards' units are not due until March.
    reminded = cascade("remind", "--plan", "104-kh-ubnd-2024", "--as-of", "2024-02-21")
    assert "Reminders queued 2;" in reminded
    # On 29/02 those two wards are 5 days overdue, and Gia Bình's three units (ke_hoach due 05/03: 13 working
    # days after 15/02, as the town gave 13 working days from 30/01 to 23/02 over Tết) are 5 days before theirs.
    assert "Reminders queued 5;" in cascade("remind", "--plan", "104-kh-ubnd-2024", "--as-of", "2024-02-29")
    status = cascade("status", "104-kh-ubnd-2024", "--as-of", "2024-02-16")
    assert status.count("Công an phường Gia Bình") == 2  # its two duties, at level 2
    assert "Đã nộp đúng hạn" in status  # the ward's implementing plan, issued before 23/02

    # The ward's units report to the ward's plan through the town's key; the ward consolidates with its own target of 4.
    for unit in ("ca", "qs", "yt"):
        cascade("submit", str(TOWN / "submissions" / f"tb.giabinh.{unit}.yaml"), "--as-of", "2024-10-14")
    out = cascade("consolidate", WARD, "bao_cao_nam", "--as-of", "2024-10-28", "--this-level")
    assert "submitted 3/3" in out
    ward_report = next((workspace / "reports" / WARD).glob("*.md")).read_text(encoding="utf-8")
    assert "ít nhất 4 mô hình" in ward_report

    out = cascade("consolidate", "104-kh-ubnd-2024", "bao_cao_nam", "--as-of", "2024-10-31", "--this-level")
    assert "submitted 1/4" in out
    trace = cascade("trace", "104-kh-ubnd-2024", "bao_cao_nam", "mo_hinh_dan_van_kheo")
    assert "Ủy ban nhân dân phường Gia Bình (tb.giabinh): 4" in trace
    for unit in ("Công an phường Gia Bình", "Ban Chỉ huy Quân sự phường Gia Bình", "Trạm Y tế phường Gia Bình"):
        assert unit in trace


def test_trace_without_a_report_says_what_to_do(workspace) -> None:
    cascade("units", "import", str(TOWN / "units.yaml"))
    cascade("plan", "import", str(TOWN / "plan.yaml"))
    result = runner.invoke(app, ["trace", "104-kh-ubnd-2024", "bao_cao_nam", "hai_long"])
    assert result.exit_code == 1 and "run cascade consolidate first" in result.output
