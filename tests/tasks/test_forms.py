"""tasks.documents.forms: the Excel data-entry form of an assignment, written from the template and read back.

The tests find cells the way a person does, by the visible labels (the header 'Giá trị', an
indicator's metric, a section's title), never by the hidden codes the reader anchors on.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from cascade.clock import VN_TZ
from cascade.errors import FormError
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import Aggregation, Comparator, DutyKind, Plan, ReportDuty, Target
from models.specs import YES_WORDS
from models.submission import Channel, Submission
from models.unit import Unit
from tasks.documents import forms
from tasks.documents.forms import form_filename, form_id, form_spec, form_workbook, needs_form, write_form
from tasks.intake.form_reader import read_form
from tasks.intake.submissions import FigureInput, store_version
from tests.fixtures.builders import TIEP_NHAN, TRUC_TUYEN, TY_LE, Department, add_counts_and_rate, make_plan, make_unit_tree
from tests.fixtures.forms import (
    DAN_VAN,
    DENOMINATOR,
    HAI_LONG,
    INDICATOR_SHEET,
    NHA_O,
    NOTE,
    NUMERATOR,
    NUOC_SACH,
    SECTION_SHEET,
    SECTIONS,
    VALUE,
    Form,
    fill_valid,
    where,
)

AS_OF = date(2024, 4, 5)
DUE_ON = date(2024, 10, 23)


def assign(unit_code: str, *, token: str | None = None, due_on: date = DUE_ON) -> int:
    """An assignment of the plan's annual duty to one unit, written straight through the ORM."""
    with session_scope() as session:
        duty = session.scalars(select(ReportDuty).where(ReportDuty.code == "bao_cao_nam")).one()
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one()
        assignment = Assignment(
            duty=duty, unit=unit, due_on=due_on, token=token or f"secret-token-of-{unit_code}-0123456789",
            created_at=datetime(2024, 4, 5, 8, 0, tzinfo=UTC),
        )  # fmt: skip
        session.add(assignment)
        session.flush()
        return assignment.id


def make_form(folder: Path, assignment_id: int) -> Path:
    with session_scope() as session:
        spec = form_spec(session, session.get(Assignment, assignment_id), as_of=AS_OF)
    return write_form(spec, folder / form_filename(spec))


def validation_of(ws: Worksheet, cell: Cell) -> DataValidation | None:
    found = [dv for dv in ws.data_validations.dataValidation if cell.coordinate in dv.sqref]
    assert len(found) <= 1, f"{cell.coordinate} has {len(found)} validations"
    return found[0] if found else None


@pytest.fixture()
def assignment_id(department: Department) -> int:
    return assign("U1")


@pytest.fixture()
def form(tmp_path: Path, assignment_id: int) -> Form:
    return Form.open(make_form(tmp_path, assignment_id))


def rejected(path: Path, **kwargs: object) -> FormError:
    with pytest.raises(FormError) as caught:
        read_form(path, **kwargs)  # type: ignore[arg-type]
    assert caught.value.source == str(path)
    return caught.value


# ---------------------------------------------------------------------------------------------
# What the form asks and shows
# ---------------------------------------------------------------------------------------------


def test_needs_form_only_for_reports() -> None:
    assert needs_form(ReportDuty(kind=DutyKind.IMPLEMENTING_PLAN)) is False
    for kind in (DutyKind.QUARTERLY, DutyKind.SIX_MONTH, DutyKind.NINE_MONTH, DutyKind.ANNUAL, DutyKind.AD_HOC):
        assert needs_form(ReportDuty(kind=kind)) is True


def test_form_id_is_signed_with_the_token(department: Department) -> None:
    first, second = assign("U1", token="token-one-xxxxxxxxxxxx"), assign("U2", token="token-two-xxxxxxxxxxxx")
    with session_scope() as session:
        one, two = session.get(Assignment, first), session.get(Assignment, second)
        expected = hmac.new(b"token-one-xxxxxxxxxxxx", f"form:{one.id}:{one.unit_id}:{one.duty_id}".encode(), hashlib.sha256).hexdigest()[:16]
        assert form_id(one) == f"GV-{one.id:06d}-{expected}"
        assert form_id(two).startswith(f"GV-{two.id:06d}-") and form_id(two)[-16:] != expected
        one.token = "token-three-xxxxxxxxxx"
        assert form_id(one)[-16:] != expected  # a new token, a new signature


