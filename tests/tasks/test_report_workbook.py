"""The Excel export of a consolidation, read back with openpyxl: units × indicators, totals, targets, verdicts."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from models.aggregation import TargetResult, TargetRule, UnitFigure, Verdict
from models.consolidation import Consolidation, ConsolidationInput, ExpectedUnit, ReportHeader, consolidate
from models.plan import Aggregation, Comparator
from tasks.documents import report_workbook
from tasks.documents.report_workbook import report_workbook_name, write_report_workbook
from templates import words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "forms" / "consolidation.xlsx"
DUE = date(2024, 10, 30)
AS_OF = date(2024, 11, 5)

VAN_PHONG = "Văn phòng Sở"
THANH_TRA = "Thanh tra Sở"
PHONG_NHA = "Phòng Quản lý nhà và thị trường bất động sản"
PHUONG = "UBND phường Tân Mai"
TRUNG_TAM = "Trung tâm Quy hoạch và Kiểm định chất lượng công trình xây dựng"
QUY_HOACH = "Phòng Quy hoạch - Kiến trúc"

SHARE = "Đơn vị đạt tiêu chí Dân vận khéo"
HOUSING = "Nhà ở xã hội hoàn thành"
WATER = "Dân số đô thị dùng nước sạch"
SATISFACTION = "Chỉ số hài lòng"


def make_header(plan_key: str = "74-kh-sxd-2024", duty_code: str = "bao_cao_nam") -> ReportHeader:
    return ReportHeader(
        plan={
            "key": plan_key,
            "code": "74/KH-SXD",
            "title": "Thực hiện công tác Dân vận chính quyền năm 2024",
            "issued_on": date(2024, 4, 2),
            "issuer_name": "Sở Xây dựng tỉnh Đồng Nai",
            "issuer_short": "Sở Xây dựng",
            "year": 2024,
        },
        issuer={"name": "Sở Xây dựng tỉnh Đồng Nai", "short_name": "Sở Xây dựng", "governing_body": "UBND TỈNH ĐỒNG NAI", "symbol": "SXD", "place": "Biên Hòa"},
        duty={
            "code": duty_code,
            "title": "Báo cáo kết quả công tác dân vận chính quyền năm 2024",
            "due_on": DUE,
            "cutoff_on": date(2024, 10, 15),
            "kind": "annual",
        },
        recipients=("Sở Nội vụ", "Lưu: VT, VP Sở"),
        signer_title="GIÁM ĐỐC",
        signer_name="Hồ Văn Hà",
        duty_id=7,
        issuer_id=1,
    )


def make_input() -> ConsolidationInput:
    """Six offices: on time, late, missing and overdue, a ward's consolidated figures (5 units),
    on time with decimals, and missing but not yet due (its deadline was extended)."""
    units = (
        ExpectedUnit("U1", VAN_PHONG, DUE, date(2024, 10, 28), 11, 1),
        ExpectedUnit("U2", THANH_TRA, DUE, date(2024, 11, 2), 12, 1),
        ExpectedUnit("U3", PHONG_NHA, DUE, None, None),
        ExpectedUnit("U4", PHUONG, DUE, date(2024, 10, 30), 14, 2),
        ExpectedUnit("U5", TRUNG_TAM, DUE, date(2024, 10, 29), 15, 1),
        ExpectedUnit("U6", QUY_HOACH, date(2024, 11, 10), None, None),
    )
    everyone = tuple(u.code for u in units)
    rules = (
        (
            TargetRule(
                "dan_van_kheo",
                SHARE,
                "Trên 80% các phòng đạt tiêu chí Dân vận khéo",
                "%",
                Comparator.GT,
                D(80),
                Aggregation.SHARE_OF_UNITS,
                Comparator.GE,
                D(1),
            ),
            everyone,
        ),
        (TargetRule("nha_o_xa_hoi", HOUSING, "Nhà ở xã hội đạt 715 căn", "căn", Comparator.GE, D(715), Aggregation.SUM), everyone),
        (TargetRule("nuoc_sach", WATER, "Tỷ lệ dân số đô thị sử dụng nước sạch đạt 89%", "%", Comparator.GE, D(89), Aggregation.WEIGHTED_RATE), everyone),
        (TargetRule("hai_long", SATISFACTION, "Chỉ số hài lòng trên 95%", "%", Comparator.GT, D(95), Aggregation.MEAN), everyone),
    )
    figures = {
        "dan_van_kheo": (
            UnitFigure("U1", D(1), submission_id=11),
            UnitFigure("U2", D(0), submission_id=12),
            UnitFigure("U4", numerator=D(4), denominator=D(5), submission_id=14, covers=5),
            UnitFigure("U5", D(1), submission_id=15),
        ),
        "nha_o_xa_hoi": (
            UnitFigure("U1", D(300), submission_id=11),
            UnitFigure("U2", D(120), submission_id=12),
            UnitFigure("U4", D(310), submission_id=14, covers=5),
            UnitFigure("U5", D(0), submission_id=15),  # a real zero, unlike the missing units' empty cells
        ),
        "nuoc_sach": (
            UnitFigure("U1", numerator=D(8000), denominator=D(9000), submission_id=11),
            UnitFigure("U2", numerator=D(450), denominator=D(500), submission_id=12),
            UnitFigure("U4", numerator=D(20000), denominator=D(22000), submission_id=14, covers=5),
            UnitFigure("U5", numerator=D(1234), denominator=D(1300), submission_id=15),
        ),
        "hai_long": (
            UnitFigure("U1", D("96.5"), submission_id=11),
            UnitFigure("U2", D(94), submission_id=12),
            UnitFigure("U4", D("97.2"), submission_id=14, covers=5),
            UnitFigure("U5", D("95.3"), submission_id=15),
        ),
    }
    return ConsolidationInput(as_of=AS_OF, units=units, rules=rules, figures=figures, sections=(), weights={"U4": 5})


@pytest.fixture(scope="module")
def consolidation() -> tuple[ConsolidationInput, Consolidation]:
    data = make_input()
    return data, consolidate(data)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, consolidation: tuple[ConsolidationInput, Consolidation]) -> Path:
    data, result = consolidation
    return write_report_workbook(make_header(), data, result, tmp_path_factory.mktemp("book"))


# --- reading the summary sheet back ---------------------------------------------------------------


class Summary:
    """The "Tổng hợp" sheet located by its labels: header rows, unit rows by name, footer rows, indicator columns."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "STT")
        self.sub = self.head + 1
        self.units: dict[str, int] = {}
        row = self.sub + 1
        while ws.cell(row, 1).value != "Tổng hợp":
            self.units[ws.cell(row, 2).value] = row
            row += 1
        self.total, self.target, self.verdict = row, row + 1, row + 2
        self.columns: dict[tuple[str, str], int] = {}
        metric = None
        for col in range(6, ws.max_column + 1):
            if ws.cell(self.head, col).value == "Ghi chú":
                self.note = col
                break
            metric = ws.cell(self.head, col).value or metric
            self.columns[metric, ws.cell(self.sub, col).value] = col

    def cell(self, unit: str, metric: str, sub: str):
        return self.ws.cell(self.units[unit], self.columns[metric, sub])

    def footer(self, row: int, metric: str, sub: str):
        return self.ws.cell(row, self.columns[metric, sub])


