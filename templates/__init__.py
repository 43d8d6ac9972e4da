"""The one Jinja2 environment for every word a user reads, and its Vietnamese filters.

Templates live beside this module: `email/` (one `.subject.j2`, `.html.j2` and `.txt.j2`
per message kind, on shared layouts), `reports/`, `documents/` (Word, rendered by docxtpl) and
`forms/` (Excel workbooks whose cells hold Jinja expressions). Undefined names are errors; HTML is
autoescaped, text and Markdown are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from cascade.formatting import short_date, vn_date, vn_datetime, vn_number, vn_percent

TEMPLATE_DIR = Path(__file__).parent

COMPARATOR_WORDS = {"eq": "đạt", "gt": "trên", "ge": "ít nhất", "lt": "dưới", "le": "không quá"}
VERDICT_WORDS = {"met": "Đạt", "not_met": "Không đạt", "no_data": "Chưa có số liệu", "not_judged": "—"}
NOTHING_TO_COUNT = "không phát sinh"  # a rate reported 0/0: nothing happened to count


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


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False, default=False),
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
        comparator_word=lambda c: COMPARATOR_WORDS[str(c)],
        verdict_word=lambda v: VERDICT_WORDS[str(v)],
        measure=measure,
        lower_first=lower_first,
    )
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
