"""The message catalogues (templates/messages/*.yaml) against the code that uses them.

Every `message(...)` and `words(...)` call names its key as a literal string, so that this test can
check, without running anything, that each key exists (a typo never reaches a user) and that every
entry of the catalogues is used (no dead words). A table looked up at run time (`words(key)[name]`,
`message(key, name)`) counts all its entries as used; the tables keyed by an enum are checked
against it below.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from templates import MESSAGE_DIR, TEMPLATE_DIR, catalogue, environment, message, words

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cascade", "flows", "models", "portal", "sandbox", "tasks", "templates")
API = {"message", "words"}
# A call in a Jinja template: {{ words("intake.outcome") }}, {% set X = words("…") %}.
TEMPLATE_CALL = re.compile(r"""\b(message|words)\(\s*["']([^"']+)["']\s*(,)?""")


@dataclass(frozen=True)
class Use:
    where: str  # file:line
    function: str  # message or words
    key: str | None  # None when the key is not a literal string
    table: bool  # the whole table under `key` is used (words, or message with an entry chosen at run time)


def _imports_api(tree: ast.Module) -> dict[str, str]:
    """The names under which a module imported the API: {local name: message or words}."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "templates":
            names |= {alias.asname or alias.name: alias.name for alias in node.names if alias.name in API}
    return names


def uses() -> Iterator[Use]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = _imports_api(tree) | ({name: name for name in API} if path == TEMPLATE_DIR / "__init__.py" else {})
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                    function = names[node.func.id]
                    first = node.args[0] if node.args else None
                    key = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    if path == TEMPLATE_DIR / "__init__.py" and key is None:
                        continue  # the API's own definitions and recursion
                    yield Use(where, function, key, function == "words" or len(node.args) > 1)
    for path in sorted(TEMPLATE_DIR.rglob("*.j2")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for found in TEMPLATE_CALL.finditer(line):
                yield Use(f"{path.relative_to(ROOT)}:{number}", found[1], found[2], found[1] == "words" or bool(found[3]))


def entry(key: str) -> Any:
    area, _, rest = key.partition(".")
    node: Any = catalogue(area)
    for part in rest.split("."):
        node = node[part]
    return node


def leaves(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from leaves(value, f"{prefix}.{key}")
    else:
        yield prefix, node


def all_leaves() -> list[tuple[str, str]]:
    return [leaf for path in sorted(MESSAGE_DIR.glob("*.yaml")) for leaf in leaves(catalogue(path.stem), path.stem)]


def test_the_scan_finds_the_calls() -> None:
    found = list(uses())
    assert len(found) > 100  # a broken scan finds nothing, and then every check below passes
    assert {u.function for u in found} == API


def test_every_key_is_a_literal_string() -> None:
    assert [u.where for u in uses() if u.key is None] == []


def test_every_key_used_exists() -> None:
    missing = []
    for use in uses():
        if use.key is None:
            continue
        try:
            found = entry(use.key)
        except KeyError:
            missing.append(f"{use.where}: {use.function}({use.key!r}) is not in templates/messages/")
            continue
        if use.table != isinstance(found, Mapping):
            missing.append(f"{use.where}: {use.function}({use.key!r}) is a {'table' if isinstance(found, Mapping) else 'text'}")
    assert missing == []


def test_every_entry_is_used() -> None:
    used = [u for u in uses() if u.key is not None]
    texts = {u.key for u in used if not u.table}
    tables = tuple(f"{u.key}." for u in used if u.table)
    unused = [key for key, _ in all_leaves() if key not in texts and not key.startswith(tables)]
    assert unused == []


def test_every_entry_is_a_valid_template() -> None:
    for key, text in all_leaves():
        environment().parse(text)  # raises TemplateSyntaxError naming the problem
        assert text == text.strip() or text.startswith(" "), key  # stray whitespace only where it is meant


def test_a_missing_key_fails_naming_the_key_and_the_file() -> None:
    with pytest.raises(KeyError, match=r"cli\.no_such_entry.*templates/messages/cli\.yaml"):
        message("cli.no_such_entry")
    with pytest.raises(KeyError, match=r"no_such_area.*no_such_area\.yaml"):
        words("no_such_area.table")
    with pytest.raises(KeyError, match="is a table"):
        message("reporting.state")
    with pytest.raises(KeyError, match="not a table"):
        words("reporting.nothing_to_count")


def test_a_message_is_rendered_with_its_context() -> None:
    from datetime import date

    assert message("cli.workdays.unset", when=date(2025, 5, 2)) == "Đã bỏ điều chỉnh ngày 02/05/2025: áp dụng lịch chung."
    with pytest.raises(Exception, match="when"):  # StrictUndefined: a missing name is an error, not an empty string
        message("cli.workdays.unset")


def test_the_tables_keyed_by_an_enum_have_one_word_per_member() -> None:
    from models.aggregation import Verdict
    from models.inbound import IntakeOutcome
    from models.milestones import MilestoneStatus
    from models.outbox import EmailKind
    from models.plan import Aggregation, Comparator, PlanStatus, TaskRole
    from tasks.intake.access import Refusal

    tables = {
        "intake.outcome": set(IntakeOutcome),
        "intake.not_open": set(Refusal) - {Refusal.PLAN_DUTY},  # a reply about a plan duty is set aside, in words of its own
        "milestones.status": set(MilestoneStatus),
        "outbox.kind": set(EmailKind),
        "plans.status": set(PlanStatus),
        "plans.role": set(TaskRole),
        "plans.ask": set(Aggregation),
        "reporting.comparator": set(Comparator),
        "reporting.verdict": set(Verdict),
    }
    for key, members in tables.items():
        assert set(words(key)) == {str(m) for m in members}, key
