"""The Excel data-entry form of one assignment: fill it from the template, read a filled one back.

A form is `templates/forms/data_entry.xlsx` filled for one unit and one report duty: a row per
indicator the unit reports, a block per narrative section, then the self-assessment. Its very
hidden sheet `_meta` holds the form's identity (a form id signed with the assignment's token, the
plan, duty and unit codes), the indicator and section codes it was made with, and the columns of
its input cells. The reader finds each row by the code in a hidden column, never by its number.

Reading a filled form applies the rules of a submission file (`tasks.submission_files`) to cells
and names every problem by sheet and cell ('Chỉ tiêu!E21'), in Vietnamese: the wording lives in
`templates/forms/messages.yaml`, the form's own words in the template's cells.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import warnings
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import FormError, Problem
from cascade.formatting import parse_vn_number, plain_number, short_date, vn_number, vn_percent
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import Aggregation, Comparator, DutyKind, ReportDuty, Target
from models.specs import YES_WORDS
from models.submission import Channel
from models.unit import Unit
from tasks.render import reference
from tasks.submissions import FigureInput, SubmissionInput
from tasks.targets import duty_targets, targets_for_unit, unit_share
from tasks.workbooks import FORMS_DIR, open_template, render_cells, repeat_block, save_workbook
from templates import render_string

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


# Data validation per kind of input; the words come from messages.yaml (validation.<kind>).
VALIDATION_RULES: dict[str, dict[str, str]] = {
    "number": {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0", "errorStyle": "warning"},
    "percent": {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100", "errorStyle": "warning"},
    "numerator": {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0", "errorStyle": "warning"},
    "denominator": {"type": "decimal", "operator": "greaterThan", "formula1": "0", "errorStyle": "warning"},
    "yes_no": {"type": "list", "errorStyle": "stop"},
    "score": {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100", "errorStyle": "warning"},
}


# ---------------------------------------------------------------------------------------------
# What a form shows
# ---------------------------------------------------------------------------------------------


def needs_form(duty: ReportDuty) -> bool:
    """Whether units answer the duty with a form: not for an implementing plan (they issue their own plan)."""
    return duty.kind != DutyKind.IMPLEMENTING_PLAN


def _signature(token: str, assignment_id: int, unit_id: int, duty_id: int) -> str:
    message = f"form:{assignment_id}:{unit_id}:{duty_id}"
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()[:16]


def form_id(assignment: Assignment) -> str:
    """'GV-000123-<16 hex>': the reference and an HMAC keyed by the assignment's token, which the
    form never holds (anyone holding the file could then use the unit's links)."""
    return f"{reference(assignment)}-{_signature(assignment.token, assignment.id, assignment.unit_id, assignment.duty_id)}"


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
    comparator: Comparator
    target_value: Decimal  # what the target asks of this unit: its own share of a sum
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
    def goal_comparator(self) -> Comparator:
        """How the unit's own figure is judged: by the unit threshold for a share of units."""
        if self.aggregation == Aggregation.SHARE_OF_UNITS and self.unit_threshold is not None:
            return self.unit_comparator or Comparator.GE
        return self.comparator

    @property
    def goal_value(self) -> Decimal:
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


def form_spec(session: Session, assignment: Assignment, *, as_of: date) -> FormSpec:
    """The form of an assignment: the indicators its unit reports (with its own targets) and the duty's sections."""
    duty = assignment.duty
    if not needs_form(duty):
        raise ValueError(f"duty {duty.code!r} is answered with an implementing plan, not a form")
    plan, unit = duty.plan, assignment.unit
    targets = targets_for_unit(duty_targets(session, duty), unit.code)
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
                code=t.code, metric=t.metric, unit_of_measure=t.unit_of_measure, aggregation=Aggregation(t.aggregation),
                comparator=Comparator(t.comparator), target_value=unit_share(session, t, unit.code, as_of),
                unit_comparator=Comparator(t.unit_comparator) if t.unit_comparator else None, unit_threshold=t.unit_threshold,
            )
            for t in targets
        ),  # fmt: skip
        sections=tuple(FormSection(code=s["code"], title=s["title"]) for s in duty.sections),
    )


def form_filename(spec: FormSpec) -> str:
    """'Biểu mẫu báo cáo GV-000123.xlsx' (the wording is in messages.yaml)."""
    return " ".join(render_string(_messages()["filename"], form=spec).split())


