"""Reading a filled Excel data-entry form (made by tasks.documents.forms) back into a submission.

The reader trusts nothing in the file but its signed form id: it finds the assignment from it,
checks the form was made for that assignment, unit and duty as they stand, finds each row by the
code in a hidden column (never by its number) and applies the rules of a submission file
(`tasks.intake.submission_files`) to every input cell. Every problem is named by sheet and cell
('Chỉ tiêu!E21') in Vietnamese, worded in `templates/messages/forms.yaml`; nothing is partly taken.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import warnings
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.errors import FormError, Problem
from cascade.formatting import (
    MAX_FIGURE,
    plain_number,
    short_date,
    vn_number,
    vn_percent,
)
from cascade.input_limits import workbook_problem
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import Aggregation, PlanAmendment, ReportDuty, Target, asked_sections
from models.submission import Channel
from models.unit import Unit
from tasks.documents.forms import (
    ASSESSMENT_MARK,
    COLUMNS,
    META_SHEET,
    SCORE_MARK,
    asks_rate,
    form_signature,
    is_yes_no,
    one_line,
    typed_figure,
)
from tasks.intake.submissions import FigureInput, SubmissionInput
from tasks.plans.contexts import reference
from tasks.plans.targets import duty_targets, targets_for_unit, typed_targets
from templates import message

AMENDED = "plan_amended"  # the code of the problem of a form made before an amendment reached it


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
    revision: int = 1  # forms made before revisions existed are the first


def _problem(kind: str, path: str | None = None, /, **context: Any) -> Problem:
    return Problem(one_line(message("forms.problems", kind, **context)), path=path)


def _field(name: str, /, **context: Any) -> str:
    return one_line(message("forms.fields", name, **context))


def refuse_beyond_limits(data: bytes | Path, source: str) -> None:
    """Raise FormError when the workbook must not be opened (cascade.input_limits: size, unpacked size, macros…)."""
    refused = workbook_problem(data)
    if refused is not None:
        reason = one_line(message("forms.limits", refused.kind, **refused.facts))
        raise FormError(source, [_problem("refused", name=Path(source).name, reason=reason)])


def _load(data: bytes, source: str) -> tuple[Workbook, Workbook]:
    """The workbook twice: with the values Excel computed, and with the formulas themselves."""
    refuse_beyond_limits(data, source)
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
    revision = one("revision") if "revision" in entries else "1"
    if not revision.isdigit():
        raise FormError(source, [_problem("damaged_meta", key="revision")])
    return _Meta(
        form_id=one("form_id"), plan=one("plan"), duty=one("duty"), unit=one("unit"),
        indicators=entries["indicators"], sections=entries["sections"],
        indicator_sheet=one("indicator_sheet"), section_sheet=one("section_sheet"), columns=columns, revision=int(revision),
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
        and hmac.compare_digest(signature, form_signature(assignment.token, assignment.id, form_unit.id, assignment.duty_id))
        and (meta.plan, meta.duty) == (assignment.duty.plan.key, assignment.duty.code)
    )
    if not genuine or form_unit is None:
        raise FormError(source, [_problem("forged", found=meta.form_id, reference=reference(assignment))])
    if form_unit.id != assignment.unit_id:
        raise FormError(source, [_problem("transferred", reference=ref, form_unit=form_unit.name, unit_name=assignment.unit.name)])
    if assignment.status == AssignmentStatus.MERGED:
        raise FormError(source, [_problem("merged", reference=ref, unit_name=assignment.unit.name)])
    if meta.revision < assignment.form_revision:
        raise FormError(source, [amended_form_problem(session, assignment)])
    return assignment


def amended_form_problem(session: Session, assignment: Assignment) -> Problem:
    """A form made before an amendment reached it: which amendment, and that the new form is to be used."""
    plan = assignment.duty.plan
    latest = session.scalar(select(PlanAmendment).where(PlanAmendment.plan_id == plan.id).order_by(PlanAmendment.version.desc()).limit(1))
    found = _problem(
        "plan_amended", reference=reference(assignment), plan=plan.code,
        amendment=latest.code if latest is not None else "", issued_on=latest.issued_on if latest is not None else None,
    )  # fmt: skip
    return replace(found, code=AMENDED)


def _check_codes(meta: _Meta, targets: list[Target], duty: ReportDuty, reference_: str, source: str) -> None:
    """The form must ask for what the duty asks now: the plan may have changed since it was made."""
    indicators = [t.code for t in targets]
    sections = [s["code"] for s in asked_sections(duty)]
    if set(meta.indicators) != set(indicators) or set(meta.sections) != set(sections):
        raise FormError(source, [_problem(
            "plan_changed", reference=reference_,
            added_indicators=[f"“{t.metric}”" for t in targets if t.code not in meta.indicators],
            removed_indicators=[c for c in meta.indicators if c not in indicators],
            added_sections=[f"“{s['title']}”" for s in asked_sections(duty) if s["code"] not in meta.sections],
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
        return _Cell(
            f"{ws.title}!{value_cell.coordinate}", value, value_cell.number_format or "", None if formula is None else str(getattr(formula, "text", formula))
        )

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

    def number(self, cell: _Cell, what: str, *, yes_no: bool = False, non_negative: bool = True) -> Decimal | _Invalid | None:
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
            figure = typed_figure(value, yes_no=yes_no)
            if figure is None:
                self.report(wrong, cell.path, what=what, found=cell.shown)
                return INVALID
            number = figure
        else:
            self.report(wrong, cell.path, what=what, found=cell.shown)
            return INVALID
        if not number.is_finite() or abs(number) >= MAX_FIGURE:
            self.report("too_big", cell.path, what=what, found=cell.shown)
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
                    if bottom == 0 and top > 0:  # 0/0 is allowed: nothing to count
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
                elif isinstance(figure, Decimal) and target.unit_of_measure == "%" and not yes_no and figure > 100:
                    self.report("percent_range", value.path, what=what, found=vn_number(figure))
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


def claimed_assignment(data: bytes) -> int | None:
    """The assignment a workbook says it is the form of, unverified (read_form checks its signature);
    None when it is not one of our forms."""
    if workbook_problem(data) is not None:
        return None  # never opened: read_form refuses it with the reason
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # not a workbook at all: see _load
        return None
    try:
        if META_SHEET not in wb.sheetnames:
            return None
        for row in wb[META_SHEET].iter_rows(values_only=True):
            if row and row[0] == "form_id" and len(row) > 1 and isinstance(row[1], str):
                match = re.fullmatch(r"[A-Z]+-(\d+)-[0-9a-f]{16}", unescape(row[1]).strip())
                return int(match[1]) if match else None
        return None
    finally:
        wb.close()


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
    refuse_beyond_limits(path, source)
    data = path.read_bytes()
    values, formulas = _load(data, source)
    meta = _read_meta(values, source)
    with session_scope() as session:
        assignment = _identify(session, meta, source, expected_assignment_id)
        duty, unit = assignment.duty, assignment.unit
        targets = typed_targets(targets_for_unit(duty_targets(session, duty), unit.code))
        _check_codes(meta, targets, duty, reference(assignment), source)
        reader = _FormReader(values, formulas, meta)
        figures = reader.figures(targets)
        sections, score, assessment = reader.narrative(asked_sections(duty))
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
