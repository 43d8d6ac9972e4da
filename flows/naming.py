"""Readable flow-run names for the Prefect UI: what ran, on which plan and level, as of which day."""

from __future__ import annotations

from collections.abc import Callable

from prefect.runtime import flow_run

from models.db import session_scope
from models.plan import plan_by_ref
from templates import message


def plan_label(plan: str) -> str:
    """'74/KH-SXD cấp 0' for a plan key or number/symbol; the text itself when no such plan exists."""
    try:
        with session_scope() as session:
            found = plan_by_ref(session, plan)
            return message("plans.run_label", code=found.code, level=found.level) if found else plan
    except Exception:
        return plan


def run_name(action: str, *, with_plan: bool = True, extra: str | None = None) -> Callable[[], str]:
    """A `flow_run_name` callable: 'cascade 74/KH-SXD cấp 0 2024-04-05', 'daily-tick 2024-11-01'."""

    def name() -> str:
        parameters = flow_run.parameters
        parts = [action]
        if with_plan and parameters.get("plan"):
            parts.append(plan_label(str(parameters["plan"])))
        if extra and parameters.get(extra):
            parts.append(str(parameters[extra]))
        parts.append(str(parameters.get("as_of") or "today"))
        return " ".join(parts)

    return name
