"""Word documents per Decree 30/2020, read back with python-docx; PDF copies through LibreOffice.

No Prefect here: the documents are built from the database directly, as the tasks do.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Cm, Pt
from sqlalchemy import select

from cascade import clock
from cascade.errors import ImportFileError
from models.assignment import Assignment
from models.consolidation import consolidate
from models.db import session_scope
from models.plan import DutyKind, Plan, PlanTask, ReportDuty, plan_by_ref
from models.unit import Unit
from tasks.documents.forms import form_filename, form_spec, write_form
from tasks.documents.pdf import to_pdf
from tasks.documents.word import (
    notice_document_path,
    write_notice_document,
    write_plan_document,
    write_report_document,
)
from tasks.intake.submissions import store_version
from tasks.plans.imports import import_plan, import_units
from tasks.reporting.consolidation import load_input
from tests.fixtures.printing import assert_prints_well, page_texts, pages_as_png, soffice_required
from tests.flows.helpers import submission

TOWN = Path(__file__).resolve().parents[2] / "examples" / "town-2024"
PARTY = TOWN.parent / "party-2024"
JOINT = TOWN.parent / "joint-2024"
MM = Cm(0.1)


def texts(path: Path) -> list[str]:
    """Every paragraph of the body, the tables' cells included, in document order."""
    doc = Document(str(path))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                lines += [p.text for p in cell.paragraphs]
    return lines


TABLE = "⊞ "  # how body_flow shows a table: this, then its second header cell


def body_flow(path: Path) -> list[str]:
    """The body in reading order: each paragraph's text, and each table as TABLE + its second header cell."""
    doc = Document(str(path))
    flow = []
    for element in doc.element.body.iterchildren():
        if element.tag.endswith("}p"):
            flow.append("".join(t.text or "" for t in element.iter() if t.tag.endswith("}t")))
        elif element.tag.endswith("}tbl"):
            cells = [c for c in element.iter() if c.tag.endswith("}tc")]
            second = "".join(t.text or "" for t in cells[1].iter() if t.tag.endswith("}t")) if len(cells) > 1 else ""
            flow.append(TABLE + second)
    return flow