def test_form_spec_holds_the_units_own_targets(department: Department) -> None:
    with session_scope() as session:
        target = session.scalars(select(Target).where(Target.code == "nha_o_xa_hoi")).one()
        target.allocations = {"U1": 200, "U2": 515}
    assignment_id = assign("U1")
    with session_scope() as session:
        assignment = session.get(Assignment, assignment_id)
        spec = form_spec(session, assignment, as_of=AS_OF)
        token = assignment.token
    assert (spec.reference, spec.due_on, spec.unit.name, spec.plan.code) == (f"GV-{assignment_id:06d}", DUE_ON, "Văn phòng Sở", "74/KH-SXD")
    assert spec.form_id.startswith(spec.reference) and token not in spec.form_id
    shares = {i.code: (i.aggregation, i.goal_comparator, i.goal_value, i.asks_rate, i.is_yes_no) for i in spec.indicators}
    assert shares == {
        "dan_van_kheo": (Aggregation.SHARE_OF_UNITS, Comparator.GE, 1, False, True),
        "nha_o_xa_hoi": (Aggregation.SUM, Comparator.GE, 200, False, False),
        "nuoc_sach": (Aggregation.WEIGHTED_RATE, Comparator.GE, 89, True, False),
        "hai_long": (Aggregation.MEAN, Comparator.GT, 95, False, False),
    }
    assert [(s.code, s.title) for s in spec.sections] == [("tinh_hinh", SECTIONS[0]), ("ket_qua", SECTIONS[1])]
    assert form_filename(spec) == f"Biểu mẫu báo cáo GV-{assignment_id:06d}.xlsx"


def test_no_form_for_an_implementing_plan(department: Department) -> None:
    with session_scope() as session:
        session.scalars(select(ReportDuty)).one().kind = DutyKind.IMPLEMENTING_PLAN
    assignment_id = assign("U1")
    with session_scope() as session, pytest.raises(ValueError, match="implementing plan"):
        form_spec(session, session.get(Assignment, assignment_id), as_of=AS_OF)


