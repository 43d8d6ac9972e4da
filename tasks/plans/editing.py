"""A drafted plan changed through a form: the plan file the form stands for, imported with the same code
as `cascade plan import FILE --replace`, so that the web and the command line refuse the same things
(a loosened target, a deadline after the parent's) with the same reasons.

The form names its fields after the plan file's paths: `title`, `tasks.2.content`, `targets.0.value`,
`duties.1.due_on`; a problem the importer finds at `plan.targets[0].value` comes back on `targets.0.value`.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from cascade.errors import ImportFileError, Problem
from cascade.formatting import parse_vn_number
from tasks.plans.imports import ImportedPlan, import_plan_file
from templates import message, render_string, words

# The plan's own fields a form may change, beside its tasks, targets and deadlines.
TEXT_FIELDS = ("title", "place", "purposes", "requirements")
LINE_FIELDS = ("basis", "recipients", "report_recipients")  # one entry per line of a text box
_PATH = re.compile(r"^plan\.(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")


@dataclass(frozen=True)
class FieldProblem:
    """A problem with a plan the form stands for: the form field it belongs to (None: the plan as a whole) and why."""

    field: str | None
    message: str


def field_of(problem: Problem) -> str | None:
    """The form field of an importer's problem ('plan.targets[0].value' → 'targets.0.value')."""
    found = _PATH.match(problem.path or "")
    if found is None:
        return None
    name, index, attribute = found.groups()
    return ".".join(part for part in (name, index, attribute) if part is not None)


def _number(text: str) -> int | float:
    value = parse_vn_number(text)
    return int(value) if value == value.to_integral_value() else float(value)


def edited_document(document: Mapping[str, Any], form: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """`document` (`{plan: …}`, as `plan_document` gives it) with the form's values put in, and the
    problems of values that are not even of their kind (a number that is no number). Tasks marked
    `tasks.N.drop` are left out; `tasks.new.title` (with `tasks.new.content`) adds one."""
    doc = copy.deepcopy(dict(document))
    plan = doc["plan"]
    problems: list[FieldProblem] = []
    for name in TEXT_FIELDS:
        if name in form:
            plan[name] = form[name].strip()
    for name in LINE_FIELDS:
        if name in form:
            plan[name] = [line.strip() for line in form[name].splitlines() if line.strip()]
    if "signer.title" in form or "signer.name" in form:
        plan["signer"] = {"title": form.get("signer.title", plan["signer"]["title"]).strip(), "name": form.get("signer.name", plan["signer"]["name"]).strip()}
    tasks = []
    for i, stored in enumerate(plan.get("tasks", [])):
        if form.get(f"tasks.{i}.drop"):
            continue
        task = dict(stored)
        for attribute in ("title", "content"):
            if f"tasks.{i}.{attribute}" in form:
                task[attribute] = form[f"tasks.{i}.{attribute}"].strip()
        tasks.append(task)
    if (title := form.get("tasks.new.title", "").strip()) or form.get("tasks.new.content", "").strip():
        taken = {t["code"] for t in tasks}
        code = next(f"nv{n}" for n in range(len(tasks) + 1, len(tasks) + 1000) if f"nv{n}" not in taken)
        tasks.append({"code": code, "title": title, "content": form.get("tasks.new.content", "").strip(), "lead": [], "support": []})
    plan["tasks"] = tasks
    for i, target in enumerate(plan.get("targets", [])):
        given = form.get(f"targets.{i}.value", "").strip()
        if given and "value" in target:
            try:
                target["value"] = _number(given)
            except (ValueError, InvalidOperation):
                problems.append(FieldProblem(f"targets.{i}.value", message("plan_pages.not_a_number", given=given)))
    for i, duty in enumerate(plan.get("duties", [])):
        if given := form.get(f"duties.{i}.due_on", "").strip():
            duty["due_on"] = given
    return doc, problems


def save_edited(document: Mapping[str, Any], workdir: Path) -> ImportedPlan:
    """Import the plan `document` stands for over the stored draft, all or nothing (`import_plan_file`
    with `replace`); raises ImportFileError with the importer's problems."""
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=workdir, encoding="utf-8", delete=False) as handle:
        yaml.safe_dump(dict(document), handle, allow_unicode=True, sort_keys=False, width=120)
        path = Path(handle.name)
    try:
        return import_plan_file(path, replace=True)
    finally:
        path.unlink(missing_ok=True)


def form_problems(error: ImportFileError) -> list[FieldProblem]:
    """The importer's problems, each on the form field it names."""
    worded = words("plan_pages.problems")
    return [
        FieldProblem(field_of(p), render_string(worded[p.code], **p.facts) if p.code is not None and p.code in worded else p.message) for p in error.problems
    ]