@pytest.fixture(scope="module")
def summary(book: Path) -> Summary:
    return Summary(load_workbook(book)["Tổng hợp"])


def result_of(result: Consolidation, code: str) -> TargetResult:
    return next(r for r in result.results if r.rule.code == code)


def test_one_row_per_expected_unit_in_order_with_vietnamese_names(summary: Summary) -> None:
    assert list(summary.units) == [VAN_PHONG, THANH_TRA, PHONG_NHA, PHUONG, TRUNG_TAM, QUY_HOACH]
    assert [summary.ws.cell(r, 1).value for r in summary.units.values()] == [1, 2, 3, 4, 5, 6]


def test_status_due_date_and_submission_date(summary: Summary) -> None:
    ws = summary.ws
    statuses = {name: ws.cell(row, 5).value for name, row in summary.units.items()}
    assert statuses == {
        VAN_PHONG: "Đúng hạn",
        THANH_TRA: "Chậm 3 ngày",
        PHONG_NHA: "Chưa nộp, quá hạn 6 ngày",
        PHUONG: "Đúng hạn",
        TRUNG_TAM: "Đúng hạn",
        QUY_HOACH: "Chưa nộp",
    }
    row = summary.units[THANH_TRA]
    assert ws.cell(row, 3).value == datetime(2024, 10, 30) and ws.cell(row, 3).number_format == "dd/mm/yyyy"
    assert ws.cell(row, 4).value == datetime(2024, 11, 2) and ws.cell(row, 4).number_format == "dd/mm/yyyy"
    assert ws.cell(summary.units[PHONG_NHA], 4).value is None
    assert ws.cell(summary.units[QUY_HOACH], 3).value == datetime(2024, 11, 10)