def test_generated_form_shows_what_the_unit_must_report(tmp_path: Path, department: Department) -> None:
    with session_scope() as session:
        session.scalars(select(Target).where(Target.code == "nha_o_xa_hoi")).one().allocations = {"U1": 200, "U2": 515}
    assignment_id = assign("U1")
    path = make_form(tmp_path, assignment_id)
    form = Form.open(path)
    ws = form.table
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    joined = "\n".join(texts)
    for expected in (
        "SỞ XÂY DỰNG TỈNH ĐỒNG NAI", "BIỂU MẪU BÁO CÁO", "Báo cáo kết quả công tác dân vận chính quyền năm 2024",
        "Kế hoạch số 74/KH-SXD ngày 02/04/2024", "Đơn vị báo cáo: Văn phòng Sở", f"Mã biểu mẫu: GV-{assignment_id:06d}",
        "Hạn gửi: 23/10/2024", "15/10/2024", "32,4", "86,5%", "1.234", "trả lời thư", "NGƯỜI LẬP BIỂU",
    ):  # fmt: skip
        assert expected in joined, expected
    for sheet in form.wb.worksheets:
        assert not any("{{" in str(c.value) or "{%" in str(c.value) for row in sheet.iter_rows() for c in row if c.value), sheet.title

    # One row per indicator: unit of measure and the unit's own target
    columns = form.columns()
    assert list(columns) == ["STT", "Chỉ tiêu", "Đơn vị tính", "Mục tiêu của đơn vị", VALUE, NUMERATOR, DENOMINATOR, NOTE]
    shown = {
        metric: (ws[f"{columns['STT']}{row}"].value, ws[f"{columns['Đơn vị tính']}{row}"].value, ws[f"{columns['Mục tiêu của đơn vị']}{row}"].value)
        for metric, row in form.rows().items()
    }
    # a yes/no figure: its goal worded as the letter words the plan's target (trên 80% of the units), no unit of measure
    assert shown == {
        DAN_VAN: ("1", "—", "Đạt (kế hoạch: trên 80% đơn vị đạt)"),
        NHA_O: ("2", "căn", "ít nhất 200 căn"),
        NUOC_SACH: ("3", "%", "ít nhất 89%"),
        HAI_LONG: ("4", "%", "trên 95%"),
    }

    # Inputs: unlocked where the unit types, greyed and locked where nothing applies
    legend_grey = next(c for row in ws.iter_rows() for c in row if c.value == "Ô không nhập").fill.fgColor.rgb
    asked = {DAN_VAN: {VALUE}, NHA_O: {VALUE}, NUOC_SACH: {NUMERATOR, DENOMINATOR}, HAI_LONG: {VALUE}}
    for metric, labels in asked.items():
        for label in (VALUE, NUMERATOR, DENOMINATOR):
            cell = form.at(metric, label)
            if label in labels:
                assert cell.protection.locked is False and cell.fill.fgColor.rgb != legend_grey, where(cell)
            else:
                assert cell.protection.locked is True and cell.fill.fgColor.rgb == legend_grey, where(cell)
                assert validation_of(ws, cell) is None
        assert form.at(metric, NOTE).protection.locked is False
    assert ws[f"B{form.header_row()}"].protection.locked is True
    assert ws["A1"].protection.locked is True and ws["A1"].font.name == "Times New Roman"

    # Validations
    def rule(cell: Cell) -> tuple[object, ...]:
        dv = validation_of(ws if cell.parent is ws else form.narrative, cell)
        assert dv is not None, where(cell)
        assert dv.showInputMessage and dv.showErrorMessage and dv.prompt and dv.promptTitle
        assert len(dv.promptTitle) <= 32 and len(dv.errorTitle or "") <= 32 and len(dv.prompt) <= 255 and len(dv.error or "") <= 225
        return dv.type, dv.operator, dv.formula1, dv.formula2, dv.errorStyle

    assert rule(form.at(DAN_VAN, VALUE)) == ("list", None, '"Đạt,Không đạt"', None, "stop")
    assert all(word.lower() in YES_WORDS for word in ("Đạt", "Không đạt"))
    assert rule(form.at(NHA_O, VALUE)) == ("decimal", "greaterThanOrEqual", "0", None, "warning")
    assert "32,4" in validation_of(ws, form.at(NHA_O, VALUE)).prompt  # type: ignore[union-attr]
    assert rule(form.at(HAI_LONG, VALUE)) == ("decimal", "between", "0", "100", "warning")
    assert rule(form.at(NUOC_SACH, NUMERATOR)) == ("decimal", "greaterThanOrEqual", "0", None, "warning")
    assert rule(form.at(NUOC_SACH, DENOMINATOR)) == ("decimal", "greaterThanOrEqual", "0", None, "warning")  # 0/0: nothing to count
    assert rule(form.score()) == ("decimal", "between", "0", "100", "warning")

    # Rows below the table moved down with their merged range
    last = max(form.rows().values())
    assert "ngày ..... tháng" in str(ws[f"E{last + 2}"].value)
    assert ws[f"E{last + 3}"].value == "THỦ TRƯỞNG ĐƠN VỊ"
    assert f"E{last + 3}:H{last + 3}" in {str(r) for r in ws.merged_cells.ranges}

    # Narrative sheet: one titled input cell per section, then the self-assessment
    narrative = form.narrative
    titles = [c.value for c in narrative["A"] if isinstance(c.value, str) and c.value[:1].isdigit()]
    assert titles == ["1. Tình hình chung", "2. Kết quả thực hiện"]
    for title in SECTIONS:
        cell = form.section(title)
        assert cell.protection.locked is False and cell.alignment.wrap_text and narrative.row_dimensions[cell.row].height >= 100
    assert form.score().protection.locked is False and form.assessment().protection.locked is False
    assert "tài liệu minh chứng" in "\n".join(str(c.value) for c in narrative["A"] if c.value)

    # Protection without a password, printing, hidden parts
    for sheet in (ws, narrative):
        assert sheet.protection.sheet is True and not sheet.protection.password
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4) and sheet.page_setup.fitToWidth == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert [d for letter, d in sheet.column_dimensions.items() if d.hidden], sheet.title  # the code column
    assert form.wb["_meta"].sheet_state == "veryHidden"
    assert not [name for name in form.wb.defined_names if name.startswith("form_")]

    # The token (the unit's magic link) is nowhere in the file
    with session_scope() as session:
        token = session.get(Assignment, assignment_id).token
    with zipfile.ZipFile(path) as archive:
        assert not any(token.encode() in archive.read(name) for name in archive.namelist())


def test_a_form_without_indicators_or_sections(tmp_path: Path, department: Department) -> None:
    with session_scope() as session:
        duty = session.scalars(select(ReportDuty)).one()
        duty.indicator_codes, duty.sections = ["nha_o_xa_hoi"], []
    assignment_id = assign("U1")
    form = Form.open(make_form(tmp_path, assignment_id))
    assert list(form.rows()) == [NHA_O]
    assert not [c for c in form.narrative["A"] if isinstance(c.value, str) and c.value[:1].isdigit()]
    form.at(NHA_O, VALUE).value = "15"
    data = read_form(form.save())
    assert data.values == {"nha_o_xa_hoi": FigureInput(value=Decimal(15))} and data.sections == {} and data.self_score is None


