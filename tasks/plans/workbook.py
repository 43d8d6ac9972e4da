"""The plan file as an Excel workbook, for offices that write their plan in a spreadsheet: one sheet for
the plan's own fields and one per list (tasks, targets, reports). Each list sheet has the words an office
reads in its first row and the plan file's field names in its second; rows follow from the third.

`plan_workbook` writes it (empty as a template, or filled from a stored plan); `read_plan_workbook` reads
it back into the plan file's mapping, and its locator names the cell of every field ('Chỉ tiêu!F4'), so
that the importer's problems point at cells.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cascade.errors import ImportFileError, Problem
from cascade.input_limits import CellBudget, workbook_problem
from tasks.plans.sources import Loc

PLAN_SHEET = "Kế hoạch"
# (field, the office's words); 'signer.title' style names stand for nested fields
PLAN_FIELDS: tuple[tuple[str, str], ...] = (
    ("key", "Mã kế hoạch trong hệ thống (để trống: tự đặt)"),
    ("number", "Số văn bản (để trống nếu là dự thảo)"),
    ("symbol", "Ký hiệu (KH-UBND)"),
    ("issuer", "Mã đơn vị ban hành"),
    ("issued_on", "Ngày ban hành"),
    ("place", "Địa danh"),
    ("title", "Trích yếu"),
    ("year", "Năm thực hiện"),
    ("parent_plan", "Kế hoạch cấp trên (mã hoặc số/ký hiệu)"),
    ("basis", "Căn cứ (mỗi dòng một văn bản)"),
    ("purposes", "Mục đích"),
    ("requirements", "Yêu cầu"),
    ("recipients", "Nơi nhận (mỗi dòng một nơi)"),
    ("report_recipients", "Nơi nhận của báo cáo tổng hợp (mỗi dòng một nơi; để trống: cơ quan cấp trên)"),
    ("joint_with", "Cơ quan cùng ban hành, kế hoạch liên tịch (mỗi dòng: mã | chức vụ người ký | họ tên)"),
    ("signer.title", "Chức vụ người ký"),
    ("signer.name", "Họ tên người ký"),
    ("cascade", "Giao xuống các cấp (mỗi dòng một cấp: số ngày làm việc, wait hoặc auto; ví dụ “5 wait”)"),
)
# sheet, the plan file's list, and its columns (field, the office's words)
LISTS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Nhiệm vụ", "tasks", (
        ("code", "Mã"), ("title", "Tên nhiệm vụ"), ("content", "Nội dung"),
        ("lead", "Đơn vị chủ trì (mã, cách nhau bằng ;)"), ("support", "Đơn vị phối hợp (mã, cách nhau bằng ;)"),
    )),
    ("Chỉ tiêu", "targets", (
        ("code", "Mã"), ("text", "Chỉ tiêu (như trong kế hoạch)"), ("metric", "Số liệu đơn vị báo cáo"), ("unit_of_measure", "Đơn vị tính"),
        ("comparator", "So sánh (gt, ge, eq, le, lt)"), ("value", "Mức"), ("aggregation", "Cách tổng hợp (sum, mean, weighted_rate, share_of_units…)"),
        ("numerator", "Tử số (mã)"), ("denominator", "Mẫu số (mã)"), ("unit_threshold", "Ngưỡng đạt của một đơn vị (ví dụ “ge 1”)"),
        ("reporters", "Đơn vị báo cáo (mã, ;)"), ("allocations", "Phân bổ (mã=mức; …)"), ("allocation_rule", "Cách chia xuống cấp dưới"),
    )),
    ("Báo cáo", "duties", (
        ("code", "Mã"), ("kind", "Loại (annual, quarterly, implementing_plan…)"), ("title", "Tên báo cáo"), ("period_start", "Từ ngày"),
        ("cutoff_on", "Số liệu tính đến ngày"), ("due_on", "Hạn nộp"), ("reminder_days", "Nhắc trước hạn (ngày, ;)"),
        ("overdue_days", "Nhắc sau hạn (ngày, ;)"), ("on_day_off", "Hạn rơi vào ngày nghỉ (before, after, keep)"),
        ("sections", "Các phần của báo cáo (mỗi dòng: mã=tiêu đề, có thể thêm | bảng chỉ tiêu | tình hình báo cáo | đơn vị không viết)"), ("indicators", "Chỉ tiêu báo cáo (mã, ;)"), ("assignees", "Đơn vị phải nộp (mã, ;)"),
    )),
)  # fmt: skip
CODE_LISTS = {"lead", "support", "reporters", "indicators", "assignees"}
LINE_FIELDS = {"basis", "recipients", "report_recipients"}  # one entry a line of the cell
# a report section's flags after its title, as the office writes them → the plan file's words (models.plan.ReportBlock)
SECTION_FLAGS = {"bảng chỉ tiêu": "figures", "tình hình báo cáo": "reporting", "đơn vị không viết": "asked"}
DAY_LISTS = {"reminder_days", "overdue_days"}
DATES = {"issued_on", "period_start", "cutoff_on", "due_on"}
HEADER_ROWS = 2  # the office's words, then the field names
MAX_ROWS = 5_000
MAX_COLUMNS = 64  # every sheet has fewer columns than this; cells beyond are not read


@dataclass(frozen=True)
class CellLocator:
    """Maps a field path of the plan file to the cell it came from: ('plan', 'targets', 2, 'value') → 'Chỉ tiêu!F5'."""

    plan_rows: Mapping[str, int]  # field → row on the plan sheet (value in column C)
    columns: Mapping[str, Mapping[str, int]]  # list → field → column number

    def line(self, loc: Loc) -> int | None:
        """No lines in a workbook: `where` names the cell."""
        return None

    def where(self, loc: Loc) -> tuple[int | None, str | None]:
        parts = [p for p in loc if p != "plan"]
        if not parts:
            return None, PLAN_SHEET
        name = str(parts[0])
        for sheet, field, _ in LISTS:
            if name != field:
                continue
            if len(parts) < 2 or not isinstance(parts[1], int):
                return None, sheet
            row = HEADER_ROWS + 1 + parts[1]
            column = self.columns[field].get(str(parts[2])) if len(parts) > 2 else None
            return None, f"{sheet}!{get_column_letter(column)}{row}" if column else f"{sheet}!{row}:{row}"
        key = "signer." + str(parts[1]) if name == "signer" and len(parts) > 1 else name
        found = self.plan_rows.get(key)
        return None, f"{PLAN_SHEET}!C{found}" if found else PLAN_SHEET


def cell_text(value: object) -> str:
    """A cell as a CSV file would hold it: a date as YYYY-MM-DD, a whole number without '.0', empty for none."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _codes(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,\n]", text) if part.strip()]