def assert_decree_30_page(path: Path) -> None:
    """A4; margins top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm; Times New Roman 13-14 pt."""
    doc = Document(str(path))
    section = doc.sections[0]
    mm = {name: round(getattr(section, name) / MM) for name in ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin", "right_margin")}
    assert (mm["page_width"], mm["page_height"]) == (210, 297)
    assert 20 <= mm["top_margin"] <= 25 and 20 <= mm["bottom_margin"] <= 25
    assert 30 <= mm["left_margin"] <= 35 and 15 <= mm["right_margin"] <= 20
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and Pt(13) <= normal.size <= Pt(14)


def header_cells(path: Path) -> tuple[list[str], list[str]]:
    left, right = Document(str(path)).tables[0].rows[0].cells
    return [p.text for p in left.paragraphs if p.text], [p.text for p in right.paragraphs if p.text]


def signature_cells(path: Path) -> tuple[list[str], list[str]]:
    left, right = Document(str(path)).tables[-1].rows[0].cells
    return [p.text for p in left.paragraphs if p.text], [p.text for p in right.paragraphs if p.text]


@pytest.fixture()
def town(workspace) -> str:  # type: ignore[no-untyped-def]
    import_units(TOWN / "units.yaml")
    return import_plan(TOWN / "plan.yaml")


def test_the_plan_has_every_element_decree_30_asks_for(town) -> None:
    with session_scope() as session:
        path = write_plan_document(session, session.scalar(select(Plan).where(Plan.key == town)))

    assert path.name == "Kế hoạch 104-KH-UBND.docx"
    assert_decree_30_page(path)
    left, right = header_cells(path)
    assert left == ["UBND TỈNH TÂY NINH", "ỦY BAN NHÂN DÂN THỊ XÃ TRẢNG BÀNG", "Số: 104/KH-UBND"]
    assert right == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Trảng Bàng, ngày 30 tháng 01 năm 2024"]

    lines = [line for line in texts(path) if line]
    body = lines[lines.index("KẾ HOẠCH") :]
    assert body[1] == "Thực hiện công tác Dân vận chính quyền năm 2024"
    assert body[2].startswith("Căn cứ Chương trình phối hợp số 05-CT/BDVTU-UBND") and body[2].endswith(";")
    headings = [line for line in body if line.split(".")[0] in ("I", "II", "III", "IV")]
    assert headings == ["I. MỤC ĐÍCH, YÊU CẦU", "II. NỘI DUNG, NHIỆM VỤ", "III. CHỈ TIÊU CỤ THỂ NĂM 2024", "IV. TỔ CHỨC THỰC HIỆN"]
    assert "1. Quán triệt, học tập và tuyên truyền về công tác dân vận" in body
    assert any(line.startswith("5. Phối hợp với Khối vận") for line in body)
    # The models target is split equally among the four wards: 12 → 3 each, in a table.
    assert body.count("3 mô hình") == 4 and "Ủy ban nhân dân phường Gia Bình" in body
    assert any("trước ngày 30/10/2024 (số liệu tính đến ngày 15/10/2024)" in line for line in body)
    assert any(
        line.startswith("Trên đây là Kế hoạch thực hiện công tác Dân vận chính quyền năm 2024 của Ủy ban nhân dân thị xã Trảng Bàng") and line.endswith("./.")
        for line in body
    )

    recipients, signer = signature_cells(path)
    assert recipients[0] == "Nơi nhận:" and recipients[-1] == "- Lưu: VT."
    assert all(line.endswith(";") for line in recipients[1:-1]) and "- Phòng Nội vụ thị xã;" in recipients
    assert signer == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Thanh Hải"]  # a People's Committee signs as a collective (Decree 30)
    properties = Document(str(path)).core_properties  # what Word shows in File > Properties
    assert (properties.title, properties.author) == ("Kế hoạch Thực hiện công tác Dân vận chính quyền năm 2024", "Ủy ban nhân dân thị xã Trảng Bàng")

    run = Document(str(path)).tables[0].rows[0].cells[0].paragraphs[1].runs[0]
    assert run.bold  # the issuer's name is bold, the governing body is not


@pytest.mark.parametrize(
    ("issued", "line"),
    [
        (date(2024, 2, 15), "Gia Bình, ngày 15 tháng 02 năm 2024"),
        (date(2024, 6, 5), "Gia Bình, ngày 05 tháng 6 năm 2024"),
        (date(2024, 11, 30), "Gia Bình, ngày 30 tháng 11 năm 2024"),
    ],
)
def test_the_date_line_pads_days_below_10_and_months_1_and_2(town, issued: date, line: str) -> None:
    with session_scope() as session:
        plan = session.scalar(select(Plan).where(Plan.key == town))
        plan.issued_on, plan.place = issued, "Gia Bình"
        path = write_plan_document(session, plan)
    assert header_cells(path)[1][-1] == line


def test_a_draft_has_a_blank_number_and_text_is_escaped_not_lost(town) -> None:
    with session_scope() as session:
        plan = session.scalar(select(Plan).where(Plan.key == town))
        plan.number = None
        plan.title = "Thực hiện công tác Dân vận & <cải cách hành chính> năm 2024"
        plan.purposes = "Dòng thứ nhất.\n\nDòng thứ hai có ký tự < và & giữ nguyên."
        path = write_plan_document(session, plan)
    left, _ = header_cells(path)
    assert left[-1].startswith("Số:") and left[-1].endswith("/KH-UBND") and "None" not in left[-1]
    lines = texts(path)
    assert "Thực hiện công tác Dân vận & <cải cách hành chính> năm 2024" in lines
    assert "Dòng thứ nhất." in lines and "Dòng thứ hai có ký tự < và & giữ nguyên." in lines


def department_duty(session, plan_key: str) -> ReportDuty:  # type: ignore[no-untyped-def]
    return session.scalar(select(ReportDuty).join(Plan).where(Plan.key == plan_key, ReportDuty.code == "bao_cao_nam"))


@pytest.fixture()
def assigned(department) -> list[int]:  # type: ignore[no-untyped-def]
    """The department plan assigned to its four offices on 05/04/2024 (through the ORM, no flow)."""
    with session_scope() as session:
        duty = department_duty(session, department.plan)
        units = session.scalars(select(Unit).where(Unit.code.in_(department.units)).order_by(Unit.code)).all()
        rows = [Assignment(duty=duty, unit=u, due_on=duty.due_on, token=secrets.token_urlsafe(24), created_at=clock.moment(date(2024, 4, 5))) for u in units]
        session.add_all(rows)
        session.flush()
        return [a.id for a in rows]


def test_the_assignment_letter_names_the_unit_its_tasks_targets_and_deadline(assigned) -> None:
    with session_scope() as session:
        assignment = session.get_one(Assignment, assigned[0])
        path = write_notice_document(session, assignment, as_of=date(2024, 4, 5))
        assert path == notice_document_path(assignment)

    assert path.name == f"Công văn giao nhiệm vụ GV-{assigned[0]:06d}.docx"
    assert_decree_30_page(path)
    left, right = header_cells(path)
    assert left[1] == "SỞ XÂY DỰNG TỈNH ĐỒNG NAI" and left[2].endswith("/SXD-VP") and left[3] == "V/v triển khai thực hiện Kế hoạch số 74/KH-SXD"
    assert right[-1] == "Biên Hòa, ngày 05 tháng 4 năm 2024"
    lines = texts(path)
    assert "Kính gửi: Văn phòng Sở." in lines
    assert "- Giao Văn phòng Sở chủ trì, phối hợp với Thanh tra Sở đẩy mạnh cải cách hành chính." in lines
    assert "- Nhà ở xã hội hoàn thành: ít nhất 715 căn." in lines
    assert "- Dân số đô thị dùng nước sạch: ít nhất 89%." in lines
    deadline = next(line for line in lines if line.startswith("- Gửi báo cáo"))
    assert "(số liệu tính đến ngày 15/10/2024)" in deadline and "trước ngày 30/10/2024" in deadline
    assert "- Báo cáo gồm các nội dung: Tình hình chung; Kết quả thực hiện." in lines
    recipients, signer = signature_cells(path)
    assert recipients == ["Nơi nhận:", "- Như trên;", "- Lưu: VT."] and signer == ["GIÁM ĐỐC", "Hồ Văn Hà"]


def test_the_letter_gives_each_task_and_duty_as_plans_word_them(department, assigned) -> None:  # type: ignore[no-untyped-def]
    """'Giao <unit> chủ trì, phối hợp với …', '… phối hợp với <lead> …', 'Giao <unit> <task>' for a task naming
    nobody; a duty that is not a report is given ('Giao … thành lập …'), never sent ('Gửi thành lập …')."""
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == department.plan)).one()
        plan.tasks.append(PlanTask(code="2", position=2, title="Thành lập Tổ công tác dân vận của cơ quan", content="..."))
        duty = department_duty(session, department.plan)
        duty.kind, duty.title, duty.cutoff_on = DutyKind.AD_HOC, "Thành lập Tổ công tác dân vận và báo cáo danh sách thành viên", None
        supporter = session.get_one(Assignment, assigned[1])
        path = write_notice_document(session, supporter, as_of=date(2024, 4, 5))

    lines = texts(path)
    tasks = lines[lines.index("1. Nhiệm vụ") + 1 : lines.index("2. Chỉ tiêu")]
    assert tasks == [
        "- Giao Thanh tra Sở phối hợp với Văn phòng Sở đẩy mạnh cải cách hành chính.",
        "- Giao Thanh tra Sở thành lập Tổ công tác dân vận của cơ quan.",
    ]
    assert (
        "- Giao Thanh tra Sở thành lập Tổ công tác dân vận và báo cáo danh sách thành viên; báo cáo kết quả về Sở Xây dựng tỉnh Đồng Nai"
        " trước ngày 30/10/2024, theo biểu mẫu gửi kèm theo."
    ) in lines
    text = "\n".join(lines)
    assert re.search(r"Gửi (?!báo cáo)", text) is None, [line for line in lines if re.search(r"Gửi (?!báo cáo)", line)]


