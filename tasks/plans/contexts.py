"""Template contexts built from the database: plain dicts, so templates never touch the ORM."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from email.utils import formataddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cascade.clock import local_date
from cascade.formatting import vn_number, vn_percent
from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.plan import (
    Aggregation,
    DutyKind,
    Plan,
    PlanTask,
    Target,
    TaskRole,
    TaskUnit,
    asked_sections,
)
from models.submission import Review, ReviewAction, Submission
from models.unit import Unit, has_active_children
from tasks.plans.changes import changes_between
from tasks.plans.targets import duty_targets, targets_for_unit, unit_share
from templates import message, words


def recipients(unit: Unit) -> list[str]:
    """The unit's mailboxes as 'Name <address>' strings."""
    return [formataddr((unit.name, address)) for address in unit.emails]


def reply_address(assignment: Assignment) -> str | None:
    """'reply+TOKEN@domain' so that a reply finds its assignment; None when no reply mailbox is set."""
    reply_to = get_settings().mail_reply_to
    if not reply_to:
        return None
    local, _, domain = reply_to.partition("@")
    return f"{local}+{assignment.token}@{domain}"


def reply_to_header(assignment: Assignment) -> str | None:
    """The Reply-To of every message to the assignment's unit: its reply address first (where emailed
    forms are read and matched by the token), then the issuing unit's office ('Name <its first address>'),
    so that a person's answer reaches the office that wrote; None when there is neither."""
    issuer = assignment.duty.plan.issuer
    addresses = [address for address in (reply_address(assignment),) if address]
    if issuer.emails:
        addresses.append(formataddr((issuer.name, issuer.emails[0])))
    return ", ".join(addresses) or None


def portal_link(assignment: Assignment) -> str:
    """The unit's own page on the portal: the magic link printed in every email about the assignment."""
    return f"{get_settings().portal_base_url.rstrip('/')}/u/{assignment.link_token}"


def notice_key(assignment: Assignment) -> str:
    """The outbox key of the notice the assignment's current unit received (reminders reply to it)."""
    if assignment.transferred_from_id is None:
        return f"assignment:{assignment.id}"
    return f"assignment:{assignment.id}:to:{assignment.unit_id}"


def reference(assignment: Assignment) -> str:
    """The short code printed in every message about an assignment."""
    return f"GV-{assignment.id:06d}"


def unit_tasks(session: Session, plan_id: int, unit_id: int) -> list[dict[str, Any]]:
    """The plan's tasks that concern a unit, in plan order: those it leads or supports, and those naming
    no unit (every unit's). Each has its title, the unit's `role` (None for a task naming no unit) and
    `partners`, the names of the units in the other role (the supporters of a task it leads, the leads
    of one it supports). The plan's tasks are loaded once per session."""
    memo: dict[int, list[tuple[str, dict[int, TaskRole], dict[int, str]]]] = session.info.setdefault("unit_tasks", {})
    if plan_id not in memo:
        tasks: dict[int, tuple[str, dict[int, TaskRole], dict[int, str]]] = {}
        rows = session.execute(
            select(PlanTask.id, PlanTask.title, TaskUnit.unit_id, TaskUnit.role, Unit.name)
            .outerjoin(TaskUnit, TaskUnit.task_id == PlanTask.id)
            .outerjoin(Unit, Unit.id == TaskUnit.unit_id)
            .where(PlanTask.plan_id == plan_id)
            .order_by(PlanTask.position, PlanTask.id)
        )
        for task_id, title, row_unit, role, name in rows:
            _, roles, names = tasks.setdefault(task_id, (title, {}, {}))
            if row_unit is not None:
                roles[row_unit], names[row_unit] = TaskRole(role), name
        memo[plan_id] = list(tasks.values())
    concerning = []
    for title, roles, names in memo[plan_id]:
        if roles and unit_id not in roles:
            continue
        role = roles.get(unit_id)
        other = TaskRole.SUPPORT if role == TaskRole.LEAD else TaskRole.LEAD
        partners = sorted(names[u] for u, r in roles.items() if r == other and u != unit_id)
        concerning.append({"title": title, "role": role, "partners": partners})
    return concerning


def plan_context(plan: Plan) -> dict[str, Any]:
    return {
        "key": plan.key,
        "code": plan.code,
        "title": plan.title,
        "issued_on": plan.issued_on,
        "issuer_name": plan.issuer_names,  # a joint plan's issuers: 'Ban Dân vận Tỉnh ủy và Ban cán sự đảng UBND tỉnh'.
        "issuer_short": plan.issuer.display_name,
        "year": plan.year,
        "kind_word": plan.kind_word,
    }