def _cell_value(field: str, value: object, where: str, problems: list[Problem]) -> Any:
    """A cell's value as the plan file holds that field (lists split, numbers kept as numbers)."""
    text = cell_text(value)
    if field in CODE_LISTS:
        return _codes(text)
    if field in DAY_LISTS:
        days = []
        for part in _codes(text):
            if not part.isdigit():
                problems.append(Problem(f"expected whole numbers of days separated by ';'; got '{part}'", path=where))
                continue
            days.append(int(part))
        return days
    if field in LINE_FIELDS:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if field == "joint_with":
        issuers = []
        for line in (line.strip() for line in text.splitlines() if line.strip()):
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 3:
                problems.append(Problem(f"expected one issuer a line as code | signer's title | signer's name; got '{line}'", path=where))
                continue
            issuers.append({"unit": parts[0], "signer": {"title": parts[1], "name": parts[2]}})
        return issuers
    if field == "sections":
        sections = []
        for line in (line.strip() for line in text.splitlines() if line.strip()):
            head, *flags = [part.strip() for part in line.split("|")]
            code, sep, title = head.partition("=")
            unknown = [flag for flag in flags if flag.casefold() not in SECTION_FLAGS]
            if not sep or unknown:
                wanted = ", ".join(f"'{flag}'" for flag in SECTION_FLAGS)
                problems.append(Problem(f"expected one section a line as code=title, then | and any of {wanted}; got '{line}'", path=where))
                continue
            section: dict[str, Any] = {"code": code.strip(), "title": title.strip()}
            for flag in (SECTION_FLAGS[flag.casefold()] for flag in flags):
                if flag == "asked":
                    section["asked"] = False
                else:
                    section.setdefault("shows", []).append(flag)
            sections.append(section)
        return sections
    if field == "allocations":
        shares: dict[str, Any] = {}
        for part in _codes(text):
            code, sep, share = part.partition("=")
            if not sep:
                problems.append(Problem(f"expected unit=share pairs separated by ';'; got '{part}'", path=where))
                continue
            shares[code.strip()] = share.strip()
        return shares
    if field == "unit_threshold":
        comparator, _, amount = text.partition(" ")
        return {"comparator": comparator, "value": amount.strip()} if text else None
    if field == "cascade":
        levels = []
        for line in (line.strip() for line in text.splitlines() if line.strip()):
            lead, _, issue = line.partition(" ")
            levels.append({"lead_days": lead, "issue": issue.strip() or "auto"})
        return {"levels": levels} if levels else None
    if isinstance(value, int | float) and not isinstance(value, bool) and field in ("value", "year"):
        return value
    return text or None


