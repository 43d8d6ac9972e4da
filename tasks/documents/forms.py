"""The Excel data-entry form of one assignment, filled from the template (tasks.intake.form_reader reads one back).

A form is `templates/forms/data_entry.xlsx` filled for one unit and one report duty: a row per
indicator the unit reports, a block per narrative section, then the self-assessment. Its very
hidden sheet `_meta` holds the form's identity (a form id signed with the assignment's token, the
plan, duty and unit codes), the indicator and section codes it was made with, and the columns of
its input cells. The reader finds each row by the code in a hidden column, never by its number.

Reading a filled form (tasks.intake.form_reader) applies the rules of a submission file (`tasks.intake.submission_files`) to cells
and names every problem by sheet and cell ('Chỉ tiêu!E21'), in Vietnamese: the wording lives in
`templates/messages/forms.yaml`, the form's own words in the template's cells.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from cascade.formatting import parse_vn_number, plain_number
from models.assignment import Assignment
from models.plan import Aggregation, Comparator, DutyKind, ReportDuty, asked_sections
from models.specs import YES_WORDS
from tasks.documents.workbooks import (
    PreparedPackage,
    Render,
    is_template_text,
    open_template,
    render_cells,
    render_value,
    repeat_block,
    set_style,
    slot,
    style_of,
    writable_cell,
)
from tasks.plans.contexts import reference
from tasks.plans.targets import duty_targets, targets_for_unit, typed_targets, unit_share
from templates import message, words

TEMPLATE = "data_entry.xlsx"
META_SHEET = "_meta"
SCORE_MARK = "@self_score"  # in the section sheet's hidden code column, beside the score
ASSESSMENT_MARK = "@self_assessment"

# Input columns: the name used in _meta ('<name>_column') → the template's defined name.
COLUMNS = {
    "indicator_code": "form_indicator_code",
    "value": "form_indicator_value",
    "numerator": "form_indicator_numerator",
    "denominator": "form_indicator_denominator",
    "note": "form_indicator_note",
    "section_code": "form_section_code",
    "section_text": "form_section_text",
    "score": "form_score",
    "assessment": "form_assessment",
}
INDICATOR_BLOCK = "form_indicator_block"
SECTION_BLOCK = "form_section_block"
DISABLED_STYLE = "form_disabled_style"


def _xstring(text: str) -> str:
    """A code as OOXML text: a literal '_x' is written '_x005F_x', or Excel and LibreOffice would read
    'nha_o_xa_hoi' as holding an escaped character ('_xa_' → a line break). openpyxl writes strings
    as given and reads them back as stored, so the reader unescapes every string it reads."""
    return text.replace("_x", "_x005F_x")


# Data validation per kind of input; the words come from templates/messages/forms.yaml (validation.<kind>).
class _ValidationRule(TypedDict, total=False):
    """The arguments of openpyxl's DataValidation that differ from one kind of input cell to another."""

    type: Literal["decimal", "list"]
    operator: Literal["greaterThanOrEqual", "between"]
    formula1: str
    formula2: str
    errorStyle: Literal["warning", "stop"]


