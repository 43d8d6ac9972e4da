"""Filling Excel templates: workbooks in templates/forms/ whose cells hold Jinja expressions.

An office edits the template in Excel (labels, colours, widths); the code only renders the
cells and repeats marked blocks of rows, one copy per item (an indicator, a unit, a section),
moving everything below them down with their styles, heights and merged ranges.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.styleable import StyleableObject
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet

from templates import TEMPLATE_DIR, render_string

FORMS_DIR = TEMPLATE_DIR / "forms"

_loaded: dict[str, bytes] = {}


def open_template(name: str) -> Workbook:
    """A fresh copy of `templates/forms/<name>`.

    The file is parsed once per process and kept pickled: unpickling a copy takes about 2 ms,
    parsing the file again 12-18 ms, which matters for a form per unit of a 2,000-unit cascade.
    """
    if name not in _loaded:
        _loaded[name] = pickle.dumps(load_workbook(BytesIO((FORMS_DIR / name).read_bytes())))
    workbook = pickle.loads(_loaded[name])
    for ws in workbook.worksheets:
        # Unpickling a DimensionHolder (a defaultdict) loses its factory: rows and columns not
        # already sized would raise KeyError instead of being created.
        ws.row_dimensions.default_factory = ws._add_row
        ws.column_dimensions.default_factory = ws._add_column
    return workbook


def style_of(item: StyleableObject) -> StyleArray:
    """A copy of the whole style of a cell or a row or column (font, fill, border, alignment, number
    format, protection): openpyxl's own way of copying styles, far quicker than copying each part."""
    return copy(item._style)  # type: ignore[attr-defined]  # StyleableObject._style is private, so openpyxl's stubs leave it out


def set_style(item: StyleableObject, style: StyleArray) -> None:
    """Give a cell or a row or column a copy of a style taken with `style_of`."""
    item._style = copy(style)  # type: ignore[attr-defined]  # as in style_of


def writable_cell(ws: Worksheet, row: int, column: int) -> Cell:
    """The cell at row, column, which must not lie under a merged range (a merged cell holds no value)."""
    cell = ws.cell(row=row, column=column)
    if not isinstance(cell, Cell):
        raise ValueError(f"{ws.title}!{cell.coordinate} lies under a merged range and takes no value")
    return cell