def test_each_units_cells_are_numbers_with_formats(summary: Summary) -> None:
    housing = summary.cell(VAN_PHONG, HOUSING, "(căn)")
    assert housing.value == 300 and housing.data_type == "n" and housing.number_format == "#,##0"
    assert summary.cell(TRUNG_TAM, HOUSING, "(căn)").value == 0  # reported zero stays a zero

    numerator = summary.cell(THANH_TRA, WATER, "Tử số")
    denominator = summary.cell(THANH_TRA, WATER, "Mẫu số")
    rate = summary.cell(THANH_TRA, WATER, "Tỷ lệ (%)")
    assert (numerator.value, denominator.value) == (450, 500)
    assert numerator.number_format == denominator.number_format == "#,##0"
    assert rate.value == pytest.approx(0.9) and rate.number_format == "0.0%"

    mean = summary.cell(VAN_PHONG, SATISFACTION, "(%)")
    assert mean.value == pytest.approx(0.965) and mean.number_format == "0.0%"


def test_share_of_units_shows_yes_no_as_words_and_a_consolidated_figure_as_its_share(summary: Summary) -> None:
    sub = "Đạt / Không đạt"
    assert summary.cell(VAN_PHONG, SHARE, sub).value == "Đạt"
    assert summary.cell(THANH_TRA, SHARE, sub).value == "Không đạt"
    ward = summary.cell(PHUONG, SHARE, sub)
    assert ward.value == pytest.approx(0.8) and ward.number_format == "0.0%"
    # Pass and fail are coloured differently.
    assert summary.cell(VAN_PHONG, SHARE, sub).fill.fgColor.rgb != summary.cell(THANH_TRA, SHARE, sub).fill.fgColor.rgb


def test_consolidated_figures_are_noted_with_the_units_they_stand_for(summary: Summary) -> None:
    ws = summary.ws
    assert ws.cell(summary.units[PHUONG], summary.note).value == "Số liệu tổng hợp từ 5 đơn vị"
    assert ws.cell(summary.units[VAN_PHONG], summary.note).value is None
    assert summary.cell(PHUONG, HOUSING, "(căn)").value == 310


def test_units_that_did_not_report_have_empty_cells_not_zeros(summary: Summary) -> None:
    for name in (PHONG_NHA, QUY_HOACH):
        row = summary.units[name]
        cells = [summary.ws.cell(row, col) for col in summary.columns.values()]
        assert [c.value for c in cells] == [None] * len(summary.columns), name
        assert summary.ws.cell(row, summary.note).value is None


