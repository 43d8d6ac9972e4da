"""Importing units and plans, all or nothing.

Plain functions (the CLI calls them). Every problem names the file, the line and the field
path (`plan.targets[2].comparator`) and says what was expected; all the problems of a file
are collected and raised together as one `ImportFileError`, and a file with any problem
writes nothing.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade.calendar import WorkingCalendar
from cascade.errors import ImportFileError, Problem
from cascade.input_limits import CellBudget, workbook_problem
from models.assignment import Assignment
from models.calendar import load_calendar, settle_deadline
from models.cascading import looser_than
from models.db import session_scope
from models.periods import decree_09_periods
from models.plan import (
    DutyKind,
    Plan,
    PlanStatus,
    PlanTask,
    ReportDuty,
    Target,
    TaskRole,
    TaskUnit,
    plan_by_ref,
    symbol_kind,
)
from models.specs import (
    UNIT_COLUMNS,
    Loc,
    PlanFile,
    PlanSpec,
    TargetSpec,
    UnitsFile,
    UnitSpec,
    plain_number,
)
from models.unit import Unit, UnitSystem, active_successor, children_from
from tasks.plans.exports import plan_document
from tasks.plans.sources import (
    CsvLocator,
    Locator,
    YamlLocator,
    problem_at,
    read_text,
    read_tree,
    sorted_problems,
    validate,
)
from tasks.plans.targets import inherited_value, target_sharers
from tasks.plans.workbook import CellLocator, cell_text, read_plan_workbook

# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import of a units file did: units created, changed, and listed but already identical."""

    created: int
    updated: int
    unchanged: int = 0


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

_REQUIRED_COLUMNS = ("code", "name", "emails")
_UNIT_FIELDS = (
    "name",
    "short_name",
    "kind",
    "system",
    "issuer_symbol",
    "governing_body",
    "emails",
    "head_title",
    "head_name",
    "head_email",
    "place",
    "valid_from",
    "valid_to",
)


def _read_units_csv(path: Path) -> tuple[dict[str, Any], CsvLocator, list[Problem]]:
    """A CSV units file as {'units': [row dicts]}: header row, empty cell = null, emails split on ';'."""
    source = str(path)
    text = read_text(path, ImportFileError)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(source, [Problem(f"CSV syntax error: {exc}", line=reader.line_num)]) from None
    return _units_from_rows(source, rows)


OTHER_WORKBOOKS = {
    ".xlsm": "a macro-enabled Excel workbook (.xlsm)", ".xls": "an Excel 97-2003 workbook (.xls)", ".xlsb": "an Excel binary workbook (.xlsb)",
}  # fmt: skip
MAX_SHEET_ROWS = 100_000  # a province has tens of thousands of units; more rows than this is not a units sheet
MAX_SHEET_COLUMNS = 64  # a units sheet has some fifteen columns; cells beyond these are not read


def _read_units_xlsx(path: Path) -> tuple[dict[str, Any], CsvLocator, list[Problem]]:
    """The first sheet of an Excel units workbook, read as a CSV file with the same columns (its row numbers as lines)."""
    source = str(path)
    if (refused := workbook_problem(path)) is not None:
        raise ImportFileError(source, [Problem(refused.describe())])
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportFileError(source, [Problem(f"not an Excel workbook (.xlsx): {exc}")]) from None
    budget = CellBudget()
    try:
        sheet = workbook.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        width = min(sheet.max_column or MAX_SHEET_COLUMNS, MAX_SHEET_COLUMNS)  # the sheet's own width, as its dimension says
        for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=width), start=1):
            if number > MAX_SHEET_ROWS:
                raise ImportFileError(source, [Problem(f"more than {MAX_SHEET_ROWS:,} rows: not a units sheet", line=number)])
            if (spent := budget.spend(len(row))) is not None:
                raise ImportFileError(source, [Problem(spent.describe(), line=number)])
            cells = [cell_text(v) for v in row]
            while cells and not cells[-1]:
                cells.pop()
            rows.append((number, cells))
    finally:
        workbook.close()
    return _units_from_rows(source, rows)