def consolidated_report(department, assigned, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """U1 on time, U2 late (a rate and a narrative with '&'), U3 and U4 missing; consolidated on 08/11/2024."""
    plan = department.plan
    with session_scope() as session:
        by_unit = {a.unit.code: a for a in session.scalars(select(Assignment).where(Assignment.id.in_(assigned)))}
        store_version(
            session,
            by_unit["U1"],
            submission(plan, "U1", dan_van_kheo=1, nha_o_xa_hoi=300, nuoc_sach=(9000, 10000), hai_long=97),
            received_at=clock.moment(date(2024, 10, 20)),
        )
        late = submission(plan, "U2", dan_van_kheo=0, nha_o_xa_hoi=415, nuoc_sach=(801, 1000), hai_long="96.5")
        late = type(late)(**{**late.__dict__, "sections": {"tinh_hinh": "Sở & các phòng <đã> triển khai.\nĐoạn thứ hai.", "ket_qua": "Xong."}})
        store_version(session, by_unit["U2"], late, received_at=clock.moment(date(2024, 11, 2)))
    with session_scope() as session:
        header, data = load_input(session, department_duty(session, plan), date(2024, 11, 8))
    return write_report_document(header, consolidate(data), tmp_path / "Báo cáo.docx")


def test_the_report_has_the_indicator_table_late_and_missing_units_and_the_narrative(department, assigned, tmp_path: Path) -> None:
    path = consolidated_report(department, assigned, tmp_path)
    assert_decree_30_page(path)
    left, right = header_cells(path)
    assert left[2].startswith("Số:") and left[2].endswith("/BC-SXD")
    assert right[-1] == "Biên Hòa, ngày 08 tháng 11 năm 2024"
    lines = texts(path)
    assert "BÁO CÁO" in lines and "Kết quả công tác dân vận chính quyền năm 2024" in lines
    assert any(line.startswith("Số đơn vị phải báo cáo: 4; đã báo cáo: 2 (đạt 50%)") for line in lines)
    assert "Đơn vị báo cáo chậm: Thanh tra Sở (ngày 02/11/2024, chậm 3 ngày)." in lines
    assert any(line.startswith("Đơn vị chưa báo cáo: Phòng Quản lý nhà và thị trường bất động sản (quá hạn 9 ngày);") for line in lines)

    table = next(t for t in Document(str(path)).tables if t.rows[0].cells[1].text == "Chỉ tiêu")
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["STT", "Chỉ tiêu", "Mục tiêu", "Kết quả", "Đơn vị báo cáo", "Đánh giá"]
    by_metric = {row[1]: row for row in rows[1:]}
    # (9000 + 801) / (10000 + 1000) = 89,1%; 300 + 415 = 715 houses; mean of 97 and 96,5 = 96,75 → 96,8%.
    assert by_metric["Dân số đô thị dùng nước sạch"][2:] == ["ít nhất 89%", "89,1% (9.801/11.000)", "2/4", "Đạt (chưa đủ số liệu)"]
    assert by_metric["Nhà ở xã hội hoàn thành"][3] == "715 căn"
    assert by_metric["Chỉ số hài lòng"][3] == "96,8%"
    assert by_metric["Đơn vị đạt tiêu chí Dân vận khéo"][2:4] == ["trên 80%", "25% (1/4 đơn vị)"]
    assert by_metric["Đơn vị đạt tiêu chí Dân vận khéo"][5] == "Không đạt (chưa đủ số liệu)"  # two offices have not reported

    # The duty's sections numbered from I: by common practice the reporting status heads the first, the
    # figures table the one titled "Kết quả…"; then each unit's text once, under its name.
    flow = body_flow(path)
    headings = [line for line in flow if re.match(r"[IVX]+\. ", line)]
    assert headings == ["I. TÌNH HÌNH CHUNG", "II. KẾT QUẢ THỰC HIỆN"]
    reporting = next(i for i, line in enumerate(flow) if line.startswith("Số đơn vị phải báo cáo"))
    assert flow.index("I. TÌNH HÌNH CHUNG") < reporting < flow.index("Thanh tra Sở") < flow.index("II. KẾT QUẢ THỰC HIỆN") < flow.index(TABLE + "Chỉ tiêu")
    at = flow.index("Thanh tra Sở")
    assert flow[at + 1 : at + 3] == ["Sở & các phòng <đã> triển khai.", "Đoạn thứ hai."]
    recipients, signer = signature_cells(path)
    assert recipients == ["Nơi nhận:", "- UBND tỉnh Đồng Nai;", "- Lưu: VT."]  # by default the body above, as a list writes it
    assert signer == ["GIÁM ĐỐC", "Hồ Văn Hà"]


def test_the_plan_places_the_reports_parts_and_names_its_recipients(department, assigned, tmp_path: Path) -> None:
    """A duty's sections say where the figures and the reporting status go, and which section the units do not
    write; the plan's report_recipients are the report's Nơi nhận."""
    with session_scope() as session:
        duty = department_duty(session, department.plan)
        duty.sections = [
            {"code": "tinh_hinh", "title": "Tình hình triển khai"},
            {"code": "ket_qua", "title": "Kết quả thực hiện", "shows": ["figures"]},
            {"code": "bao_cao", "title": "Tình hình báo cáo của các đơn vị", "shows": ["reporting"], "asked": False},
        ]
        duty.plan.report_recipients = ["UBND tỉnh (qua Sở Nội vụ)", "Ban Dân vận Tỉnh ủy", "Lưu: VT, VP Sở"]
    flow = body_flow(consolidated_report(department, assigned, tmp_path))
    headings = [line for line in flow if re.match(r"[IVX]+\. ", line)]
    assert headings == ["I. TÌNH HÌNH TRIỂN KHAI", "II. KẾT QUẢ THỰC HIỆN", "III. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ"]
    reporting = next(i for i, line in enumerate(flow) if line.startswith("Số đơn vị phải báo cáo"))
    assert flow.index("II. KẾT QUẢ THỰC HIỆN") < flow.index(TABLE + "Chỉ tiêu") < flow.index("III. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ") < reporting
    # the section of the report's own parts asks nothing of the units, so it never says that none wrote it
    assert "Chưa có đơn vị nào báo cáo nội dung này." not in flow[flow.index("III. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ") :]
    recipients, _ = signature_cells(tmp_path / "Báo cáo.docx")
    assert recipients == ["Nơi nhận:", "- UBND tỉnh (qua Sở Nội vụ);", "- Ban Dân vận Tỉnh ủy;", "- Lưu: VT, VP Sở."]


def test_every_kind_of_document_prints_without_flaws(town, department, assigned, tmp_path: Path) -> None:
    """A state plan, a Party plan, a joint plan, a consolidated report, an assignment letter and the Excel form,
    converted to PDF by one LibreOffice process and read back page by page; the pages kept as PNG."""
    soffice_required()
    import_units(PARTY / "units.yaml")
    import_units(JOINT / "units.yaml")
    party, joint = import_plan(PARTY / "plan.yaml"), import_plan(JOINT / "plan.yaml")
    with session_scope() as session:
        plans = [write_plan_document(session, session.scalars(select(Plan).where(Plan.key == key)).one()) for key in (town, party, joint)]
    report_docx = consolidated_report(department, assigned, tmp_path)
    with session_scope() as session:
        assignment = session.get_one(Assignment, assigned[0])
        letter = write_notice_document(session, assignment, as_of=date(2024, 4, 5))
        spec = form_spec(session, assignment, as_of=date(2024, 4, 5))
        form = write_form(spec, tmp_path / form_filename(spec))

    town_pdf, party_pdf, joint_pdf, report_pdf, letter_pdf, form_pdf = to_pdf([*plans, report_docx, letter, form], outdir=tmp_path / "pdf")
    assert [town_pdf.name, report_pdf.name] == ["Kế hoạch 104-KH-UBND.pdf", "Báo cáo.pdf"]
    state = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    pages = assert_prints_well(
        town_pdf, "town-plan", header=[*state, "Số: 104/KH-UBND", "Trảng Bàng, ngày 30 tháng 01 năm 2024", "KẾ HOẠCH"],
        signature=["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Thanh Hải"],
    )  # fmt: skip
    assert "CỘNG HÒA" not in " ".join(pages[1:])  # the header once, on page 1
    assert_prints_well(
        party_pdf, "party-plan", header=["ĐẢNG CỘNG SẢN VIỆT NAM", "HUYỆN ỦY VĨNH CỬU", "Số 215-KH/HU"], signature=["T/M BAN THƯỜNG VỤ", "Trần Văn Hùng"]
    )
    assert_prints_well(
        joint_pdf, "joint-plan", header=["ĐẢNG CỘNG SẢN VIỆT NAM", "BAN DÂN VẬN TỈNH ỦY", "BAN CÁN SỰ ĐẢNG UBND", "Số 12-KH/BDVTU-BCS.UBND"],
        signature=["T/M BAN CÁN SỰ ĐẢNG", "TRƯỞNG BAN", "Võ Tấn Đức", "Nguyễn Thị Hoa"],
    )  # fmt: skip
    assert_prints_well(report_pdf, "department-report", header=[*state, "BÁO CÁO", "/BC-SXD"], signature=["GIÁM ĐỐC", "Hồ Văn Hà"])
    assert_prints_well(letter_pdf, "department-letter", header=[*state, "/SXD-VP", "V/v triển khai thực hiện"], signature=["GIÁM ĐỐC", "Hồ Văn Hà"])
    fonts = subprocess.run(["pdffonts", str(town_pdf)], capture_output=True, text=True, check=True).stdout
    assert "LiberationSerif" in fonts or "Times" in fonts, fonts  # the metric twin of Times New Roman, embedded

    form_pages = page_texts(form_pdf)  # on A4, the indicator sheet on one page with its signature block, then the narrative
    assert len(form_pages) == 2 and "STT" in form_pages[0] and "THỦ TRƯỞNG ĐƠN VỊ" in form_pages[0] and "NỘI DUNG BÁO CÁO" in form_pages[1]
    assert "BIỂU MẪU BÁO CÁO" in form_pages[0] and "Văn phòng Sở" in form_pages[0]  # an Excel file converts too
    assert len(pages_as_png(form_pdf, "department-form")) == 2


def test_a_missing_document_is_a_clear_error(tmp_path: Path) -> None:
    from tasks.documents.pdf import PdfConversionError

    with pytest.raises(PdfConversionError, match="not a file"):
        to_pdf([tmp_path / "absent.docx"])


def test_share_values_are_vietnamese_numbers(town) -> None:
    with session_scope() as session:
        plan = session.scalar(select(Plan).where(Plan.key == town))
        target = next(t for t in plan.targets if t.allocation_rule)
        target.value = Decimal("1234.5")
        path = write_plan_document(session, plan)
    lines = texts(path)
    assert any("(1.234,5 mô hình)" in line for line in lines)


def test_letters_of_every_length_end_with_their_signature_block_whole_and_no_empty_page(department, assigned, tmp_path: Path) -> None:
    """The same letter with 0 to 11 more tasks, so that its end falls at every place of a page, the page break
    among them: the block of Nơi nhận and signer always prints whole on the last page, beside the closing
    sentence, and no page holds only its number."""
    soffice_required()
    letters = []
    for extra in range(12):
        with session_scope() as session:  # a session each: a session reads the plan's tasks once
            if extra:
                plan = session.scalars(select(Plan).where(Plan.key == department.plan)).one()
                title = f"Nhiệm vụ bổ sung số {extra} về công tác dân vận của cơ quan, đơn vị trong năm 2024"
                plan.tasks.append(PlanTask(code=f"x{extra}", position=10 + extra, title=title, content="..."))
        with session_scope() as session:
            letter = write_notice_document(session, session.get_one(Assignment, assigned[0]), as_of=date(2024, 4, 5))
            letters.append(letter.rename(tmp_path / f"letter-{extra:02d}.docx"))
    pdfs = to_pdf(letters, outdir=tmp_path / "pdf")
    page_counts = set()
    for pdf in pdfs:
        pages = page_texts(pdf)
        page_counts.add(len(pages))
        assert not [n for n, text in enumerate(pages, 1) if re.fullmatch(r"\s*\d*\s*", text)], f"{pdf.name}: a page holds only its number"
        last = pages[-1]
        assert "Nơi nhận:" in last and "- Lưu: VT." in last and "GIÁM ĐỐC" in last and "Hồ Văn Hà" in last, f"{pdf.name}: the block split"
        assert "triển khai thực hiện./." in last, f"{pdf.name}: the closing sentence left its signature"
        assert sum(text.count("Nơi nhận:") for text in pages) == 1
    assert len(page_counts) > 1, "the letters never crossed a page: the test proves nothing"


def test_a_party_plan_is_written_as_hd_36_asks(workspace) -> None:  # type: ignore[no-untyped-def]
    """Hướng dẫn 36-HD/VPTW: the superior Party body over the issuer and a star on the left, 'Số 215-KH/HU'
    (number-kind/issuer, no colon); ĐẢNG CỘNG SẢN VIỆT NAM underlined over the place-date line on the right;
    the secretary signs 'T/M BAN THƯỜNG VỤ / BÍ THƯ'; the archive line is the office's own."""
    import_units(PARTY / "units.yaml")
    key = import_plan(PARTY / "plan.yaml")
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        assert plan.code == "215-KH/HU" and plan_by_ref(session, "215-KH/HU") is plan
        path = write_plan_document(session, plan)
    left, right = header_cells(path)
    assert left == ["ĐẢNG BỘ TỈNH ĐỒNG NAI", "HUYỆN ỦY VĨNH CỬU", "*", "Số 215-KH/HU"]
    assert right == ["ĐẢNG CỘNG SẢN VIỆT NAM", "Vĩnh Cửu, ngày 22 tháng 4 năm 2024"]
    motto = Document(str(path)).tables[0].rows[0].cells[1].paragraphs[0].runs[0]
    assert motto.bold and motto.underline
    recipients, signer = signature_cells(path)
    assert signer == ["T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Trần Văn Hùng"] and recipients[-1] == "- Lưu Văn phòng Huyện ủy."
    assert "KẾ HOẠCH" in texts(path)
    soffice_required()
    [pdf] = to_pdf([path], outdir=path.parent / "pdf")
    pages = page_texts(pdf)
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in pages[0] and "Số 215-KH/HU" in pages[0] and "T/M BAN THƯỜNG VỤ" in pages[-1]
    assert len(pages_as_png(pdf, "party-plan")) == len(pages)


def test_a_joint_plan_prints_both_issuers_and_a_signature_for_each(workspace) -> None:  # type: ignore[no-untyped-def]
    """A joint plan (liên tịch): both issuers under their superior body, the joint symbol; the co-issuer signs on
    the left and the lead on the right, names on one line; Nơi nhận below; citations name both issuers."""
    import_units(JOINT / "units.yaml")
    key = import_plan(JOINT / "plan.yaml")
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        assert plan.code == "12-KH/BDVTU-BCS.UBND" and plan.issuer_names == "Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh"
        path = write_plan_document(session, plan)
    left, right = header_cells(path)
    assert left == ["TỈNH ỦY ĐỒNG NAI", "BAN DÂN VẬN TỈNH ỦY", "BAN CÁN SỰ ĐẢNG UBND TỈNH", "*", "Số 12-KH/BDVTU-BCS.UBND"]
    assert right == ["ĐẢNG CỘNG SẢN VIỆT NAM", "Đồng Nai, ngày 15 tháng 3 năm 2024"]
    closing = Document(str(path)).tables[-1]
    assert len(closing.rows) == 2
    co, lead = ([p.text for p in cell.paragraphs if p.text] for cell in closing.rows[0].cells)
    assert co == ["T/M BAN CÁN SỰ ĐẢNG", "BÍ THƯ", "Võ Tấn Đức"] and lead == ["TRƯỞNG BAN", "Nguyễn Thị Hoa"]
    name_rows = [[i for i, p in enumerate(cell.paragraphs) if p.text in ("Võ Tấn Đức", "Nguyễn Thị Hoa")] for cell in closing.rows[0].cells]
    assert name_rows[0] == name_rows[1]  # the shorter block is padded: both names on one line
    recipients = [p.text for p in closing.rows[1].cells[0].paragraphs if p.text]
    assert recipients[0] == "Nơi nhận:" and recipients[-1] == "- Lưu Văn phòng Ban Dân vận Tỉnh ủy, Văn phòng UBND tỉnh."
    lines = texts(path)
    assert any(line.startswith("Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh xây dựng Kế hoạch") for line in lines)
    assert Document(str(path)).core_properties.author == "Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("symbol: KH/BDVTU-BCS.UBND", "symbol: KH/BDVTU"),
            "a joint plan's symbol names every issuer, the lead first: expected 'KH/BDVTU-BCS.UBND', got 'KH/BDVTU'",
        ),
        (("symbol: KH/BDVTU-BCS.UBND", "symbol: KH/BCS.UBND-BDVTU"), "expected 'KH/BDVTU-BCS.UBND', got 'KH/BCS.UBND-BDVTU'"),
        (("    - unit: tu.dn.bcs", "    - unit: tu.dn.bdv"), "'tu.dn.bdv' is already an issuer of this plan"),
        (("    - unit: tu.dn.bcs", "    - unit: tu.dn.xyz"), "unknown unit 'tu.dn.xyz'"),
    ],
)
def test_a_joint_plan_names_each_issuer_once_and_in_its_symbol(workspace, tmp_path: Path, change: tuple[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    import_units(JOINT / "units.yaml")
    text = (JOINT / "plan.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    wrong = tmp_path / "plan.yaml"
    wrong.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(ImportFileError) as raised:
        import_plan(wrong)
    assert message in str(raised.value) and "plan.yaml:" in str(raised.value)
    with session_scope() as session:
        assert session.scalar(select(Plan.id)) is None  # nothing written


def test_a_programme_is_titled_chuong_trinh_and_both_symbol_forms_are_accepted(town, tmp_path: Path) -> None:
    text = (
        (TOWN / "plan.yaml")
        .read_text(encoding="utf-8")
        .replace("symbol: KH-UBND", "symbol: CTr-UBND")
        .replace("key: 104-kh-ubnd-2024", "key: 7-ctr-ubnd-2024")
        .replace('number: "104"', 'number: "7"')
    )
    programme = tmp_path / "programme.yaml"
    programme.write_text(text, encoding="utf-8")
    key = import_plan(programme)
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        assert (plan.code, plan.kind_title) == ("07/CTr-UBND", "CHƯƠNG TRÌNH")
        path = write_plan_document(session, plan)
    lines = texts(path)
    assert "CHƯƠNG TRÌNH" in lines and "KẾ HOẠCH" not in lines
    assert any(line.startswith("Ủy ban nhân dân thị xã Trảng Bàng xây dựng Chương trình") for line in lines)
