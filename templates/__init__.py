"""The one Jinja2 environment for every word a user reads, and its Vietnamese filters.

Templates live beside this module: `email/` (one `.subject.j2`, `.html.j2` and `.txt.j2`
per message kind, on shared layouts), `reports/`, `documents/` (Word, rendered by docxtpl) and
`forms/` (Excel workbooks whose cells hold Jinja expressions). Undefined names are errors; HTML is
autoescaped, and Markdown (shown as HTML in the Prefect UI); text is not.

The words and sentences code prints on its own (table headers, status words, a reason recorded with
a reply, a CLI line) live in the message catalogues `messages/<area>.yaml`: `message("cli.plan.list")`
renders one entry as a Jinja template with the same filters, `words("reporting.state")` gives a
table (state → word). Python keeps the keys; a key missing from its catalogue is a KeyError naming
the key and the file (tests/templates/test_messages.py checks every key the code uses, and that
every entry is used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from cascade.formatting import short_date, vn_date, vn_datetime, vn_number, vn_percent

TEMPLATE_DIR = Path(__file__).parent
MESSAGE_DIR = TEMPLATE_DIR / "messages"


def measure(value: Any, unit_of_measure: str) -> str:
    """A figure with its unit: '86,5%', '715 căn', '-' when there is none."""
    if value is None:
        return "-"
    if unit_of_measure == "%":
        return vn_percent(value)
    return f"{vn_number(value)} {unit_of_measure}".rstrip()


def lower_first(text: str) -> str:
    """A title continued inside a sentence: its first letter in lower case ('Thành lập …' → 'thành
    lập …'), unless the first word is an abbreviation ('UBND …', 'CCHC …')."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def iso_date(value: Any) -> Any:
    """A day kept as text in a stored document ('2024-10-30') as a date for the date filters; a date as it is."""
    return date.fromisoformat(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # Templates are code: read once per process (checking each file's time on every use took 0.4 ms
        # a message); the command server ends when one changes (cascade.cli.serve_commands)
        auto_reload=False,
        undefined=StrictUndefined,
        # Markdown too: it is shown as HTML (Prefect artifacts), and units' text must not bring tags into it
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "md", "md.j2"), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        vn_date=vn_date,
        short_date=short_date,
        vn_datetime=vn_datetime,
        vn_number=vn_number,
        vn_percent=vn_percent,
        comparator_word=lambda c: words("reporting.comparator")[str(c)],
        verdict_word=lambda v: words("reporting.verdict")[str(v)],
        measure=measure,
        lower_first=lower_first,
        iso_date=iso_date,
    )
    env.globals["words"] = words  # a table of the message catalogues, as in Python: words("intake.outcome")
    return env


def render(name: str, **context: Any) -> str:
    """Render one template by its path below templates/."""
    return environment().get_template(name).render(**context)


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return environment().from_string(source)


def render_string(source: str, **context: Any) -> str:
    """Render a template held in a document (a cell of an .xlsx template), with the same filters;
    compiled once per distinct source."""
    return _compiled(source).render(**context)


@lru_cache(maxsize=1)
def document_environment() -> Environment:
    """The environment for Word templates (docxtpl): the same filters, everything autoescaped
    (without it, '&' and '<' in a unit's text would break the document's XML)."""
    return environment().overlay(autoescape=True)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def render_email(kind: str, **context: Any) -> RenderedEmail:
    """Render `email/<kind>.subject.j2`, `.html.j2` and `.txt.j2` with the same context."""
    subject = " ".join(render(f"email/{kind}.subject.j2", **context).split())
    return RenderedEmail(
        subject=subject,
        html=render(f"email/{kind}.html.j2", subject=subject, **context),
        text=render(f"email/{kind}.txt.j2", subject=subject, **context),
    )


# ---------------------------------------------------------------------------------------------
# Message catalogues: templates/messages/<area>.yaml
# ---------------------------------------------------------------------------------------------


def _frozen(node: Any, where: str) -> Any:
    """A catalogue's tree, read-only: mappings with string keys whose leaves are strings."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        for key in node:
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string (quote it: YAML reads yes/no/on/off and numbers otherwise)")
        return MappingProxyType({key: _frozen(value, f"{where}.{key}") for key, value in node.items()})
    raise TypeError(f"{where}: expected a string or a mapping, got {type(node).__name__} {node!r}")


@cache
def catalogue(area: str) -> Mapping[str, Any]:
    """The entries of `messages/<area>.yaml`, parsed once; KeyError when there is no such file."""
    path = MESSAGE_DIR / f"{area}.yaml"
    if not path.is_file():
        raise KeyError(f"no message catalogue {area!r}: templates/messages/{area}.yaml does not exist")
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return _frozen(data if data is not None else {}, f"templates/{path.relative_to(TEMPLATE_DIR)}")


def _entry(key: str) -> Any:
    """The entry at 'area.path.to.entry'; a KeyError naming the key and the file when there is none."""
    area, _, rest = key.partition(".")
    try:
        node: Any = catalogue(area)  # parsed once: no look at the disk after the first entry of an area
    except KeyError:
        raise KeyError(f"no message {key!r}: templates/messages/{area}.yaml does not exist") from None
    walked = []
    for part in rest.split(".") if rest else []:
        walked.append(part)
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"no message {key!r}: templates/messages/{area}.yaml has no entry {'.'.join(walked)!r}")
        node = node[part]
    return node


def message(key: str, entry: str | None = None, /, **context: Any) -> str:
    """One entry of a catalogue, rendered with `context`: `message("cli.workdays.unset", when=day)`.

    The key is 'area.path.to.entry' (area = the file's name). With `entry`, `key` names a table and
    `entry` one of its entries, chosen at run time: `message("forms.problems", kind, what=...)`.
    """
    full = f"{key}.{entry}" if entry is not None else key
    text = _entry(full)
    if not isinstance(text, str):
        raise KeyError(f"message {full!r} (templates/messages/{full.partition('.')[0]}.yaml) is a table, not a text: use words({full!r})")
    return render_string(text, **context) if "{" in text else text


def words(key: str, /) -> Mapping[str, str]:
    """A table of words, read-only: `words("reporting.state")["late"]` → 'Nộp muộn'."""
    table = _entry(key)
    if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
        raise KeyError(f"message {key!r} (templates/messages/{key.partition('.')[0]}.yaml) is not a table of words (key → text)")
    return table