def test_a_form_copied_from_its_shape_is_the_file_openpyxl_saves(tmp_path: Path, department: Department) -> None:
    """write_form prepares one package per shape and copies it per unit: each copy must be, part for part and byte
    for byte, what saving the filled workbook gives, also for texts XML must escape or keep whitespace in, and
    for a unit whose goal cell is empty."""
    with session_scope() as session:
        session.scalars(select(Target).where(Target.code == "nha_o_xa_hoi")).one().allocations = {"U1": 200, "U2": 515}
        session.scalars(select(Unit).where(Unit.code == "U2")).one().name = ' Phòng <Kinh tế> & "Hạ tầng"\r\nxã Tân\tAn  '
    first, second, third = assign("U1"), assign("U2"), assign("U3")
    forms._prepared.clear()
    for assignment_id in (first, second, third):
        with session_scope() as session:
            spec = form_spec(session, session.get(Assignment, assignment_id), as_of=AS_OF)
        copied = write_form(spec, tmp_path / f"copy-{assignment_id}.xlsx")
        saved = tmp_path / f"saved-{assignment_id}.xlsx"
        form_workbook(spec).save(saved)
        with zipfile.ZipFile(copied) as a, zipfile.ZipFile(saved) as b:
            assert sorted(a.namelist()) == sorted(b.namelist())
            for name in a.namelist():
                if name != "docProps/core.xml":  # the time it was saved
                    assert a.read(name) == b.read(name), (assignment_id, name)
    assert len(forms._prepared) == 1  # one shape, prepared once
    assert Form.open(tmp_path / f"copy-{second}.xlsx").table["A7"].value == 'Đơn vị báo cáo:  Phòng <Kinh tế> & "Hạ tầng"\r\nxã Tân\tAn  '


# ---------------------------------------------------------------------------------------------
# Round trip
# ---------------------------------------------------------------------------------------------

TYPED: list[tuple[str, dict[tuple[str, str], object], dict[str, FigureInput]]] = [
    (
        "vietnamese-text",
        {(DAN_VAN, VALUE): "Đạt", (NHA_O, VALUE): "1.234", (NUOC_SACH, NUMERATOR): "32,4", (NUOC_SACH, DENOMINATOR): "1.234,5",
         (HAI_LONG, VALUE): ("percent", 0.865), (HAI_LONG, NOTE): "Khảo sát 300 phiếu"},
        {"dan_van_kheo": FigureInput(value=Decimal(1)), "nha_o_xa_hoi": FigureInput(value=Decimal(1234)),
         "nuoc_sach": FigureInput(numerator=Decimal("32.4"), denominator=Decimal("1234.5")),
         "hai_long": FigureInput(value=Decimal("86.5"), note="Khảo sát 300 phiếu")},
    ),
    (
        "numbers",
        {(DAN_VAN, VALUE): "không đạt", (NHA_O, VALUE): 120, (NUOC_SACH, NUMERATOR): 694, (NUOC_SACH, DENOMINATOR): 788,
         (HAI_LONG, VALUE): 96.5, (NHA_O, NOTE): "Hoàn thành 2 dự án"},
        {"dan_van_kheo": FigureInput(value=Decimal(0)), "nha_o_xa_hoi": FigureInput(value=Decimal(120), note="Hoàn thành 2 dự án"),
         "nuoc_sach": FigureInput(numerator=Decimal(694), denominator=Decimal(788)), "hai_long": FigureInput(value=Decimal("96.5"))},
    ),
    (
        "percent-text",
        {(DAN_VAN, VALUE): "Có", (NHA_O, VALUE): "0", (NUOC_SACH, NUMERATOR): "0", (NUOC_SACH, DENOMINATOR): "12",
         (HAI_LONG, VALUE): " 86,5% "},
        {"dan_van_kheo": FigureInput(value=Decimal(1)), "nha_o_xa_hoi": FigureInput(value=Decimal(0)),
         "nuoc_sach": FigureInput(numerator=Decimal(0), denominator=Decimal(12)), "hai_long": FigureInput(value=Decimal("86.5"))},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "expected"), [(t, e) for _, t, e in TYPED], ids=[name for name, _, _ in TYPED])
