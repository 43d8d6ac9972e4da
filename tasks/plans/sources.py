"""Reading input files with their line numbers, and turning validation errors into problems.

YAML is parsed with `yaml.compose` first, so that the node tree gives every field its line;
JSON goes through the same parser (YAML is a superset of JSON). Scalars follow JSON-like
rules rather than YAML 1.1's: only true/false are booleans, `no`/`on` stay text, dates stay
text until the format parses them (so '2024-02-31' is reported, not crashed on) and a
leading zero does not make a number octal ('007' stays a code). CSV files get a locator
that maps a row and column to the file's line.
"""

from __future__ import annotations

import codecs
import difflib
import re
import types
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cascade.errors import InputError, Problem
from cascade.input_limits import LimitProblem, size_problem
from cascade.settings import get_settings
from models.specs import (
    Loc,
    show,
)

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


def problem_at(locator: Locator, loc: Loc, message: str) -> Problem:
    clean = tuple(element for element in loc if element != "[key]")
    line, path = locator.where(clean)
    return Problem(message, line, path)


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------

_BOOL, _INT, _FLOAT, _TIMESTAMP = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp"))


if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader  # the libyaml loader offers the same class interface
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~20x faster on big files


class _Loader(_BaseLoader):
    """SafeLoader with JSON-like scalars: true/false only, no octal or sexagesimal, dates kept as text."""


# The resolvers are PyYAML's class attribute: SafeLoader's without the YAML 1.1 bool, int, float and
# timestamp ones, which are replaced by the JSON-like ones below.
_Loader.yaml_implicit_resolvers = {
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


def read_text(path: Path, error: type[InputError]) -> str:
    """The file as NFC text; a missing file, one above `input_max_mb` or non-UTF-8 bytes become a problem with its line."""
    try:
        if (big := size_problem(path.stat().st_size)) is not None:
            raise error(str(path), [Problem(big.describe())])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(str(path), [Problem("file not found")]) from None
    except OSError as exc:
        raise error(str(path), [Problem(f"cannot read the file: {exc.strerror or exc}")]) from None
    if raw.startswith(b"PK\x03\x04"):  # a zip: an Excel workbook under another name (.xlsm, .xlsx renamed)
        kind = "a macro-enabled Excel workbook (.xlsm)" if path.suffix.lower() == ".xlsm" else "an Excel workbook or another zip file"
        raise error(str(path), [Problem(f"the file is {kind}, not text: save it as an Excel Workbook (.xlsx), without macros, or as YAML, JSON or CSV")])
    if raw.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: Excel 97-2003 (.xls) and other old Office files
        raise error(str(path), [Problem("the file is an Excel 97-2003 workbook (.xls) or another old Office file: save it as an Excel Workbook (.xlsx)")])
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(str(path), [Problem("the file is UTF-16 text; save it as UTF-8", line=1)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read; Vietnamese text must be saved as UTF-8)"
        raise error(str(path), [Problem(message, line=line)]) from None
    return unicodedata.normalize("NFC", text)


def read_tree(path: Path, error: type[InputError]) -> tuple[Any, YamlLocator, list[Problem]]:
    """Parse YAML or JSON keeping the node tree; syntax errors raise at once with their line."""
    text = read_text(path, error)
    if path.suffix.lower() == ".json":
        text = text.replace("\t", " ")  # JSON allows tabs between tokens, YAML does not; JSON strings cannot hold raw tabs
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and (expanded := alias_problem(node)) is not None:
            raise error(str(path), [Problem(expanded.describe())])
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


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def alias_problem(root: Node) -> LimitProblem | None:
    """Aliases beyond `input_max_yaml_aliases`, or a tree whose aliases expand it beyond `input_max_yaml_values`
    (a recursive alias expands without end).

    Composing shares an aliased node instead of copying it, so each node is walked once (depth first, a
    node's values summed after its children's); the values are counted as validation would meet them."""
    settings = get_settings()
    done: dict[int, int] = {}  # node → values it expands to
    open_: set[int] = set()  # nodes on the path from the root
    aliases = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_.discard(key)
            done[key] = 1 + sum(done[id(child)] for child in _children(node))
            if done[key] > settings.input_max_yaml_values:
                return LimitProblem("yaml_values", {"limit": f"{settings.input_max_yaml_values:,}"})
            continue
        if key in open_:  # an alias of a node inside itself
            return LimitProblem("yaml_values", {"limit": f"{settings.input_max_yaml_values:,}"})
        if key in done:
            aliases += 1
            if aliases > settings.input_max_yaml_aliases:
                return LimitProblem("yaml_aliases", {"count": f"{aliases}+", "limit": settings.input_max_yaml_aliases})
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    return None


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
                        problems.append(
                            Problem(f"duplicate key '{key.value}' (first given on line {first[key.value]})", _line(key), format_path((*loc, key.value)))
                        )
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
                problems.append(problem_at(locator, (*loc, *sub), message))
        else:
            problems.append(problem_at(locator, loc, _message(error, model)))
    return problems


def validate(
    model: type[_M],
    data: Any,
    locator: Locator,
    problems: list[Problem],
    *,
    source: str,
    error: type[InputError],
    empty_hint: str,
    context: dict[str, Any] | None = None,
) -> _M:
    """Validate `data` against `model`; raise every problem (parser's and pydantic's) at once."""
    if data is None:
        raise error(source, [Problem(f"the file is empty; expected {empty_hint}", line=1)])
    try:
        spec = model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = [*problems, *_validation_problems(exc, model, locator)]
        raise error(source, sorted_problems(problems)) from None
    if problems:
        raise error(source, sorted_problems(problems))
    return spec