def is_template_text(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """A cell's value with its Jinja expressions rendered; non-template values unchanged."""
    return render_string(value, **context) if is_template_text(value) else value


# How a templated cell's value is made from its text and context: render_value, or a stand-in that
# defers the rendering (tasks.documents.forms prepares a package once and renders per copy).
Render = Callable[[Any, dict[str, Any]], Any]


def render_cells(ws: Worksheet, context: dict[str, Any], rows: Iterable[int] | None = None, render: Render = render_value) -> None:
    """Render every templated cell of the sheet (or of the given rows) in place."""
    for row in ws.iter_rows() if rows is None else (ws[r] for r in rows):
        for cell in row:
            if isinstance(cell, Cell) and is_template_text(cell.value):
                cell.value = render(cell.value, context)


@dataclass(frozen=True)
class _RowSnapshot:
    cells: tuple[tuple[int, Any, StyleArray], ...]  # (column, value, style)
    height: float | None


def _snapshot(ws: Worksheet, row: int) -> _RowSnapshot:
    cells = tuple(
        (cell.column, cell.value, style_of(cell)) for cell in ws[row] if not isinstance(cell, MergedCell) and (cell.value is not None or cell.has_style)
    )
    return _RowSnapshot(cells, ws.row_dimensions[row].height)


def _write(ws: Worksheet, row: int, snap: _RowSnapshot, context: dict[str, Any] | None, render: Render = render_value) -> None:
    for column, value, style in snap.cells:
        cell = writable_cell(ws, row, column)
        cell.value = render(value, context) if context is not None else value
        set_style(cell, style)
    ws.row_dimensions[row].height = snap.height


@dataclass(frozen=True)
class BlockCopy:
    """Where one item's copy of a repeated block landed: rows first..last (inclusive)."""

    item: Any
    first: int
    last: int


def repeat_block(
    ws: Worksheet, first: int, last: int, items: Sequence[Any], name: str, context: dict[str, Any], render: Render = render_value
) -> list[BlockCopy]:
    """Replace rows first..last (the template block) with one rendered copy per item, the item
    bound to `name` (and `index`, from 1) in the context; rows below move down.

    Merged ranges inside the block are repeated in each copy; those below move with their rows.
    With no items the block is removed. Returns where each copy landed.
    """
    height = last - first + 1
    max_row = max(ws.max_row, last)
    block = [_snapshot(ws, r) for r in range(first, last + 1)]
    below = [_snapshot(ws, r) for r in range(last + 1, max_row + 1)]
    block_merges, below_merges = [], []
    for merged in list(ws.merged_cells.ranges):
        if merged.min_row >= first and merged.max_row <= last:
            block_merges.append((merged.min_row - first, merged.max_row - first, merged.min_col, merged.max_col))
            ws.unmerge_cells(str(merged))
        elif merged.min_row > last:
            below_merges.append((merged.min_row, merged.max_row, merged.min_col, merged.max_col))
            ws.unmerge_cells(str(merged))
    for cells in ws.iter_rows(min_row=first, max_row=max_row):
        for cell in cells:
            if not isinstance(cell, MergedCell):
                cell.value = None
                cell.style = "Normal"
    for r in range(first, max_row + 1):
        ws.row_dimensions[r].height = None

    copies: list[BlockCopy] = []
    row = first
    for index, item in enumerate(items, start=1):
        local = {**context, name: item, "index": index}
        for offset, snap in enumerate(block):
            _write(ws, row + offset, snap, local, render)
        for top, bottom, left, right in block_merges:
            ws.merge_cells(start_row=row + top, end_row=row + bottom, start_column=left, end_column=right)
        copies.append(BlockCopy(item, row, row + height - 1))
        row += height
    shift = row - (last + 1)
    for offset, snap in enumerate(below):
        _write(ws, last + 1 + offset + shift, snap, None)
    for top, bottom, left, right in below_merges:
        ws.merge_cells(start_row=top + shift, end_row=bottom + shift, start_column=left, end_column=right)
    return copies


def save_workbook(wb: Workbook, path: Path) -> Path:
    """Write the workbook atomically (a partial file never takes the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    wb.save(partial)
    partial.replace(path)
    return path


# A stand-in for a text not known yet: private-use characters around the slot's number, which no
# template or rendered text holds; openpyxl writes them in an inline string, as character references.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"<is><t>(?:{_OPEN}|&#{ord(_OPEN)};)(\\d+)(?:{_CLOSE}|&#{ord(_CLOSE)};)</t></is>")
_MARKS = (_OPEN.encode(), f"&#{ord(_OPEN)};".encode())


def slot(number: int) -> str:
    """The stand-in for the `number`th value of a PreparedPackage."""
    return f"{_OPEN}{number}{_CLOSE}"


class PreparedPackage:
    """A workbook saved once with stand-ins (`slot`) for some cells' texts; `write` makes a copy with
    each stand-in replaced by its value.

    Only the parts holding stand-ins (the worksheets' XML) are written per copy; every other part
    stays compressed as saved. A copy is the file openpyxl would have saved with those texts in
    those cells, in a fraction of the time (saving a form is 30 ms, a copy under 2).
    """

    def __init__(self, wb: Workbook) -> None:
        saved, base = BytesIO(), BytesIO()
        wb.save(saved)
        self.parts: dict[str, tuple[zipfile.ZipInfo, str]] = {}
        with zipfile.ZipFile(saved) as archive, zipfile.ZipFile(base, "w", compression=zipfile.ZIP_DEFLATED) as rest:
            for info in archive.infolist():
                data = archive.read(info)
                if any(mark in data for mark in _MARKS):
                    self.parts[info.filename] = (info, data.decode("utf-8"))
                else:
                    rest.writestr(info, data)
        self.base = base.getvalue()

    def write(self, values: Sequence[str], path: Path) -> Path:
        """Write a copy with slot i holding values[i], atomically to `path`."""

        def text(match: re.Match[str]) -> str:
            value = values[int(match[1])]
            if ILLEGAL_CHARACTERS_RE.search(value):
                raise IllegalCharacterError(f"{value!r} cannot be used in worksheets.")
            if not value:
                return ""  # as openpyxl writes an empty text: a cell with no value
            space = ' xml:space="preserve"' if value != value.strip() else ""
            # As openpyxl writes text: XML-escaped, and beyond ASCII as character references
            return f"<is><t{space}>" + escape(value, {"\r": "&#13;"}).encode("ascii", "xmlcharrefreplace").decode("ascii") + "</t></is>"

        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(self.base)
        with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            for info, xml in self.parts.values():
                filled = _SLOT.sub(text, xml)
                if _OPEN in filled or f"&#{ord(_OPEN)};" in filled:
                    raise ValueError(f"{info.filename}: a stand-in was not replaced (a cell's text was changed after it was put in)")
                archive.writestr(info, filled.encode("utf-8"))
        partial.replace(path)
        return path
