"""Next year's plan drafted from this year's (`cascade plan rollover`).

The next year's cycle is this year's again, with new dates and today's units. The draft keeps the
plan's tasks, targets and duties, and moves:

- each deadline (a duty's due date, the plan's day of issue) to the same working-day position in the
  new year (`same_working_day`), with the new year's holidays; a deadline that was on a day off keeps its
  calendar day, and its duty's `on_day_off` rule settles it in the new year;
- each data period (its first day and cut-off) to the same calendar day; a duty generated for a
  Decree 09/2019 period (code ending in .q1 … .q4, .h1, .9m, .year) takes that period of the new year;
- "năm 2024" to "năm 2025" in the plan's texts (`next_year_text`), never another date;
- the units named in tasks, targets and duties to the units of the new year's first day: a unit that
  ceased is replaced by its active successor (an allocation is added to the successor's) or dropped,
  and a list that named every subordinate of the issuer names every subordinate of the new year.

Targets are carried, or changed (`raises`); the plan gets its issuer's next number for the year. The
draft is written as a plan file (the format `cascade plan export` prints) and imported as a draft, to
be adjusted and issued (`cascade plan issue`). What changed is worded line by line in Vietnamese.
"""

from __future__ import annotations

import calendar as months
import copy
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.calendar import WorkingCalendar, weekday_name
from cascade.errors import ConflictError, InvalidValue, NotFound
from cascade.formatting import parse_vn_number
from models.calendar import load_calendar, settle_deadline
from models.cascading import split_equally
from models.db import session_scope
from models.periods import Period, decree_09_periods
from models.plan import DutyKind, Plan, derived_key, next_number
from models.specs import PERIODIC_KINDS, derive_plan_key
from models.unit import Unit, active_children, active_successor
from tasks.plans.changes import PlanChange, plan_changes, word_diff
from tasks.plans.exports import plan_document
from tasks.plans.imports import SYMBOLS, import_plan_file
from tasks.plans.lookup import find_plan
from templates import measure, message

# ---------------------------------------------------------------------------------------------
# Days and texts
# ---------------------------------------------------------------------------------------------


def same_calendar_day(day: date, year: int) -> date:
    """The same day of the same month in `year` (29/02 becomes 28/02 in a common year)."""
    return date(year, day.month, min(day.day, months.monthrange(year, day.month)[1]))


def same_working_day(day: date, year: int, calendar: WorkingCalendar) -> date:
    """`day` moved to the same working-day position of its month in `year`.

    A day in the first half of its month (no more days before it in the month than after it) is the
    n-th working day counted from the month's first day, and becomes the n-th working day of the
    same month in `year`; a day in the second half is the n-th working day counted back from the
    month's last day, and becomes the n-th counted back in `year` (30/10/2024, the second-to-last working
    day of October 2024, becomes 30/10/2025). When the month of `year` has fewer working days, its
    last (first) one is taken. A day that is not a working day keeps its calendar day (`same_calendar_day`):
    where a deadline on a day off goes is its duty's `on_day_off` rule, applied afterwards.
    """
    if not calendar.is_working_day(day):
        return same_calendar_day(day, year)
    length = months.monthrange(day.year, day.month)[1]
    target = [date(year, day.month, d) for d in range(1, months.monthrange(year, day.month)[1] + 1)]
    working = [d for d in target if calendar.is_working_day(d)]
    if not working:
        return same_calendar_day(day, year)
    if 2 * day.day <= length + 1:
        position = sum(calendar.is_working_day(date(day.year, day.month, d)) for d in range(1, day.day + 1))
        return working[min(position, len(working)) - 1]
    position = sum(calendar.is_working_day(date(day.year, day.month, d)) for d in range(day.day, length + 1))
    return working[-min(position, len(working))]


def next_year_text(text: str, old_year: int, new_year: int) -> str:
    """`text` with each "năm <old_year>" (any case: "Năm", "NĂM") written "năm <new_year>"; other dates, and a
    range such as "năm 2024 - 2025", are left alone."""
    pattern = re.compile(rf"\b(năm\s+){old_year}(?!\d)(?!\s*[-–]\s*\d)", re.IGNORECASE)
    return pattern.sub(lambda m: f"{m[1]}{new_year}", text)