def _units_from_rows(source: str, rows: list[tuple[int, list[str]]]) -> tuple[dict[str, Any], CsvLocator, list[Problem]]:
    """A header row and unit rows (line or row number, cells) as {'units': [row dicts]}, with the problems of the header and the rows."""
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ImportFileError(source, [Problem(f"the file is empty; expected a header row with the columns {', '.join(UNIT_COLUMNS)}", line=1)])

    header_line, header = rows[0]
    columns = [cell.strip() for cell in header]
    problems: list[Problem] = []
    for i, column in enumerate(columns):
        if column not in UNIT_COLUMNS:
            guess = difflib.get_close_matches(column, UNIT_COLUMNS, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            problems.append(Problem(f"unknown column '{column}'{hint}; expected columns: {', '.join(UNIT_COLUMNS)}", header_line, column or f"column {i + 1}"))
        elif column in columns[:i]:
            problems.append(Problem(f"column '{column}' appears twice in the header", header_line, column))
    for column in _REQUIRED_COLUMNS:
        if column not in columns:
            problems.append(Problem(f"missing required column '{column}'", header_line, column))
    if problems:
        raise ImportFileError(source, problems)

    units: list[dict[str, Any]] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        extra = [cell for cell in row[len(columns) :] if cell.strip()]
        if extra:
            problems.append(Problem(f"expected {len(columns)} cells as in the header; got {len(row)} (is a name with a comma missing its quotes?)", line))
        cells = {column: (row[i].strip() if i < len(row) else "") for i, column in enumerate(columns)}
        units.append({column: (cell if cell else None) for column, cell in cells.items()})
        lines.append(line)
    return {"units": units}, CsvLocator(tuple(lines)), problems


def _load_units(path: Path) -> tuple[list[UnitSpec], Locator]:
    suffix = path.suffix.lower()
    data: Any
    locator: Locator
    if suffix == ".csv":
        data, locator, problems = _read_units_csv(path)
    elif suffix == ".xlsx":
        data, locator, problems = _read_units_xlsx(path)
    elif suffix in (".yaml", ".yml", ".json"):
        data, locator, problems = read_tree(path, ImportFileError)
    elif suffix in (".xlsm", ".xls", ".xlsb"):
        raise ImportFileError(str(path), [Problem(f"{OTHER_WORKBOOKS[suffix]}: save it as an Excel Workbook (.xlsx)")])
    else:
        raise ImportFileError(str(path), [Problem(f"expected a .yaml, .yml, .json, .csv or .xlsx file; got '{path.suffix or path.name}'")])
    spec = validate(UnitsFile, data, locator, problems, source=str(path), error=ImportFileError, empty_hint="a top-level 'units:' list")
    return spec.units, locator


def load_units(path: str | Path) -> list[UnitSpec]:
    """Read and validate a units file (YAML/JSON with a top-level `units:` list, or CSV or Excel with a header row)."""
    units, _ = _load_units(Path(path))
    return units


def _parent_cycles(specs: Sequence[UnitSpec], parent_of: dict[str, str | None]) -> list[tuple[int, list[str]]]:
    """Each parent cycle once, as (index in the file of its first unit there, [codes around the cycle])."""
    position = {spec.code: i for i, spec in enumerate(specs)}
    done: set[str] = set()
    cycles: list[tuple[int, list[str]]] = []
    for spec in specs:
        chain: list[str] = []
        on_chain: dict[str, int] = {}
        current: str | None = spec.code
        while current is not None and current not in done:
            if current in on_chain:
                cycle = chain[on_chain[current] :]
                first = min(cycle, key=lambda code: position.get(code, len(specs)))
                start = cycle.index(first)
                cycles.append((position[first], cycle[start:] + cycle[:start]))
                break
            on_chain[current] = len(chain)
            chain.append(current)
            current = parent_of.get(current)
        done.update(chain)
    return cycles


def import_units(path: str | Path) -> ImportResult:
    """Create or update the units of a file by code, in one transaction; parents may come in any order.

    On an existing unit only the fields present in the file are changed (a YAML key given,
    a CSV column in the header); an empty cell or `null` clears a field.
    """
    path = Path(path)
    specs, locator = _load_units(path)
    with session_scope() as session:
        existing = {unit.code: unit for unit in session.scalars(select(Unit))}
        code_of = {unit.id: unit.code for unit in existing.values()}
        in_file = {spec.code for spec in specs}
        parent_of: dict[str, str | None] = {unit.code: code_of.get(unit.parent_id) if unit.parent_id else None for unit in existing.values()}
        problems: list[Problem] = []
        folded = {code.casefold(): code for code in existing}
        for i, spec in enumerate(specs):
            if spec.code not in existing and (twin := folded.get(spec.code.casefold())) is not None:
                problems.append(problem_at(locator, ("units", i, "code"), f"unit code '{spec.code}' differs from the existing unit '{twin}' only by case"))
            if spec.code not in existing or "parent" in spec.model_fields_set:
                parent_of[spec.code] = spec.parent
            for field in ("parent", "successor"):
                code = getattr(spec, field)
                if code is not None and code not in in_file and code not in existing:
                    problems.append(problem_at(locator, ("units", i, field), f"unknown {field} unit '{code}': it is neither in this file nor in the database"))
        for i, cycle in _parent_cycles(specs, parent_of):
            problems.append(problem_at(locator, ("units", i, "parent"), f"parent cycle: {' → '.join([*cycle, cycle[0]])}"))
        if problems:
            raise ImportFileError(str(path), sorted_problems(problems))

        by_code = dict(existing)
        created: set[str] = set()
        changed: set[str] = set()
        for spec in specs:
            unit = existing.get(spec.code)
            if unit is None:
                unit = Unit(code=spec.code, **{field: getattr(spec, field) for field in _UNIT_FIELDS})
                session.add(unit)
                by_code[spec.code] = unit
                created.add(spec.code)
                continue
            for field in _UNIT_FIELDS:
                if field in spec.model_fields_set and getattr(unit, field) != getattr(spec, field):
                    setattr(unit, field, getattr(spec, field))
                    changed.add(spec.code)
        session.flush()
        for spec in specs:
            unit = by_code[spec.code]
            for field, column in (("parent", "parent_id"), ("successor", "successor_id")):
                if spec.code in created or field in spec.model_fields_set:
                    code = getattr(spec, field)
                    wanted = by_code[code].id if code is not None else None
                    if getattr(unit, column) != wanted:
                        setattr(unit, column, wanted)
                        changed.add(spec.code)
        updated = len(changed - created)
        return ImportResult(created=len(created), updated=updated, unchanged=len(specs) - len(created) - updated)


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan file and the lines (or, from a workbook, the cells) of its fields."""

    spec: PlanSpec
    source: Path
    locator: YamlLocator | CellLocator

    def line_of(self, *loc: str | int) -> int | None:
        """The line of `plan.<loc>` (or of its nearest parent given in the file)."""
        return self.locator.line(("plan", *loc))

    def problem(self, loc: Loc, message: str, code: str | None = None, **facts: str) -> Problem:
        found = problem_at(self.locator, ("plan", *loc), message)
        return replace(found, code=code, facts=facts) if code else found


def load_plan(path: str | Path) -> LoadedPlan:
    """Read and validate a plan file (YAML or JSON with a top-level `plan:` mapping, or the plan workbook)."""
    path = Path(path)
    locator: YamlLocator | CellLocator
    if path.suffix.lower() in OTHER_WORKBOOKS:
        raise ImportFileError(str(path), [Problem(f"{OTHER_WORKBOOKS[path.suffix.lower()]}: save it as an Excel Workbook (.xlsx)")])
    if path.suffix.lower() == ".xlsx":
        data, locator, problems = read_plan_workbook(path)
    else:
        data, locator, problems = read_tree(path, ImportFileError)
    spec = validate(PlanFile, data, locator, problems, source=str(path), error=ImportFileError, empty_hint="a top-level 'plan:' mapping")
    return LoadedPlan(spec.plan, path, locator)


def _unit_references(spec: PlanSpec) -> list[tuple[Loc, str]]:
    refs: list[tuple[Loc, str]] = [(("issuer",), spec.issuer)]
    refs += [(("joint_with", i, "unit"), co.unit) for i, co in enumerate(spec.joint_with)]
    for i, task in enumerate(spec.tasks):
        refs += [(("tasks", i, "lead", j), code) for j, code in enumerate(task.lead)]
        refs += [(("tasks", i, "support", j), code) for j, code in enumerate(task.support)]
    for i, target in enumerate(spec.targets):
        refs += [(("targets", i, "reporters", j), code) for j, code in enumerate(target.reporters)]
        refs += [(("targets", i, "allocations", code), code) for code in target.allocations or {}]
    for i, duty in enumerate(spec.duties):
        refs += [(("duties", i, "assignees", j), code) for j, code in enumerate(duty.assignees)]
    return refs


def plan_file_problems(
    session: Session, loaded: LoadedPlan, *, replace: bool, amending: bool = False
) -> tuple[list[Problem], dict[str, Unit], Plan | None, Plan | None]:
    """Everything about a valid plan file that only the database can tell (`amending`: the file is the next
    version of an issued plan, which may have been cascaded)."""
    spec = loaded.spec
    problems: list[Problem] = []
    refs = _unit_references(spec)
    codes = {code for _, code in refs}
    units = {unit.code: unit for unit in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    for loc, code in refs:
        if code not in units:
            what = "issuer unit" if loc == ("issuer",) else "unit"
            problems.append(loaded.problem(loc, f"unknown {what} '{code}': not in the database (import the units file first)"))
        elif loc[0] in ("duties", "issuer") and (ended := units[code].valid_to) is not None and ended < spec.issued_on:
            successor = active_successor(units[code], spec.issued_on)
            instead = f": its work passed to '{successor.code}'" if successor is not None else ""
            problems.append(loaded.problem(loc, f"unit '{code}' ended on {ended} (before the plan's issue, {spec.issued_on}){instead}"))

    parent_plan = None
    if spec.parent_plan:
        parent_plan = plan_by_ref(session, spec.parent_plan)
        if parent_plan is None:
            problems.append(loaded.problem(("parent_plan",), f"unknown parent plan '{spec.parent_plan}': no imported plan has this key or number/symbol"))

    existing = session.scalar(select(Plan).where(Plan.key == spec.key))
    if existing is not None and not amending:
        if not replace:
            problems.append(loaded.problem(("key",), f"plan '{spec.key}' already imported; use --replace to replace it (possible until it is cascaded)"))
        else:
            assigned = session.scalar(
                select(func.count(Assignment.id)).join(ReportDuty, Assignment.duty_id == ReportDuty.id).where(ReportDuty.plan_id == existing.id)
            )
            if assigned:
                problems.append(loaded.problem(("key",), f"plan '{spec.key}' cannot be replaced: it has already been cascaded ({assigned} assignments exist)"))
    issuer = units.get(spec.issuer)
    if issuer is not None and spec.joint_with:
        problems += _joint_problems(loaded, issuer, units)
    if spec.number:
        # Numbers run per issuer and year (as tasks.cascading.implementing numbers and checks issued plans): every ward may have its 1/KH-UBND.
        same = [Plan.number == spec.number, Plan.symbol == spec.symbol, Plan.year == spec.year, Plan.key != spec.key]
        if issuer is not None:
            same.append(Plan.issuer_id == issuer.id)
        twin = session.scalar(select(Plan).where(*same).limit(1))
        if twin is not None:
            problems.append(loaded.problem(("number",), f"plan {spec.code} of {spec.year} is already imported under the key '{twin.key}'"))

    if issuer is not None and parent_plan is not None:
        problems += _inheritance_problems(session, loaded, parent_plan, issuer)
    if issuer is not None and not problems:
        problems += _assignee_problems(session, loaded, issuer)
    problems += _generated_duty_problems(loaded)
    return problems, units, existing, parent_plan


SYMBOLS = {"eq": "=", "gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def joint_symbol(kind: str, issuers: Sequence[Unit]) -> str:
    """The symbol of a joint document: the kind, then every issuer's own symbol, the lead first. A Party
    document's 'KH/BDVTU-BCS.UBND' (Hướng dẫn 36); a state one's 'KHLT-SVHTTDL-SGDĐT' (Decree 30: the
    kind marked liên tịch)."""
    symbols = "-".join(unit.issuer_symbol or unit.code.upper() for unit in issuers)
    if issuers[0].system == UnitSystem.PARTY:
        return f"{kind}/{symbols}"
    return f"{kind}{'' if kind.endswith('LT') else 'LT'}-{symbols}"


def _joint_problems(loaded: LoadedPlan, issuer: Unit, units: dict[str, Unit]) -> list[Problem]:
    """A joint plan names other issuers than its lead, each once, and its symbol names them all, the lead first."""
    spec = loaded.spec
    problems: list[Problem] = []
    seen = {spec.issuer}
    for i, co in enumerate(spec.joint_with):
        if co.unit in seen:
            problems.append(loaded.problem(("joint_with", i, "unit"), f"'{co.unit}' is already an issuer of this plan: each issuer is named once"))
        seen.add(co.unit)
    issuers = [issuer, *(units[co.unit] for co in spec.joint_with if co.unit in units)]
    if len(issuers) == len(spec.joint_with) + 1 and not problems:
        named = re.split(r"[-/]", spec.symbol, maxsplit=1)[-1]  # what follows the kind
        if named.upper() != "-".join(unit.issuer_symbol or unit.code.upper() for unit in issuers).upper():
            expected = joint_symbol(symbol_kind(spec.symbol), issuers)
            problems.append(
                loaded.problem(("symbol",), f"a joint plan's symbol names every issuer, the lead first: expected '{expected}', got '{spec.symbol}'")
            )
    return problems


def _inheritance_problems(session: Session, loaded: LoadedPlan, parent: Plan, issuer: Unit) -> list[Problem]:
    """An implementing plan may tighten what its parent asks of its issuer, never loosen it."""
    problems: list[Problem] = []
    if parent.issuer_id == issuer.id:
        return [loaded.problem(("parent_plan",), f"plan {parent.code} is issued by '{issuer.code}' itself: an implementing plan belongs to a subordinate unit")]
    sharers = target_sharers(session, parent, loaded.spec.issued_on)
    inherited = {t.code: t for t in parent.targets}
    for i, target in enumerate(loaded.spec.targets):
        source = inherited.get(target.code)
        if source is None:
            continue
        asked = inherited_value(source, issuer.code, sharers.get(source.code, []))
        if target.aggregation != source.aggregation:
            problems.append(
                loaded.problem(
                    ("targets", i, "aggregation"), f"expected '{source.aggregation}' as in the parent plan {parent.code}; got '{target.aggregation}'"
                )
            )
        elif (target.numerator, target.denominator) != (source.numerator_code, source.denominator_code):
            name = "numerator" if target.numerator != source.numerator_code else "denominator"
            parent_code = getattr(source, f"{name}_code")
            expected = f"'{parent_code}'" if parent_code else "none (units report the rate themselves)"
            problems.append(
                loaded.problem(("targets", i, name), f"expected {name} {expected} as in the parent plan {parent.code}; got '{getattr(target, name) or 'none'}'")
            )
        elif source.comparator is None or asked is None:
            pass  # a plain figure above: the unit may keep it plain or give itself a target
        elif target.comparator is None or target.value is None:
            problems.append(
                loaded.problem(
                    ("targets", i, "comparator"),
                    f"'{target.code}' has no target, but the parent plan {parent.code} asks this unit {SYMBOLS[source.comparator]} {plain_number(asked)}: "
                    "an implementing plan may only keep or tighten a target",
                )
            )
        elif looser_than(target.comparator, target.value, source.comparator, asked):
            problems.append(
                loaded.problem(
                    ("targets", i, "value"),
                    f"'{target.code}' asks {SYMBOLS[target.comparator]} {plain_number(target.value)}, looser than the parent plan {parent.code}, "
                    f"which asks this unit {SYMBOLS[source.comparator]} {plain_number(asked)}: an implementing plan may only keep or tighten a target",
                    "target_looser",
                    given=f"{SYMBOLS[target.comparator]} {plain_number(target.value)}",
                    parent=parent.code,
                    asked=f"{SYMBOLS[source.comparator]} {plain_number(asked)}",
                )
            )
        elif (
            source.unit_comparator is not None
            and source.unit_threshold is not None
            and target.unit_threshold is not None
            and looser_than(target.unit_threshold.comparator, target.unit_threshold.value, source.unit_comparator, source.unit_threshold)
        ):
            threshold = target.unit_threshold
            problems.append(
                loaded.problem(
                    ("targets", i, "unit_threshold"),
                    f"'{target.code}' counts a unit whose figure is {SYMBOLS[threshold.comparator]} {plain_number(threshold.value)}, looser than the parent plan "
                    f"{parent.code}, which counts it when {SYMBOLS[source.unit_comparator]} {plain_number(source.unit_threshold)}: "
                    "an implementing plan may only keep or tighten a target",
                )
            )
    given = {t.code for t in loaded.spec.targets}
    dropped = [code for code, units in sharers.items() if issuer.code in units and code not in given]
    if dropped:
        problems.append(
            loaded.problem(
                ("targets",),
                f"the parent plan {parent.code} asks this unit to report {', '.join(repr(c) for c in dropped)}: keep "
                f"{'it' if len(dropped) == 1 else 'them'} (an implementing plan may tighten a target, not drop it)",
            )
        )
    return problems + _deadline_problems(session, loaded, parent, issuer)


def own_deadlines(session: Session, parent: Plan, unit_id: int) -> dict[str, date]:
    """Duty code → the day the parent plan asks the unit to answer it by (its assignment's due date)."""
    return dict(
        session.execute(
            select(ReportDuty.code, Assignment.due_on)
            .join(Assignment, Assignment.duty_id == ReportDuty.id)
            .where(ReportDuty.plan_id == parent.id, Assignment.unit_id == unit_id)
        )
        .tuples()
        .all()
    )


def _deadline_problems(session: Session, loaded: LoadedPlan, parent: Plan, issuer: Unit) -> list[Problem]:
    """A duty answering a parent duty must be due no later than the unit's own deadline for it: the
    unit needs its subordinates' reports before it can send its own."""
    own_due = own_deadlines(session, parent, issuer.id)
    problems = []
    for i, duty in enumerate(loaded.spec.duties):
        deadline = own_due.get(duty.code)
        if duty.kind == DutyKind.IMPLEMENTING_PLAN or duty.due_on is None or deadline is None or duty.due_on <= deadline:
            continue
        problems.append(
            loaded.problem(
                ("duties", i, "due_on"),
                f"due {duty.due_on:%d/%m/%Y}, after this unit's own deadline {deadline:%d/%m/%Y} for '{duty.code}' "
                f"in the parent plan {parent.code}: its units must report before it does",
                "deadline_later",
                due=f"{duty.due_on:%d/%m/%Y}",
                deadline=f"{deadline:%d/%m/%Y}",
                parent=parent.code,
            )
        )
    return problems


def _generated_duty_problems(loaded: LoadedPlan) -> list[Problem]:
    """Periodic duties expand into one duty per period: their codes must not clash with other duties."""
    problems: list[Problem] = []
    codes = {d.code: i for i, d in enumerate(loaded.spec.duties)}
    for i, duty in enumerate(loaded.spec.duties):
        if duty.due_after_cutoff is None:
            continue
        for period in decree_09_periods(duty.kind, loaded.spec.year or loaded.spec.issued_on.year):
            code = f"{duty.code}.{period.suffix}"
            if code in codes or len(code) > 32:
                why = f"duty [{codes[code]}] already has this code" if code in codes else "longer than 32 characters"
                problems.append(loaded.problem(("duties", i, "code"), f"the generated duty code '{code}' cannot be used: {why}"))
    return problems


def expand_duties(spec: PlanSpec, calendar: WorkingCalendar) -> list[ReportDuty]:
    """The plan's duties as stored: periodic duties with due_after_cutoff become one duty per period
    (Decree 09/2019 cut-offs), due that many working days after each cut-off."""
    duties: list[ReportDuty] = []
    for duty in spec.duties:
        common = {
            "kind": duty.kind,
            "reminder_days": list(duty.reminder_days),
            "overdue_days": list(duty.overdue_days),
            "on_day_off": duty.on_day_off,
            "sections": [s.stored() for s in duty.sections],
            "indicator_codes": list(duty.indicators),
            "assignee_codes": list(duty.assignees),
        }
        if duty.due_after_cutoff is None:
            assert duty.due_on is not None  # the spec requires one of the two
            duties.append(ReportDuty(code=duty.code, title=duty.title, period_start=duty.period_start, cutoff_on=duty.cutoff_on, due_on=duty.due_on, **common))
            continue
        for period in decree_09_periods(duty.kind, spec.year or spec.issued_on.year):
            duties.append(
                ReportDuty(
                    code=f"{duty.code}.{period.suffix}",
                    title=f"{duty.title} {period.label}",
                    period_start=period.start,
                    cutoff_on=period.cutoff,
                    due_on=calendar.add_working_days(period.cutoff, duty.due_after_cutoff),
                    **common,
                )
            )
    return duties


def _assignee_problems(session: Session, loaded: LoadedPlan, issuer: Unit) -> list[Problem]:
    """Reporters and allocations must belong to units the duties are actually sent to."""
    spec = loaded.spec
    problems: list[Problem] = []
    subordinates = [unit.code for unit in children_from(session, parent_id=issuer.id, day=spec.issued_on)]
    assignees: dict[str, set[str]] = {}
    for i, duty in enumerate(spec.duties):
        assignees[duty.code] = set(duty.assignees or subordinates)
        if not assignees[duty.code]:
            problems.append(
                loaded.problem(
                    ("duties", i, "assignees"), f"no assignees: the issuer '{issuer.code}' has no subordinate units in the database; list the assignees"
                )
            )
    for i, target in enumerate(spec.targets):
        duties = [d.code for d in spec.duties if not d.indicators or target.code in d.indicators]
        if not duties:
            continue
        asked = set().union(*(assignees[code] for code in duties))
        names = ", ".join(f"'{code}'" for code in duties)
        for j, code in enumerate(target.reporters):
            if code not in asked:
                problems.append(
                    loaded.problem(("targets", i, "reporters", j), f"unit '{code}' is not an assignee of duty {names}, which reports '{target.code}'")
                )
        allowed = set(target.reporters) or asked
        for code in target.allocations or {}:
            if code not in allowed:
                problems.append(loaded.problem(("targets", i, "allocations", code), f"unit '{code}' has an allocation but does not report '{target.code}'"))
    return problems


def target_columns(target: TargetSpec) -> dict[str, Any]:
    """A target of a plan file as the Target row's columns (all but its code and position)."""
    return {
        "text": target.text,
        "metric": target.metric,
        "unit_of_measure": target.unit_of_measure,
        "comparator": target.comparator,
        "value": target.value,
        "aggregation": target.aggregation,
        "numerator_code": target.numerator,
        "denominator_code": target.denominator,
        "unit_comparator": target.unit_threshold.comparator if target.unit_threshold else None,
        "unit_threshold": target.unit_threshold.value if target.unit_threshold else None,
        "reporter_codes": list(target.reporters),
        "allocations": {code: plain_number(share) for code, share in (target.allocations or {}).items()},
        "allocation_rule": target.allocation_rule,
    }


@dataclass(frozen=True)
class ImportedPlan:
    """What `import_plan_file` did: the plan's key, and warnings to print ('plan.yaml:40: plan.duties[1].due_on: …')."""

    key: str
    warnings: tuple[str, ...] = ()


def import_plan(path: str | Path, *, replace: bool = False) -> str:
    """Import a plan file (see `import_plan_file`) and return its key."""
    return import_plan_file(path, replace=replace).key


def settle_imported_deadlines(loaded: LoadedPlan, duties: Sequence[ReportDuty], calendar: WorkingCalendar) -> list[str]:
    """Move each duty due on a day off under its `on_day_off` rule; one warning per duty, at the line of its due_on."""
    index = {d.code: i for i, d in enumerate(loaded.spec.duties)}
    warnings = []
    for duty in duties:
        move = settle_deadline(calendar, duty.code, duty.due_on, duty.on_day_off)
        if move is None:
            continue
        duty.due_on = move.settled
        if duty.cutoff_on and duty.cutoff_on > duty.due_on:
            duty.cutoff_on = duty.due_on  # no data cut-off after the deadline
        i = index.get(duty.code, index.get(duty.code.rpartition(".")[0]))  # a generated period: its duty's line
        warnings.append(f"{loaded.source}:{loaded.problem(('duties', i, 'due_on') if i is not None else ('duties',), move.message())}")
    return warnings


def import_plan_file(path: str | Path, *, replace: bool = False, draft: bool = False) -> ImportedPlan:
    """Import a plan file in one transaction; a file with any problem writes nothing.

    With `replace=True` an already imported plan of the same key is overwritten, as long as
    none of its duties has been cascaded (no assignments yet); its id, and so the links of
    plans that implement it, are kept. A duty due on a day off is moved by its `on_day_off`
    rule, with a warning. With `draft=True` a new plan is stored as a draft (next year's plan
    rolled over from this year's), to be adjusted and issued with `cascade plan issue`.
    """
    loaded = load_plan(path)
    spec = loaded.spec
    with session_scope() as session:
        problems, units, existing, parent_plan = plan_file_problems(session, loaded, replace=replace)
        if problems:
            raise ImportFileError(str(loaded.source), sorted_problems(problems))

        if existing is not None:
            plan = existing
            if plan.status == PlanStatus.DRAFT and plan.drafted is None:  # the draft as its unit received it, to show what the unit changed
                plan.drafted = plan_document(session, plan)
            plan.tasks.clear()
            plan.targets.clear()
            plan.duties.clear()
            session.flush()
        else:
            plan = Plan(key=spec.key)
            session.add(plan)
        plan.number = spec.number
        plan.symbol = spec.symbol
        plan.issuer_id = units[spec.issuer].id
        plan.issued_on = spec.issued_on
        plan.place = spec.place
        plan.title = spec.title
        plan.year = spec.covered_year
        plan.basis = list(spec.basis)
        plan.parent_plan_id = parent_plan.id if parent_plan is not None else None
        plan.level = parent_plan.level + 1 if parent_plan is not None else 0
        if spec.cascade is not None:
            plan.cascade_policy = spec.cascade.model_dump(mode="json")
        else:
            plan.cascade_policy = dict(parent_plan.cascade_policy or {}) if parent_plan is not None else {}
        # A replaced draft (an implementing plan the unit adjusted, a plan rolled over) stays a draft until it is issued.
        if existing is None:
            plan.status = PlanStatus.DRAFT if draft else PlanStatus.ISSUED
        else:
            plan.status = PlanStatus.DRAFT if existing.status == PlanStatus.DRAFT else PlanStatus.ISSUED
        plan.purposes = spec.purposes
        plan.requirements = spec.requirements
        plan.recipients = list(spec.recipients)
        plan.report_recipients = list(spec.report_recipients)
        plan.co_issuers = [
            {"code": co.unit, "name": units[co.unit].name, "signer_title": co.signer.title, "signer_name": co.signer.name} for co in spec.joint_with
        ]
        plan.signer_title = spec.signer.title
        plan.signer_name = spec.signer.name

        for position, task in enumerate(spec.tasks, start=1):
            roles = [(code, TaskRole.LEAD) for code in task.lead] + [(code, TaskRole.SUPPORT) for code in task.support]
            plan.tasks.append(
                PlanTask(
                    code=task.code,
                    position=position,
                    title=task.title,
                    content=task.content,
                    units=[TaskUnit(unit_id=units[code].id, role=role) for code, role in roles],
                )
            )
        for position, target in enumerate(spec.targets, start=1):
            plan.targets.append(Target(code=target.code, position=position, **target_columns(target)))
        sources = {d.code: d.id for d in parent_plan.duties} if parent_plan is not None else {}
        calendar = load_calendar(session)
        duties = expand_duties(spec, calendar)
        warnings = settle_imported_deadlines(loaded, duties, calendar)
        unsigned: list[Loc] = [("signer", "name")] if not spec.signer.name.strip() else []
        unsigned += [("joint_with", i, "signer", "name") for i, co in enumerate(spec.joint_with) if not co.signer.name.strip()]
        for loc in unsigned:
            warnings.append(f"{loaded.source}:{loaded.problem(loc, 'no signer name: the plan prints without one until it is given')}")
        for duty in duties:
            duty.source_duty_id = sources.get(duty.code)
            plan.duties.append(duty)
        session.flush()
        return ImportedPlan(str(spec.key), tuple(warnings))