# ---------------------------------------------------------------------------------------------
# Writing a form
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _messages() -> dict[str, Any]:
    return yaml.safe_load((FORMS_DIR / "messages.yaml").read_text(encoding="utf-8"))


def _say(group: str, name: str, /, **context: Any) -> str:
    """One of messages.yaml's texts, rendered; whitespace folded to single spaces."""
    return " ".join(render_string(_messages()[group][name], **context).split())


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
        places[name] = _Place(sheet, min_row, max_row, min_col)
    if places[INDICATOR_BLOCK].sheet == places[SECTION_BLOCK].sheet:
        raise ValueError(f"template {TEMPLATE}: the indicator and section blocks must be on different sheets")
    for name in (COLUMNS["score"], COLUMNS["assessment"]):
        if places[name].sheet != places[SECTION_BLOCK].sheet:
            raise ValueError(f"template {TEMPLATE}: {name} must be on the section sheet")
    return places


def _fill_sheet(ws: Worksheet, block: _Place, items: tuple[Any, ...], name: str, context: dict[str, Any]) -> list[int]:
    """Render the sheet and repeat its block once per item; returns the first row of each copy."""
    render_cells(ws, context, rows=[r for r in range(1, ws.max_row + 1) if not block.min_row <= r <= block.max_row])
    return [c.first for c in repeat_block(ws, block.min_row, block.max_row, items, name, context)]


def _add_validations(ws: Worksheet, cells: dict[str, list[str]]) -> None:
    texts = _messages()["validation"]
    for kind, coordinates in cells.items():
        if not coordinates:
            continue
        words = texts[kind]
        rule = dict(VALIDATION_RULES[kind])
        if kind == "yes_no":
            rule["formula1"] = '"' + ",".join(words["choices"]) + '"'
        validation = DataValidation(
            **rule, allow_blank=True, showInputMessage=True, showErrorMessage=True,
            promptTitle=render_string(words["title"]), prompt=render_string(words["prompt"]),
            errorTitle=render_string(words["error_title"]), error=render_string(words["error"]),
        )  # fmt: skip
        for coordinate in coordinates:
            validation.add(coordinate)
        ws.add_data_validation(validation)


def _value_kind(indicator: FormIndicator) -> str:
    if indicator.is_yes_no:
        return "yes_no"
    return "percent" if indicator.is_percent else "number"


def write_form(spec: FormSpec, path: Path) -> Path:
    """Fill the template for one assignment and write it atomically to `path`."""
    wb = open_template(TEMPLATE)
    places = _places(wb)
    context = {"form": spec, "plan": spec.plan, "unit": spec.unit, "duty": spec.duty}
    disabled = places[DISABLED_STYLE]
    disabled_style = copy(wb[disabled.sheet].cell(disabled.min_row, disabled.column)._style)

    # Indicators: one row each; the inputs that do not apply are greyed and locked
    block = places[INDICATOR_BLOCK]
    ws = wb[block.sheet]
    cells: dict[str, list[str]] = {kind: [] for kind in VALIDATION_RULES}
    for first, indicator in zip(_fill_sheet(ws, block, spec.indicators, "ind", context), spec.indicators):

        def at(name: str, first: int = first) -> Any:
            place = places[COLUMNS[name]]
            return ws.cell(place.row_in(block, first), place.column)

        at("indicator_code").value = _xstring(indicator.code)
        asked = ("numerator", "denominator") if indicator.asks_rate else ("value",)
        for name in ("value", "numerator", "denominator"):
            if name in asked:
                cells[name if indicator.asks_rate else _value_kind(indicator)].append(at(name).coordinate)
            else:
                at(name).value = None
                at(name)._style = copy(disabled_style)
    _add_validations(ws, cells)

    # Sections: one block each; then the self-assessment, moved down with the rows
    block = places[SECTION_BLOCK]
    ws = wb[block.sheet]
    code = places[COLUMNS["section_code"]]
    starts = _fill_sheet(ws, block, spec.sections, "sec", context)
    for first, section in zip(starts, spec.sections):
        ws.cell(code.row_in(block, first), code.column).value = _xstring(section.code)
    score_row = places[COLUMNS["score"]].row_after(block, len(starts))
    ws.cell(score_row, code.column).value = SCORE_MARK
    ws.cell(places[COLUMNS["assessment"]].row_after(block, len(starts)), code.column).value = ASSESSMENT_MARK
    _add_validations(ws, {"score": [ws.cell(score_row, places[COLUMNS["score"]].column).coordinate]})

    # Identity and layout, for the reader
    meta = wb[META_SHEET]
    rows: list[list[Any]] = [
        ["form_id", spec.form_id],
        ["plan", spec.plan.key],
        ["duty", spec.duty.code],
        ["unit", spec.unit.code],
        ["indicators", *(i.code for i in spec.indicators)],
        ["sections", *(s.code for s in spec.sections)],
        ["indicator_sheet", places[INDICATOR_BLOCK].sheet],
        ["section_sheet", places[SECTION_BLOCK].sheet],
        *([f"{name}_column", get_column_letter(places[defined].column)] for name, defined in COLUMNS.items()),
    ]
    for row in rows:
        meta.append([_xstring(v) for v in row])
    for name in list(wb.defined_names):
        if name.startswith("form_"):  # they point at the template's rows, not the filled ones
            del wb.defined_names[name]
    return save_workbook(wb, Path(path))