def parse_raises(items: Sequence[str]) -> dict[str, Decimal]:
    """`--raise CODE=VALUE` options as {code: value}; the value a Vietnamese or plain number ('15', '86,5', '90%')."""
    raised: dict[str, Decimal] = {}
    for item in items:
        code, sign, text = (part.strip() for part in item.partition("="))
        if not sign or not code or not text:
            raise InvalidValue(f"--raise {item!r}: expected CODE=VALUE, a target's code and its new value (e.g. mo_hinh_dan_van_kheo=15)")
        try:
            value = parse_vn_number(text)
        except ValueError:
            raise InvalidValue(f"--raise {code}={text}: {text!r} is not a number (expected e.g. 15, 86,5 or 90%)") from None
        if not value.is_finite():
            raise InvalidValue(f"--raise {code}={text}: {text!r} is not a number (expected e.g. 15, 86,5 or 90%)")
        if code in raised:
            raise InvalidValue(f"--raise names target {code!r} twice: give each target once")
        raised[code] = value
    return raised


def rescale(shares: Mapping[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    """`shares` scaled to add up exactly to `total`, in proportion (largest remainder): whole shares when the
    total and the shares are whole, hundredths otherwise; equal shares when every share is 0."""
    if not shares:
        return {}
    whole = sum(shares.values(), Decimal(0))
    if whole == 0:
        equal = split_equally(total, list(shares))
        return {code: equal[code] for code in shares}
    integral = all(v == v.to_integral_value() for v in (total, *shares.values()))
    step = Decimal(1) if integral else Decimal("0.01")
    exact = {code: total * share / whole for code, share in shares.items()}
    scaled = {code: (value / step).to_integral_value(rounding=ROUND_FLOOR) * step for code, value in exact.items()}
    left = total - sum(scaled.values(), Decimal(0))
    for code in sorted(shares, key=lambda c: (-(exact[c] - scaled[c]), c)):
        if left < step:
            break
        scaled[code] += step
        left -= step
    scaled[next(iter(shares))] += left  # what is left below a hundredth
    return scaled


def _yaml_number(value: Decimal) -> int | float:
    """A YAML number, never text (as `cascade plan export` writes them)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _day(day: date) -> str:
    return message("rollover.day", weekday=weekday_name(day), day=day)


# ---------------------------------------------------------------------------------------------
# Units as of the new year's first day
# ---------------------------------------------------------------------------------------------


class _Units:
    """The units the plan's lists name, moved to the new year's first day; the changes worded in `lines`."""

    def __init__(self, session: Session, issuer: Unit, issued_on: date, start: date) -> None:
        self.session = session
        self.issuer = issuer
        self.start = start
        # The issuer's subordinates on the old plan's day of issue, and on the new year's first day
        self.before = [u.code for u in active_children(session, parent_id=issuer.id, on=issued_on)]
        self.after = [u.code for u in active_children(session, parent_id=issuer.id, on=start)]
        self.known: dict[str, Unit | None] = {}
        self.changes: dict[tuple[str, str, str | None], list[str]] = {}  # (kind, unit, successor) → where in the plan

    def unit(self, code: str) -> Unit | None:
        if code not in self.known:
            self.known[code] = self.session.scalar(select(Unit).where(Unit.code == code))
        return self.known[code]

    def follow(self, code: str) -> str | None:
        """The unit carrying on `code`'s work on the new year's first day: itself while it exists, else its
        active successor, else None."""
        unit = self.unit(code)
        if unit is None or unit.valid_to is None or unit.valid_to >= self.start:
            return code
        successor = active_successor(unit, self.start)
        return successor.code if successor is not None else None

    def _note(self, kind: str, where: str, code: str, successor: str | None = None) -> None:
        self.changes.setdefault((kind, code, successor), []).append(where)

    @property
    def lines(self) -> list[str]:
        """One line per change of a unit, naming every list of the plan where it was made."""
        lines = []
        for (kind, code, successor), places in self.changes.items():
            unit, heir = self.unit(code), self.unit(successor) if successor else None
            lines.append(
                message(
                    "rollover.unit",
                    kind,
                    code=code,
                    name=unit.display_name if unit else code,
                    ended=unit.valid_to if unit and unit.valid_to else self.start,
                    successor=successor or "",
                    successor_name=heir.display_name if heir else successor or "",
                    issuer=self.issuer.display_name,
                    start=self.start,
                    places="; ".join(places),
                )
            )
        return lines

    def roll(self, codes: Sequence[str], where: str) -> list[str]:
        """The list as of the new year's first day: every subordinate then, if it named every subordinate on the
        old plan's day of issue; else each unit, or its successor, or none."""
        if codes and self.before and set(codes) == set(self.before):
            rolled = list(self.after)
            heirs = set()
            for code in codes:
                if code in rolled:
                    continue
                heir = self.follow(code)
                if heir is not None and heir != code and heir in rolled:
                    self._note("replaced", where, code, heir)
                    heirs.add(heir)
                elif heir is None:
                    self._note("dropped", where, code)
                else:
                    self._note("moved", where, code)
            for code in rolled:
                if code not in codes and code not in heirs:
                    self._note("added", where, code)
            return rolled
        rolled = []
        for code in codes:
            heir = self.follow(code)
            if heir is None:
                self._note("dropped", where, code)
            elif heir != code:
                self._note("replaced", where, code, heir)
            if heir is not None and heir not in rolled:
                rolled.append(heir)
        return rolled

    def roll_shares(self, shares: Mapping[str, Decimal], where: str) -> dict[str, Decimal]:
        """Allocations as of the new year's first day (the units as `roll` gives them): a ceased unit's share
        added to its successor's, a unit new in the list at 0, the share of a unit dropped lost."""
        rolled = dict.fromkeys(self.roll(list(shares), where), Decimal(0))
        for code, share in shares.items():
            heir = code if code in rolled else self.follow(code)
            if heir in rolled:
                rolled[heir] += share
        return rolled


# ---------------------------------------------------------------------------------------------
# The draft
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftedRollover:
    """Next year's plan as a plan file's `{plan: …}` mapping, and what changed from this year's, worded."""

    key: str
    code: str  # '01/KH-UBND'
    year: int
    source_key: str
    source_code: str
    source_year: int
    document: dict[str, Any]
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Rollover(DraftedRollover):
    """A draft written to `path` and imported as a draft plan; `warnings` from the import."""

    path: Path = Path()
    warnings: tuple[str, ...] = ()


def _new_parent(session: Session, source: Plan, year: int, parent: str | None) -> Plan | None:
    """The plan an implementing plan's rollover implements: `parent`, or the one plan of the old parent's issuer for `year`."""
    if source.parent_plan is None:
        if parent:
            raise InvalidValue(f"--parent {parent}: plan {source.code} ({source.key}) implements no other plan, so its rollover has no parent")
        return None
    if parent:
        found = find_plan(session, parent)
        if found.year != year:
            raise InvalidValue(f"--parent {parent}: plan {found.code} ({found.key}) is of {found.year}, not of {year}")
        return found
    issuer = source.parent_plan.issuer
    plans = session.scalars(select(Plan).where(Plan.issuer_id == issuer.id, Plan.year == year).order_by(Plan.key)).all()
    if not plans:
        raise NotFound(
            f"plan {source.code} implements {source.parent_plan.code} of {issuer.code}, which has no plan for {year} yet: "
            f"roll that plan over first (cascade plan rollover {source.parent_plan.key} --year {year}), or name the parent with --parent KEY"
        )
    if len(plans) > 1:
        raise ConflictError(f"{issuer.code} has {len(plans)} plans for {year} ({', '.join(p.key for p in plans)}): name the one to implement with --parent KEY")
    return plans[0]


def _period(duty: Mapping[str, Any], year: int) -> Period | None:
    """The Decree 09/2019 period of `year` a generated duty stands for ('bao_cao_quy.q2'), if it is one."""
    kind = DutyKind(duty["kind"])
    stem, dot, suffix = str(duty["code"]).rpartition(".")
    if not dot or not stem or kind not in PERIODIC_KINDS:
        return None
    return next((p for p in decree_09_periods(kind, year) if p.suffix == suffix), None)


def _pairs(pieces: Sequence[tuple[str, str]]) -> str:
    """What a word diff replaced, as '“năm 2024” → “năm 2025”', each replacement once with its count."""
    found: Counter[tuple[str, str]] = Counter()
    context = ""
    i = 0
    while i < len(pieces):
        kind, text = pieces[i]
        i += 1
        if kind == "same":
            words = text.split()
            context = words[-1] if words else context
            continue
        before = after = ""
        if kind == "removed":
            before = text
            if i < len(pieces) and pieces[i][0] == "added":
                after = pieces[i][1]
                i += 1
        else:
            after = text
        found[_phrase(context, before), _phrase(context, after)] += 1
    return "; ".join(message("rollover.pair", before=before, after=after, count=count) for (before, after), count in found.items())


def _phrase(context: str, words: str) -> str:
    """A replaced run of words after the word before it: 'năm 2024' (a full stop or comma after it dropped)."""
    return " ".join(part for part in (context, words.strip().rstrip(".,;:")) if part)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The changes `plan_changes` finds (title, texts, target values, deadlines, tasks), worded, and those of
    the texts it does not compare (targets' texts, duties' titles and sections)."""
    lines: list[str] = []
    targets = {t["text"]: t for t in new["plan"]["targets"]}
    for change in plan_changes(old, new):
        if change.kind == "title":
            lines.append(message("rollover.title", before=old["plan"]["title"], after=new["plan"]["title"]))
        elif change.kind in ("purposes", "requirements"):
            lines.append(message("rollover.text", change.kind, name="", pairs=_pairs(change.pieces)))
        elif change.kind == "task_changed":
            lines.append(message("rollover.text", "task", name=change.name, pairs=_pairs(change.pieces)))
        elif change.kind == "target":
            target = targets[change.name]
            before, after = (
                f"{SYMBOLS[target['comparator']]} {measure(_decimal(value), target['unit_of_measure'])}" if value else "-"
                for value in (change.before, change.after)
            )
            lines.append(message("rollover.target", name=target["metric"], before=before, after=after))
        elif change.kind == "deadline":
            before, after = (_day(date.fromisoformat(day)) for day in (change.before, change.after))
            lines.append(message("rollover.deadline", name=change.name, before=before, after=after))
    texts: list[PlanChange] = []
    old_targets = {t["code"]: t for t in old["plan"]["targets"]}
    for target in new["plan"]["targets"]:
        was = old_targets[target["code"]]
        before, after = (f"{t['text']} {t['metric']}" for t in (was, target))
        if before != after:
            texts.append(PlanChange("target", target["metric"], pieces=word_diff(before, after)))
    old_duties = {d["code"]: d for d in old["plan"]["duties"]}
    for duty in new["plan"]["duties"]:
        was = old_duties[duty["code"]]
        before, after = (" ".join([d["title"], *(s["title"] for s in d["sections"])]) for d in (was, duty))
        if before != after:
            texts.append(PlanChange("duty", duty["title"], pieces=word_diff(before, after)))
    lines += [message("rollover.text", change.kind, name=change.name, pairs=_pairs(change.pieces)) for change in texts]
    return lines


def draft_rollover(
    session: Session,
    source: Plan,
    year: int,
    *,
    raises: Mapping[str, Decimal] | None = None,
    number: str | None = None,
    basis: Sequence[str] = (),
    parent: str | None = None,
) -> DraftedRollover:
    """Next year's plan drafted from `source` (see the module's description), not yet written nor stored.

    `raises`: target code → new value; `number`: instead of the issuer's next for `year`; `basis`: instead of
    the old basis; `parent`: the key of the plan an implementing plan's rollover implements, when the old
    parent's issuer has several plans in `year`. Raises InvalidValue, NotFound or ConflictError, each naming
    what to change."""
    raises = dict(raises or {})
    if year <= source.year:
        raise InvalidValue(f"--year {year}: plan {source.code} ({source.key}) covers {source.year}; its rollover is for a later year")
    start = date(year, 1, 1)
    issuer = source.issuer
    if issuer.valid_to is not None and issuer.valid_to < start:
        heir = active_successor(issuer, start)
        instead = f": its work passed to '{heir.code}', roll over that unit's plan instead" if heir is not None else ""
        raise ConflictError(f"plan {source.code} ({source.key}) is issued by '{issuer.code}', which ceased on {issuer.valid_to:%d/%m/%Y}{instead}")
    targets = {t.code: t for t in source.targets}
    unknown = [code for code in raises if code not in targets]
    if unknown:
        raise InvalidValue(f"--raise {unknown[0]}: plan {source.code} ({source.key}) has no target {unknown[0]!r}; its targets: {', '.join(targets) or 'none'}")
    plain = [code for code in raises if targets[code].comparator is None]
    if plain:
        raise InvalidValue(f"--raise {plain[0]}: target {plain[0]!r} is a plain figure, judged by nothing: it has no value to raise")

    calendar = load_calendar(session)
    new_parent = _new_parent(session, source, year, parent)
    number = (number or "").strip() or next_number(session, issuer.id, year)
    if new_parent is not None:
        key = derived_key(new_parent.key, issuer.code)
    else:
        key = derive_plan_key(number, source.symbol, year)
    taken = session.scalar(select(Plan).where(Plan.key == key))
    if taken is not None:
        raise ConflictError(
            f"plan {key} already exists ({taken.code} of {taken.year}, {taken.status}): the rollover for {year} was already drafted "
            f"or imported; adjust that plan instead (cascade plan export {key})"
        )

    years = _Years(source.year, year, calendar)
    old = plan_document(session, source)
    doc: dict[str, Any] = copy.deepcopy(old["plan"])
    lines: list[str] = []
    code = Plan(number=number, symbol=source.symbol).code
    issued_on = years.deadline(source.issued_on)
    doc |= {"key": key, "number": number, "year": year, "issued_on": issued_on.isoformat()}
    lines.append(message("rollover.number", before=source.code, after=code))
    lines.append(message("rollover.issued_on", before=_day(source.issued_on), after=_day(issued_on)))
    if new_parent is not None:
        doc["parent_plan"] = new_parent.key
        lines.append(message("rollover.parent", before=f"{source.parent_plan.code if source.parent_plan else ''}", after=new_parent.code))
    given = [line.strip() for line in basis if line.strip()]
    if given:
        lines.append(message("rollover.basis_replaced", before=len(doc["basis"]), after=len(given), lines=given))
        doc["basis"] = given
    else:
        lines.append(message("rollover.basis_kept", count=len(doc["basis"]), year=source.year))
    for field in ("title", "purposes", "requirements"):
        doc[field] = years.text(doc.get(field) or "")

    units = _Units(session, issuer, source.issued_on, start)
    for task in doc["tasks"]:
        task["title"], task["content"] = years.text(task["title"]), years.text(task.get("content") or "")
        task["lead"] = units.roll(task["lead"], message("rollover.where.lead", name=task["title"]))
        task["support"] = [c for c in units.roll(task["support"], message("rollover.where.support", name=task["title"])) if c not in task["lead"]]
    shares = [line for target in doc["targets"] if (line := _roll_target(target, units, years, raises.get(target["code"]))) is not None]
    periods: list[str] = []
    days_off: list[str] = []
    for duty in doc["duties"]:
        period, day_off = _roll_duty(duty, units, years)
        periods += [period] if period else []
        days_off += [day_off] if day_off else []

    new = {"plan": doc}
    lines += _changes(old, new) + periods + days_off + units.lines + shares
    return DraftedRollover(key, code, year, source.key, source.code, source.year, new, tuple(lines))


@dataclass(frozen=True)
class _Years:
    """From the old plan's year to the new one's: texts, deadlines and calendar days."""

    old: int
    new: int
    calendar: WorkingCalendar

    def text(self, value: str) -> str:
        return next_year_text(value, self.old, self.new)

    def deadline(self, day: date) -> date:
        return same_working_day(day, day.year + self.new - self.old, self.calendar)

    def calendar_day(self, day: date | None) -> date | None:
        return same_calendar_day(day, day.year + self.new - self.old) if day is not None else None


def _roll_target(target: dict[str, Any], units: _Units, years: _Years, raised: Decimal | None) -> str | None:
    """A target of the plan file moved to the new year, its value `raised` if given; the line saying how its
    allocations changed, if they did."""
    target["text"], target["metric"] = years.text(target["text"]), years.text(target["metric"])
    if target.get("reporters"):
        target["reporters"] = units.roll(target["reporters"], message("rollover.where.reporters", name=target["metric"]))
    if raised is not None:
        target["value"] = _yaml_number(raised)
    if not target.get("allocations"):
        return None
    before = {c: _decimal(v) for c, v in target["allocations"].items()}
    shares = units.roll_shares(before, message("rollover.where.allocations", name=target["metric"]))
    value = _decimal(target["value"]) if target.get("value") is not None else None
    if value is not None and sum(shares.values(), Decimal(0)) != value:
        shares = rescale(shares, value)  # a raised value, or the share of a unit dropped: shared again in proportion
    target["allocations"] = {c: _yaml_number(v) for c, v in shares.items()}
    if shares == before:
        return None
    shown = [", ".join(message("rollover.share", code=c, share=v) for c, v in side.items()) for side in (before, shares)]
    return message("rollover.allocations", name=target["metric"], before=shown[0], after=shown[1])


def _roll_duty(duty: dict[str, Any], units: _Units, years: _Years) -> tuple[str | None, str | None]:
    """A duty of the plan file moved to the new year; the lines saying how its data period moved and, when its
    deadline landed on a day off, where its rule put it."""
    was = dict(duty)
    duty["title"] = years.text(duty["title"])
    duty["sections"] = [{**s, "title": years.text(s["title"])} for s in duty["sections"]]
    planned = years.deadline(date.fromisoformat(duty["due_on"]))
    move = settle_deadline(years.calendar, duty["code"], planned, duty.get("on_day_off") or "before")
    due = move.settled if move is not None else planned
    period = _period(duty, years.new)
    if period is not None:
        old_period = _period(was, years.old)
        if old_period is not None and was["title"].endswith(old_period.label):
            duty["title"] = years.text(was["title"][: -len(old_period.label)]) + period.label
        period_start: date | None = period.start
        cutoff: date | None = period.cutoff
    else:
        period_start, cutoff = years.calendar_day(_iso(duty.get("period_start"))), years.calendar_day(_iso(duty.get("cutoff_on")))
    if cutoff is not None and cutoff > due:
        cutoff = due  # no data cut-off after the deadline
    duty |= {"due_on": due.isoformat(), "period_start": period_start.isoformat() if period_start else None, "cutoff_on": cutoff.isoformat() if cutoff else None}
    if duty.get("assignees"):
        duty["assignees"] = units.roll(duty["assignees"], message("rollover.where.assignees", name=duty["title"]))
    moved_period = None
    if was.get("cutoff_on") or was.get("period_start"):
        spans = [
            message("rollover.span", start=_iso(side.get("period_start")), cutoff=_iso(side.get("cutoff_on")) or _iso(side["due_on"])) for side in (was, duty)
        ]
        moved_period = message("rollover.period", name=duty["title"], before=spans[0], after=spans[1])
    day_off = None
    if move is not None:
        day_off = message("rollover.day_off", name=duty["title"], planned=planned, holiday=move.holiday, rule=str(move.rule), settled=_day(move.settled))
    return moved_period, day_off


def _iso(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def plan_file_text(document: Mapping[str, Any]) -> str:
    """A `{plan: …}` mapping as a plan file, written as `cascade plan export` writes one."""
    return yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=120)


def roll_over(
    plan: str,
    year: int,
    *,
    raises: Sequence[str] = (),
    number: str | None = None,
    basis: Sequence[str] = (),
    parent: str | None = None,
    out: Path | None = None,
) -> Rollover:
    """Draft `plan`'s rollover for `year` (`draft_rollover`), write it as a plan file to `out` (default
    '<new key>.yaml' in the current folder) and import it as a draft. A draft the import refuses stays
    written, and the import's problems name its lines."""
    asked = parse_raises(raises)
    with session_scope() as session:
        source = find_plan(session, plan)
        drafted = draft_rollover(session, source, year, raises=asked, number=number, basis=basis, parent=parent)
    path = out if out is not None else Path(f"{drafted.key}.yaml")
    try:
        path.write_text(plan_file_text(drafted.document), encoding="utf-8")
    except OSError as exc:
        raise InvalidValue(f"cannot write the draft to {path}: {exc.strerror or exc}") from None
    imported = import_plan_file(path, draft=True)
    return Rollover(**vars(drafted), path=path, warnings=imported.warnings)