def test_round_trip(form: Form, assignment_id: int, typed: dict[tuple[str, str], object], expected: dict[str, FigureInput]) -> None:
    for (metric, label), value in typed.items():
        cell = form.at(metric, label)
        if isinstance(value, tuple):  # '86,5%' typed into a cell Excel formats as percent: it stores 0.865
            cell.value, cell.number_format = value[1], "0.0%"
        else:
            cell.value = value
    form.section(SECTIONS[0]).value = "Đơn vị đã quán triệt kế hoạch\ntới 100% cán bộ."
    form.section(SECTIONS[1]).value = "  Tiếp nhận 788 hồ sơ, giải quyết đúng hạn 724.  "
    form.score().value = "92,5"
    form.assessment().value = "Kế hoạch số 12/KH-VP ngày 05/3/2024; báo cáo số 45/BC-VP."
    path = form.save()

    data = read_form(path, expected_assignment_id=assignment_id, channel=Channel.EMAIL, sender="vp@sxd.example.gov.vn")
    assert (data.plan, data.duty, data.unit, data.channel, data.sender) == ("74-kh-sxd-2024", "bao_cao_nam", "U1", Channel.EMAIL, "vp@sxd.example.gov.vn")
    assert data.source_key == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.values == expected
    assert data.sections == {"tinh_hinh": "Đơn vị đã quán triệt kế hoạch\ntới 100% cán bộ.", "ket_qua": "Tiếp nhận 788 hồ sơ, giải quyết đúng hạn 724."}
    assert (data.self_score, data.self_assessment) == (Decimal("92.5"), "Kế hoạch số 12/KH-VP ngày 05/3/2024; báo cáo số 45/BC-VP.")

    with session_scope() as session:
        submission, is_new = store_version(session, session.get(Assignment, assignment_id), data, received_at=datetime(2024, 10, 20, 9, 0, tzinfo=VN_TZ))
        assert is_new and submission.version == 1
    with session_scope() as session:
        stored = session.scalars(select(Submission)).one()
        figures = {v.indicator_code: FigureInput(v.value, v.numerator, v.denominator, v.note) for v in stored.values}
        assert figures == expected
        assert {s.code: s.text for s in stored.sections} == data.sections
        assert (stored.self_score, stored.channel, stored.source_key) == (Decimal("92.5"), Channel.EMAIL, data.source_key)
        assert session.get(Assignment, assignment_id).status == AssignmentStatus.SUBMITTED


def test_a_computed_formula_is_taken(form: Form) -> None:
    """A formula Excel has computed has a cached value; openpyxl cannot compute, so write the cache by hand."""
    fill_valid(form)
    form.at(NHA_O, VALUE).value = "=100+20"
    path = form.save()
    with zipfile.ZipFile(path) as archive:  # what Excel writes: the formula and its last result
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = next(name for name, xml in parts.items() if b"<f>100+20</f><v></v>" in xml)
    parts[sheet] = parts[sheet].replace(b"<f>100+20</f><v></v>", b"<f>100+20</f><v>120</v>")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert read_form(path).values["nha_o_xa_hoi"] == FigureInput(value=Decimal(120))


def test_text_as_excel_stores_it(form: Form) -> None:
    """Excel writes a line break typed with Alt+Enter on Windows as '_x000D_' + newline, and a literal '_x' as '_x005F_x'."""
    fill_valid(form)
    form.section(SECTIONS[0]).value = "Dòng một_x000D_\nDòng hai, mã tong_x005F_xa_hoi"
    assert read_form(form.save()).sections["tinh_hinh"] == "Dòng một\nDòng hai, mã tong_xa_hoi"
    with zipfile.ZipFile(form.path) as archive:  # the code 'nha_o_xa_hoi' is escaped, or '_xa_' would read as a line break
        xml = b"".join(archive.read(name) for name in archive.namelist() if name.endswith(".xml"))
    assert b"nha_o_x005F_xa_hoi" in xml and b"nha_o_xa_hoi" not in xml


def test_a_form_saved_again_by_an_office_suite(tmp_path: Path, form: Form) -> None:
    """LibreOffice opens the filled form, computes its formulas and saves it again: it still reads back."""
    assert shutil.which("soffice"), "LibreOffice (soffice) not installed: `make test` installs libreoffice-calc-nogui (as root)"
    fill_valid(form)
    form.at(NHA_O, VALUE).value = "=100+20"
    form.at(HAI_LONG, VALUE).value = "86,5"
    source = form.save()
    out = tmp_path / "resaved"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}", "--headless", "--convert-to", "xlsx", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    data = read_form(out / source.name)
    assert data.values["nha_o_xa_hoi"] == FigureInput(value=Decimal(120))
    assert data.values["hai_long"] == FigureInput(value=Decimal("86.5"))
    assert data.values["nuoc_sach"] == FigureInput(numerator=Decimal(694), denominator=Decimal(788))
    assert set(data.sections) == {"tinh_hinh", "ket_qua"} and data.self_score == 90


# ---------------------------------------------------------------------------------------------
# Wrong forms: every problem names its sheet!cell and what was expected
# ---------------------------------------------------------------------------------------------

Change = Callable[[Form], Cell]


def put(metric: str, label: str, value: object) -> Change:
    def change(form: Form) -> Cell:
        cell = form.at(metric, label)
        cell.value = value
        return cell

    return change


def put_section(title: str, value: object) -> Change:
    def change(form: Form) -> Cell:
        cell = form.section(title)
        cell.value = value
        return cell

    return change


def put_score(value: object) -> Change:
    def change(form: Form) -> Cell:
        cell = form.score()
        cell.value = value
        return cell

    return change