# ---------------------------------------------------------------------------------------------
# Reading a filled form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Meta:
    form_id: str
    plan: str
    duty: str
    unit: str
    indicators: tuple[str, ...]
    sections: tuple[str, ...]
    indicator_sheet: str
    section_sheet: str
    columns: dict[str, int]


def _problem(kind: str, path: str | None = None, /, **context: Any) -> Problem:
    return Problem(_say("problems", kind, **context), path=path)


def _field(name: str, /, **context: Any) -> str:
    return _say("fields", name, **context)


def _load(data: bytes, source: str) -> tuple[Workbook, Workbook]:
    """The workbook twice: with the values Excel computed, and with the formulas themselves."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Excel's extensions openpyxl does not read
            return load_workbook(BytesIO(data), data_only=True), load_workbook(BytesIO(data))
    except Exception:  # not a zip, not a workbook, encrypted: zipfile, lxml and openpyxl raise many kinds
        raise FormError(source, [_problem("not_xlsx", name=Path(source).name)]) from None


def _read_meta(wb: Workbook, source: str) -> _Meta:
    if META_SHEET not in wb.sheetnames:
        raise FormError(source, [_problem("not_our_form", name=Path(source).name)])
    entries: dict[str, tuple[str, ...]] = {}
    for row in wb[META_SHEET].iter_rows(values_only=True):
        if row and isinstance(row[0], str):
            entries[unescape(row[0])] = tuple(unescape(str(v)).strip() for v in row[1:] if v is not None and str(v).strip())

    def one(key: str) -> str:
        values = entries.get(key, ())
        if len(values) != 1:
            raise FormError(source, [_problem("damaged_meta", key=key)])
        return values[0]

    columns = {}
    for name in COLUMNS:
        try:
            columns[name] = column_index_from_string(one(f"{name}_column"))
        except ValueError:
            raise FormError(source, [_problem("damaged_meta", key=f"{name}_column")]) from None
    for key in ("indicators", "sections"):
        if key not in entries:
            raise FormError(source, [_problem("damaged_meta", key=key)])
    return _Meta(
        form_id=one("form_id"), plan=one("plan"), duty=one("duty"), unit=one("unit"),
        indicators=entries["indicators"], sections=entries["sections"],
        indicator_sheet=one("indicator_sheet"), section_sheet=one("section_sheet"), columns=columns,
    )  # fmt: skip


def _identify(session: Session, meta: _Meta, source: str, expected_assignment_id: int | None) -> Assignment:
    """The assignment the form was made for, if it may still answer it; raises FormError."""
    ref, _, signature = meta.form_id.rpartition("-")
    match = re.fullmatch(r"[A-Z]+-(\d+)", ref)
    if match is None or not re.fullmatch(r"[0-9a-f]{16}", signature):
        raise FormError(source, [_problem("damaged_meta", key="form_id")])
    assignment = session.get(Assignment, int(match[1]))
    if expected_assignment_id is not None and int(match[1]) != expected_assignment_id:
        expected = session.get(Assignment, expected_assignment_id)
        if assignment is not None:
            unit_name, duty_title = assignment.unit.name, assignment.duty.title
        else:
            unit_name, duty_title = session.scalar(select(Unit.name).where(Unit.code == meta.unit)) or meta.unit, None
        raise FormError(source, [_problem(
            "other_assignment", reference=ref, expected=reference(expected) if expected is not None else str(expected_assignment_id),
            duty_title=duty_title, unit_name=unit_name,
        )])  # fmt: skip
    if assignment is None:
        raise FormError(source, [_problem("assignment_not_found", reference=ref)])
    form_unit = session.scalar(select(Unit).where(Unit.code == meta.unit))
    genuine = (
        form_unit is not None
        and ref == reference(assignment)
        and hmac.compare_digest(signature, _signature(assignment.token, assignment.id, form_unit.id, assignment.duty_id))
        and (meta.plan, meta.duty) == (assignment.duty.plan.key, assignment.duty.code)
    )
    if not genuine or form_unit is None:
        raise FormError(source, [_problem("forged", found=meta.form_id, reference=reference(assignment))])
    if form_unit.id != assignment.unit_id:
        raise FormError(source, [_problem("transferred", reference=ref, form_unit=form_unit.name, unit_name=assignment.unit.name)])
    if assignment.status == AssignmentStatus.MERGED:
        raise FormError(source, [_problem("merged", reference=ref, unit_name=assignment.unit.name)])
    return assignment


def _check_codes(meta: _Meta, targets: list[Target], duty: ReportDuty, reference_: str, source: str) -> None:
    """The form must ask for what the duty asks now: the plan may have changed since it was made."""
    indicators = [t.code for t in targets]
    sections = [s["code"] for s in duty.sections]
    if set(meta.indicators) != set(indicators) or set(meta.sections) != set(sections):
        raise FormError(source, [_problem(
            "plan_changed", reference=reference_,
            added_indicators=[f"“{t.metric}”" for t in targets if t.code not in meta.indicators],
            removed_indicators=[c for c in meta.indicators if c not in indicators],
            added_sections=[f"“{s['title']}”" for s in duty.sections if s["code"] not in meta.sections],
            removed_sections=[c for c in meta.sections if c not in sections],
        )])  # fmt: skip


@dataclass(frozen=True)
class _Cell:
    path: str  # 'Chỉ tiêu!E21'
    value: Any  # as Excel last computed it
    number_format: str
    formula: str | None

    @property
    def is_empty(self) -> bool:
        return self.formula is None and (self.value is None or (isinstance(self.value, str) and not self.value.strip()))

    @property
    def shown(self) -> str:
        """What the cell holds, as a person would quote it."""
        if self.value is None and self.formula is not None:
            return self.formula
        if isinstance(self.value, bool):
            return "TRUE" if self.value else "FALSE"
        if isinstance(self.value, (int, float)):
            return vn_percent(self.value * 100) if "%" in self.number_format else vn_number(self.value)
        text = str(self.value).strip()
        return text if len(text) <= 60 else text[:57] + "..."


class _Invalid:
    """A cell whose content was reported as a problem."""


INVALID = _Invalid()


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _FormReader:
    """Reads the filled cells, anchored on the codes of the hidden columns; collects every problem."""

    def __init__(self, values: Workbook, formulas: Workbook, meta: _Meta) -> None:
        self.values, self.formulas, self.meta = values, formulas, meta
        self.problems: list[Problem] = []

    def report(self, kind: str, path: str | None, /, **context: Any) -> None:
        self.problems.append(_problem(kind, path, **context))

    def sheet(self, title: str) -> Worksheet | None:
        if title not in self.values.sheetnames:
            self.report("damaged_sheet", title, sheet=title)
            return None
        return self.values[title]

    def cell(self, ws: Worksheet, row: int, column: int) -> _Cell:
        formula_cell = self.formulas[ws.title].cell(row, column)
        formula = formula_cell.value if formula_cell.data_type == "f" else None
        value_cell = ws.cell(row, column)
        value = unescape(value_cell.value) if isinstance(value_cell.value, str) else value_cell.value  # Excel writes '\r' as '_x000D_'
        return _Cell(f"{ws.title}!{value_cell.coordinate}", value, value_cell.number_format or "", None if formula is None else str(getattr(formula, "text", formula)))

    def rows_by_code(self, ws: Worksheet, column: int) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for row, (value,) in enumerate(ws.iter_rows(min_row=1, min_col=column, max_col=column, values_only=True), start=1):
            if isinstance(value, str) and value.strip():
                rows.setdefault(unescape(value).strip(), []).append(row)
        return rows

    def row_of(self, ws: Worksheet, rows: dict[str, list[int]], code: str, what: str, shown_column: int) -> int | None:
        found = rows.get(code, [])
        if not found:
            self.report("missing_row", ws.title, what=what, sheet=ws.title)
            return None
        for extra in found[1:]:
            self.report("duplicate_row", f"{ws.title}!{get_column_letter(shown_column)}{extra}", what=what)
        return found[0]

    def number(self, cell: _Cell, what: str, *, yes_no: bool = False, non_negative: bool = True) -> Decimal | None | _Invalid:
        """A figure: None when empty; INVALID (and a problem) when it is not one."""
        if cell.formula is not None and cell.value is None:
            self.report("formula_not_computed", cell.path, what=what, formula=cell.formula)
            return INVALID
        if cell.is_empty:
            return None
        value = cell.value
        wrong = "not_yes_no" if yes_no else "not_a_number"
        if isinstance(value, bool):
            if yes_no:
                return Decimal(int(value))
            self.report(wrong, cell.path, what=what, found=cell.shown)
            return INVALID
        if isinstance(value, (datetime, date, time, timedelta)):
            self.report("a_date", cell.path, what=what, found=short_date(value) if isinstance(value, (date, datetime)) else str(value))
            return INVALID
        if isinstance(value, (int, float)):
            number = Decimal(format(value, ".15g")) if isinstance(value, float) else Decimal(value)  # Excel keeps 15 digits
            if "%" in cell.number_format:
                number *= 100  # '86,5%' typed into a percent cell is stored as 0.865
        elif isinstance(value, str):
            text = _nfc(value.strip())
            if yes_no and text.lower() in YES_WORDS:
                return Decimal(YES_WORDS[text.lower()])
            try:
                number = parse_vn_number(text)
            except ValueError:
                number = Decimal("NaN")
            if not number.is_finite():
                self.report(wrong, cell.path, what=what, found=cell.shown)
                return INVALID
        else:
            self.report(wrong, cell.path, what=what, found=cell.shown)
            return INVALID
        number = Decimal(plain_number(number))
        if yes_no and number not in (0, 1):
            self.report(wrong, cell.path, what=what, found=cell.shown)
            return INVALID
        if non_negative and number < 0:
            self.report("negative", cell.path, what=what, found=vn_number(number))
            return INVALID
        return number

    def text(self, cell: _Cell, what: str) -> str | _Invalid:
        if cell.formula is not None and cell.value is None:
            self.report("formula_not_computed", cell.path, what=what, formula=cell.formula)
            return INVALID
        value = cell.value
        if value is None:
            return ""
        if isinstance(value, (date, datetime)):
            return short_date(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return vn_number(value)
        return _nfc(str(value).replace("\r\n", "\n").strip())

    def figures(self, targets: list[Target]) -> dict[str, FigureInput]:
        ws = self.sheet(self.meta.indicator_sheet)
        if ws is None:
            return {}
        columns = self.meta.columns
        rows = self.rows_by_code(ws, columns["indicator_code"])
        figures = {}
        for target in targets:
            metric = target.metric
            row = self.row_of(ws, rows, target.code, _field("indicator_row", metric=metric), columns["value"])
            if row is None:
                continue
            value, numerator, denominator, note = (self.cell(ws, row, columns[n]) for n in ("value", "numerator", "denominator", "note"))
            remark = self.text(note, _field("note", metric=metric))
            remark = "" if isinstance(remark, _Invalid) else remark
            if asks_rate(Aggregation(target.aggregation)):
                if not value.is_empty:
                    self.report("value_for_rate", value.path, what=_field("value", metric=metric), found=value.shown)
                parts = []
                for cell, name in ((numerator, "numerator"), (denominator, "denominator")):
                    what = _field(name, metric=metric)
                    part = self.number(cell, what)
                    if part is None:
                        self.report("required_rate", cell.path, what=what)
                    parts.append(part)
                top, bottom = parts
                if isinstance(top, Decimal) and isinstance(bottom, Decimal):
                    if bottom == 0:
                        self.report("zero_denominator", denominator.path, what=_field("denominator", metric=metric))
                    elif top > bottom:
                        self.report("numerator_gt_denominator", numerator.path, what=_field("numerator", metric=metric),
                                    numerator=vn_number(top), denominator=vn_number(bottom))  # fmt: skip
                    else:
                        figures[target.code] = FigureInput(numerator=top, denominator=bottom, note=remark)
            else:
                for cell, name in ((numerator, "numerator"), (denominator, "denominator")):
                    if not cell.is_empty:
                        self.report("rate_for_value", cell.path, what=_field(name, metric=metric), found=cell.shown)
                yes_no = is_yes_no(Aggregation(target.aggregation), target.unit_of_measure, target.unit_threshold)
                what = _field("value", metric=metric)
                figure = self.number(value, what, yes_no=yes_no)
                if figure is None:
                    self.report("required_value", value.path, what=what, yes_no=yes_no, unit_of_measure=target.unit_of_measure)
                elif isinstance(figure, Decimal):
                    figures[target.code] = FigureInput(value=figure, note=remark)
        return figures

    def narrative(self, sections: list[dict[str, Any]]) -> tuple[dict[str, str], Decimal | None, str]:
        """The sections' texts, the self-assessment score and its explanation."""
        ws = self.sheet(self.meta.section_sheet)
        if ws is None:
            return {}, None, ""
        columns = self.meta.columns
        rows = self.rows_by_code(ws, columns["section_code"])
        texts = {}
        for section in sections:
            title = section["title"]
            row = self.row_of(ws, rows, section["code"], _field("section_row", title=title), columns["section_text"])
            if row is None:
                continue
            cell = self.cell(ws, row, columns["section_text"])
            text = self.text(cell, _field("section", title=title))
            if text == "":
                self.report("section_empty", cell.path, what=_field("section", title=title))
            elif isinstance(text, str):
                texts[section["code"]] = text
        score: Decimal | None = None
        row = self.row_of(ws, rows, SCORE_MARK, _field("score_row"), columns["score"])
        if row is not None:
            cell = self.cell(ws, row, columns["score"])
            found = self.number(cell, _field("score"), non_negative=False)
            if isinstance(found, Decimal) and not 0 <= found <= 100:
                self.report("score_range", cell.path, what=_field("score"), found=vn_number(found))
            elif isinstance(found, Decimal):
                score = found
        assessment = ""
        row = self.row_of(ws, rows, ASSESSMENT_MARK, _field("assessment_row"), columns["assessment"])
        if row is not None:
            found_text = self.text(self.cell(ws, row, columns["assessment"]), _field("assessment"))
            assessment = found_text if isinstance(found_text, str) else ""
        return texts, score, assessment


