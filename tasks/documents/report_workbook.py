"""The Excel export of a consolidation: one row per expected unit, one column group per indicator,
with the consolidated figure, the target and the verdict under the units, and a sheet of targets.

Fills `templates/forms/consolidation.xlsx` (built by `templates/forms/build_consolidation.py`, whose
docstring lists the defined names that mark the repeated row and the indicator template columns,
and what each cell sees). Every word comes from the template; this module computes the values:

- `u` (`UnitRow`): the unit, its due and submission dates, days late / overdue, and how many
  units its consolidated figures stand for;
- `ind` (`IndicatorView`): a target's result with its figures as `Number`s;
- `f` (`FigureView`): one unit's figure for one indicator, or an empty one when it has none.

Figures are stored as numbers with a number format (percentages as fractions with `0.0%`),
dates as dates; a unit without a figure leaves its cells empty. Pure: plain values in, a file out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard, cast
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.dimensions import ColumnDimension
from openpyxl.worksheet.worksheet import Worksheet

from cascade.formatting import vn_number, vn_percent
from models.aggregation import HUNDRED, TargetResult, TargetRule, UnitFigure, Verdict, compare
from models.consolidation import Consolidation, ConsolidationInput, ReportHeader, rule_figures
from models.plan import Aggregation, Comparator
from tasks.documents.workbooks import is_template_text, open_template, render_cells, repeat_block, save_workbook, set_style, style_of, writable_cell
from templates import environment, message, render_string, words

TEMPLATE = "consolidation.xlsx"
SUMMARY_ROW = "unit_row"
TARGET_ROW = "target_row"
# The template column each kind of indicator column copies, by its defined name.
KIND_NAMES = {
    "value": "indicator_value",
    "share": "indicator_share",
    "numerator": "indicator_numerator",
    "denominator": "indicator_denominator",
    "rate": "indicator_rate",
}
KINDS = {
    Aggregation.SUM: ("value",),
    Aggregation.MEAN: ("value",),
    Aggregation.SHARE_OF_UNITS: ("share",),
    Aggregation.WEIGHTED_RATE: ("numerator", "denominator", "rate"),
}
DATE_FORMAT = "dd/mm/yyyy"
MAX_TEXT_WIDTH = 60
CHARS_PER_WIDTH = 1.15  # Vietnamese text in Times New Roman 12 per unit of Excel's column width (Calibri digits)
# Excel's "Good", "Bad" and "Neutral" colours, for cells showing a verdict word.
VERDICT_COLOURS = {
    Verdict.MET: ("FFC6EFCE", "FF006100"),
    Verdict.NOT_MET: ("FFFFC7CE", "FF9C0006"),
    Verdict.NO_DATA: ("FFFFEB9C", "FF9C5700"),
}
_FILE_NAME_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


# --- the values the template sees ------------------------------------------------------------


def _integral(value: Decimal) -> bool:
    return value == value.to_integral_value()


@dataclass(frozen=True)
class Number:
    """A figure for a cell: stored as a number with its format, printed the Vietnamese way in text.

    `amount` is as computed (a rate in percent: 86.5); a percentage is stored as a fraction (0.865)."""

    amount: Decimal
    percent: bool = False
    places: int = 0

    @classmethod
    def of(cls, amount: Decimal | int | None, *, percent: bool = False, places: int | None = None) -> Number | None:
        if amount is None:
            return None
        amount = Decimal(amount)
        if places is None or (places == 0 and not _integral(amount)):
            places = 0 if _integral(amount) else 1
        return cls(amount, percent, places)

    @property
    def cell_value(self) -> int | float:
        value = self.amount / HUNDRED if self.percent else self.amount
        return int(value) if _integral(value) else float(value)

    @property
    def number_format(self) -> str:
        if self.percent:
            return "0.0%"
        return "#,##0" if self.places == 0 else "#,##0.0"

    def __str__(self) -> str:
        return vn_percent(self.amount) if self.percent else vn_number(self.amount, self.places or 2)


@dataclass(frozen=True)
class FigureView:
    """One unit's figure for one indicator (`f`); every field None for a unit without one."""

    value: Number | str | None = None  # the unit's figure (its own rate for a weighted rate; 'không phát sinh' for 0/0)
    numerator: Number | None = None
    denominator: Number | None = None
    verdict: Verdict | None = None  # share of units: whether the unit's own figure meets the unit threshold
    yes_no: bool = False  # share of units: the figure is a yes (1) / no (0), shown as its verdict word
    covers: int | None = None  # a consolidated figure: the units at the bottom it stands for