WRONG: list[tuple[str, Change, tuple[str, ...]]] = [
    ("about-30", put(NHA_O, VALUE, "khoảng 30"), ("“khoảng 30”", "không phải là số", "cần nhập một số", NHA_O)),
    ("negative", put(NHA_O, VALUE, -5), ("-5", "số âm", "lớn hơn hoặc bằng 0")),
    ("negative-text", put(HAI_LONG, VALUE, "-3,5%"), ("-3,5", "số âm")),
    ("empty-value", put(HAI_LONG, VALUE, None), ("chưa nhập", "cần nhập một số", "đơn vị tính: %", HAI_LONG)),
    ("empty-yes-no", put(DAN_VAN, VALUE, "  "), ("chưa nhập", "“Đạt” hoặc “Không đạt”")),
    ("not-yes-no", put(DAN_VAN, VALUE, "có lẽ"), ("“có lẽ”", "“Đạt” hoặc “Không đạt”")),
    ("yes-no-number", put(DAN_VAN, VALUE, 86), ("“86”", "“Đạt” hoặc “Không đạt”")),
    ("yes-word-for-a-quantity", put(NHA_O, VALUE, "đạt"), ("“đạt”", "không phải là số")),
    ("a-date", put(NHA_O, VALUE, datetime(2024, 3, 4)), ("04/03/2024", "ngày", "cần nhập một số")),
    ("uncomputed-formula", put(NHA_O, VALUE, "=E1*2"), ("=E1*2", "công thức", "chưa có kết quả")),
    ("numerator-over-denominator", put(NUOC_SACH, NUMERATOR, 800), ("800", "lớn hơn mẫu số 788", "nhỏ hơn hoặc bằng mẫu số")),
    ("zero-denominator", put(NUOC_SACH, DENOMINATOR, 0), ("bằng 0", "lớn hơn 0", NUOC_SACH)),
    ("missing-numerator", put(NUOC_SACH, NUMERATOR, None), ("Tử số", "chưa nhập", "cả tử số và mẫu số")),
    ("value-for-a-rate", put(NUOC_SACH, VALUE, "88,1%"), ("“88,1%”", "tính theo tỷ lệ", "Tử số và Mẫu số")),
    ("rate-for-a-value", put(HAI_LONG, DENOMINATOR, 100), ("Mẫu số", "“100”", "không tính theo tỷ lệ", "ô Giá trị")),
    ("score-over-100", put_score(120), ("120", "từ 0 đến 100")),
    ("score-negative", put_score("-1"), ("-1", "từ 0 đến 100")),
    ("score-not-a-number", put_score("tốt"), ("“tốt”", "không phải là số")),
    ("empty-section", put_section(SECTIONS[1], "   "), (f"Phần “{SECTIONS[1]}”", "bắt buộc")),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragments"), [(c, f) for _, c, f in WRONG], ids=[name for name, _, _ in WRONG])
def test_wrong_cell_is_named(form: Form, change: Change, fragments: tuple[str, ...]) -> None:
    fill_valid(form)
    cell = change(form)
    error = rejected(form.save())
    assert [p.path for p in error.problems] == [where(cell)], error.details()
    for fragment in fragments:
        assert fragment in error.problems[0].message, (fragment, error.problems[0].message)
    assert str(error).startswith(f"{form.path}:{where(cell)}: ")


def test_every_problem_is_reported_at_once(form: Form) -> None:
    fill_valid(form)
    cells = [change(form) for change in (
        put(NHA_O, VALUE, "khoảng 30"), put(NUOC_SACH, NUMERATOR, 900), put(HAI_LONG, VALUE, None),
        put_section(SECTIONS[0], None), put_score(101),
    )]  # fmt: skip
    error = rejected(form.save())
    assert [p.path for p in error.problems] == [where(c) for c in cells], error.details()
    assert "and 4 more problem(s)" in str(error)


def test_a_blank_form_lists_every_required_input(form: Form) -> None:
    error = rejected(form.save())
    required = [form.at(DAN_VAN, VALUE), form.at(NHA_O, VALUE), form.at(NUOC_SACH, NUMERATOR), form.at(NUOC_SACH, DENOMINATOR),
                form.at(HAI_LONG, VALUE), form.section(SECTIONS[0]), form.section(SECTIONS[1])]  # fmt: skip
    assert [p.path for p in error.problems] == [where(c) for c in required]


# ---------------------------------------------------------------------------------------------
# A form for another assignment, tampered, transferred or out of date
# ---------------------------------------------------------------------------------------------


def only_problem(error: FormError, *fragments: str) -> str:
    assert len(error.problems) == 1, error.details()
    message = error.problems[0].message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_form_of_another_assignment(tmp_path: Path, form: Form, assignment_id: int) -> None:
    other = assign("U2")
    path = fill_valid(form).save()
    assert read_form(path, expected_assignment_id=assignment_id).unit == "U1"
    error = rejected(path, expected_assignment_id=other)
    only_problem(error, f"GV-{assignment_id:06d}", "Văn phòng Sở", f"GV-{other:06d}")


def set_meta(form: Form, key: str, value: str) -> None:
    meta = form.wb["_meta"]
    row = next(r for r in meta.iter_rows() if r[0].value == key)
    row[1].value = value


def test_tampered_form_id(form: Form, assignment_id: int) -> None:
    fill_valid(form)
    real = form.wb["_meta"]["B1"].value
    forged = real[:-16] + ("0" * 16 if real[-16:] != "0" * 16 else "1" * 16)
    set_meta(form, "form_id", forged)
    only_problem(rejected(form.save()), f"“{forged}”", "không khớp", f"GV-{assignment_id:06d}")


def test_form_relabelled_for_another_unit(form: Form) -> None:
    """Changing the unit in the hidden sheet does not make the form that unit's: the signature says whose it is."""
    fill_valid(form)
    set_meta(form, "unit", "U2")
    only_problem(rejected(form.save()), "không khớp")


def test_form_forged_for_another_assignment(tmp_path: Path, form: Form) -> None:
    """A form copied from one assignment and pointed at another (id changed, signature kept) is refused."""
    other = assign("U2")
    fill_valid(form)
    real = form.wb["_meta"]["B1"].value
    set_meta(form, "form_id", f"GV-{other:06d}-{real[-16:]}")
    set_meta(form, "unit", "U2")
    only_problem(rejected(form.save()), "không khớp", f"GV-{other:06d}")


def test_assignment_no_longer_exists(form: Form, assignment_id: int) -> None:
    path = fill_valid(form).save()
    with session_scope() as session:
        session.delete(session.get(Assignment, assignment_id))
    only_problem(rejected(path), f"GV-{assignment_id:06d}", "không có nhiệm vụ")


def test_assignment_transferred_to_a_successor(form: Form, assignment_id: int) -> None:
    path = fill_valid(form).save()
    with session_scope() as session:
        assignment = session.get(Assignment, assignment_id)
        successor = session.scalars(select(Unit).where(Unit.code == "U3")).one()
        assignment.transferred_from_id, assignment.unit = assignment.unit_id, successor
    message = only_problem(
        rejected(path, expected_assignment_id=assignment_id), "Văn phòng Sở", successor_name := "Phòng Quản lý nhà và thị trường bất động sản", "biểu mẫu mới"
    )
    assert message.index("Văn phòng Sở") < message.index(successor_name)


def test_assignment_merged_away(form: Form, assignment_id: int) -> None:
    path = fill_valid(form).save()
    with session_scope() as session:
        session.get(Assignment, assignment_id).status = AssignmentStatus.MERGED
    only_problem(rejected(path), "sáp nhập", f"GV-{assignment_id:06d}")


def test_plan_changed_after_the_form_was_made(form: Form) -> None:
    path = fill_valid(form).save()
    with session_scope() as session:
        plan = session.scalars(select(Plan)).one()
        plan.targets.append(Target(code="cai_cach", position=5, text="100% thủ tục trực tuyến", metric="Thủ tục hành chính trực tuyến",
                                   unit_of_measure="%", comparator=Comparator.EQ, value=Decimal(100), aggregation=Aggregation.MEAN))  # fmt: skip
        duty = plan.duties[0]
        duty.sections = [s for s in duty.sections if s["code"] != "ket_qua"]
    only_problem(rejected(path), "điều chỉnh", "“Thủ tục hành chính trực tuyến”", "ket_qua", "biểu mẫu mới")


def test_not_a_workbook(tmp_path: Path, workspace: Path) -> None:
    for name, data in (("bao-cao.xlsx", b"%PDF-1.4 not a spreadsheet"), ("bao-cao.xls", bytes(range(256)) * 8)):
        path = tmp_path / name
        path.write_bytes(data)
        only_problem(rejected(path), f"“{name}”", "không đọc được", ".xlsx")
    archive = tmp_path / "nen.xlsx"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "xin chào")
    only_problem(rejected(archive), "không đọc được")


