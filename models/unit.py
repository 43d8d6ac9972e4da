"""Units of the administrative tree (adjacency list) and the one place that walks it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from sqlalchemy import ForeignKey, Select, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import IDS_PER_STATEMENT, Base


class UnitKind(StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    OFFICE = "office"
    CENTRE = "centre"
    COMMUNE = "commune"
    WARD = "ward"
    OTHER = "other"


class UnitSystem(StrEnum):
    """Which rules its documents follow: a state body's Decree 30/2020, a Party body's Hướng dẫn 36-HD/VPTW."""

    STATE = "state"
    PARTY = "party"


class Unit(Base):
    """A body that receives assignments by email: a department, an office, a ward..."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    short_name: Mapped[str | None]
    kind: Mapped[UnitKind] = mapped_column(String(16), default=UnitKind.OTHER)
    system: Mapped[UnitSystem] = mapped_column(String(8), default=UnitSystem.STATE, server_default="state", comment="state (Decree 30) or party (HD 36).")
    issuer_symbol: Mapped[str | None] = mapped_column(String(32), comment="Abbreviation in document symbols: SXD, UBND.")
    governing_body: Mapped[str | None] = mapped_column(comment="The body above it, printed over its name in document headers.")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    emails: Mapped[list[str]] = mapped_column(default=list)
    head_title: Mapped[str | None]
    head_name: Mapped[str | None]
    head_email: Mapped[str | None] = mapped_column(comment="The head's own address: overdue escalations go there.")
    place: Mapped[str | None] = mapped_column(comment="Place name for the date line: 'Biên Hòa'.")
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[parent_id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(foreign_keys=[parent_id], back_populates="parent")
    successor: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[successor_id])

    def is_active(self, on: date) -> bool:
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_to is None or on <= self.valid_to)

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


def active_children(session: Session, *, parent_id: int, on: date) -> list[Unit]:
    """The direct subordinates of a unit that exist on the given day, ordered by code."""
    units = session.scalars(select(Unit).where(Unit.parent_id == parent_id).order_by(Unit.code)).all()
    return [u for u in units if u.is_active(on)]


def children_from(session: Session, *, parent_id: int, day: date) -> list[Unit]:
    """The direct subordinates that exist on `day` or come into being after it (not those that ceased
    before it), ordered by code: whom a plan issued on `day` may still address."""
    units = session.scalars(select(Unit).where(Unit.parent_id == parent_id).order_by(Unit.code)).all()
    return [u for u in units if u.valid_to is None or day <= u.valid_to]


def has_active_children(session: Session, unit_id: int, on: date) -> bool:
    """Whether the unit has a subordinate that exists on `on` (one indexed lookup, memoised in the session)."""
    memo: dict[tuple[int, date], bool] = session.info.setdefault("has_active_children", {})
    if (unit_id, on) not in memo:
        children = session.execute(select(Unit.valid_from, Unit.valid_to).where(Unit.parent_id == unit_id)).all()
        memo[unit_id, on] = any((start is None or start <= on) and (end is None or on <= end) for start, end in children)
    return memo[unit_id, on]


def note_active_children(session: Session, unit_ids: Iterable[int], on: date) -> None:
    """Answer `has_active_children` for all these units in one query (for a batch of messages, one per unit)."""
    memo: dict[tuple[int, date], bool] = session.info.setdefault("has_active_children", {})
    wanted = sorted({unit_id for unit_id in unit_ids if (unit_id, on) not in memo})
    found: set[int] = set()
    for start in range(0, len(wanted), IDS_PER_STATEMENT):
        part = wanted[start : start + IDS_PER_STATEMENT]
        rows = session.execute(select(Unit.parent_id, Unit.valid_from, Unit.valid_to).where(Unit.parent_id.in_(part)))
        found.update(parent for parent, begins, ends in rows if (begins is None or begins <= on) and (ends is None or on <= ends))
    memo.update(((unit_id, on), unit_id in found) for unit_id in wanted)


def parents_with_active_children(session: Session, unit_ids: Select[tuple[int]], on: date) -> list[int]:
    """Those of `unit_ids` (a query of unit ids) that have a subordinate existing on `on`, in id order."""
    children = session.scalars(select(Unit).where(Unit.parent_id.in_(unit_ids))).all()
    return sorted({c.parent_id for c in children if c.is_active(on) and c.parent_id is not None})


def active_successor(unit: Unit, on: date) -> Unit | None:
    """The unit that carries on `unit`'s work on `on`, following a chain of mergers; None if there is none."""
    seen = {unit.id}
    current = unit.successor
    while current is not None and current.id not in seen:
        if current.is_active(on):
            return current
        seen.add(current.id)
        current = current.successor
    return None


def subtrees(session: Session, unit_ids: Iterable[int]) -> dict[int, set[int]]:
    """Unit id → the ids of the unit and of every unit below it (whatever their validity), for each of
    `unit_ids`; the tree's parent links are read once."""
    children: dict[int, list[int]] = defaultdict(list)
    for unit_id, parent_id in session.execute(select(Unit.id, Unit.parent_id).where(Unit.parent_id.is_not(None))):
        children[parent_id].append(unit_id)
    result: dict[int, set[int]] = {}
    for root in unit_ids:
        seen, frontier = {root}, [root]
        while frontier:
            frontier = [child for parent in frontier for child in children.get(parent, ()) if child not in seen]
            seen.update(frontier)
        result[root] = seen
    return result


def tree_order(session: Session, root_code: str | None = None) -> list[tuple[int, Unit]]:
    """(depth, unit) for every unit, or for the unit `root_code` and those below it, parents before their
    subordinates and siblings by code; empty when `root_code` names no unit. Reads the table once."""
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    roots = [u for u in units if u.code == root_code] if root_code else children[None]
    ordered: list[tuple[int, Unit]] = []
    stack = [(0, unit) for unit in reversed(roots)]
    while stack:
        depth, unit = stack.pop()
        ordered.append((depth, unit))
        stack.extend((depth + 1, child) for child in reversed(children.get(unit.id, [])))
    return ordered