EMPTY_FIGURE = FigureView()


@dataclass(frozen=True)
class IndicatorView:
    """One target's result (`ind`), with its figures as `Number`s."""

    result: TargetResult
    figure: Number | str | None  # 'không phát sinh' for a rate every unit gave as 0/0
    numerator: Number | None
    denominator: Number | None
    yes_no: bool  # share of units judged on a yes/no figure (unit threshold: at least 1)
    kinds: tuple[str, ...]  # the template columns it takes
    units: dict[str, FigureView]  # unit code → its figure

    @property
    def rule(self) -> TargetRule:
        return self.result.rule

    @property
    def code(self) -> str:
        return self.result.rule.code

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def reported(self) -> int:
        return self.result.reported

    @property
    def expected(self) -> int:
        return self.result.expected

    def of(self, unit_code: str) -> FigureView:
        return self.units.get(unit_code, EMPTY_FIGURE)


@dataclass(frozen=True)
class UnitRow:
    """One expected unit's row (`u`)."""

    code: str
    name: str
    due_on: date
    submitted_on: date | None
    version: int | None
    late_days: int | None  # submitted after its due date, by so many days
    overdue_days: int | None  # not submitted and past its due date, by so many days
    covers: int | None  # its figures are consolidated from so many units (the largest of them)


def _is_percent(rule: TargetRule) -> bool:
    return rule.unit_of_measure.strip() == "%"


def _places(values: Sequence[Decimal | None]) -> int:
    return 0 if all(v is None or _integral(v) for v in values) else 1


def _yes_no(rule: TargetRule) -> bool:
    return rule.unit_comparator in (Comparator.GE, Comparator.EQ) and rule.unit_threshold == 1


def _share_figure(rule: TargetRule, figure: UnitFigure, yes_no: bool) -> FigureView:
    own = figure.own_value
    if own is None:
        return EMPTY_FIGURE
    if figure.covers is not None:  # a level below: the share of its units that pass
        return FigureView(value=Number.of(own, percent=True), covers=figure.covers)
    assert rule.unit_comparator is not None and rule.unit_threshold is not None
    verdict = Verdict.MET if compare(own, rule.unit_comparator, rule.unit_threshold) else Verdict.NOT_MET
    is_rate = figure.value is None  # its own rate from a numerator and denominator
    shown_as_word = yes_no and not is_rate and own in (0, 1)
    return FigureView(value=Number.of(own, percent=is_rate), verdict=verdict, yes_no=shown_as_word)


def indicator_view(result: TargetResult, figures: Sequence[UnitFigure], reporters: Sequence[str]) -> IndicatorView:
    """The figures of one target as the workbook shows them: only the target's expected reporters
    (so that each column adds up to its total), numbers with the places the column needs."""
    rule = result.rule
    wanted = set(reporters)
    by_unit = {f.unit_code: f for f in figures if f.unit_code in wanted}
    kinds = KINDS[rule.aggregation]
    units: dict[str, FigureView] = {}
    figure: Number | str | None
    numerator = denominator = None
    yes_no = False
    match rule.aggregation:
        case Aggregation.SUM | Aggregation.MEAN:
            percent = _is_percent(rule)
            values = {code: f.own_value for code, f in by_unit.items()}
            places = _places(list(values.values()))
            units = {
                code: FigureView(value=Number.of(value, percent=percent, places=places), covers=by_unit[code].covers)
                for code, value in values.items()
                if value is not None
            }
            figure = Number.of(result.figure, percent=percent, places=places)
        case Aggregation.WEIGHTED_RATE:
            num_places = _places([f.numerator for f in by_unit.values()] + [result.numerator])
            den_places = _places([f.denominator for f in by_unit.values()] + [result.denominator])
            units = {
                code: FigureView(
                    value=message("reporting.nothing_to_count") if f.nothing_to_count else Number.of(f.own_value, percent=True),
                    numerator=Number.of(f.numerator, places=num_places),
                    denominator=Number.of(f.denominator, places=den_places),
                    covers=f.covers,
                )
                for code, f in by_unit.items()
                if f.own_value is not None or f.numerator is not None or f.denominator is not None
            }
            figure = message("reporting.nothing_to_count") if result.nothing_to_count else Number.of(result.figure, percent=True)
            numerator = Number.of(result.numerator, places=num_places)
            denominator = Number.of(result.denominator, places=den_places)
        case Aggregation.SHARE_OF_UNITS:
            yes_no = _yes_no(rule)
            units = {code: view for code, f in by_unit.items() if (view := _share_figure(rule, f, yes_no)) is not EMPTY_FIGURE}
            figure = Number.of(result.figure, percent=True)
            numerator = Number.of(result.numerator)
            denominator = Number.of(result.denominator)
        case _:
            raise ValueError(f"unknown aggregation {rule.aggregation!r}")
    return IndicatorView(result, figure, numerator, denominator, yes_no, kinds, units)


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", unicodedata.normalize("NFC", text))