def test_a_workbook_that_is_not_our_form(tmp_path: Path, workspace: Path) -> None:
    wb = Workbook()
    wb.active["A1"] = "Báo cáo tự làm"
    wb.save(tmp_path / "tu-lam.xlsx")
    error = rejected(tmp_path / "tu-lam.xlsx")
    only_problem(error, "không phải biểu mẫu báo cáo")
    assert error.problems[0].path is None


def test_damaged_layout(form: Form) -> None:
    fill_valid(form)
    form.table.delete_rows(form.rows()[NHA_O])  # unprotected and a row deleted
    form.wb[SECTION_SHEET].title = "Nội dung"
    error = rejected(form.save())
    assert [p.path for p in error.problems] == [INDICATOR_SHEET, SECTION_SHEET], error.details()
    assert NHA_O in error.problems[0].message and "biểu mẫu gốc" in error.problems[0].message
    assert "“Nội dung báo cáo”" in error.problems[1].message


def test_damaged_identity(form: Form) -> None:
    fill_valid(form)
    set_meta(form, "value_column", "??")
    only_problem(rejected(form.save()), "value_column")


# ---------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------


def test_generation_speed(tmp_path: Path, workspace: Path) -> None:
    """Measured, not asserted: a cascade to 2,000 units writes 2,000 forms."""
    codes = make_unit_tree(depth=2, width=50)
    make_plan()
    ids = [assign(code) for code in codes[1:]]
    with session_scope() as session:
        specs = [form_spec(session, session.get(Assignment, i), as_of=AS_OF) for i in ids]
    write_form(specs[0], tmp_path / "warm-up.xlsx")  # the template's bytes are read once per process
    started = time.perf_counter()
    paths = [write_form(spec, tmp_path / form_filename(spec)) for spec in specs]
    per_form = (time.perf_counter() - started) / len(specs)
    print(f"\nwrite_form: {per_form * 1000:.1f} ms per form over {len(specs)} forms")
    assert len({p.name for p in paths}) == len(specs) and all(p.stat().st_size > 0 for p in paths)