def test_totals_equal_the_consolidation(summary: Summary, consolidation: tuple[ConsolidationInput, Consolidation]) -> None:
    _, result = consolidation
    housing = result_of(result, "nha_o_xa_hoi")
    cell = summary.footer(summary.total, HOUSING, "(căn)")
    assert cell.value == int(housing.figure) and cell.number_format == "#,##0"
    assert cell.value == sum(summary.cell(name, HOUSING, "(căn)").value or 0 for name in summary.units)

    water = result_of(result, "nuoc_sach")
    assert summary.footer(summary.total, WATER, "Tử số").value == int(water.numerator)
    assert summary.footer(summary.total, WATER, "Mẫu số").value == int(water.denominator)
    rate = summary.footer(summary.total, WATER, "Tỷ lệ (%)")
    assert rate.value == pytest.approx(float(water.figure) / 100) and rate.number_format == "0.0%"

    mean = result_of(result, "hai_long")
    cell = summary.footer(summary.total, SATISFACTION, "(%)")
    assert cell.value == pytest.approx(float(mean.figure) / 100)
    assert mean.figure == (D("96.5") + 94 + D("97.2") * 5 + D("95.3")) / 8  # the ward's mean weighs its 5 units

    share = result_of(result, "dan_van_kheo")
    cell = summary.footer(summary.total, SHARE, "Đạt / Không đạt")
    assert cell.value == pytest.approx(float(share.figure) / 100)
    # 2 own passes + 4 of the ward's 5, over 3 offices that reported + the ward's 5 units + 2 missing offices.
    assert (share.numerator, share.denominator) == (D(6), D(10))
    assert cell.number_format == '0.0%" (6/10 đơn vị)"'


def test_targets_and_verdicts_under_each_indicator(summary: Summary, consolidation: tuple[ConsolidationInput, Consolidation]) -> None:
    _, result = consolidation
    targets = {
        SHARE: ("Đạt / Không đạt", "trên 80%", "dan_van_kheo"),
        HOUSING: ("(căn)", "ít nhất 715 căn", "nha_o_xa_hoi"),
        WATER: ("Tử số", "ít nhất 89%", "nuoc_sach"),  # merged over the group: in its first column
        SATISFACTION: ("(%)", "trên 95%", "hai_long"),
    }
    fills = {}
    for metric, (sub, target_words, code) in targets.items():
        assert summary.footer(summary.target, metric, sub).value == target_words
        verdict = summary.footer(summary.verdict, metric, sub)
        expected = result_of(result, code).verdict
        assert verdict.value == words("reporting.verdict")[expected]
        fills[expected] = verdict.fill.fgColor.rgb
    assert result_of(result, "dan_van_kheo").verdict == Verdict.NOT_MET  # 60% is not above 80%
    assert result_of(result, "nha_o_xa_hoi").verdict == Verdict.MET  # 730 ≥ 715
    assert fills[Verdict.MET] != fills[Verdict.NOT_MET]


def test_header_merges_and_column_groups(summary: Summary) -> None:
    ws = summary.ws
    merged = {str(r) for r in ws.merged_cells.ranges}
    water = [summary.columns[WATER, sub] for sub in ("Tử số", "Mẫu số", "Tỷ lệ (%)")]
    assert water == list(range(water[0], water[0] + 3))

    def span(row: int) -> str:
        return f"{ws.cell(row, water[0]).coordinate}:{ws.cell(row, water[2]).coordinate}"

    assert {span(summary.head), span(summary.target), span(summary.verdict)} <= merged
    assert span(summary.total) not in merged and span(summary.sub) not in merged
    for col in (1, 2, 3, 4, 5, summary.note):  # fixed headers span both header rows
        assert f"{ws.cell(summary.head, col).coordinate}:{ws.cell(summary.sub, col).coordinate}" in merged
    # One column per sum, mean and share; three for the rate; the note after them all.
    assert len(summary.columns) == 6 and summary.note == 5 + 6 + 1
    # The title spans the whole table, however many indicator columns there are.
    title = next(r for r in range(1, summary.head) if ws.cell(r, 1).value == "BẢNG TỔNG HỢP SỐ LIỆU")
    assert f"A{title}:{ws.cell(title, summary.note).coordinate}" in merged
    assert ws.cell(summary.sub, summary.columns[HOUSING, "(căn)"]).value == "(căn)"