def unit_rows(data: ConsolidationInput, indicators: Sequence[IndicatorView]) -> list[UnitRow]:
    rows = []
    for unit in data.units:
        covers = [f.covers for ind in indicators if (f := ind.of(unit.code)).covers is not None]
        rows.append(
            UnitRow(
                code=unit.code,
                name=_clean(unit.name),
                due_on=unit.due_on,
                submitted_on=unit.submitted_on,
                version=unit.version,
                late_days=(unit.submitted_on - unit.due_on).days if unit.submitted_on and unit.submitted_on > unit.due_on else None,
                overdue_days=(data.as_of - unit.due_on).days if unit.submitted_on is None and unit.is_late(data.as_of) else None,
                covers=max(covers) if covers else None,
            )
        )
    return rows


def indicator_views(data: ConsolidationInput, result: Consolidation) -> list[IndicatorView]:
    reporters = {rule.code: codes for rule, codes in data.rules}
    everyone = tuple(u.code for u in data.units)
    return [indicator_view(r, rule_figures(r.rule, data.figures), reporters.get(r.rule.code, everyone)) for r in result.results]


# --- filling cells ---------------------------------------------------------------------------------

_SINGLE_EXPRESSION = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}|\{%|%\}).)*)\}\}\s*", re.S)


_NAME_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _lookup(path: tuple[str, ...], compiled: Callable[..., Any]) -> Callable[..., Any]:
    """`u.due_on`, `f.value`, `index`: read straight from the context (a tenth of Jinja's cost per
    cell, which counts over 500 units × 30 columns); anything missing goes through Jinja for its error."""

    def evaluate(**context: Any) -> Any:
        try:
            value = context[path[0]]
            for name in path[1:]:
                value = getattr(value, name)
        except (KeyError, AttributeError):
            return compiled(**context)
        return value

    return evaluate


@lru_cache(maxsize=512)
def _expression(source: str) -> Callable[..., Any] | None:
    """A cell holding exactly one `{{ expression }}`, compiled to return the value itself."""
    match = _SINGLE_EXPRESSION.fullmatch(source)
    if match is None:
        return None
    expression = match.group(1).strip("-+ \n")
    compiled = environment().compile_expression(expression, undefined_to_none=False)
    if _NAME_PATH.fullmatch(expression):
        return _lookup(tuple(expression.split(".")), compiled)
    return compiled


def is_native(source: Any) -> TypeGuard[str]:
    return isinstance(source, str) and _expression(source) is not None


def _store(cell: Cell, value: Any) -> None:
    if isinstance(value, Number):
        cell.value = value.cell_value
        cell.number_format = value.number_format
    elif isinstance(value, Decimal):
        cell.value = int(value) if _integral(value) else float(value)
    elif isinstance(value, (bool, int, float)):
        cell.value = value
    elif isinstance(value, date):
        cell.value = value
        if cell.number_format == "General":
            cell.number_format = DATE_FORMAT
    elif value is None:
        cell.value = None
    else:
        _store_text(cell, str(value))