# ---------------------------------------------------------------------------------------------
# Nothing to count (0/0), plain figures, a rate computed from two counts
# ---------------------------------------------------------------------------------------------


def test_a_rate_with_nothing_to_count_is_taken_as_zero_over_zero(form: Form, assignment_id: int) -> None:
    """A centre that received no dossiers types 0 and 0; a part over a zero whole is still refused."""
    fill_valid(form)
    form.at(NUOC_SACH, NUMERATOR).value = 0
    form.at(NUOC_SACH, DENOMINATOR).value = 0
    path = form.save()
    data = read_form(path, expected_assignment_id=assignment_id)
    assert data.values["nuoc_sach"] == FigureInput(numerator=Decimal(0), denominator=Decimal(0))
    with session_scope() as session:
        store_version(session, session.get(Assignment, assignment_id), data, received_at=datetime(2024, 10, 20, 9, 0, tzinfo=VN_TZ))
    with session_scope() as session:
        stored = {v.indicator_code: (v.numerator, v.denominator) for v in session.scalars(select(Submission)).one().values}
        assert stored["nuoc_sach"] == (Decimal(0), Decimal(0))
        assert session.get(Assignment, assignment_id).status == AssignmentStatus.SUBMITTED

    form.at(NUOC_SACH, NUMERATOR).value = 5
    error = rejected(form.save())
    assert [p.path for p in error.problems] == [where(form.at(NUOC_SACH, DENOMINATOR))], error.details()
    assert "bằng 0" in error.problems[0].message and "nhập cả tử số và mẫu số bằng 0" in error.problems[0].message


def test_plain_counts_have_no_goal_and_a_computed_rate_is_not_asked(tmp_path: Path, department: Department) -> None:
    from tasks.intake.web_form import field_names

    add_counts_and_rate()
    assignment_id = assign("U1")
    with session_scope() as session:
        spec = form_spec(session, session.get(Assignment, assignment_id), as_of=AS_OF)
    goals = {i.code: (i.goal_comparator, i.goal_value, i.asks_rate) for i in spec.indicators}
    assert goals["tiep_nhan"] == goals["truc_tuyen"] == (None, None, False)
    assert "ty_le_truc_tuyen" not in goals
    assert not [name for name in field_names(spec) if "ty_le_truc_tuyen" in name]

    form = Form.open(write_form(spec, tmp_path / form_filename(spec)))
    assert TY_LE not in form.rows()
    assert form.at(TIEP_NHAN, "Mục tiêu của đơn vị").value is None
    assert form.at(NHA_O, "Mục tiêu của đơn vị").value == "ít nhất 715 căn"
    fill_valid(form)
    form.at(TIEP_NHAN, VALUE).value = 788
    form.at(TRUC_TUYEN, VALUE).value = 694
    data = read_form(form.save(), expected_assignment_id=assignment_id)
    assert data.values["tiep_nhan"] == FigureInput(value=Decimal(788)) and data.values["truc_tuyen"] == FigureInput(value=Decimal(694))
    assert "ty_le_truc_tuyen" not in data.values