VALIDATION_RULES: dict[str, _ValidationRule] = {
    "number": {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0", "errorStyle": "warning"},
    "percent": {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100", "errorStyle": "warning"},
    "numerator": {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0", "errorStyle": "warning"},
    "denominator": {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0", "errorStyle": "warning"},
    "yes_no": {"type": "list", "errorStyle": "stop"},
    "score": {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100", "errorStyle": "warning"},
}


# ---------------------------------------------------------------------------------------------
# What a form shows
# ---------------------------------------------------------------------------------------------


def needs_form(duty: ReportDuty) -> bool:
    """Whether units answer the duty with a form: not for an implementing plan (they issue their own plan)."""
    return duty.kind != DutyKind.IMPLEMENTING_PLAN


def form_signature(token: str, assignment_id: int, unit_id: int, duty_id: int) -> str:
    message = f"form:{assignment_id}:{unit_id}:{duty_id}"
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()[:16]


def form_id(assignment: Assignment) -> str:
    """'GV-000123-<16 hex>': the reference and an HMAC keyed by the assignment's token, which the
    form never holds (anyone holding the file could then use the unit's links)."""
    return f"{reference(assignment)}-{form_signature(assignment.token, assignment.id, assignment.unit_id, assignment.duty_id)}"


def typed_figure(text: str, *, yes_no: bool = False) -> Decimal | None:
    """A figure as a person types it ('1.234', '32,4', '86,5%'; 'Đạt'/'Không đạt' for a yes/no
    criterion, which must then be 1 or 0), or None when the text is not one. The form reader and
    the portal's page both read typed text with it."""
    text = unicodedata.normalize("NFC", text.strip())
    if yes_no and text.lower() in YES_WORDS:
        return Decimal(YES_WORDS[text.lower()])
    try:
        number = parse_vn_number(text)
    except ValueError:
        return None
    if not number.is_finite():
        return None
    number = Decimal(plain_number(number))
    return None if yes_no and number not in (0, 1) else number


def asks_rate(aggregation: Aggregation) -> bool:
    """A weighted rate is reported as numerator and denominator, everything else as one value."""
    return aggregation == Aggregation.WEIGHTED_RATE


def is_yes_no(aggregation: Aggregation, unit_of_measure: str, unit_threshold: Decimal | None) -> bool:
    """A criterion each unit meets or not ('đạt tiêu chí Dân vận khéo'): its figure is 1 or 0."""
    return aggregation == Aggregation.SHARE_OF_UNITS and unit_of_measure == "%" and unit_threshold == 1


@dataclass(frozen=True)
class FormIndicator:
    code: str
    metric: str
    unit_of_measure: str
    aggregation: Aggregation
    comparator: Comparator | None  # None: a plain figure, no goal shown
    target_value: Decimal | None  # what the target asks of this unit: its own share of a sum
    unit_comparator: Comparator | None
    unit_threshold: Decimal | None

    @property
    def asks_rate(self) -> bool:
        return asks_rate(self.aggregation)

    @property
    def is_yes_no(self) -> bool:
        return is_yes_no(self.aggregation, self.unit_of_measure, self.unit_threshold)

    @property
    def is_percent(self) -> bool:
        return self.unit_of_measure == "%"

    @property
    def goal_comparator(self) -> Comparator | None:
        """How the unit's own figure is judged: by the unit threshold for a share of units."""
        if self.aggregation == Aggregation.SHARE_OF_UNITS and self.unit_threshold is not None:
            return self.unit_comparator or Comparator.GE
        return self.comparator

    @property
    def goal_value(self) -> Decimal | None:
        if self.aggregation == Aggregation.SHARE_OF_UNITS and self.unit_threshold is not None:
            return self.unit_threshold
        return self.target_value


@dataclass(frozen=True)
class FormSection:
    code: str
    title: str


@dataclass(frozen=True)
class FormPlan:
    key: str
    code: str  # '74/KH-SXD'
    title: str
    issued_on: date
    issuer_name: str
    year: int


@dataclass(frozen=True)
class FormUnit:
    code: str
    name: str


@dataclass(frozen=True)
class FormDuty:
    code: str
    title: str
    cutoff_on: date | None


@dataclass(frozen=True)
class FormSpec:
    """Everything one assignment's form shows, as plain data."""

    form_id: str
    assignment_id: int
    reference: str  # 'GV-000123'
    due_on: date  # the assignment's own due date
    plan: FormPlan
    unit: FormUnit
    duty: FormDuty
    indicators: tuple[FormIndicator, ...]
    sections: tuple[FormSection, ...]
    revision: int = 1  # the assignment's form revision when it was made: an amendment that reaches the form raises it


def form_spec(session: Session, assignment: Assignment, *, as_of: date) -> FormSpec:
    """The form of an assignment: the indicators its unit types (with its own targets; not the rates
    computed from two of its counts) and the duty's sections."""
    duty = assignment.duty
    if not needs_form(duty):
        raise ValueError(f"duty {duty.code!r} is answered with an implementing plan, not a form")
    plan, unit = duty.plan, assignment.unit
    targets = typed_targets(targets_for_unit(duty_targets(session, duty), unit.code))
    return FormSpec(
        form_id=form_id(assignment),
        assignment_id=assignment.id,
        reference=reference(assignment),
        due_on=assignment.due_on,
        plan=FormPlan(key=plan.key, code=plan.code, title=plan.title, issued_on=plan.issued_on, issuer_name=plan.issuer.name, year=plan.year),
        unit=FormUnit(code=unit.code, name=unit.name),
        duty=FormDuty(code=duty.code, title=duty.title, cutoff_on=duty.cutoff_on),
        indicators=tuple(
            FormIndicator(
                code=t.code,
                metric=t.metric,
                unit_of_measure=t.unit_of_measure,
                aggregation=Aggregation(t.aggregation),
                comparator=Comparator(t.comparator) if t.comparator else None,
                target_value=unit_share(session, t, unit.code, as_of),
                unit_comparator=Comparator(t.unit_comparator) if t.unit_comparator else None,
                unit_threshold=t.unit_threshold,
            )
            for t in targets
        ),
        sections=tuple(FormSection(code=s["code"], title=s["title"]) for s in asked_sections(duty)),
        revision=assignment.form_revision,
    )


def form_filename(spec: FormSpec) -> str:
    """'Biểu mẫu báo cáo GV-000123.xlsx' (the wording is in templates/messages/forms.yaml)."""
    return one_line(message("forms.filename", form=spec))


# ---------------------------------------------------------------------------------------------
# Writing a form
# ---------------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """A text of templates/messages/forms.yaml as a unit reads it: whitespace folded to single spaces."""
    return " ".join(text.split())


@dataclass(frozen=True)
class _Place:
    """Where a defined name of the template points."""

    sheet: str
    min_row: int
    max_row: int
    column: int

    def row_after(self, block: _Place, copies: int) -> int:
        """This place's row once `block` is repeated `copies` times (rows below it move)."""
        if self.sheet != block.sheet or self.max_row < block.min_row:
            return self.min_row
        if self.min_row > block.max_row:
            return self.min_row + (copies - 1) * (block.max_row - block.min_row + 1)
        raise ValueError(f"template {TEMPLATE}: a cell below a block must not lie inside it")

    def row_in(self, block: _Place, first: int) -> int:
        """This place's row in the copy of `block` starting at row `first`."""
        if self.sheet != block.sheet or not block.min_row <= self.min_row <= block.max_row:
            raise ValueError(f"template {TEMPLATE}: an input cell of a block lies outside it")
        return first + self.min_row - block.min_row


def _places(wb: Workbook) -> dict[str, _Place]:
    places = {}
    for name in (*COLUMNS.values(), INDICATOR_BLOCK, SECTION_BLOCK, DISABLED_STYLE):
        if name not in wb.defined_names:
            raise ValueError(f"template {TEMPLATE} has no defined name {name!r} (rebuild it with templates/forms/build_data_entry.py)")
        ((sheet, ref),) = wb.defined_names[name].destinations
        min_col, min_row, _, max_row = range_boundaries(ref.replace("$", ""))
        if min_col is None or min_row is None or max_row is None:
            raise ValueError(f"template {TEMPLATE}: the name {name!r} must mark cells, not whole rows or columns")
        places[name] = _Place(sheet, min_row, max_row, min_col)
    if places[INDICATOR_BLOCK].sheet == places[SECTION_BLOCK].sheet:
        raise ValueError(f"template {TEMPLATE}: the indicator and section blocks must be on different sheets")
    for name in (COLUMNS["score"], COLUMNS["assessment"]):
        if places[name].sheet != places[SECTION_BLOCK].sheet:
            raise ValueError(f"template {TEMPLATE}: {name} must be on the section sheet")
    return places


def _fill_sheet(ws: Worksheet, block: _Place, items: tuple[Any, ...], name: str, context: dict[str, Any], render: Render) -> list[int]:
    """Render the sheet and repeat its block once per item; returns the first row of each copy."""
    render_cells(ws, context, rows=[r for r in range(1, ws.max_row + 1) if not block.min_row <= r <= block.max_row], render=render)
    return [c.first for c in repeat_block(ws, block.min_row, block.max_row, items, name, context, render)]


def _add_validations(ws: Worksheet, cells: dict[str, list[str]]) -> None:
    for kind, coordinates in cells.items():
        if not coordinates:
            continue
        rule = VALIDATION_RULES[kind].copy()
        if kind == "yes_no":
            rule["formula1"] = '"' + ",".join(words("forms.answer").values()) + '"'
        validation = DataValidation(
            **rule, allow_blank=True, showInputMessage=True, showErrorMessage=True,
            promptTitle=message("forms.validation", f"{kind}.title"), prompt=message("forms.validation", f"{kind}.prompt"),
            errorTitle=message("forms.validation", f"{kind}.error_title"), error=message("forms.validation", f"{kind}.error"),
        )  # fmt: skip
        for coordinate in coordinates:
            validation.add(coordinate)
        ws.add_data_validation(validation)


# Up to this many rows, the indicator sheet is printed on one page (scaled to fit); a longer one runs on over pages
# of the page's width, its header row repeated.
ONE_PAGE_ROWS = 45


def _value_kind(indicator: FormIndicator) -> str:
    if indicator.is_yes_no:
        return "yes_no"
    return "percent" if indicator.is_percent else "number"


def _context(spec: FormSpec) -> dict[str, Any]:
    return {"form": spec, "plan": spec.plan, "unit": spec.unit, "duty": spec.duty}


class _Filler(Protocol):
    """How `_fill` puts a value into a cell: rendered now (`_Now`), or a stand-in for a value rendered per copy (`_Deferred`)."""

    def render(self, value: Any, context: dict[str, Any]) -> Any: ...

    def value(self, get: Callable[[FormSpec], str]) -> str: ...


@dataclass(frozen=True)
class _Now:
    spec: FormSpec

    def render(self, value: Any, context: dict[str, Any]) -> Any:
        return render_value(value, context)

    def value(self, get: Callable[[FormSpec], str]) -> str:
        return get(self.spec)


class _Deferred:
    """Fills a workbook with stand-ins and keeps, for each, how to make its value from any spec of the same shape."""

    def __init__(self) -> None:
        self.slots: list[Callable[[FormSpec], str]] = []

    def _slot(self, get: Callable[[FormSpec], str]) -> str:
        self.slots.append(get)
        return slot(len(self.slots) - 1)

    def render(self, value: Any, context: dict[str, Any]) -> Any:
        if not is_template_text(value):
            return value
        # The copy's item by its place: the same place holds the same kind of indicator or section in every spec of the shape
        item = next(((name, context["index"] - 1) for name in ("ind", "sec") if name in context), None)

        def rendered(spec: FormSpec) -> str:
            local = _context(spec)
            if item is not None:
                name, index = item
                local |= {name: (spec.indicators if name == "ind" else spec.sections)[index], "index": index + 1}
            return str(render_value(value, local))

        return self._slot(rendered)

    def value(self, get: Callable[[FormSpec], str]) -> str:
        return self._slot(get)


def _fill(spec: FormSpec, filler: _Filler) -> Workbook:
    """The template filled for `spec`: rows and blocks laid out, validations set, cell texts from `filler`."""
    wb = open_template(TEMPLATE)
    places = _places(wb)
    context = _context(spec)
    disabled = places[DISABLED_STYLE]
    disabled_style = style_of(wb[disabled.sheet].cell(disabled.min_row, disabled.column))

    # Indicators: one row each; the inputs that do not apply are greyed and locked
    block = places[INDICATOR_BLOCK]
    ws = wb[block.sheet]
    cells: dict[str, list[str]] = {kind: [] for kind in VALIDATION_RULES}
    for first, indicator in zip(_fill_sheet(ws, block, spec.indicators, "ind", context, filler.render), spec.indicators, strict=True):

        def at(name: str, first: int = first) -> Cell:
            place = places[COLUMNS[name]]
            return writable_cell(ws, place.row_in(block, first), place.column)

        at("indicator_code").value = _xstring(indicator.code)
        asked = ("numerator", "denominator") if indicator.asks_rate else ("value",)
        for name in ("value", "numerator", "denominator"):
            if name in asked:
                cells[name if indicator.asks_rate else _value_kind(indicator)].append(at(name).coordinate)
            else:
                at(name).value = None
                set_style(at(name), disabled_style)
    _add_validations(ws, cells)
    if ws.max_row <= ONE_PAGE_ROWS:  # a short sheet prints on one page: its signature block stays with its table
        ws.page_setup.fitToHeight = 1

    # Sections: one block each; then the self-assessment, moved down with the rows
    block = places[SECTION_BLOCK]
    ws = wb[block.sheet]
    code = places[COLUMNS["section_code"]]
    starts = _fill_sheet(ws, block, spec.sections, "sec", context, filler.render)
    for first, section in zip(starts, spec.sections, strict=True):
        ws.cell(code.row_in(block, first), code.column).value = _xstring(section.code)
    score_row = places[COLUMNS["score"]].row_after(block, len(starts))
    ws.cell(score_row, code.column).value = SCORE_MARK
    ws.cell(places[COLUMNS["assessment"]].row_after(block, len(starts)), code.column).value = ASSESSMENT_MARK
    _add_validations(ws, {"score": [ws.cell(score_row, places[COLUMNS["score"]].column).coordinate]})

    # Identity and layout, for the reader
    meta = wb[META_SHEET]
    rows: list[list[Any]] = [
        ["form_id", filler.value(lambda s: _xstring(s.form_id))],
        ["plan", filler.value(lambda s: _xstring(s.plan.key))],
        ["duty", filler.value(lambda s: _xstring(s.duty.code))],
        ["unit", filler.value(lambda s: _xstring(s.unit.code))],
        ["revision", filler.value(lambda s: str(s.revision))],
        ["indicators", *(_xstring(i.code) for i in spec.indicators)],
        ["sections", *(_xstring(s.code) for s in spec.sections)],
        ["indicator_sheet", places[INDICATOR_BLOCK].sheet],
        ["section_sheet", places[SECTION_BLOCK].sheet],
        *([f"{name}_column", get_column_letter(places[defined].column)] for name, defined in COLUMNS.items()),
    ]
    for row in rows:
        meta.append(row)
    for name in list(wb.defined_names):
        if name.startswith("form_"):  # they point at the template's rows, not the filled ones
            del wb.defined_names[name]
    return wb


def form_workbook(spec: FormSpec) -> Workbook:
    """The template filled for one assignment, as an openpyxl workbook (what `write_form` writes)."""
    return _fill(spec, _Now(spec))


@dataclass(frozen=True)
class _PreparedForm:
    package: PreparedPackage
    slots: tuple[Callable[[FormSpec], str], ...]


# Forms of one shape differ only in their texts: prepared once per shape, copied per assignment.
_prepared: dict[tuple[Any, ...], _PreparedForm] = {}
_PREPARED_KEPT = 64


def _shape(spec: FormSpec) -> tuple[Any, ...]:
    """What lays a form out (its rows, greyed cells, validations and codes); every other difference is text."""
    indicators = tuple((i.code, i.asks_rate, _value_kind(i)) for i in spec.indicators)
    return indicators, tuple(s.code for s in spec.sections)


def write_form(spec: FormSpec, path: Path) -> Path:
    """Fill the template for one assignment and write it atomically to `path`.

    The first form of each shape (a duty's indicators and sections) is filled and saved with
    stand-ins for its texts; every form of that shape is then a copy with its own texts, rendered
    from the same template cells (the same file as saving `form_workbook(spec)`, at a tenth of the cost).
    """
    key = _shape(spec)
    prepared = _prepared.get(key)
    if prepared is None:
        deferred = _Deferred()
        package = PreparedPackage(_fill(spec, deferred))
        prepared = _prepared[key] = _PreparedForm(package, tuple(deferred.slots))
        while len(_prepared) > _PREPARED_KEPT:
            del _prepared[next(iter(_prepared))]
    return prepared.package.write([get(spec) for get in prepared.slots], Path(path))