def _store_text(cell: Cell, text: str) -> None:
    text = _clean(text)
    cell.value = text or None
    if cell.data_type == "f":  # a name or title starting with '=' is text, not a formula
        cell.data_type = "s"


_verdict_styles: WeakKeyDictionary[Workbook, dict[tuple[Verdict, tuple[int, ...]], StyleArray]] = WeakKeyDictionary()


@lru_cache(maxsize=1)
def _verdict_of_word() -> dict[str, Verdict]:
    verdict_words = words("reporting.verdict")
    return {verdict_words[v]: v for v in VERDICT_COLOURS}


def _colour_verdict(cell: Cell) -> None:
    """A verdict word gets its colours over the cell's own style (computed once per style and workbook)."""
    verdict = _verdict_of_word().get(cell.value) if isinstance(cell.value, str) else None
    if verdict is None:
        return
    workbook = cell.parent.parent
    styles = _verdict_styles.setdefault(workbook, {}) if workbook is not None else {}
    key = (verdict, tuple(style_of(cell)))
    if key not in styles:
        fill, font_colour = VERDICT_COLOURS[verdict]
        cell.fill = PatternFill("solid", fgColor=fill)
        font = cast(Font, copy(cell.font))  # copying the cell's StyleProxy gives the Font it wraps
        font.color = font_colour
        cell.font = font
        styles[key] = style_of(cell)
    set_style(cell, styles[key])


def fill_cell(cell: Cell, source: Any, context: dict[str, Any]) -> None:
    """Put a template cell's value into `cell` (which already has the template cell's style): one
    expression keeps its type, other templates become text; a templated number format is rendered."""
    if not is_template_text(source):
        cell.value = source
        return
    template_format = cell.number_format
    expression = _expression(source)
    _store(cell, expression(**context) if expression is not None else render_string(source, **context))
    if "{{" in template_format:
        cell.number_format = render_string(template_format, **context) if cell.value is not None else "General"
    _colour_verdict(cell)


# --- the template's layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    sheet: str
    min_col: int
    min_row: int
    max_col: int
    max_row: int


def _area(wb: Workbook, name: str) -> Area:
    defined = wb.defined_names.get(name)
    if defined is None:
        for ws in wb.worksheets:
            if name in ws.defined_names:
                defined = ws.defined_names[name]
                break
    if defined is None:
        raise LookupError(f"templates/forms/{TEMPLATE} has no defined name {name!r} (Excel: Formulas > Name Manager)")
    destinations = list(defined.destinations)
    if len(destinations) != 1:
        raise LookupError(f"templates/forms/{TEMPLATE}: the name {name!r} must mark one range, not {defined.attr_text!r}")
    sheet, ref = destinations[0]
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    if min_col is None or min_row is None or max_col is None or max_row is None:
        raise LookupError(f"templates/forms/{TEMPLATE}: the name {name!r} must mark a block of cells, not whole rows or columns ({defined.attr_text!r})")
    return Area(sheet, min_col, min_row, max_col, max_row)


def _drop_names(wb: Workbook, names: Sequence[str]) -> None:
    """The output's layout is no longer the template's: its names would point at the wrong cells."""
    for name in names:
        if name in wb.defined_names:
            del wb.defined_names[name]
        for ws in wb.worksheets:
            if name in ws.defined_names:
                del ws.defined_names[name]


def _split_column_dimensions(ws: Worksheet) -> None:
    """One dimension per column (a loaded file groups equal columns as min..max)."""
    for dim in list(ws.column_dimensions.values()):
        if dim.min and dim.max and dim.max > dim.min:
            for index in range(dim.min, dim.max + 1):
                one = ColumnDimension(
                    ws, index=get_column_letter(index), width=dim.width, hidden=dim.hidden, bestFit=dim.bestFit, customWidth=dim.customWidth, style=None
                )
                set_style(one, style_of(dim))
                ws.column_dimensions[get_column_letter(index)] = one


def _width(ws: Worksheet, column: int) -> float | None:
    dim = ws.column_dimensions.get(get_column_letter(column))
    return dim.width if dim is not None and dim.customWidth else None


def _set_width(ws: Worksheet, column: int, width: float | None) -> None:
    if width is not None:
        ws.column_dimensions[get_column_letter(column)].width = width


