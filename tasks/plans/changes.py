"""What changed from one version of a unit's report to the next, as the reviewer and the unit read them:
figures whose shown value or note differ, and narrative sections with the words removed and added."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_WORDS = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class FigureChange:
    metric: str
    before: str  # '' when the earlier version had no figure for it
    after: str


@dataclass(frozen=True)
class SectionChange:
    title: str
    pieces: tuple[tuple[str, str], ...]  # ('same' | 'removed' | 'added', text), in reading order


@dataclass(frozen=True)
class Changes:
    since: int  # the version compared with
    figures: tuple[FigureChange, ...]
    sections: tuple[SectionChange, ...]

    @property
    def any(self) -> bool:
        return bool(self.figures or self.sections)


def word_diff(before: str, after: str) -> tuple[tuple[str, str], ...]:
    """`after` against `before`, word by word (each word keeps the spaces after it): runs of kept,
    removed and added text, a removed run before the added one that replaces it."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    pieces: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("same", "".join(new[j1:j2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(new[j1:j2])))
    return tuple(pieces)


def _figure(figure: Mapping[str, object]) -> str:
    shown, note = str(figure.get("shown") or ""), str(figure.get("note") or "")
    return f"{shown} ({note})" if note else shown


def changes_between(since: int, before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """The changes from version `since` (`before`) to `after`, each given as shown: 'figures' of
    {metric, shown, note} and 'sections' of {title, text}, in the order the duty lists them."""
    old_figures = {str(f["metric"]): _figure(f) for f in before.get("figures", ())}
    new_figures = {str(f["metric"]): _figure(f) for f in after.get("figures", ())}
    figures = [FigureChange(metric, old_figures.get(metric, ""), shown) for metric, shown in new_figures.items() if old_figures.get(metric) != shown]
    figures += [FigureChange(metric, shown, "") for metric, shown in old_figures.items() if metric not in new_figures]
    old_sections = {str(s["title"]): str(s["text"]) for s in before.get("sections", ())}
    new_sections = {str(s["title"]): str(s["text"]) for s in after.get("sections", ())}
    sections = [
        SectionChange(title, word_diff(old_sections.get(title, ""), text))
        for title, text in new_sections.items()
        if old_sections.get(title, "").strip() != text.strip()
    ]
    sections += [SectionChange(title, (("removed", text),)) for title, text in old_sections.items() if title not in new_sections and text.strip()]
    return Changes(since, tuple(figures), tuple(sections))


@dataclass(frozen=True)
class PlanChange:
    """One thing a unit changed in the plan drafted for it. `kind`: title, purposes, requirements (texts, with
    `pieces` word by word), target (`before`/`after` values), deadline (`before`/`after` days), task_added,
    task_removed, task_changed (its content word by word); `name`: the target, report or task it is about."""

    kind: str
    name: str
    before: str = ""
    after: str = ""
    pieces: tuple[tuple[str, str], ...] = ()


def _target_value(target: Mapping[str, Any]) -> str:
    value = target.get("value")
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def plan_changes(drafted: Mapping[str, Any], issued: Mapping[str, Any]) -> tuple[PlanChange, ...]:
    """What `issued` (a plan file's `{plan: …}` mapping) changed from `drafted`, in reading order."""
    before, after = drafted["plan"], issued["plan"]
    changes: list[PlanChange] = []
    for field in ("title", "purposes", "requirements"):
        if (before.get(field) or "") != (after.get(field) or ""):
            changes.append(PlanChange(field, field, pieces=word_diff(before.get(field) or "", after.get(field) or "")))
    old_targets = {t["code"]: t for t in before.get("targets", [])}
    for target in after.get("targets", []):
        old = old_targets.get(target["code"])
        if old is not None and _target_value(old) != _target_value(target):
            changes.append(PlanChange("target", target["text"], _target_value(old), _target_value(target)))
    old_duties = {d["code"]: d for d in before.get("duties", [])}
    for duty in after.get("duties", []):
        old = old_duties.get(duty["code"])
        if old is not None and old["due_on"] != duty["due_on"]:
            changes.append(PlanChange("deadline", duty["title"], old["due_on"], duty["due_on"]))
    old_tasks = {t["code"]: t for t in before.get("tasks", [])}
    new_codes = {t["code"] for t in after.get("tasks", [])}
    for task in after.get("tasks", []):
        old = old_tasks.get(task["code"])
        if old is None:
            changes.append(PlanChange("task_added", task["title"], after=task.get("content") or ""))
        elif (old.get("title"), old.get("content")) != (task.get("title"), task.get("content")):
            text_before = f"{old.get('title') or ''}: {old.get('content') or ''}"
            text_after = f"{task.get('title') or ''}: {task.get('content') or ''}"
            changes.append(PlanChange("task_changed", task["title"], pieces=word_diff(text_before, text_after)))
    changes += [PlanChange("task_removed", t["title"]) for code, t in old_tasks.items() if code not in new_codes]
    return tuple(changes)