def read_plan_workbook(path: Path) -> tuple[dict[str, Any], CellLocator, list[Problem]]:
    """The workbook as the plan file's `{plan: …}` mapping, the cells of its fields, and the problems of
    cells that cannot even be read as their field's kind. Raises ImportFileError for a file that is no workbook."""
    source = str(path)
    if (refused := workbook_problem(path)) is not None:
        raise ImportFileError(source, [Problem(refused.describe())])
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportFileError(source, [Problem(f"not an Excel workbook (.xlsx): {exc}")]) from None
    problems: list[Problem] = []
    budget = CellBudget()
    try:
        names = workbook.sheetnames
        if PLAN_SHEET not in names:
            raise ImportFileError(source, [Problem(f"no sheet '{PLAN_SHEET}': download the plan workbook's template and fill it in", path=PLAN_SHEET)])
        plan: dict[str, Any] = {}
        plan_rows: dict[str, int] = {}
        for number, row in enumerate(workbook[PLAN_SHEET].iter_rows(min_row=1, max_row=200, max_col=3, values_only=True), start=1):
            field = cell_text(row[0]) if row else ""
            if field not in dict(PLAN_FIELDS):
                continue
            plan_rows[field] = number
            value = _cell_value(field, row[2] if len(row) > 2 else None, f"{PLAN_SHEET}!C{number}", problems)
            if field.startswith("signer."):
                plan.setdefault("signer", {})[field.split(".", 1)[1]] = value or ""
            elif value not in (None, [], {}):
                plan[field] = value
        columns: dict[str, dict[str, int]] = {}
        for sheet, field, wanted in LISTS:
            columns[field] = {}
            if sheet not in names:
                continue
            rows = workbook[sheet].iter_rows(values_only=True, max_col=MAX_COLUMNS)
            next(rows, None)  # the office's words
            header = [cell_text(v) for v in next(rows, ())]
            known = dict(wanted)
            columns[field] = {name: i + 1 for i, name in enumerate(header) if name in known}
            items = []
            for number, row in enumerate(rows, start=HEADER_ROWS + 1):
                if number > MAX_ROWS:
                    problems.append(Problem(f"more than {MAX_ROWS:,} rows", path=f"{sheet}!{number}:{number}"))
                    break
                if (spent := budget.spend(len(row))) is not None:
                    raise ImportFileError(source, [Problem(spent.describe(), path=f"{sheet}!{number}:{number}")])
                if not any(cell_text(v) for v in row):
                    continue
                item: dict[str, Any] = {}
                for name, column in columns[field].items():
                    cell = row[column - 1] if column - 1 < len(row) else None
                    value = _cell_value(name, cell, f"{sheet}!{get_column_letter(column)}{number}", problems)
                    if value is not None and value != "":
                        item[name] = value
                items.append(item)
            plan[field] = items
    finally:
        workbook.close()
    return {"plan": plan}, CellLocator(plan_rows, columns), problems


def plan_workbook(document: Mapping[str, Any] | None = None) -> Workbook:
    """The plan workbook: the template (empty) or a stored plan (`plan_document`) written into it."""
    plan = dict(document["plan"]) if document else {}
    workbook = Workbook()
    header = Font(bold=True)
    muted = Font(color="777777", size=9)
    fill = PatternFill("solid", fgColor="F3E3E3")
    wrap = Alignment(wrap_text=True, vertical="top")
    sheet = workbook.active
    assert sheet is not None
    sheet.title = PLAN_SHEET
    sheet.append(["Trường", "Nội dung", "Giá trị"])
    for cell in sheet[1]:
        cell.font, cell.fill = header, fill
    for field, words in PLAN_FIELDS:
        sheet.append([field, words, _written(field, plan)])
        sheet.cell(sheet.max_row, 1).font = muted
        sheet.cell(sheet.max_row, 3).alignment = wrap
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width, sheet.column_dimensions["C"].width = 14, 44, 90
    for title, field, columns in LISTS:
        listed = workbook.create_sheet(title)
        listed.append([words for _, words in columns])
        listed.append([name for name, _ in columns])
        for cell in listed[1]:
            cell.font, cell.fill, cell.alignment = header, fill, wrap
        for cell in listed[2]:
            cell.font = muted
        for item in plan.get(field, []):
            listed.append([_written(name, item) for name, _ in columns])
            for cell in listed[listed.max_row]:
                cell.alignment = wrap
        for i, (name, _) in enumerate(columns, start=1):
            listed.column_dimensions[get_column_letter(i)].width = 60 if name in ("text", "content", "title", "sections") else 16
        listed.freeze_panes = "A3"
    return workbook


def _written(field: str, item: Mapping[str, Any]) -> Any:
    """A field of the plan file as its cell shows it (the inverse of `_cell_value`)."""
    if field.startswith("signer."):
        return (item.get("signer") or {}).get(field.split(".", 1)[1])
    value = item.get(field)
    if value is None:
        return None
    if field in CODE_LISTS | DAY_LISTS:
        return "; ".join(str(v) for v in value)
    if field in LINE_FIELDS:
        return "\n".join(value)
    if field == "joint_with":
        return "\n".join(f"{co['unit']} | {co['signer']['title']} | {co['signer']['name']}" for co in value)
    if field == "sections":
        flag_words = {field: word for word, field in SECTION_FLAGS.items()}
        lines = []
        for s in value:
            flags = [flag_words[block] for block in s.get("shows", ())] + ([flag_words["asked"]] if s.get("asked") is False else [])
            lines.append(" | ".join([f"{s['code']}={s['title']}", *flags]))
        return "\n".join(lines)
    if field == "allocations":
        return "; ".join(f"{code}={share}" for code, share in value.items())
    if field == "unit_threshold":
        return f"{value['comparator']} {value['value']}"
    if field == "cascade":
        return "\n".join(f"{level.get('lead_days')} {level.get('issue', 'auto')}" for level in value.get("levels", []))
    return value
