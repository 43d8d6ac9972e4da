"""What a signed-in person may see and do: an admin every unit; a secretariat or viewer its own unit and
every unit below it. Checks on one unit walk up its parent links; lists filter with a recursive query, so
that a province's tens of thousands of units never travel as a list of ids."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models.account import AccountRole
from models.unit import Unit


@dataclass(frozen=True)
class Principal:
    """Who is signed in: the name they signed in with, their role, and their unit (None: the built-in admin)."""

    login: str
    role: AccountRole
    unit_id: int | None
    unit_name: str
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == AccountRole.ADMIN

    @property
    def can_act(self) -> bool:
        """Whether it may review, remind and consolidate (a viewer only looks)."""
        return self.role != AccountRole.VIEWER

    @property
    def everywhere(self) -> bool:
        return self.is_admin


def subtree_ids(unit_id: int) -> Select[tuple[int]]:
    """A query for the ids of `unit_id` and every unit below it (recursive, evaluated by the database)."""
    tree = select(literal(unit_id).label("id")).cte("scope_tree", recursive=True)
    tree = tree.union_all(select(Unit.id).join(tree, Unit.parent_id == tree.c.id))
    return select(tree.c.id)


def within(principal: Principal, column: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool] | None:
    """A filter keeping the rows whose unit (`column`) the principal may see; None for an admin (no filter)."""
    if principal.everywhere or principal.unit_id is None:
        return None
    return column.in_(subtree_ids(principal.unit_id))


def sees_unit(session: Session, principal: Principal, unit_id: int | None) -> bool:
    """Whether the unit is the principal's own or one below it."""
    if principal.everywhere:
        return True
    if unit_id is None or principal.unit_id is None:
        return False
    seen: set[int] = set()
    current: int | None = unit_id
    while current is not None and current not in seen:
        if current == principal.unit_id:
            return True
        seen.add(current)
        current = session.scalar(select(Unit.parent_id).where(Unit.id == current))
    return False
