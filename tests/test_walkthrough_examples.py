"""The Party and joint examples as a user runs them: every command in its own process, against a fresh
workspace (the walkthrough's), with the examples' files; every PDF read back for print flaws."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from sandbox.email_units import latest_to
from sandbox.imap_server import LocalImapServer
from tests.fixtures.printing import assert_prints_well
from tests.test_walkthrough import ROOT, Workspace, walk

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.database]
__all__ = ["walk"]  # the walkthrough's fixture: a workspace, `cascade mailbox` and Dovecot


@pytest.mark.timeout(600)
def test_a_joint_party_plan_from_the_examples_goes_round_and_prints_well(walk: tuple[Workspace, LocalImapServer]) -> None:
    """examples/joint-2024 through the commands, each in its own process: the joint plan of two Party bodies
    12-KH/BDVTU-BCS.UBND, found by its Party number, printed as Hướng dẫn 36 asks with both issuers and both
    signatures, cascaded, reported on by its two units from their files, consolidated into a report whose sections are the plan's (figures under II, who reported under V) and
    whose Nơi nhận is the plan's; every PDF read back for print flaws, its pages kept as PNG."""
    ws, _ = walk
    joint = ROOT / "examples" / "joint-2024"
    assert "Units: 4 created" in ws.out("units", "import", str(joint / "units.yaml"))
    key = "12-kh-bdvtu-bcs.ubnd-2024"
    assert f"Plan imported: {key}" in ws.out("plan", "import", str(joint / "plan.yaml"))
    ws.out("document", "plan", "12-KH/BDVTU-BCS.UBND", "--pdf")
    [pdf] = (ws.folder / "documents" / key).glob("*.pdf")
    assert_prints_well(
        pdf, "walkthrough-joint-plan", header=["TỈNH ỦY ĐỒNG NAI", "BAN DÂN VẬN TỈNH ỦY", "BAN CÁN SỰ ĐẢNG UBND", "Số 12-KH/BDVTU-BCS.UBND"],
        signature=["T/M BAN CÁN SỰ ĐẢNG", "TRƯỞNG BAN", "Võ Tấn Đức", "Nguyễn Thị Hoa"],
    )  # fmt: skip
    assert "2 new assignment(s)" in ws.out("plan", "cascade", "12-KH/BDVTU-BCS.UBND", "--as-of", "15/03/2024")
    notice = latest_to(ws.mail(), "bandanvan@huyenuy.vinhcuu.example.vn", "Giao nhiệm vụ báo cáo")
    assert "Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh" in notice.get_body(preferencelist=("plain",)).get_content()
    form = Path(ws.out("document", "form", "12-KH/BDVTU-BCS.UBND", "bao_cao_nam", "tu.dn.bdv.vc").strip())
    asked = " ".join(str(c.value) for sheet in load_workbook(form) for row in sheet.iter_rows() for c in row if c.value)
    assert "Công tác triển khai, quán triệt" in asked and "Tình hình báo cáo của các đơn vị" not in asked  # a section units do not write
    assert "Recorded version 1." in ws.out("submit", str(joint / "submissions" / "tu.dn.bdv.vc.yaml"), "--as-of", "20/11/2024")
    assert "Recorded version 1 (late)." in ws.out("submit", str(joint / "submissions" / "tu.dn.bdv.tb.yaml"), "--as-of", "26/11/2024")
    assert "submitted 2/2" in ws.out("consolidate", "12-KH/BDVTU-BCS.UBND", "bao_cao_nam", "--as-of", "28/11/2024")
    [report] = (ws.folder / "reports" / key).glob("*.docx")
    assert report.name == "Báo cáo kết quả thực hiện công tác dân vận chính quyền năm 2024 - Ban Dân vận Tỉnh ủy (28-11-2024).docx"
    pdf = Path(ws.out("document", "pdf", str(report)).strip())
    pages = assert_prints_well(
        pdf, "walkthrough-joint-report", header=["ĐẢNG CỘNG SẢN VIỆT NAM", "BAN DÂN VẬN TỈNH ỦY", "-BC/BDVTU", "BÁO CÁO"],
        signature=["TRƯỞNG BAN", "Nguyễn Thị Hoa", "- Ban cán sự đảng UBND tỉnh;", "- Lưu Văn phòng Ban Dân vận Tỉnh ủy."],
    )  # fmt: skip
    text = " ".join(" ".join(page.split()) for page in pages)
    order = [
        "I. CÔNG TÁC TRIỂN KHAI, QUÁN TRIỆT",
        "II. KẾT QUẢ THỰC HIỆN",
        "Kết quả thực hiện các chỉ tiêu: đạt 1/2 chỉ tiêu",
        "III. ĐÁNH GIÁ CHUNG",
        "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ NĂM 2025",
        "V. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ",
        "Đơn vị báo cáo chậm: Ban Dân vận Huyện ủy Trảng Bom",
    ]
    assert all(part in text for part in order) and [text.index(part) for part in order] == sorted(text.index(part) for part in order), text