def test_title_block(summary: Summary) -> None:
    texts = [summary.ws.cell(r, 1).value for r in range(1, summary.head)]
    assert "SỞ XÂY DỰNG TỈNH ĐỒNG NAI" in texts
    assert "Báo cáo kết quả công tác dân vận chính quyền năm 2024" in texts
    assert "(Thực hiện Kế hoạch số 74/KH-SXD ngày 02/04/2024 của Sở Xây dựng tỉnh Đồng Nai)" in texts
    assert "Số liệu đến ngày 05/11/2024 (kỳ báo cáo tính đến ngày 15/10/2024)" in texts
    assert "Đã báo cáo 4/6 đơn vị; đúng hạn 3; chậm 1; chưa báo cáo 2." in texts


def test_sheet_setup_freeze_filter_print_fonts_widths(summary: Summary) -> None:
    ws = summary.ws
    first_unit, last_unit = min(summary.units.values()), max(summary.units.values())
    assert ws.freeze_panes == f"C{first_unit}"
    assert ws.auto_filter.ref == f"A{summary.sub}:{ws.cell(last_unit, summary.note).coordinate}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == f"${summary.head}:${summary.sub}"
    fonts = {ws.cell(row, col).font.name for row in (summary.head, first_unit, summary.total, ws.max_row + 5) for col in range(1, summary.note + 2)}
    assert fonts == {"Times New Roman"}
    assert ws.column_dimensions["B"].width * 1.15 >= len(TRUNG_TAM)  # the longest unit name fits on one line
    assert ws.row_dimensions[summary.units[TRUNG_TAM]].height is None
    for col in summary.columns.values():
        assert ws.column_dimensions[ws.cell(1, col).column_letter].width >= 11


def test_targets_sheet(book: Path, consolidation: tuple[ConsolidationInput, Consolidation]) -> None:
    _, result = consolidation
    ws = load_workbook(book)["Chỉ tiêu"]
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "STT")
    assert [c.value for c in ws[head]] == ["STT", "Chỉ tiêu", "ĐVT", "Mục tiêu", "Kết quả", "Đơn vị báo cáo", "Đánh giá", "Ghi chú"]
    rows = [[c.value for c in ws[r]] for r in range(head + 1, head + 1 + len(result.results))]
    assert ws.cell(head + 1 + len(result.results), 1).value is None
    for index, (row, target) in enumerate(zip(rows, result.results, strict=True), start=1):
        assert row[0] == index and row[1] == target.rule.metric and row[2] == target.rule.unit_of_measure
        expected = float(target.figure) / 100 if target.rule.unit_of_measure == "%" else float(target.figure)
        assert row[4] == pytest.approx(expected)
        assert row[5] == f"{target.reported}/{target.expected}"
        assert row[6] == words("reporting.verdict")[target.verdict]
    assert rows[0][3] == "trên 80%" and rows[1][3] == "ít nhất 715 căn"
    assert rows[0][7] == "6/10 đơn vị đạt; chưa đủ số liệu (4/6 đơn vị báo cáo)"
    assert rows[2][7].startswith("Σ tử số / Σ mẫu số: 29.684/32.800")
    assert ws.cell(head + 2, 5).number_format == "#,##0" and ws.cell(head + 1, 5).number_format == "0.0%"
    assert ws.auto_filter.ref == f"A{head}:H{head + len(result.results)}"
    texts = [ws.cell(r, 1).value for r in range(1, head)]
    assert f"Số liệu đến ngày 05/11/2024; đạt {result.met}/4 chỉ tiêu." in texts