def assignment_context(session: Session, assignment: Assignment, *, as_of: date) -> dict[str, Any]:
    """Everything the assignment, reminder and overdue templates use."""
    duty = assignment.duty
    plan = duty.plan
    unit = assignment.unit
    targets = targets_for_unit(duty_targets(session, duty), unit.code)
    tasks = unit_tasks(session, plan.id, unit.id)
    return {
        "as_of": as_of,
        "plan": plan_context(plan),
        "unit": {"code": unit.code, "name": unit.name, "emails": list(unit.emails)},
        "duty": {
            "code": duty.code,
            "title": duty.title,
            "cutoff_on": duty.cutoff_on,
            "back_scheduled_on": duty.back_scheduled_on,  # set when the plan reached the unit's level too late for it
            "sections": [s["title"] for s in asked_sections(duty)],
            "is_plan": duty.kind == DutyKind.IMPLEMENTING_PLAN,
            "noun": words("plans.duty_noun")["plan" if duty.kind == DutyKind.IMPLEMENTING_PLAN else "report"],
        },
        "has_subordinates": has_active_children(session, unit.id, as_of),
        "transferred_from": assignment.transferred_from.name if assignment.transferred_from is not None else None,
        "assignment": {
            "reference": reference(assignment),
            "due_on": assignment.due_on,
            # an implementing plan is issued, not typed into a page
            "portal_url": portal_link(assignment) if duty.kind != DutyKind.IMPLEMENTING_PLAN else None,
            # the unit's data-entry form, made afresh for it on the portal (portal.unit_routes)
            "form_url": f"{portal_link(assignment)}/bieu-mau.xlsx" if duty.kind != DutyKind.IMPLEMENTING_PLAN else None,
        },
        "targets": [
            {
                "metric": t.metric,
                "comparator": t.comparator,
                "value": unit_share(session, t, unit.code, as_of),  # the unit's own share of a sum
                "unit_of_measure": t.unit_of_measure,
                "ask": computed_words(t, targets) if t.is_computed else words("plans.ask")[t.aggregation],
            }
            for t in targets
        ],
        # role: the words 'chủ trì' / 'phối hợp', empty for a task naming no unit; lead / support: which of them
        "tasks": [
            {
                "title": t["title"],
                "role": words("plans.role").get(t["role"], ""),
                "lead": t["role"] == TaskRole.LEAD,
                "support": t["role"] == TaskRole.SUPPORT,
                "partners": ", ".join(t["partners"]),
            }
            for t in tasks
        ],
        "days_left": (assignment.due_on - as_of).days,
        "days_overdue": (as_of - assignment.due_on).days,
        "returned": returned_context(session, assignment),
    }


def returned_context(session: Session, assignment: Assignment) -> dict[str, Any] | None:
    """The version returned for correction that the unit has not yet answered (version, day, comment), else None."""
    if assignment.status != AssignmentStatus.RETURNED:
        return None
    row = session.execute(
        select(Submission.version, Review.at, Review.comment)
        .join(Review, Review.submission_id == Submission.id)
        .where(Submission.assignment_id == assignment.id, Review.action == ReviewAction.RETURN)
        .order_by(Review.at.desc(), Review.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"version": row.version, "on": local_date(row.at), "comment": row.comment}


def computed_words(target: Target, targets: list[Target]) -> str:
    """What a unit sends for a rate computed from two of its counts: nothing, the system computes it."""
    metrics = {t.code: t.metric for t in targets}
    part, whole = metrics.get(target.numerator_code or "", target.numerator_code), metrics.get(target.denominator_code or "", target.denominator_code)
    return message("plans.ask_computed", part=part, whole=whole)


def shown_value(target: Target | None, value: Any, numerator: Any, denominator: Any) -> str:
    """A reported figure as a person would write it: '694/788 (88,1%)', '120 căn', 'Đạt', '0/0 (không phát sinh)'."""
    if value is None and numerator == 0 and denominator == 0:
        return f"0/0 ({message('reporting.nothing_to_count')})"
    if numerator is not None and denominator:
        return f"{vn_number(numerator)}/{vn_number(denominator)} ({vn_percent(numerator / denominator * 100)})"
    if value is None:
        return "-"
    if target is not None and target.aggregation == Aggregation.SHARE_OF_UNITS and target.unit_of_measure == "%" and value in (0, 1):
        return words("forms.answer")["met" if value == 1 else "not_met"]
    unit = "%" if target is not None and target.unit_of_measure == "%" else f" {target.unit_of_measure}" if target else ""
    return f"{vn_number(value)}{unit}"


def shown_version(submission: Submission, targets: Mapping[str, Any], titles: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """A version's figures ({metric, shown, note}, in the duty's order) and sections ({title, text}) as
    pages and emails show them; `targets` by code (duty_targets), `titles` of the duty's sections by code."""
    return {
        "figures": [
            {
                "metric": targets[v.indicator_code].metric if v.indicator_code in targets else v.indicator_code,
                "shown": shown_value(targets.get(v.indicator_code), v.value, v.numerator, v.denominator),
                "note": v.note,
            }
            for v in sorted(submission.values, key=lambda v: targets[v.indicator_code].position if v.indicator_code in targets else 0)
        ],
        "sections": [{"title": titles.get(sec.code, sec.code), "text": sec.text} for sec in submission.sections],
    }


def receipt_context(session: Session, submission: Submission, *, as_of: date) -> dict[str, Any]:
    """The assignment context plus what was received in this version, and what it changed from the one before."""
    assignment = submission.assignment
    context = assignment_context(session, assignment, as_of=as_of)
    targets = {t.code: t for t in duty_targets(session, assignment.duty)}
    section_titles = {s["code"]: s["title"] for s in asked_sections(assignment.duty)}
    received = {s.code for s in submission.sections if s.text.strip()}
    shown = shown_version(submission, targets, section_titles)
    previous = session.scalar(select(Submission).where(Submission.assignment_id == assignment.id, Submission.version == submission.version - 1))
    context["submission"] = {
        "version": submission.version,
        "received_at": submission.received_at,
        "is_late": local_date(submission.received_at) > assignment.due_on,
        "figures": shown["figures"],
        "sections": [title for code, title in section_titles.items() if code in received],
        "missing_sections": [title for code, title in section_titles.items() if code not in received],
        "files": [a.filename for a in submission.attachments],
        "changes": changes_between(previous.version, shown_version(previous, targets, section_titles), shown) if previous is not None else None,
    }
    return context