@dataclass(frozen=True)
class _Proto:
    value: Any
    style: StyleArray


def _render_rows(ws: Worksheet, context: dict[str, Any], rows: Sequence[int]) -> None:
    """Render the rows' templates as text (render_cells); a text starting with '=' stays text, not a formula."""
    render_cells(ws, context, rows=rows)
    for r in rows:
        for cell in ws[r]:
            if isinstance(cell, Cell) and isinstance(cell.value, str) and cell.data_type == "f":
                cell.data_type = "s"


def _take_natives(ws: Worksheet, row: int, columns: Sequence[int]) -> list[tuple[int, str]]:
    """The row's one-expression cells, emptied so that repeat_block copies only their style; filled per copy."""
    natives = []
    for column in columns:
        cell = ws.cell(row=row, column=column)
        if is_native(cell.value):
            natives.append((column, cell.value))
            cell.value = None
    return natives


def _fit_text_columns(ws: Worksheet, columns: Sequence[int], first_row: int, last_row: int) -> None:
    """Widen text columns (unit names, statuses) to their longest line, up to MAX_TEXT_WIDTH; longer ones wrap."""
    for column in columns:
        longest = 0
        for (value,) in ws.iter_rows(min_row=first_row, max_row=last_row, min_col=column, max_col=column, values_only=True):
            if isinstance(value, str):
                longest = max([longest, *map(len, value.splitlines())])
        if longest:
            wanted = min(MAX_TEXT_WIDTH, longest / CHARS_PER_WIDTH + 2)
            current = _width(ws, column) or 8.43
            if wanted > current:
                _set_width(ws, column, round(wanted, 1))