def test_no_template_names_or_expressions_left(book: Path) -> None:
    wb = load_workbook(book)
    assert not [n for n in wb.defined_names if not n.startswith("_xlnm")]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and ("{{" in cell.value or "{%" in cell.value)), cell.coordinate
                assert "{{" not in cell.number_format, cell.coordinate


def test_the_workbook_is_named_by_the_report_its_maker_and_its_day(tmp_path: Path, consolidation: tuple[ConsolidationInput, Consolidation]) -> None:
    data, result = consolidation
    name = report_workbook_name(make_header(), result)
    assert name == "Tổng hợp số liệu - Báo cáo kết quả công tác dân vận chính quyền năm 2024 - Sở Xây dựng (05-11-2024).xlsx"
    assert "bao_cao_nam" not in name and "74-kh-sxd" not in name  # no codes of the system's own
    assert "/" not in report_workbook_name(make_header(plan_key="104/KH-UBND"), result)
    path = write_report_workbook(make_header(), data, result, tmp_path / "sub" / "x.xlsx")
    assert path == tmp_path / "sub" / "x.xlsx" and path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["x.xlsx"]  # no partial file left


def test_text_starting_with_equals_stays_text(tmp_path: Path) -> None:
    data = make_input()
    units = (ExpectedUnit("Z", '=HYPERLINK("http://x")', DUE, DUE, 1, 1), *data.units[1:])
    data = ConsolidationInput(AS_OF, units, data.rules, data.figures, ())
    ws = load_workbook(write_report_workbook(make_header(), data, consolidate(data), tmp_path))["Tổng hợp"]
    summary = Summary(ws)
    assert '=HYPERLINK("http://x")' in summary.units
    assert ws.cell(summary.units['=HYPERLINK("http://x")'], 2).data_type == "s"


def test_no_targets_and_no_units(tmp_path: Path) -> None:
    data = ConsolidationInput(AS_OF, (ExpectedUnit("U1", VAN_PHONG, DUE, DUE, 1, 1),), (), {}, ())
    ws = load_workbook(write_report_workbook(make_header(), data, consolidate(data), tmp_path))["Tổng hợp"]
    summary = Summary(ws)
    assert summary.columns == {} and summary.note == 6
    empty = ConsolidationInput(AS_OF, (), make_input().rules, {}, ())
    ws = load_workbook(write_report_workbook(make_header(), empty, consolidate(empty), tmp_path / "e.xlsx"))["Tổng hợp"]
    summary = Summary(ws)
    assert summary.units == {}
    assert summary.footer(summary.verdict, HOUSING, "(căn)").value == "Chưa có số liệu"


# --- the template -----------------------------------------------------------------------------------


def test_the_words_live_in_the_template_not_in_the_code() -> None:
    wb = load_workbook(TEMPLATE)
    text = "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    code = (ROOT / "tasks" / "documents" / "report_workbook.py").read_text(encoding="utf-8")
    for phrase in (
        "Đúng hạn",
        "Chậm",
        "Chưa nộp",
        "quá hạn",
        "Mục tiêu",
        "Đánh giá",
        "Tử số",
        "Mẫu số",
        "Tỷ lệ",
        "tổng hợp từ",
        "BẢNG TỔNG HỢP SỐ LIỆU",
        "Số liệu đến ngày",
        "Đã báo cáo",
        "Đạt / Không đạt",
    ):
        assert phrase in text, phrase
        assert f'"{phrase}' not in code and f"'{phrase}" not in code, phrase


