"""Reading units, plan and submission files: line-aware parsing, validation, all-or-nothing imports.

Plain functions (the CLI calls them). Every problem names the file, the line and the field
path (`plan.targets[2].comparator`) and says what was expected; all the problems of a file
are collected and raised together as one `ImportFileError` (or `SubmissionError`), and a
file with any problem writes nothing.

YAML is parsed with `yaml.compose` first, so that the node tree gives every field its line;
JSON goes through the same parser (YAML is a superset of JSON). Scalars follow JSON-like
rules rather than YAML 1.1's: only true/false are booleans, `no`/`on` stay text, dates stay
text until the format parses them (so '2024-02-31' is reported, not crashed on) and a
leading zero does not make a number octal ('007' stays a code).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import difflib
import io
import re
import types
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cascade.errors import ImportFileError, InputError, Problem, SubmissionError
from models.assignment import Assignment
from models.db import session_scope
from models.plan import Aggregation, Plan, PlanTask, ReportDuty, Target, TaskRole, TaskUnit, plan_by_ref
from models.specs import (
    UNIT_COLUMNS,
    Loc,
    PlanFile,
    PlanSpec,
    SubmissionSpec,
    UnitsFile,
    UnitSpec,
    plain_number,
    show,
)
from models.submission import Channel
from models.unit import Unit
from tasks.submissions import FigureInput, SubmissionInput, sha256_file

__all__ = [
    "ImportResult",
    "LoadedPlan",
    "LoadedSubmission",
    "check_submission_against_duty",
    "format_path",
    "import_plan",
    "import_units",
    "load_plan",
    "load_submission",
    "load_units",
    "resolve_submission",
]


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
# Paths and lines
# ---------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[\w-]+")


def format_path(loc: Iterable[str | int]) -> str:
    """('plan', 'targets', 2, 'comparator') → 'plan.targets[2].comparator'."""
    out = ""
    for element in loc:
        if isinstance(element, int):
            out += f"[{element}]"
        elif _NAME_RE.fullmatch(str(element)):
            out += ("." if out else "") + str(element)
        else:
            out += f'["{element}"]'
    return out


class Locator(Protocol):
    def where(self, loc: Loc) -> tuple[int | None, str | None]: ...


def _line(node: Node) -> int:
    return node.start_mark.line + 1


@dataclass(frozen=True)
class YamlLocator:
    """Maps a field path to the line of its node in a composed YAML document."""

    root: Node | None

    def _walk(self, loc: Loc) -> tuple[int | None, int, Node | None]:
        """(line, how many elements of `loc` were found, the node reached)."""
        node = self.root
        if node is None:
            return None, 0, None
        line = _line(node)
        depth = 0
        for element in loc:
            if isinstance(node, MappingNode):
                found = None
                for key, value in node.value:  # the last duplicate wins, as in the constructed data
                    if isinstance(key, ScalarNode) and key.value == str(element):
                        found = key, value
                if found is None:
                    break
                line, node = _line(found[0]), found[1]
            elif isinstance(node, SequenceNode) and isinstance(element, int) and 0 <= element < len(node.value):
                node = node.value[element]
                line = _line(node)
            else:
                break
            depth += 1
        return line, depth, node

    def line(self, loc: Loc) -> int | None:
        """The line of the node at `loc`, or of its nearest ancestor present in the file."""
        return self._walk(loc)[0]

    def where(self, loc: Loc) -> tuple[int | None, str | None]:
        line, depth, node = self._walk(loc)
        if isinstance(node, ScalarNode) and depth < len(loc):
            loc = loc[:depth]  # a shorthand scalar ('x: 86,5') stands for its whole mapping ({value: 86,5})
        return line, format_path(loc) or None


@dataclass(frozen=True)
class CsvLocator:
    """Maps ('units', row index, column, ...) to the CSV line where the row starts and the column name."""

    row_lines: tuple[int, ...]

    def where(self, loc: Loc) -> tuple[int | None, str | None]:
        if len(loc) >= 2 and loc[0] == "units" and isinstance(loc[1], int) and 0 <= loc[1] < len(self.row_lines):
            column = loc[2] if len(loc) > 2 else None
            return self.row_lines[loc[1]], str(column) if column is not None else None
        return None, format_path(loc) or None


def _problem(locator: Locator, loc: Loc, message: str) -> Problem:
    clean = tuple(element for element in loc if element != "[key]")
    line, path = locator.where(clean)
    return Problem(message, line, path)


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------

_BOOL, _INT, _FLOAT, _TIMESTAMP = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp"))


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~20x faster on big files


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with JSON-like scalars: true/false only, no octal or sexagesimal, dates kept as text."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
        first: [(tag, regex) for tag, regex in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _read_text(path: Path, error: type[InputError]) -> str:
    """The file as NFC text; a missing file or non-UTF-8 bytes become a problem with its line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(str(path), [Problem("file not found")]) from None
    except OSError as exc:
        raise error(str(path), [Problem(f"cannot read the file: {exc.strerror or exc}")]) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(str(path), [Problem("the file is UTF-16 text; save it as UTF-8", line=1)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read; Vietnamese text must be saved as UTF-8)"
        raise error(str(path), [Problem(message, line=line)]) from None
    return unicodedata.normalize("NFC", text)


def _read_tree(path: Path, error: type[InputError]) -> tuple[Any, YamlLocator, list[Problem]]:
    """Parse YAML or JSON keeping the node tree; syntax errors raise at once with their line."""
    text = _read_text(path, error)
    if path.suffix.lower() == ".json":
        text = text.replace("\t", " ")  # JSON allows tabs between tokens, YAML does not; JSON strings cannot hold raw tabs
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
        if exc.context:
            where = f" on line {exc.context_mark.line + 1}" if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line else ""
            message += f" ({exc.context}{where})"
        raise error(str(path), [Problem(message, line=mark.line + 1 if mark else None)]) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise error(str(path), [Problem(f"YAML syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    return data, YamlLocator(node), _duplicate_keys(node)


def _duplicate_keys(root: Node | None) -> list[Problem]:
    """PyYAML keeps the last of two equal keys silently; we refuse them."""
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[Node, Loc]] = [(root, ())] if root is not None else []
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in first:
                        problems.append(Problem(f"duplicate key '{key.value}' (first given on line {first[key.value]})", _line(key), format_path((*loc, key.value))))
                    else:
                        first[key.value] = _line(key)
                    stack.append((value, (*loc, key.value)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
    return problems


# ---------------------------------------------------------------------------------------------
# Validation errors as problems
# ---------------------------------------------------------------------------------------------

_EXPECTED = {
    "string_type": "text",
    "string_sub_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list ('- item' lines or [a, b])",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping of 'key: value' lines",
    "model_type": "a mapping of 'key: value' lines",
    "model_attributes_type": "a mapping of 'key: value' lines",
    "date_type": "a date as YYYY-MM-DD or DD/MM/YYYY",
    "date_parsing": "a date as YYYY-MM-DD or DD/MM/YYYY",
}
_BOUNDS = {"greater_than": (">", "gt"), "greater_than_equal": ("≥", "ge"), "less_than": ("<", "lt"), "less_than_equal": ("≤", "le")}
_OWN = {"pattern", "symbol", "plan_number", "date", "number", "comparator", "email", "emails", "unit_threshold", "allocations"}


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (to list its allowed fields)."""
    annotation: Any = root
    for element in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if isinstance(element, str) and element in annotation.model_fields:
                annotation = annotation.model_fields[element].annotation
                continue
            return None
        origin = get_origin(annotation)
        if origin is list and isinstance(element, int):
            annotation = get_args(annotation)[0]
        elif origin is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _message(error: Any, root: type[BaseModel]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return f"missing required field '{loc[-1]}'" if loc else "missing required value"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        model = _model_at(root, loc[:-1])
        allowed = list(model.model_fields) if model else []
        guess = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown field '{name}'{hint}; expected one of: {', '.join(allowed)}" if allowed else f"unknown field '{name}'"
    if kind in _OWN or kind == "cross_check":
        return str(error["msg"])
    if kind in ("enum", "literal_error"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"expected one of {', '.join(options)}; got {show(value)}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}; got {show(value)}"
    if kind in _BOUNDS:
        symbol, key = _BOUNDS[kind]
        return f"expected a number {symbol} {ctx.get(key)}; got {show(value)}"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"expected at least {ctx.get('min_length')} characters; got {show(value)}"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters; got {len(value) if isinstance(value, str) else show(value)}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s); got {ctx.get('actual_length', 0)}"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} item(s); got {ctx.get('actual_length')}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']}; got {show(value)}"


_M = TypeVar("_M", bound=BaseModel)


def _validation_problems(exc: ValidationError, model: type[BaseModel], locator: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "cross_check":
            for sub, message in error["ctx"]["issues"]:
                problems.append(_problem(locator, (*loc, *sub), message))
        else:
            problems.append(_problem(locator, loc, _message(error, model)))
    return problems


def _validate(
    model: type[_M], data: Any, locator: Locator, problems: list[Problem], *, source: str, error: type[InputError], empty_hint: str, context: dict[str, Any] | None = None
) -> _M:
    """Validate `data` against `model`; raise every problem (parser's and pydantic's) at once."""
    if data is None:
        raise error(source, [Problem(f"the file is empty; expected {empty_hint}", line=1)])
    try:
        spec = model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = [*problems, *_validation_problems(exc, model, locator)]
        raise error(source, _sorted(problems)) from None
    if problems:
        raise error(source, _sorted(problems))
    return spec


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------

_REQUIRED_COLUMNS = ("code", "name", "emails")
_UNIT_FIELDS = ("name", "short_name", "kind", "issuer_symbol", "governing_body", "emails", "head_title", "head_name", "place", "valid_from", "valid_to")


def _read_units_csv(path: Path) -> tuple[dict[str, Any], CsvLocator, list[Problem]]:
    """A CSV units file as {'units': [row dicts]}: header row, empty cell = null, emails split on ';'."""
    source = str(path)
    text = _read_text(path, ImportFileError)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(source, [Problem(f"CSV syntax error: {exc}", line=reader.line_num)]) from None
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
    elif suffix in (".yaml", ".yml", ".json"):
        data, locator, problems = _read_tree(path, ImportFileError)
    else:
        raise ImportFileError(str(path), [Problem(f"expected a .yaml, .yml, .json or .csv file; got '{path.suffix or path.name}'")])
    spec = _validate(UnitsFile, data, locator, problems, source=str(path), error=ImportFileError, empty_hint="a top-level 'units:' list")
    return spec.units, locator


def load_units(path: str | Path) -> list[UnitSpec]:
    """Read and validate a units file (YAML/JSON with a top-level `units:` list, or CSV with a header row)."""
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
        for i, spec in enumerate(specs):
            if spec.code not in existing or "parent" in spec.model_fields_set:
                parent_of[spec.code] = spec.parent
            for field in ("parent", "successor"):
                code = getattr(spec, field)
                if code is not None and code not in in_file and code not in existing:
                    problems.append(_problem(locator, ("units", i, field), f"unknown {field} unit '{code}': it is neither in this file nor in the database"))
        for i, cycle in _parent_cycles(specs, parent_of):
            problems.append(_problem(locator, ("units", i, "parent"), f"parent cycle: {' → '.join([*cycle, cycle[0]])}"))
        if problems:
            raise ImportFileError(str(path), _sorted(problems))

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
    """A validated plan file and the lines of its fields."""

    spec: PlanSpec
    source: Path
    locator: YamlLocator

    def line_of(self, *loc: str | int) -> int | None:
        """The line of `plan.<loc>` (or of its nearest parent given in the file)."""
        return self.locator.line(("plan", *loc))

    def problem(self, loc: Loc, message: str) -> Problem:
        return _problem(self.locator, ("plan", *loc), message)


def load_plan(path: str | Path) -> LoadedPlan:
    """Read and validate a plan file (YAML or JSON with a top-level `plan:` mapping)."""
    path = Path(path)
    data, locator, problems = _read_tree(path, ImportFileError)
    spec = _validate(PlanFile, data, locator, problems, source=str(path), error=ImportFileError, empty_hint="a top-level 'plan:' mapping")
    return LoadedPlan(spec.plan, path, locator)


def _unit_references(spec: PlanSpec) -> list[tuple[Loc, str]]:
    refs: list[tuple[Loc, str]] = [(("issuer",), spec.issuer)]
    for i, task in enumerate(spec.tasks):
        refs += [(("tasks", i, "lead", j), code) for j, code in enumerate(task.lead)]
        refs += [(("tasks", i, "support", j), code) for j, code in enumerate(task.support)]
    for i, target in enumerate(spec.targets):
        refs += [(("targets", i, "reporters", j), code) for j, code in enumerate(target.reporters)]
        refs += [(("targets", i, "allocations", code), code) for code in target.allocations or {}]
    for i, duty in enumerate(spec.duties):
        refs += [(("duties", i, "assignees", j), code) for j, code in enumerate(duty.assignees)]
    return refs


def _plan_problems(session: Session, loaded: LoadedPlan, *, replace: bool) -> tuple[list[Problem], dict[str, Unit], Plan | None, Plan | None]:
    """Everything about a valid plan file that only the database can tell."""
    spec = loaded.spec
    problems: list[Problem] = []
    refs = _unit_references(spec)
    codes = {code for _, code in refs}
    units = {unit.code: unit for unit in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    for loc, code in refs:
        if code not in units:
            what = "issuer unit" if loc == ("issuer",) else "unit"
            problems.append(loaded.problem(loc, f"unknown {what} '{code}': not in the database (import the units file first)"))

    parent_plan = None
    if spec.parent_plan:
        parent_plan = plan_by_ref(session, spec.parent_plan)
        if parent_plan is None:
            problems.append(loaded.problem(("parent_plan",), f"unknown parent plan '{spec.parent_plan}': no imported plan has this key or number/symbol"))

    existing = session.scalar(select(Plan).where(Plan.key == spec.key))
    if existing is not None:
        if not replace:
            problems.append(loaded.problem(("key",), f"plan '{spec.key}' already imported; use --replace to replace it (possible until it is cascaded)"))
        else:
            assigned = session.scalar(select(func.count(Assignment.id)).join(ReportDuty, Assignment.duty_id == ReportDuty.id).where(ReportDuty.plan_id == existing.id))
            if assigned:
                problems.append(loaded.problem(("key",), f"plan '{spec.key}' cannot be replaced: it has already been cascaded ({assigned} assignments exist)"))
    if spec.number:
        twin = session.scalar(select(Plan).where(Plan.number == spec.number, Plan.symbol == spec.symbol, Plan.year == spec.year, Plan.key != spec.key).limit(1))
        if twin is not None:
            problems.append(loaded.problem(("number",), f"plan {spec.code} of {spec.year} is already imported under the key '{twin.key}'"))

    issuer = units.get(spec.issuer)
    if issuer is not None and not problems:
        problems += _assignee_problems(session, loaded, issuer)
    return problems, units, existing, parent_plan


def _assignee_problems(session: Session, loaded: LoadedPlan, issuer: Unit) -> list[Problem]:
    """Reporters and allocations must belong to units the duties are actually sent to."""
    spec = loaded.spec
    problems: list[Problem] = []
    subordinates = sorted(session.scalars(select(Unit.code).where(Unit.parent_id == issuer.id)))
    assignees: dict[str, set[str]] = {}
    for i, duty in enumerate(spec.duties):
        assignees[duty.code] = set(duty.assignees or subordinates)
        if not assignees[duty.code]:
            problems.append(loaded.problem(("duties", i, "assignees"), f"no assignees: the issuer '{issuer.code}' has no subordinate units in the database; list the assignees"))
    for i, target in enumerate(spec.targets):
        duties = [d.code for d in spec.duties if not d.indicators or target.code in d.indicators]
        if not duties:
            continue
        asked = set().union(*(assignees[code] for code in duties))
        names = ", ".join(f"'{code}'" for code in duties)
        for j, code in enumerate(target.reporters):
            if code not in asked:
                problems.append(loaded.problem(("targets", i, "reporters", j), f"unit '{code}' is not an assignee of duty {names}, which reports '{target.code}'"))
        allowed = set(target.reporters) or asked
        for code in target.allocations or {}:
            if code not in allowed:
                problems.append(loaded.problem(("targets", i, "allocations", code), f"unit '{code}' has an allocation but does not report '{target.code}'"))
    return problems


def import_plan(path: str | Path, *, replace: bool = False) -> str:
    """Import a plan file in one transaction and return its key; a file with any problem writes nothing.

    With `replace=True` an already imported plan of the same key is overwritten, as long as
    none of its duties has been cascaded (no assignments yet); its id, and so the links of
    plans that implement it, are kept.
    """
    loaded = load_plan(path)
    spec = loaded.spec
    with session_scope() as session:
        problems, units, existing, parent_plan = _plan_problems(session, loaded, replace=replace)
        if problems:
            raise ImportFileError(str(loaded.source), _sorted(problems))

        if existing is not None:
            plan = existing
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
        plan.year = spec.year  # type: ignore[assignment]  (set by the spec's defaults)
        plan.basis = list(spec.basis)
        plan.parent_plan_id = parent_plan.id if parent_plan is not None else None
        plan.purposes = spec.purposes
        plan.requirements = spec.requirements
        plan.recipients = list(spec.recipients)
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
            plan.targets.append(
                Target(
                    code=target.code,
                    position=position,
                    text=target.text,
                    metric=target.metric,
                    unit_of_measure=target.unit_of_measure,
                    comparator=target.comparator,
                    value=target.value,
                    aggregation=target.aggregation,
                    unit_comparator=target.unit_threshold.comparator if target.unit_threshold else None,
                    unit_threshold=target.unit_threshold.value if target.unit_threshold else None,
                    reporter_codes=list(target.reporters),
                    allocations={code: plain_number(share) for code, share in (target.allocations or {}).items()},
                )
            )
        for duty in spec.duties:
            plan.duties.append(
                ReportDuty(
                    code=duty.code,
                    kind=duty.kind,
                    title=duty.title,
                    period_start=duty.period_start,
                    cutoff_on=duty.cutoff_on,
                    due_on=duty.due_on,
                    reminder_days=list(duty.reminder_days),
                    overdue_days=list(duty.overdue_days),
                    sections=[{"code": s.code, "title": s.title} for s in duty.sections],
                    indicator_codes=list(duty.indicators),
                    assignee_codes=list(duty.assignees),
                )
            )
        session.flush()
        return str(spec.key)


# ---------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedSubmission:
    """A submission file whose shape is valid, with the lines of its fields and its attachments' paths."""

    spec: SubmissionSpec
    source: Path
    locator: YamlLocator
    attachment_paths: tuple[Path, ...]

    def line_of(self, *loc: str | int) -> int | None:
        return self.locator.line(loc)

    def problem(self, loc: Loc, message: str) -> Problem:
        return _problem(self.locator, loc, message)


def load_submission(path: str | Path) -> LoadedSubmission:
    """Read a submission file and check its shape (numbers, rates, attachments present); raises SubmissionError."""
    path = Path(path)
    data, locator, problems = _read_tree(path, SubmissionError)
    spec = _validate(
        SubmissionSpec, data, locator, problems,
        source=str(path), error=SubmissionError, empty_hint="the keys plan, duty, unit, values and sections",
        context={"base_dir": path.parent},
    )  # fmt: skip
    attachments = tuple((path.parent / name).resolve() for name in spec.attachments)
    return LoadedSubmission(spec, path, locator, attachments)


def resolve_submission(doc: LoadedSubmission, *, session: Session) -> tuple[Plan, ReportDuty, Unit]:
    """The plan, duty and unit a submission names; raises SubmissionError pointing at the wrong line."""
    spec = doc.spec
    problems: list[Problem] = []
    plan = plan_by_ref(session, spec.plan)
    duty = None
    if plan is None:
        problems.append(doc.problem(("plan",), f"unknown plan '{spec.plan}': give its key (e.g. 74-kh-sxd-2024) or its number/symbol (74/KH-SXD)"))
    else:
        duty = next((d for d in plan.duties if d.code == spec.duty), None)
        if duty is None:
            known = ", ".join(d.code for d in plan.duties) or "none"
            problems.append(doc.problem(("duty",), f"unknown duty '{spec.duty}' in plan {plan.code}; expected one of: {known}"))
    unit = session.scalar(select(Unit).where(Unit.code == spec.unit))
    if unit is None:
        problems.append(doc.problem(("unit",), f"unknown unit '{spec.unit}': not in the database"))
    if problems or plan is None or duty is None or unit is None:
        raise SubmissionError(str(doc.source), _sorted(problems))
    return plan, duty, unit


def check_submission_against_duty(doc: LoadedSubmission, duty: ReportDuty, targets: Sequence[Target]) -> None:
    """Check a submission against its duty: indicators, rate shapes, sections; raises SubmissionError.

    `targets` are the plan's targets (those outside the duty's indicator list are ignored).
    The unit must give a figure for every indicator of the duty it reports, and only those;
    a weighted_rate indicator needs {numerator, denominator}; a sum needs a single value;
    every section of the duty must be filled, and no other section given.
    """
    spec = doc.spec
    problems: list[Problem] = []
    if spec.duty != duty.code:
        problems.append(doc.problem(("duty",), f"expected duty '{duty.code}'; got '{spec.duty}'"))

    wanted = set(duty.indicator_codes)
    of_duty = [t for t in targets if not wanted or t.code in wanted]
    by_code = {t.code: t for t in of_duty}
    mine = [t for t in of_duty if not t.reporter_codes or spec.unit in t.reporter_codes]
    for code, figure in spec.values.items():
        target = by_code.get(code)
        if target is None:
            expected = ", ".join(t.code for t in mine) or "none"
            problems.append(doc.problem(("values", code), f"unknown indicator '{code}' for duty '{duty.code}'; this unit reports: {expected}"))
        elif target not in mine:
            problems.append(doc.problem(("values", code), f"unit '{spec.unit}' does not report '{code}' (reported by: {', '.join(target.reporter_codes)})"))
        elif target.aggregation == Aggregation.WEIGHTED_RATE and not figure.is_rate:
            problems.append(doc.problem(("values", code), f"'{code}' is a rate: expected {{numerator, denominator}}; got a single value {plain_number(figure.value or Decimal(0))}"))
        elif target.aggregation == Aggregation.SUM and figure.is_rate:
            problems.append(doc.problem(("values", code), f"'{code}' is a quantity ({target.unit_of_measure}) added up over units: expected a single value, not a numerator and denominator"))
    for target in mine:
        if target.code not in spec.values:
            problems.append(doc.problem(("values",), f"missing value for indicator '{target.code}' ({target.metric})"))

    titles = {s["code"]: s["title"] for s in duty.sections}
    for code in spec.sections:
        if code not in titles:
            problems.append(doc.problem(("sections", code), f"unknown section '{code}' for duty '{duty.code}'; expected one of: {', '.join(titles)}"))
    for code, title in titles.items():
        if not spec.sections.get(code, "").strip():
            loc: Loc = ("sections", code) if code in spec.sections else ("sections",)
            problems.append(doc.problem(loc, f"section '{code}' ({title}) is required and must not be empty"))
    if problems:
        raise SubmissionError(str(doc.source), _sorted(problems))


def submission_input(path: str | Path) -> SubmissionInput:
    """Read and check a submission file against its duty; the file's content (and its attachments') is its source key."""
    doc = load_submission(path)
    with session_scope() as session:
        plan, duty, unit = resolve_submission(doc, session=session)
        check_submission_against_duty(doc, duty, plan.targets)
        plan_key = plan.key
    spec = doc.spec
    digest = hashlib.sha256(Path(path).read_bytes())
    for attachment in doc.attachment_paths:
        digest.update(sha256_file(attachment).encode())
    return SubmissionInput(
        plan=plan_key,
        duty=duty.code,
        unit=unit.code,
        channel=Channel.FILE,
        source_key=f"sha256:{digest.hexdigest()}",
        values={code: FigureInput(f.value, f.numerator, f.denominator, f.note) for code, f in spec.values.items()},
        sections={code: text for code, text in spec.sections.items()},
        self_score=spec.self_assessment.score if spec.self_assessment else None,
        self_assessment=spec.self_assessment.note if spec.self_assessment else "",
        attachments=doc.attachment_paths,
        sender=spec.submitted_by,
    )