def read_form(
    path: str | Path,
    *,
    expected_assignment_id: int | None = None,
    channel: Channel = Channel.FILE,
    sender: str | None = None,
) -> SubmissionInput:
    """Read a filled form into a submission of its assignment; raises FormError listing every problem.

    `expected_assignment_id` is the assignment the form arrived for (a reply to its notice, its
    upload page): a form of any other assignment is refused. The file's content is its source key.
    """
    path = Path(path)
    source = str(path)
    data = path.read_bytes()
    values, formulas = _load(data, source)
    meta = _read_meta(values, source)
    with session_scope() as session:
        assignment = _identify(session, meta, source, expected_assignment_id)
        duty, unit = assignment.duty, assignment.unit
        targets = targets_for_unit(duty_targets(session, duty), unit.code)
        _check_codes(meta, targets, duty, reference(assignment), source)
        reader = _FormReader(values, formulas, meta)
        figures = reader.figures(targets)
        sections, score, assessment = reader.narrative(duty.sections)
        plan_key, duty_code, unit_code = duty.plan.key, duty.code, unit.code
    if reader.problems:
        raise FormError(source, reader.problems)
    return SubmissionInput(
        plan=plan_key,
        duty=duty_code,
        unit=unit_code,
        channel=channel,
        source_key=f"sha256:{hashlib.sha256(data).hexdigest()}",
        values=figures,
        sections=sections,
        self_score=score,
        self_assessment=assessment,
        sender=sender,
    )