def test_committed_template_is_what_the_script_builds(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_consolidation", TEMPLATE.parent / "build_consolidation.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    built, committed = load_workbook(module.build(tmp_path / "built.xlsx")), load_workbook(TEMPLATE)
    assert built.sheetnames == committed.sheetnames
    assert {n: d.attr_text for n, d in built.defined_names.items()} == {n: d.attr_text for n, d in committed.defined_names.items()}

    def cells(ws: Worksheet) -> set[tuple[str, object, str]]:
        return {(c.coordinate, c.value, c.number_format) for row in ws.iter_rows() for c in row if c.value is not None}

    for a, b in zip(built.worksheets, committed.worksheets, strict=True):
        assert cells(a) == cells(b), a.title
        assert {str(r) for r in a.merged_cells.ranges} == {str(r) for r in b.merged_cells.ranges}


def test_an_office_can_reword_the_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, consolidation: tuple[ConsolidationInput, Consolidation]) -> None:
    wb = load_workbook(TEMPLATE)
    ws = wb["Tổng hợp"]
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = cell.value.replace("Đúng hạn", "Nộp đúng hạn").replace("Tử số", "Số người được cấp nước")
    forms = tmp_path / "forms"
    forms.mkdir()
    wb.save(forms / "consolidation.xlsx")
    monkeypatch.setattr(report_workbook, "open_template", lambda name: load_workbook(forms / name))
    data, result = consolidation
    summary = Summary(load_workbook(write_report_workbook(make_header(), data, result, tmp_path))["Tổng hợp"])
    assert summary.ws.cell(summary.units[VAN_PHONG], 5).value == "Nộp đúng hạn"
    assert summary.cell(VAN_PHONG, WATER, "Số người được cấp nước").value == 8000


# --- timing (printed, not asserted) ----------------------------------------------------------------------


def synthetic(units: int, indicators: int) -> ConsolidationInput:
    expected = tuple(
        ExpectedUnit(f"U{i:04d}", f"UBND xã Phước Thiền số {i}", DUE, None if i % 10 == 0 else DUE + timedelta(days=i % 8 - 5), i, 1)
        for i in range(1, units + 1)
    )
    codes = tuple(u.code for u in expected)
    shapes = [
        (Aggregation.SUM, "căn", Comparator.GE, D(715), {}),
        (Aggregation.WEIGHTED_RATE, "%", Comparator.GE, D(89), {}),
        (Aggregation.MEAN, "%", Comparator.GT, D(95), {}),
        (Aggregation.SHARE_OF_UNITS, "%", Comparator.GT, D(80), {"unit_comparator": Comparator.GE, "unit_threshold": D(1)}),
    ]
    rules, figures = [], {}
    for k in range(indicators):
        aggregation, uom, comparator, value, extra = shapes[k % 4]
        code = f"ct{k}"
        rules.append((TargetRule(code, f"Chỉ tiêu số {k + 1}", "", uom, comparator, value, aggregation, **extra), codes))
        items = []
        for i, u in enumerate(expected):
            if u.submitted_on is None:
                continue
            if aggregation == Aggregation.WEIGHTED_RATE:
                items.append(UnitFigure(u.code, numerator=D(800 + i % 200), denominator=D(1000), submission_id=i))
            elif aggregation == Aggregation.SHARE_OF_UNITS:
                items.append(UnitFigure(u.code, D(i % 3 != 0), submission_id=i))
            else:
                items.append(UnitFigure(u.code, D(90 + i % 10) + D("0.5"), submission_id=i))
        figures[code] = tuple(items)
    return ConsolidationInput(AS_OF, expected, tuple(rules), figures, ())


@pytest.mark.parametrize(("units", "indicators"), [(10, 4), (500, 10)])
def test_timing(units: int, indicators: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = synthetic(units, indicators)
    result = consolidate(data)
    write_report_workbook(make_header(), data, result, tmp_path / "warm.xlsx")  # template read and expressions compiled once
    runs = []
    for n in range(3):
        start = time.perf_counter()
        path = write_report_workbook(make_header(), data, result, tmp_path / f"{n}.xlsx")
        runs.append(time.perf_counter() - start)
    ws = load_workbook(path)["Tổng hợp"]
    assert len(Summary(ws).units) == units
    with capsys.disabled():
        print(
            f"\nworkbook {units} units × {indicators} indicators: best {min(runs) * 1000:.0f} ms, "
            f"runs {', '.join(f'{r * 1000:.0f}' for r in runs)} ms, {path.stat().st_size // 1024} KB"
        )
