"""Build templates/forms/consolidation.xlsx, the Excel export of a consolidation.

    python templates/forms/build_consolidation.py

The built workbook is the template: an office may open it in Excel and change any label,
font, colour, width or number format. Every word a user reads is here, in a cell, as literal
text or a Jinja expression; tasks/documents/report_workbook.py only fills it. It finds the parts it fills
by the workbook's defined names (Excel: Formulas > Name Manager), which Excel keeps in place
when rows or columns are inserted:

- `unit_row` (sheet "Tổng hợp"): the row repeated once per expected unit (`u`, `index`).
- `indicator_value`, `indicator_share`, `indicator_numerator`, `indicator_denominator`,
  `indicator_rate`: one template column each, from the first header row to the last footer
  row. Each indicator gets a copy of `indicator_value` (sum, mean), `indicator_share`
  (share of units) or of the three others (weighted rate), bound to `ind`; in the unit row
  also `f`, the unit's figure for it. In a group of several columns, a row where only one
  template column has content (the metric, the target, the verdict) is merged across the group.
  Columns to the right of these (Ghi chú) move right.
- `target_row` (sheet "Chỉ tiêu"): the row repeated once per target (`ind`, `index`).

In the unit row, the target row and the indicator columns, a cell holding exactly one
expression (`{{ u.due_on }}`, `{{ f.value }}`) keeps the value's type: numbers and dates stay
numbers and dates (figures with their number format: `#,##0`, `#,##0.0`, percentages as fractions
with `0.0%`); anything else is rendered as text. A number format holding `{{ }}` is rendered too
(the share of units' total: `0.0%" (6/10 đơn vị)"`). A cell showing a verdict word (Đạt, Không đạt,
Chưa có số liệu) is coloured green, red or yellow. Everything else renders as text.

The context: `issuer`, `plan`, `duty` and `header` (tasks.reporting.consolidation.ReportHeader), `r` (the
models.consolidation.Consolidation), `as_of`; per row `u` (tasks.documents.report_workbook.UnitRow) or `ind`
(IndicatorView), `index` from 1; per indicator cell of a unit row `f` (FigureView).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "consolidation.xlsx"

FONT = "Times New Roman"
SIZE = 12
THIN = Side(style="thin", color="FF000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
FOOTER_FILL = PatternFill("solid", fgColor="FFF2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center")
DATE = "dd/mm/yyyy"

STATUS = (
    "{% if u.submitted_on is none %}Chưa nộp{% if u.overdue_days %}, quá hạn {{ u.overdue_days }} ngày{% endif %}"
    "{% elif u.late_days %}Chậm {{ u.late_days }} ngày{% else %}Đúng hạn{% endif %}"
)
TARGET = "{% if ind.rule.is_plain %}—{% else %}{{ ind.rule.comparator | comparator_word }} {{ ind.rule.value | measure(ind.rule.unit_of_measure) }}{% endif %}"
VERDICT = "{{ ind.verdict | verdict_word }}"
SHARE_HEADER = (
    "{% if ind.yes_no %}Đạt / Không đạt{% else %}Đạt khi {{ ind.rule.unit_comparator | comparator_word }} {{ ind.rule.unit_threshold | vn_number }}{% endif %}"
)
NOTE = (
    '{% set incomplete = not ind.result.is_complete and ind.verdict != "no_data" %}'
    '{% if ind.rule.aggregation == "weighted_rate" and ind.numerator is not none %}'
    "Σ tử số / Σ mẫu số: {{ ind.numerator }}/{{ ind.denominator }}{% if incomplete %}; {% endif %}"
    '{% elif ind.rule.aggregation == "share_of_units" and ind.figure is not none %}'
    "{{ ind.numerator }}/{{ ind.denominator }} đơn vị đạt{% if incomplete %}; {% endif %}{% endif %}"
    "{% if incomplete %}chưa đủ số liệu ({{ ind.reported }}/{{ ind.expected }} đơn vị báo cáo){% endif %}"
)
SHARE_TOTAL_FORMAT = '0.0%" ({{ ind.numerator }}/{{ ind.denominator }} đơn vị)"'


def style(
    cell: Cell | MergedCell,
    *,
    bold: bool = False,
    italic: bool = False,
    size: int = SIZE,
    align: Alignment = CENTER,
    border: Border | None = BOX,
    fill: PatternFill | None = None,
    number_format: str | None = None,
) -> None:
    cell.font = Font(name=FONT, size=size, bold=bold, italic=italic)
    cell.alignment = align
    if border is not None:
        cell.border = border
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format


def title_line(
    ws: Worksheet, row: int, text: str, last_col: int, *, bold: bool = False, italic: bool = False, size: int = SIZE, height: float | None = None
) -> None:
    ws.cell(row=row, column=1, value=text)
    style(ws.cell(row=row, column=1), bold=bold, italic=italic, size=size, border=None)
    ws.merge_cells(start_row=row, end_row=row, start_column=1, end_column=last_col)
    if height:
        ws.row_dimensions[row].height = height


def issuer_block(ws: Worksheet, last_col: int) -> None:
    for row, text, bold in ((1, '{{ issuer.governing_body or "" }}', False), (2, "{{ issuer.name | upper }}", True)):
        ws.cell(row=row, column=1, value=text)
        style(ws.cell(row=row, column=1), bold=bold, border=None)
        ws.merge_cells(start_row=row, end_row=row, start_column=1, end_column=last_col)


def print_setup(ws: Worksheet, title_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = title_rows
    footer = ws.oddFooter
    assert footer is not None, "openpyxl gives every sheet its headers and footers"
    footer.center.text = "Trang &P/&N"
    footer.center.font = FONT


def name(wb: Workbook, ws: Worksheet, key: str, ref: str) -> None:
    wb.defined_names[key] = DefinedName(key, attr_text=f"{quote_sheetname(ws.title)}!{ref}")


def summary_sheet(wb: Workbook) -> None:
    ws = wb.worksheets[0]  # the sheet a new workbook comes with
    ws.title = "Tổng hợp"
    # A STT, B Đơn vị, C Hạn, D Ngày nộp, E Tình trạng | F..J indicator template columns | K Ghi chú
    widths = {"A": 6, "B": 45, "C": 12.5, "D": 12.5, "E": 24, "F": 15, "G": 22, "H": 12, "I": 12, "J": 11, "K": 30}
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    last = 11

    issuer_block(ws, 5)
    title_line(ws, 4, "BẢNG TỔNG HỢP SỐ LIỆU", last, bold=True, size=14, height=21)
    title_line(ws, 5, "{{ duty.title }}", last, bold=True, height=18)
    title_line(ws, 6, "(Thực hiện Kế hoạch số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }})", last, italic=True)
    title_line(
        ws,
        7,
        "Số liệu đến ngày {{ as_of | short_date }}{% if duty.cutoff_on %} (kỳ báo cáo tính đến ngày {{ duty.cutoff_on | short_date }}){% endif %}",
        last,
        italic=True,
    )
    title_line(
        ws,
        8,
        "Đã báo cáo {{ r.submitted | length }}/{{ r.expected }} đơn vị; đúng hạn {{ r.on_time | length }}"
        "{% if r.late %}; chậm {{ r.late | length }}{% endif %}"
        "{% if r.missing %}; chưa báo cáo {{ r.missing | length }}{% endif %}.",
        last,
    )

    h1, h2, unit, total, target, verdict = 10, 11, 12, 13, 14, 15
    ws.row_dimensions[h1].height = 48
    ws.row_dimensions[h2].height = 33
    for col, label in enumerate(("STT", "Đơn vị", "Hạn báo cáo", "Ngày nộp", "Tình trạng"), start=1):
        ws.cell(row=h1, column=col, value=label)
        for row in (h1, h2):
            style(ws.cell(row=row, column=col), bold=True, fill=HEADER_FILL)
        ws.merge_cells(start_row=h1, end_row=h2, start_column=col, end_column=col)
    ws.cell(row=h1, column=last, value="Ghi chú")
    for row in (h1, h2):
        style(ws.cell(row=row, column=last), bold=True, fill=HEADER_FILL)
    ws.merge_cells(start_row=h1, end_row=h2, start_column=last, end_column=last)

    # The unit row.
    cells = [
        ("{{ index }}", CENTER, None),
        ("{{ u.name }}", LEFT, None),
        ("{{ u.due_on }}", CENTER, DATE),
        ("{{ u.submitted_on }}", CENTER, DATE),
        (STATUS, LEFT, None),
    ]
    for col, (text, align, fmt) in enumerate(cells, start=1):
        ws.cell(row=unit, column=col, value=text)
        style(ws.cell(row=unit, column=col), align=align, number_format=fmt)
    ws.cell(row=unit, column=last, value="{% if u.covers %}Số liệu tổng hợp từ {{ u.covers }} đơn vị{% endif %}")
    style(ws.cell(row=unit, column=last), align=LEFT, size=11)

    # The footer rows: labels over the fixed columns.
    for row, label in ((total, "Tổng hợp"), (target, "Mục tiêu"), (verdict, "Đánh giá")):
        ws.cell(row=row, column=1, value=label)
        for col in [*range(1, 6), last]:
            style(ws.cell(row=row, column=col), bold=True, fill=FOOTER_FILL, align=LEFT if col == 1 else CENTER)
        ws.merge_cells(start_row=row, end_row=row, start_column=1, end_column=5)

    # The indicator template columns: (column, name, header 1, header 2, unit, total, target, verdict, total format).
    metric = "{{ ind.rule.metric }}"
    indicator_columns = [
        (6, "indicator_value", metric, "({{ ind.rule.unit_of_measure }})", "{{ f.value }}", "{{ ind.figure }}", TARGET, VERDICT, None),
        (
            7,
            "indicator_share",
            metric,
            SHARE_HEADER,
            "{{ (f.verdict | verdict_word) if f.yes_no else f.value }}",
            "{{ ind.figure }}",
            TARGET,
            VERDICT,
            SHARE_TOTAL_FORMAT,
        ),
        (8, "indicator_numerator", metric, "Tử số", "{{ f.numerator }}", "{{ ind.numerator }}", None, None, None),
        (9, "indicator_denominator", None, "Mẫu số", "{{ f.denominator }}", "{{ ind.denominator }}", None, None, None),
        (10, "indicator_rate", None, "Tỷ lệ (%)", "{{ f.value }}", "{{ ind.figure }}", TARGET, VERDICT, None),
    ]
    for col, key, head1, head2, unit_text, total_text, target_text, verdict_text, total_format in indicator_columns:
        for row, head in ((h1, head1), (h2, head2)):
            ws.cell(row=row, column=col, value=head)
            style(ws.cell(row=row, column=col), bold=True, fill=HEADER_FILL, size=SIZE if row == h1 else 11)
        ws.cell(row=unit, column=col, value=unit_text)
        style(ws.cell(row=unit, column=col), align=CENTER if key == "indicator_share" else RIGHT)
        ws.cell(row=total, column=col, value=total_text)
        style(ws.cell(row=total, column=col), bold=True, fill=FOOTER_FILL, align=RIGHT, number_format=total_format)
        ws.cell(row=target, column=col, value=target_text)
        style(ws.cell(row=target, column=col), fill=FOOTER_FILL)
        ws.cell(row=verdict, column=col, value=verdict_text)
        style(ws.cell(row=verdict, column=col), bold=True)
        letter = get_column_letter(col)
        name(wb, ws, key, f"${letter}${h1}:${letter}${verdict}")
    name(wb, ws, "unit_row", f"$A${unit}:${get_column_letter(last)}${unit}")

    legend = verdict + 2
    title_line(
        ws,
        legend,
        "Cách tổng hợp: số lượng được cộng (Σ); tỷ lệ = Σ tử số / Σ mẫu số; chỉ số bình quân tính trên các đơn vị "
        "đã báo cáo (số liệu tổng hợp từ cấp dưới tính theo số đơn vị nó đại diện); tỷ lệ đơn vị đạt tính trên tổng số "
        "đơn vị phải báo cáo, đơn vị chưa báo cáo tính là không đạt. Ô để trống: đơn vị chưa báo cáo số liệu.",
        last,
        italic=True,
        size=11,
        height=33,
    )
    ws.cell(row=legend, column=1).alignment = LEFT

    ws.freeze_panes = f"C{unit}"
    print_setup(ws, f"{h1}:{h2}")


def targets_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet("Chỉ tiêu")
    widths = {"A": 6, "B": 42, "C": 8, "D": 18, "E": 13, "F": 11, "G": 16, "H": 46}
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    last = len(widths)
    issuer_block(ws, 2)
    title_line(ws, 4, "KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", last, bold=True, size=14, height=21)
    title_line(ws, 5, "{{ duty.title }}", last, bold=True, height=18)
    title_line(ws, 6, "Số liệu đến ngày {{ as_of | short_date }}; đạt {{ r.met }}/{{ r.judged }} chỉ tiêu.", last, italic=True)

    header, row = 8, 9
    ws.row_dimensions[header].height = 33
    columns = [
        ("STT", "{{ index }}", CENTER),
        ("Chỉ tiêu", "{{ ind.rule.metric }}", LEFT),
        ("ĐVT", "{{ ind.rule.unit_of_measure }}", CENTER),
        ("Mục tiêu", TARGET, CENTER),
        ("Kết quả", "{{ ind.figure }}", RIGHT),
        ("Đơn vị báo cáo", "{{ ind.reported }}/{{ ind.expected }}", CENTER),
        ("Đánh giá", VERDICT, CENTER),
        ("Ghi chú", NOTE, LEFT),
    ]
    for col, (label, text, align) in enumerate(columns, start=1):
        ws.cell(row=header, column=col, value=label)
        style(ws.cell(row=header, column=col), bold=True, fill=HEADER_FILL)
        ws.cell(row=row, column=col, value=text)
        style(ws.cell(row=row, column=col), align=align, bold=label == "Đánh giá")
    name(wb, ws, "target_row", f"$A${row}:${get_column_letter(last)}${row}")
    ws.freeze_panes = f"A{row}"
    print_setup(ws, f"{header}:{header}")


def build(path: Path = OUTPUT) -> Path:
    wb = Workbook()
    # The workbook's default font (unstyled cells, and what Excel gives cells typed in later):
    # openpyxl has no public setting for it.
    wb._fonts = IndexedList([Font(name=FONT, size=SIZE)])  # type: ignore[attr-defined]  # private, so not in openpyxl's stubs
    wb._named_styles["Normal"].font = Font(name=FONT, size=SIZE)  # type: ignore[attr-defined]  # private, so not in openpyxl's stubs
    summary_sheet(wb)
    targets_sheet(wb)
    for ws in wb.worksheets:
        ws.sheet_view.zoomScale = 90
    wb.save(path)
    return path


if __name__ == "__main__":
    print(build())