def _fit_rows(ws: Worksheet, first_row: int, last_row: int, columns: Sequence[int]) -> None:
    """Heighten rows whose wrapped text needs several lines (neither Excel nor LibreOffice always does it on opening)."""
    widths = {c: (_width(ws, c) or 8.43) for c in columns}
    for row_number, row in enumerate(ws.iter_rows(min_row=first_row, max_row=last_row, min_col=min(columns), max_col=max(columns)), start=first_row):
        lines = 1
        for cell in row:
            if isinstance(cell.value, str) and cell.column in widths and cell.alignment.wrap_text:
                per_line = max(1, int(widths[cell.column] * CHARS_PER_WIDTH))
                lines = max(lines, sum(-(-max(len(part), 1) // per_line) for part in cell.value.splitlines()))
        if lines > 1:
            size = max((c.font.sz or 11) for c in row if isinstance(c, Cell))
            ws.row_dimensions[row_number].height = round(lines * float(size) * 1.3 + 2, 1)


def _fill_summary(wb: Workbook, context: dict[str, Any], units: list[UnitRow], indicators: list[IndicatorView]) -> None:
    row_area = _area(wb, SUMMARY_ROW)
    ws = wb[row_area.sheet]
    unit_row = row_area.min_row
    areas = {kind: _area(wb, name) for kind, name in KIND_NAMES.items()}
    top, bottom = areas["value"].min_row, areas["value"].max_row
    columns = sorted(a.min_col for a in areas.values())
    first, last = columns[0], columns[-1]
    if (
        any(a.sheet != ws.title or a.min_col != a.max_col or (a.min_row, a.max_row) != (top, bottom) for a in areas.values())
        or columns != list(range(first, last + 1))
        or not top < unit_row < bottom
        or row_area.min_col >= first
    ):
        raise LookupError(
            f"templates/forms/{TEMPLATE}: {', '.join(KIND_NAMES.values())} must be adjacent single columns over the same rows, "
            f"around the row named {SUMMARY_ROW!r}"
        )
    _split_column_dimensions(ws)

    # The template columns, and what lies right of them (Ghi chú), before anything moves.
    protos = {
        kind: [_Proto(ws.cell(row=r, column=a.min_col).value, style_of(ws.cell(row=r, column=a.min_col))) for r in range(top, bottom + 1)]
        for kind, a in areas.items()
    }
    proto_widths = {kind: _width(ws, a.min_col) for kind, a in areas.items()}
    max_col, max_row = max(ws.max_column, row_area.max_col), ws.max_row
    right = [
        (cell.row, cell.column, cell.value, style_of(cell))
        for row in ws.iter_rows(min_row=1, max_row=max_row, min_col=last + 1, max_col=max_col)
        for cell in row
        if isinstance(cell, Cell) and (cell.value is not None or cell.has_style)
    ]
    right_widths = {c: _width(ws, c) for c in range(last + 1, max_col + 1)}
    width = sum(len(ind.kinds) for ind in indicators)
    shift = width - (last - first + 1)

    # Merged ranges reaching the template columns are dropped (inside them), widened (across them) or moved (right of them).
    merges: list[tuple[int, int, int, int]] = []
    for merged in list(ws.merged_cells.ranges):
        if merged.max_col < first:
            continue
        ws.unmerge_cells(str(merged))
        if merged.min_col >= first and merged.max_col <= last:
            continue
        if merged.min_col > last:
            merges.append((merged.min_row, merged.max_row, merged.min_col + shift, merged.max_col + shift))
        elif merged.max_col >= last:
            merges.append((merged.min_row, merged.max_row, min(merged.min_col, first), merged.max_col + shift))
        else:
            merges.append((merged.min_row, merged.max_row, merged.min_col, first - 1))
    for row in ws.iter_rows(min_row=1, max_row=max_row, min_col=first, max_col=max_col):
        for cell in row:
            if isinstance(cell, Cell):
                cell.value = None
                cell.style = "Normal"
    for column in range(first, max_col + 1):
        ws.column_dimensions.pop(get_column_letter(column), None)

    # Titles, headers and footers of the fixed columns (the only templates left outside the unit row).
    _render_rows(ws, context, [r for r in range(1, max_row + 1) if r != unit_row])

    # One column group per indicator.
    deferred: list[tuple[int, str, IndicatorView | None]] = []
    column = first
    for ind in indicators:
        group = list(range(column, column + len(ind.kinds)))
        local = {**context, "ind": ind}
        for c, kind in zip(group, ind.kinds, strict=True):
            _set_width(ws, c, proto_widths[kind])
        for offset, r in enumerate(range(top, bottom + 1)):
            cells = [protos[kind][offset] for kind in ind.kinds]
            for c, proto in zip(group, cells, strict=True):
                set_style(ws.cell(row=r, column=c), proto.style)
            filled = [(c, p) for c, p in zip(group, cells, strict=True) if p.value is not None]
            if r == unit_row:
                deferred.extend((c, p.value, ind) for c, p in filled)
            elif len(group) > 1 and len(filled) == 1:  # one label for the group: merged across it
                _, proto = filled[0]
                cell = writable_cell(ws, r, group[0])
                set_style(cell, proto.style)
                fill_cell(cell, proto.value, local)
                merges.append((r, r, group[0], group[-1]))
            else:
                for c, proto in filled:
                    fill_cell(writable_cell(ws, r, c), proto.value, local)
        column += len(group)

    # What lay right of the template columns, moved.
    for r, c, value, style in right:
        cell = writable_cell(ws, r, c + shift)
        set_style(cell, style)
        if r == unit_row:
            cell.value = value
        else:
            fill_cell(cell, value, context)
    for c, w in right_widths.items():
        _set_width(ws, c + shift, w)
    for min_row, max_row_, min_col, max_col_ in merges:
        if max_col_ > min_col or max_row_ > min_row:
            ws.merge_cells(start_row=min_row, end_row=max_row_, start_column=min_col, end_column=max_col_)

    # The unit rows.
    table_last_col = row_area.max_col + shift
    outside = [c for c in range(row_area.min_col, table_last_col + 1) if c < first or c >= first + width]
    deferred = [(c, source, None) for c, source in _take_natives(ws, unit_row, outside)] + deferred
    copies = repeat_block(ws, unit_row, unit_row, units, "u", context)
    for index, block in enumerate(copies, start=1):
        unit: UnitRow = block.item
        local = {**context, "u": unit, "index": index}
        for c, source, column_of in deferred:
            cell_context = local if column_of is None else {**local, "ind": column_of, "f": column_of.of(unit.code)}
            fill_cell(writable_cell(ws, block.first, c), source, cell_context)
        for c in outside:
            cell = ws.cell(row=block.first, column=c)
            if cell.data_type == "f":
                cell.data_type = "s"

    last_unit_row = unit_row + len(units) - 1
    if units:
        ws.auto_filter.ref = f"{get_column_letter(row_area.min_col)}{unit_row - 1}:{get_column_letter(table_last_col)}{last_unit_row}"
        _fit_text_columns(ws, [c for c in range(row_area.min_col, first)], unit_row, last_unit_row)
        _fit_rows(ws, unit_row, last_unit_row, list(range(row_area.min_col, table_last_col + 1)))
    ws.print_title_rows = f"{top}:{unit_row - 1}"


def _fill_targets(wb: Workbook, context: dict[str, Any], indicators: list[IndicatorView]) -> None:
    area = _area(wb, TARGET_ROW)
    ws = wb[area.sheet]
    row = area.min_row
    _render_rows(ws, context, [r for r in range(1, ws.max_row + 1) if r != row])
    columns = list(range(area.min_col, area.max_col + 1))
    natives = _take_natives(ws, row, columns)
    copies = repeat_block(ws, row, row, indicators, "ind", context)
    for index, block in enumerate(copies, start=1):
        local = {**context, "ind": block.item, "index": index}
        for c, source in natives:
            fill_cell(writable_cell(ws, block.first, c), source, local)
        for c in columns:
            cell = ws.cell(row=block.first, column=c)
            if cell.data_type == "f":
                cell.data_type = "s"
    if indicators:
        last = row + len(indicators) - 1
        ws.auto_filter.ref = f"{get_column_letter(area.min_col)}{row - 1}:{get_column_letter(area.max_col)}{last}"
        _fit_rows(ws, row, last, columns)


# --- public -------------------------------------------------------------------------------------------


def workbook_context(header: ReportHeader, data: ConsolidationInput, result: Consolidation) -> dict[str, Any]:
    """What every cell of the template sees besides `u`, `ind`, `f` and `index`."""
    return {
        "header": header,
        "plan": header.plan,
        "issuer": header.issuer,
        "duty": header.duty,
        "r": result,
        "as_of": result.as_of,
        "data": data,
    }


def build_report_workbook(header: ReportHeader, data: ConsolidationInput, result: Consolidation) -> Workbook:
    """The filled workbook, not yet saved (sheets "Tổng hợp" and "Chỉ tiêu" of the template)."""
    wb = open_template(TEMPLATE)
    context = workbook_context(header, data, result)
    indicators = indicator_views(data, result)
    units = unit_rows(data, indicators)
    _fill_summary(wb, context, units, indicators)
    _fill_targets(wb, context, indicators)
    _drop_names(wb, [SUMMARY_ROW, TARGET_ROW, *KIND_NAMES.values()])
    return wb


def report_workbook_name(header: ReportHeader, result: Consolidation) -> str:
    """'Tổng hợp số liệu - Báo cáo kết quả … năm 2024 - Sở Xây dựng (31-10-2024).xlsx': one per plan, duty and day."""
    return report_file_name("workbook", header, result)


def report_file_name(kind: str, header: ReportHeader, result: Consolidation) -> str:
    """A report file's name (`kind`: 'document' or 'workbook', an entry of reporting.files) from the duty's title,
    the issuer's short name and the day, safe on every file system."""
    facts = {"title": header.duty["title"].rstrip(". "), "issuer": header.issuer.get("short_name") or header.issuer["name"], "as_of": result.as_of}
    name = message("reporting.files", kind, **facts)
    return unicodedata.normalize("NFC", _FILE_NAME_UNSAFE.sub("-", name))


def write_report_workbook(header: ReportHeader, data: ConsolidationInput, result: Consolidation, path: Path) -> Path:
    """Write the consolidation's workbook to `path` (a file, or an existing folder to hold it under
    `report_workbook_name`), atomically; returns the file's path."""
    if path.is_dir():
        path = path / report_workbook_name(header, result)
    return save_workbook(build_report_workbook(header, data, result), path)


__all__ = [
    "EMPTY_FIGURE",
    "FigureView",
    "IndicatorView",
    "Number",
    "UnitRow",
    "build_report_workbook",
    "indicator_view",
    "report_workbook_name",
    "write_report_workbook",
]
