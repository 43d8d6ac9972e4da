"""The rules of passing a plan down one level: per-level policy, target allocation, tightening.

Pure: plain values in, plain values out; tasks.cascading.implementing applies them to the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from models.plan import Comparator


class IssueMode(StrEnum):
    AUTO = "auto"  # the implementing plan is issued as drafted, and cascaded at once
    WAIT = "wait"  # the unit adjusts its draft and issues it itself (`cascade plan issue`)


class AllocationRule(StrEnum):
    EQUAL = "equal"  # equal shares; whole numbers when the value is whole (largest remainder)


@dataclass(frozen=True)
class LevelPolicy:
    """What applies to the units of one level: the working days they keep to consolidate, and how they issue."""

    lead_days: int = 5
    issue: IssueMode = IssueMode.AUTO


DEFAULT_LEVEL = LevelPolicy()


def level_policy(policy: Mapping[str, Any] | None, level: int) -> LevelPolicy:
    """The policy of level `level` (1 = the root issuer's direct subordinates); the last entry repeats below."""
    levels = list((policy or {}).get("levels") or [])
    if not levels:
        return DEFAULT_LEVEL
    entry = levels[min(level, len(levels)) - 1]
    return LevelPolicy(int(entry.get("lead_days", DEFAULT_LEVEL.lead_days)), IssueMode(entry.get("issue", DEFAULT_LEVEL.issue)))


def task_concerns(named: Collection[int], subtree: Collection[int]) -> bool:
    """Whether a parent plan's task passes into the implementing plan of a unit whose subtree (the unit
    and every unit below it) is `subtree`, given the units the task names as lead or support.

    A task naming no unit applies to every unit; otherwise it passes down only when the unit or one
    below it is named: a task led by the parent level alone (the issuer, its own offices, other
    units' branches) stays with the parent.
    """
    return not named or any(unit in subtree for unit in named)


def split_equally(total: Decimal, codes: Sequence[str]) -> dict[str, Decimal]:
    """`total` shared among `codes` so that the shares add up exactly.

    A whole total gives whole shares: everyone gets the floor and the first units in code order
    one more each until the remainder is used (largest remainder with equal weights). Any other
    total is shared the same way in hundredths (what is left below 0.01 goes to the first unit).
    """
    if not codes:
        return {}
    ordered = sorted(codes)
    count = Decimal(len(ordered))
    step = Decimal(1) if total == total.to_integral_value() else Decimal("0.01")
    base = (total / count / step).to_integral_value(rounding=ROUND_FLOOR) * step
    shares = {code: base for code in ordered}
    left = total - base * count
    for code in ordered:
        if left < step:
            break
        shares[code] += step
        left -= step
    shares[ordered[0]] += left
    return shares


def looser_than(comparator: Comparator, value: Decimal, parent_comparator: Comparator, parent_value: Decimal) -> bool:
    """Whether '<comparator> value' asks less than the parent's '<parent_comparator> parent_value'.

    A unit may tighten an inherited target (ask for more, or keep it), never loosen it:
    for ≥ / > the value may only rise, for ≤ / < only fall, and = must stay equal.
    """
    up = {Comparator.GE, Comparator.GT}
    down = {Comparator.LE, Comparator.LT}
    if parent_comparator == Comparator.EQ:
        return comparator != Comparator.EQ or value != parent_value
    if parent_comparator in up:
        if comparator not in up and comparator != Comparator.EQ:
            return True
        if value != parent_value:
            return value < parent_value
        return parent_comparator == Comparator.GT and comparator == Comparator.GE
    if parent_comparator in down:
        if comparator not in down and comparator != Comparator.EQ:
            return True
        if value != parent_value:
            return value > parent_value
        return parent_comparator == Comparator.LT and comparator == Comparator.LE
    return False
