"""The Excel table of a consolidation, read back with openpyxl and checked against the consolidation itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from models.aggregation import TargetRule, UnitFigure
from models.consolidation import Consolidation, ConsolidationInput, ExpectedUnit, ReportHeader, consolidate
from models.plan import Aggregation, Comparator
from tasks.documents.report_workbook import report_workbook_name, write_report_workbook
from templates import words

AS_OF = date(2024, 11, 8)
DUE = date(2024, 10, 30)
UNITS = (
    ExpectedUnit("P1", "Phòng Quản lý nhà", DUE, date(2024, 10, 20), 11, 1),
    ExpectedUnit("P2", "Thanh tra Sở", DUE, date(2024, 11, 2), 12, 1),  # late by 3 days
    ExpectedUnit("P3", "Văn phòng Sở", DUE, None, None),  # never reported: overdue by 9 days
    ExpectedUnit("W1", "UBND phường Gia Bình", DUE, date(2024, 10, 28), 14, 2),  # a ward's consolidated report
)
RULES = (
    TargetRule("nha_o", "Nhà ở xã hội hoàn thành", "Nhà ở xã hội đạt 715 căn", "căn", Comparator.GE, Decimal(715), Aggregation.SUM),
    TargetRule("hai_long", "Chỉ số hài lòng", "Chỉ số hài lòng trên 95%", "%", Comparator.GT, Decimal(95), Aggregation.MEAN),
    TargetRule("nuoc_sach", "Dân số dùng nước sạch", "Nước sạch đạt 89%", "%", Comparator.GE, Decimal(89), Aggregation.WEIGHTED_RATE),
    TargetRule(
        "dan_van", "Đơn vị đạt Dân vận khéo", "Trên 80% đơn vị đạt", "%", Comparator.GT, Decimal(80), Aggregation.SHARE_OF_UNITS, Comparator.GE, Decimal(1)
    ),
)
FIGURES = {
    "nha_o": (
        UnitFigure("P1", Decimal(300), submission_id=11),
        UnitFigure("P2", Decimal(120), submission_id=12),
        UnitFigure("W1", Decimal(290), submission_id=14, covers=3),
    ),
    "hai_long": (
        UnitFigure("P1", Decimal(97), submission_id=11),
        UnitFigure("P2", Decimal("93.5"), submission_id=12),
        UnitFigure("W1", Decimal(96), submission_id=14, covers=3),
    ),
    "nuoc_sach": (
        UnitFigure("P1", None, Decimal(9000), Decimal(10000), 11),
        UnitFigure("P2", None, Decimal(801), Decimal(1000), 12),
        UnitFigure("W1", None, Decimal(4200), Decimal(5000), 14, 3),
    ),
    "dan_van": (
        UnitFigure("P1", Decimal(1), submission_id=11),
        UnitFigure("P2", Decimal(0), submission_id=12),
        UnitFigure("W1", None, Decimal(2), Decimal(3), 14, 3),
    ),
}


def header() -> ReportHeader:
    return ReportHeader(
        plan={"key": "74-kh-sxd-2024", "code": "74/KH-SXD", "title": "Thực hiện công tác Dân vận chính quyền năm 2024", "issued_on": date(2024, 4, 2),
              "issuer_name": "Sở Xây dựng tỉnh Đồng Nai", "issuer_short": "Sở Xây dựng", "year": 2024},
        issuer={"name": "Sở Xây dựng tỉnh Đồng Nai", "name_upper": "SỞ XÂY DỰNG TỈNH ĐỒNG NAI", "governing_body": "UBND TỈNH ĐỒNG NAI", "symbol": "SXD", "place": "Biên Hòa", "short_name": "Sở Xây dựng"},
        duty={"code": "bao_cao_nam", "title": "Báo cáo kết quả công tác dân vận chính quyền năm 2024", "due_on": DUE, "cutoff_on": date(2024, 10, 15), "kind": "annual"},
        recipients=(), signer_title="GIÁM ĐỐC", signer_name="Hồ Văn Hà", duty_id=1, issuer_id=1,
    )  # fmt: skip


@pytest.fixture()
def exported(tmp_path: Path) -> tuple[Consolidation, Path]:
    data = ConsolidationInput(
        as_of=AS_OF, units=UNITS, rules=tuple((rule, tuple(u.code for u in UNITS)) for rule in RULES), figures=FIGURES,
        sections=(), weights={"P1": 1, "P2": 1, "P3": 1, "W1": 3},
    )  # fmt: skip
    result = consolidate(data)
    return result, write_report_workbook(header(), data, result, tmp_path / report_workbook_name(header(), result))


def rows_by_first_text(ws: Worksheet) -> dict[str, list]:
    """Each row keyed by its first text cell (a unit name, 'Tổng hợp', 'Mục tiêu', 'Đánh giá')."""
    out = {}
    for row in ws.iter_rows():
        first = next((c.value for c in row if isinstance(c.value, str)), None)
        if first is not None:
            out.setdefault(first, list(row))
    return out


def test_units_by_indicators_with_totals_targets_and_verdicts(exported) -> None:
    result, path = exported
    assert path.suffix == ".xlsx" and "Báo cáo kết quả công tác dân vận chính quyền năm 2024" in path.name and "08-11-2024" in path.name
    ws = load_workbook(path)["Tổng hợp"]
    text = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "SỞ XÂY DỰNG TỈNH ĐỒNG NAI" in text and "BẢNG TỔNG HỢP SỐ LIỆU" in text
    assert any("08/11/2024" in t for t in text) and any("3/4" in t for t in text)

    header_row = next(row for row in ws.iter_rows() if any(c.value == "Đơn vị" for c in row))
    columns = {c.value: c.column for c in header_row if c.value}
    sub = {c.value: c.column for c in ws[header_row[0].row + 1] if c.value}
    rows = rows_by_first_text(ws)
    status = columns["Tình trạng"]

    def cell(name: str, column: int):  # type: ignore[no-untyped-def]
        return rows[name][column - 1]

    assert cell("Phòng Quản lý nhà", status).value == "Đúng hạn"
    assert cell("Thanh tra Sở", status).value == "Chậm 3 ngày"
    assert cell("Văn phòng Sở", status).value.startswith("Chưa nộp") and "9 ngày" in cell("Văn phòng Sở", status).value

    houses = columns["Nhà ở xã hội hoàn thành"]
    assert cell("Phòng Quản lý nhà", houses).value == 300 and cell("Phòng Quản lý nhà", houses).number_format == "#,##0"
    assert cell("Văn phòng Sở", houses).value is None  # a missing unit is empty, not zero
    numerator, denominator, rate = sub["Tử số"], sub["Mẫu số"], sub["Tỷ lệ (%)"]
    assert (cell("Thanh tra Sở", numerator).value, cell("Thanh tra Sở", denominator).value) == (801, 1000)
    assert cell("Thanh tra Sở", rate).value == pytest.approx(0.801) and cell("Thanh tra Sở", rate).number_format == "0.0%"
    assert all(cell("Văn phòng Sở", c).value is None for c in (numerator, denominator, rate, columns["Chỉ số hài lòng"]))

    by_code = {r.rule.code: r for r in result.results}
    total = rows["Tổng hợp"]
    assert total[houses - 1].value == int(by_code["nha_o"].figure) == 710
    assert (total[numerator - 1].value, total[denominator - 1].value) == (int(by_code["nuoc_sach"].numerator), int(by_code["nuoc_sach"].denominator))
    assert total[rate - 1].value == pytest.approx(float(by_code["nuoc_sach"].figure) / 100)
    assert total[columns["Chỉ số hài lòng"] - 1].value == pytest.approx(float(by_code["hai_long"].figure) / 100)
    assert total[columns["Đơn vị đạt Dân vận khéo"] - 1].value == pytest.approx(float(by_code["dan_van"].figure) / 100)

    goals = rows["Mục tiêu"]
    assert goals[houses - 1].value == "ít nhất 715 căn" and goals[columns["Chỉ số hài lòng"] - 1].value == "trên 95%"
    verdicts = rows["Đánh giá"]
    for code, column in (("nha_o", houses), ("hai_long", columns["Chỉ số hài lòng"]), ("dan_van", columns["Đơn vị đạt Dân vận khéo"])):
        assert verdicts[column - 1].value == words("reporting.verdict")[str(by_code[code].verdict)]
    merged = {str(r) for r in ws.merged_cells.ranges}
    first_rate = ws.cell(header_row[0].row, numerator).coordinate
    assert any(r.startswith(f"{first_rate}:") for r in merged)  # the rate's name spans its three columns
    assert ws.freeze_panes is not None and ws.auto_filter.ref


def test_the_targets_sheet_has_one_row_per_target(exported) -> None:
    result, path = exported
    ws = load_workbook(path)["Chỉ tiêu"]
    rows = rows_by_first_text(ws)
    for r in result.results:
        row = [c.value for c in rows[r.rule.metric]]
        assert f"{r.reported}/{r.expected}" in row and words("reporting.verdict")[str(r.verdict)] in row
