"""Build `templates/forms/data_entry.xlsx`, the Excel form a unit fills in for one assignment.

Run from the project root: `python templates/forms/build_data_entry.py`. The workbook it writes is
the template: an office may later open it in Excel and change its wording, colours, widths or
rows, as long as the defined names below keep pointing at the right cells (Excel moves them with
the cells). Every word a unit reads is here, as literal text or as Jinja expressions over the
context of `tasks.documents.forms.write_form`:

    form  reference ('GV-000123'), due_on (the assignment's due date), form_id
    plan  code ('74/KH-SXD'), title, issued_on, issuer_name, year
    unit  code, name
    duty  code, title, cutoff_on
    ind   (each indicator row) metric, unit_of_measure, goal_comparator, goal_value, is_yes_no
    sec   (each section block) code, title; `index` numbers the copies from 1

Defined names (workbook scope) tell the code where things are:

    form_indicator_block  the indicator row(s), repeated once per indicator
    form_indicator_code   the hidden cell of that block holding the indicator code
    form_indicator_value / _numerator / _denominator / _note   its input cells
    form_section_block    the narrative section rows, repeated once per section
    form_section_code     the hidden cell holding the section code
    form_section_text     the (merged) input cell of a section
    form_score            the self-assessment score input cell (0-100)
    form_assessment       the explanation / evidence input cell
    form_disabled_style   a cell whose style marks an input that does not apply (grey, locked)

The sheet `_meta` is very hidden: the code writes the form's identity and layout there.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

OUTPUT = Path(__file__).with_name("data_entry.xlsx")

FONT = "Times New Roman"
INPUT_FILL = PatternFill("solid", start_color="FFF2CC")  # light yellow: type here
DISABLED_FILL = PatternFill("solid", start_color="D9D9D9")  # grey: does not apply
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

INDICATOR_SHEET = "Chỉ tiêu"
SECTION_SHEET = "Nội dung báo cáo"

# Columns of the indicator table; I holds the indicator code, hidden.
INDICATOR_COLUMNS = [
    ("A", "STT", 6),
    ("B", "Chỉ tiêu", 38),
    ("C", "Đơn vị tính", 11),
    ("D", "Mục tiêu của đơn vị", 17),
    ("E", "Giá trị", 13),
    ("F", "Tử số", 13),
    ("G", "Mẫu số", 13),
    ("H", "Ghi chú", 26),
]
# A yes/no figure's goal as the letter words the plan's target: 'Đạt (kế hoạch: trên 80% đơn vị đạt)'.
GOAL = (
    "{% if ind.is_yes_no %}Đạt{% if ind.comparator is not none and ind.target_value is not none %} (kế hoạch: "
    "{{ ind.comparator | comparator_word }} {{ ind.target_value | measure('%') }} đơn vị đạt){% endif %}{% elif ind.goal_comparator is none %}"
    "{% else %}{{ ind.goal_comparator | comparator_word }} {{ ind.goal_value | measure(ind.unit_of_measure) }}{% endif %}"
)


def font(size: int = 12, *, bold: bool = False, italic: bool = False) -> Font:
    return Font(name=FONT, size=size, bold=bold, italic=italic)


def put(
    ws: Worksheet,
    cell: str,
    value: str | None,
    *,
    merge_to: str | None = None,
    across_to: str | None = None,
    size: int = 12,
    bold: bool = False,
    italic: bool = False,
    align: str = "left",
    valign: str = "center",
    wrap: bool = True,
    fill: PatternFill | None = None,
    border: Border | None = None,
    locked: bool = True,
) -> None:
    """Write a label or an input cell; a merged range gets the same style in every cell.

    Merge only what must wrap or take input: each merged cell costs openpyxl time on every form
    (load and save). A one-line title is centred with `across_to` (Excel's "centre across selection")
    and a one-line label simply runs over the empty cells to its right (`wrap=False`).
    """
    target = ws[cell]
    target.value = value
    cells = [target]
    if merge_to:
        ws.merge_cells(f"{cell}:{merge_to}")
        cells = [c for row in ws[f"{cell}:{merge_to}"] for c in row]
    elif across_to:
        cells = [c for row in ws[f"{cell}:{across_to}"] for c in row]
        align, wrap = "centerContinuous", False
    for c in cells:
        c.font = font(size, bold=bold, italic=italic)
        c.alignment = Alignment(horizontal=align, vertical=valign, wrap_text=wrap)
        c.protection = Protection(locked=locked)
        if fill is not None:
            c.fill = fill
        if border is not None:
            c.border = border


def input_cell(ws: Worksheet, cell: str, *, merge_to: str | None = None, align: str = "right", valign: str = "center") -> None:
    put(ws, cell, None, merge_to=merge_to, align=align, valign=valign, fill=INPUT_FILL, border=BOX, locked=False)


def name(wb: Workbook, key: str, sheet: str, ref: str) -> None:
    wb.defined_names[key] = DefinedName(key, attr_text=f"'{sheet}'!{ref}")


def protect(ws: Worksheet) -> None:
    """Locked cells cannot be changed; no password: it prevents accidents, not determined users."""
    ws.protection = SheetProtection(sheet=True, formatRows=False, selectLockedCells=False, selectUnlockedCells=False)


def print_setup(ws: Worksheet, *, landscape: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_options.horizontalCentered = True


def indicator_sheet(wb: Workbook) -> None:
    ws = wb.worksheets[0]  # the sheet a new workbook comes with
    ws.title = INDICATOR_SHEET
    for column, _, width in INDICATOR_COLUMNS:
        ws.column_dimensions[column].width = width
    ws.column_dimensions["I"].width = 4
    ws.column_dimensions["I"].hidden = True
    ws.sheet_view.showGridLines = False

    # Title block
    put(ws, "A1", "{{ plan.issuer_name | upper }}", across_to="D1", bold=True)
    put(ws, "A3", "BIỂU MẪU BÁO CÁO", across_to="H3", size=14, bold=True)
    put(ws, "A4", "{{ duty.title }}", merge_to="H4", size=13, bold=True, align="center")
    ws.row_dimensions[4].height = 34
    put(ws, "A5", "(Thực hiện Kế hoạch số {{ plan.code }} ngày {{ plan.issued_on | short_date }} của {{ plan.issuer_name }} {{ plan.title | lower_first }})",
        merge_to="H5", italic=True, align="center")  # fmt: skip
    ws.row_dimensions[5].height = 34
    put(ws, "A7", "Đơn vị báo cáo: {{ unit.name }}", bold=True, wrap=False)
    put(ws, "A8", "Mã biểu mẫu: {{ form.reference }}", wrap=False)
    put(ws, "E8", "Hạn gửi: {{ form.due_on | short_date }}", bold=True, wrap=False)
    put(ws, "A9", "{% if duty.cutoff_on %}Số liệu tính đến hết ngày {{ duty.cutoff_on | short_date }}.{% endif %}", italic=True, wrap=False)

    # Instructions: one line each, running over the empty cells to the right
    put(ws, "A11", "Hướng dẫn nhập biểu mẫu:", bold=True, wrap=False)
    instructions = [
        "1. Chỉ nhập vào các ô màu vàng nhạt; ô màu xám không cần nhập.",
        "    Không thêm, xóa, di chuyển dòng, cột và không đổi tên các trang tính của biểu mẫu.",
        "2. Nhập số theo cách viết thông thường: phần thập phân sau dấu phẩy (32,4); tỷ lệ có thể kèm dấu % (86,5%);",
        "    dấu chấm ngăn cách hàng nghìn (1.234). Không ghi chữ vào ô số (ví dụ không ghi “khoảng 30”).",
        "3. Chỉ tiêu tính theo tỷ lệ: nhập Tử số và Mẫu số, hệ thống tự tính tỷ lệ.",
        "    Chỉ tiêu đánh giá đạt/không đạt: chọn “Đạt” hoặc “Không đạt” trong danh sách.",
        "4. Nội dung báo cáo và điểm tự đánh giá nhập ở trang “Nội dung báo cáo”; các phần nội dung đều bắt buộc.",
        "5. Nhập xong, lưu tệp (giữ định dạng .xlsx) và gửi lại bằng cách trả lời thư điện tử giao nhiệm vụ, đính kèm tệp này.",
    ]
    for row, text in enumerate(instructions, start=12):
        put(ws, f"A{row}", text, wrap=False)
    legend = 12 + len(instructions)
    put(ws, f"B{legend}", "Chú thích:", italic=True, align="right")
    put(ws, f"C{legend}", "Ô nhập", align="center", fill=INPUT_FILL, border=BOX)
    put(ws, f"D{legend}", "Ô không nhập", align="center", fill=DISABLED_FILL, border=BOX)

    # Table header and the one indicator row repeated per indicator
    header = legend + 2
    for column, title, _ in INDICATOR_COLUMNS:
        put(ws, f"{column}{header}", title, bold=True, align="center", fill=HEADER_FILL, border=BOX)
    put(ws, f"I{header}", None)
    ws.row_dimensions[header].height = 32
    row = header + 1
    put(ws, f"A{row}", "{{ index }}", align="center", border=BOX)
    put(ws, f"B{row}", "{{ ind.metric }}", border=BOX)
    put(ws, f"C{row}", "{{ '—' if ind.is_yes_no else ind.unit_of_measure }}", align="center", border=BOX)
    put(ws, f"D{row}", GOAL, align="center", border=BOX)
    for column in "EFG":
        input_cell(ws, f"{column}{row}")
    input_cell(ws, f"H{row}", align="left")
    put(ws, f"I{row}", None, size=8)
    ws.row_dimensions[row].height = 36

    # Below the table: moves down with the rows
    below = row + 2
    put(ws, f"E{below}", "......., ngày ..... tháng ..... năm {{ form.due_on.year }}", across_to=f"H{below}", italic=True)
    put(ws, f"A{below + 1}", "NGƯỜI LẬP BIỂU", across_to=f"C{below + 1}", bold=True)
    put(ws, f"E{below + 1}", "THỦ TRƯỞNG ĐƠN VỊ", merge_to=f"H{below + 1}", bold=True, align="center")  # a merged range below the block
    put(ws, f"A{below + 2}", "(Ký, ghi rõ họ tên)", across_to=f"C{below + 2}", italic=True)
    put(ws, f"E{below + 2}", "(Ký, ghi rõ họ tên, đóng dấu)", across_to=f"H{below + 2}", italic=True)

    ws.print_title_rows = f"{header}:{header}"
    print_setup(ws, landscape=True)
    protect(ws)

    name(wb, "form_indicator_block", INDICATOR_SHEET, f"$A${row}:$I${row}")
    name(wb, "form_indicator_code", INDICATOR_SHEET, f"$I${row}")
    name(wb, "form_indicator_value", INDICATOR_SHEET, f"$E${row}")
    name(wb, "form_indicator_numerator", INDICATOR_SHEET, f"$F${row}")
    name(wb, "form_indicator_denominator", INDICATOR_SHEET, f"$G${row}")
    name(wb, "form_indicator_note", INDICATOR_SHEET, f"$H${row}")
    name(wb, "form_disabled_style", INDICATOR_SHEET, f"$D${legend}")


def section_sheet(wb: Workbook) -> None:
    """One wide column for text (no merged cells: each costs time on every form), B for the score, C hidden."""
    ws = wb.create_sheet(SECTION_SHEET)
    ws.column_dimensions["A"].width = 100
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 4
    ws.column_dimensions["C"].hidden = True
    ws.sheet_view.showGridLines = False

    put(ws, "A1", "NỘI DUNG BÁO CÁO", across_to="B1", size=14, bold=True)
    put(ws, "A2", "{{ unit.name }} - {{ duty.title }}", italic=True, align="center")
    ws.row_dimensions[2].height = 34
    put(ws, "A3", "Nhập nội dung từng phần vào ô màu vàng nhạt dưới tiêu đề của phần đó (xuống dòng trong ô: Alt+Enter). "
        "Các phần đều bắt buộc. Mã biểu mẫu: {{ form.reference }}.")  # fmt: skip
    ws.row_dimensions[3].height = 34

    # One block per narrative section: its title, then a tall input cell
    put(ws, "A5", "{{ index }}. {{ sec.title }}", bold=True, wrap=False)
    ws.row_dimensions[5].height = 22
    input_cell(ws, "A6", align="left", valign="top")
    put(ws, "C6", None, size=8)
    ws.row_dimensions[6].height = 160

    # Self-assessment
    put(ws, "A8", "TỰ ĐÁNH GIÁ", bold=True, wrap=False)
    put(ws, "A9", "Điểm tự đánh giá (thang điểm 100):", align="right", wrap=False)
    input_cell(ws, "B9")
    put(ws, "A10", "Giải trình kết quả tự đánh giá và tài liệu minh chứng (số, ký hiệu, ngày văn bản; tên tệp gửi kèm):")
    ws.row_dimensions[10].height = 32
    input_cell(ws, "A11", align="left", valign="top")
    ws.row_dimensions[11].height = 110

    print_setup(ws, landscape=False)
    protect(ws)

    name(wb, "form_section_block", SECTION_SHEET, "$A$5:$C$6")
    name(wb, "form_section_code", SECTION_SHEET, "$C$6")
    name(wb, "form_section_text", SECTION_SHEET, "$A$6")
    name(wb, "form_score", SECTION_SHEET, "$B$9")
    name(wb, "form_assessment", SECTION_SHEET, "$A$11")


def build(path: Path = OUTPUT) -> Path:
    wb = Workbook()
    indicator_sheet(wb)
    section_sheet(wb)
    meta = wb.create_sheet("_meta")
    meta.sheet_state = "veryHidden"  # the form's identity and layout, written by tasks.documents.forms
    protect(meta)
    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)  # no renaming, adding or unhiding sheets
    wb.save(path)
    return path


if __name__ == "__main__":
    print(build())
