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


# What an amendment changes: each change one plain mapping, stored with the amendment (PlanAmendment.changes)
# and worded by the amendment's document and notices. `code` names the task, target or duty it is about.
TEXT_FIELDS = ("title", "purposes", "requirements")
_TARGET_RULE = ("comparator", "value", "unit_threshold", "allocations", "allocation_rule", "reporters")
_DUTY_FORM = ("title", "cutoff_on", "sections", "indicators")


def _change(kind: str, code: str, name: str, before: Any = None, after: Any = None) -> dict[str, Any]:
    return {"kind": kind, "code": code, "name": name, "before": before, "after": after}


def document_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What `after` changes from `before` (two `{plan: …}` mappings of one plan), in the order a document lists
    them: the plan's own texts and basis, tasks, targets, then duties; kinds: title, purposes, requirements,
    basis, task_added, task_removed, task_changed, target (its rule: comparator, value, threshold, allocations,
    reporters), target_text, target_added, target_removed, deadline, duty_changed, assignees, duty_added,
    duty_removed."""
    old, new = before["plan"], after["plan"]
    changes = [_change(f, f, f, old.get(f) or "", new.get(f) or "") for f in TEXT_FIELDS if (old.get(f) or "") != (new.get(f) or "")]
    if list(old.get("basis") or []) != list(new.get("basis") or []):
        changes.append(_change("basis", "basis", "basis", list(old.get("basis") or []), list(new.get("basis") or [])))
    changes += _listed(old.get("tasks", []), new.get("tasks", []), "task", ("title", "content", "lead", "support"), lambda t: t["title"])
    old_targets = {t["code"]: t for t in old.get("targets", [])}
    for target in new.get("targets", []):
        was = old_targets.get(target["code"])
        if was is None:
            changes.append(_change("target_added", target["code"], target["metric"], None, target))
            continue
        if any(was.get(k) != target.get(k) for k in _TARGET_RULE):
            changes.append(_change("target", target["code"], target["metric"], was, target))
        elif any(was.get(k) != target.get(k) for k in ("text", "metric", "unit_of_measure")):
            changes.append(_change("target_text", target["code"], target["metric"], was, target))
    kept = {t["code"] for t in new.get("targets", [])}
    changes += [_change("target_removed", code, t["metric"], t, None) for code, t in old_targets.items() if code not in kept]
    old_duties = {d["code"]: d for d in old.get("duties", [])}
    for duty in new.get("duties", []):
        was = old_duties.get(duty["code"])
        if was is None:
            changes.append(_change("duty_added", duty["code"], duty["title"], None, duty))
            continue
        if was["due_on"] != duty["due_on"]:
            changes.append(_change("deadline", duty["code"], duty["title"], was["due_on"], duty["due_on"]))
        if any(was.get(k) != duty.get(k) for k in _DUTY_FORM):
            changes.append(_change("duty_changed", duty["code"], duty["title"], was, duty))
        if list(was.get("assignees") or []) != list(duty.get("assignees") or []):
            changes.append(_change("assignees", duty["code"], duty["title"], list(was.get("assignees") or []), list(duty.get("assignees") or [])))
    listed = {d["code"] for d in new.get("duties", [])}
    changes += [_change("duty_removed", code, d["title"], d, None) for code, d in old_duties.items() if code not in listed]
    return changes


def _listed(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]], noun: str, fields: tuple[str, ...], name: Any) -> list[dict[str, Any]]:
    """Added, changed and removed items of two lists matched by code."""
    before = {item["code"]: item for item in old}
    changes = []
    for item in new:
        was = before.get(item["code"])
        if was is None:
            changes.append(_change(f"{noun}_added", item["code"], name(item), None, dict(item)))
        elif any(was.get(f) != item.get(f) for f in fields):
            changes.append(_change(f"{noun}_changed", item["code"], name(item), dict(was), dict(item)))
    codes = {item["code"] for item in new}
    changes += [_change(f"{noun}_removed", code, name(item), dict(item), None) for code, item in before.items() if code not in codes]
    return changes
