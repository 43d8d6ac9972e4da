"""Amending an issued plan and passing the amendment down: the plan's next version, its assignments, the units'
notices and the implementing plans below.

`amend` applies a version to a plan in place (duties keep their ids, so assignments, submissions and links stay),
stores the version it replaced with the amendment, and works out what changed for each unit that holds an
assignment of the plan: a target it reports (its own share), a duty it answers (deadline, sections), a duty added
or withdrawn, a task that names it, the plan's own texts. Only those units are told, one notice each, listing
what changed for them, with the amendment (Word) and a new form for each report whose form changed; the form's
revision is raised, so a form of the earlier version is answered with the new one. Open assignments take the new
deadlines (their reminders start again); a withdrawn duty is closed, nothing deleted.

An implementing plan below takes the change where it inherited the value (`derived_document`): a target equal to
what the parent asked before follows the parent; a tighter one stays; one now looser than the parent asks is kept
and flagged to its unit. Issued implementing plans are amended in turn (numbered as the unit's next document, in
force the same day); drafts simply change.
"""

from __future__ import annotations

import copy
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect import task
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from cascade import clock
from cascade.calendar import WorkingCalendar
from cascade.errors import ConflictError
from cascade.settings import get_settings
from models.assignment import EXPECTED_STATUSES, OPEN_STATUSES, Assignment, AssignmentStatus
from models.calendar import load_calendar, settle_deadline
from models.cascading import level_policy, looser_than, task_concerns
from models.db import session_scope
from models.milestones import Milestone, MilestoneStatus
from models.outbox import EmailKind
from models.plan import Comparator, DutyKind, Plan, PlanAmendment, PlanStatus, PlanTask, ReportDuty, Target, TaskRole, TaskUnit, duty_assignees, next_number
from models.specs import PlanSpec
from models.unit import Unit, subtrees
from tasks.documents.forms import form_filename, form_spec, needs_form, write_form
from tasks.documents.word import amendment_document_path, write_amendment_document
from tasks.outbound.outbox import outbox_row, queue_rows
from tasks.plans.changes import document_changes
from tasks.plans.contexts import plan_context, portal_link, recipients, reference, reply_to_header
from tasks.plans.exports import plan_document, yaml_number
from tasks.plans.imports import expand_duties, target_columns
from tasks.plans.targets import inherited_value, target_sharers
from tasks.plans.versions import AmendmentHeader, check_amendment, reported_codes, snapshot_targets, spec_of
from templates import message, render_email

# The kinds of change that reach a unit's form: what it reports and by when.
FORM_KINDS = frozenset({"target", "target_added", "target_removed", "deadline", "duty_changed", "duty_added"})


@dataclass(frozen=True)
class Amended:
    """What one plan's amendment did."""

    amendment_id: int
    plan_key: str
    code: str  # the amending document's number/symbol
    version: int
    changes: int
    notified: tuple[str, ...]  # unit codes told, one notice each
    new_assignments: int
    withdrawn: int  # assignments taken from their units (their duty withdrawn, or the unit no longer assigned)
    drafts_changed: tuple[str, ...]  # drafted implementing plans changed in place
    below: tuple[int, ...]  # issued implementing plans to amend next
    flags: tuple[str, ...] = ()  # implementing plans now looser than the parent asks of their unit


@dataclass
class _Held:
    """A unit's assignments of the plan before the amendment (duty code → assignment)."""

    unit: Unit
    assignments: dict[str, Assignment] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Applying a version
# ---------------------------------------------------------------------------------------------


def _referenced(spec: PlanSpec) -> set[str]:
    codes = {spec.issuer, *(co.unit for co in spec.joint_with)}
    for given in spec.tasks:
        codes |= {*given.lead, *given.support}
    return codes


def apply_version(session: Session, plan: Plan, spec: PlanSpec, *, effective: date, calendar: WorkingCalendar, note: str) -> None:
    """Make `spec` the plan's rows in place: texts, tasks, targets and duties matched by code (kept rows keep their
    ids); a duty no longer listed is closed on `effective` with `note`, a deadline on a day off settled by its rule."""
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(_referenced(spec))))}
    plan.title, plan.place, plan.purposes, plan.requirements = spec.title, spec.place, spec.purposes, spec.requirements
    plan.basis, plan.recipients, plan.report_recipients = list(spec.basis), list(spec.recipients), list(spec.report_recipients)
    plan.signer_title, plan.signer_name = spec.signer.title, spec.signer.name
    plan.co_issuers = [{"code": co.unit, "name": units[co.unit].name, "signer_title": co.signer.title, "signer_name": co.signer.name} for co in spec.joint_with]
    if spec.cascade is not None:
        plan.cascade_policy = spec.cascade.model_dump(mode="json")

    tasks = {t.code: t for t in plan.tasks}
    kept_tasks = []
    for position, given in enumerate(spec.tasks, start=1):
        task = tasks.pop(given.code, None) or PlanTask(code=given.code)
        task.position, task.title, task.content = position, given.title, given.content
        wanted = {units[c].id: TaskRole.LEAD for c in given.lead} | {units[c].id: TaskRole.SUPPORT for c in given.support}
        for held in list(task.units):
            if held.unit_id not in wanted:
                task.units.remove(held)
            else:
                held.role = wanted.pop(held.unit_id)
        task.units.extend(TaskUnit(unit_id=unit_id, role=role) for unit_id, role in wanted.items())
        kept_tasks.append(task)
    plan.tasks = kept_tasks

    targets = {t.code: t for t in plan.targets}
    kept_targets = []
    for position, given_target in enumerate(spec.targets, start=1):
        target = targets.pop(given_target.code, None) or Target(code=given_target.code)
        target.position = position
        for column, value in target_columns(given_target).items():
            setattr(target, column, value)
        kept_targets.append(target)
    plan.targets = kept_targets

    duties = {d.code: d for d in plan.duties}
    sources = {d.code: d.id for d in plan.parent_plan.duties} if plan.parent_plan is not None else {}
    for wanted_duty in expand_duties(spec, calendar):
        move = settle_deadline(calendar, wanted_duty.code, wanted_duty.due_on, wanted_duty.on_day_off)
        if move is not None:
            wanted_duty.due_on = move.settled
        if wanted_duty.cutoff_on and wanted_duty.cutoff_on > wanted_duty.due_on:
            wanted_duty.cutoff_on = wanted_duty.due_on
        duty = duties.pop(wanted_duty.code, None)
        if duty is None:
            wanted_duty.source_duty_id = sources.get(wanted_duty.code)
            plan.duties.append(wanted_duty)
            continue
        if duty.due_on != wanted_duty.due_on:
            duty.back_scheduled_on = None
        if duty.withdrawn:  # withdrawn earlier and listed again: open again (one its secretariat closed stays closed)
            duty.closed_on = duty.closed_note = None
            duty.withdrawn = False
        for column in (
            "title",
            "period_start",
            "cutoff_on",
            "due_on",
            "reminder_days",
            "overdue_days",
            "on_day_off",
            "sections",
            "indicator_codes",
            "assignee_codes",
        ):
            setattr(duty, column, getattr(wanted_duty, column))
    for left in duties.values():
        if not left.withdrawn:
            left.closed_on, left.closed_note, left.withdrawn = left.closed_on or effective, note, True
    session.flush()
    # Forget the session's answers about this plan's earlier version (those about other plans, a parent's, still hold)
    duty_ids = {d.id for d in plan.duties}
    for memo, stale in (
        ("target_sharers", lambda key: key[0] == plan.id),
        ("duty_targets", lambda key: key in duty_ids),
        ("unit_tasks", lambda key: key == plan.id),
    ):
        answers = session.info.get(memo, {})
        for key in [key for key in answers if stale(key)]:
            del answers[key]


# ---------------------------------------------------------------------------------------------
# One plan's amendment
# ---------------------------------------------------------------------------------------------


def _holdings(session: Session, plan: Plan) -> dict[int, _Held]:
    held: dict[int, _Held] = {}
    rows = session.execute(
        select(Assignment, ReportDuty.code, Unit)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(ReportDuty.plan_id == plan.id, ReportDuty.closed_on.is_(None), Assignment.status.in_(EXPECTED_STATUSES))
        .order_by(Unit.code)
    ).all()
    for assignment, code, unit in rows:
        held.setdefault(unit.id, _Held(unit)).assignments[code] = assignment
    return held


def _ask(target: Target | None, unit_code: str, sharers: Mapping[str, Sequence[str]]) -> dict[str, Any] | None:
    """What a target asks of one unit, as the templates word it: {comparator, value, unit_of_measure, metric}."""
    if target is None:
        return None
    value = inherited_value(target, unit_code, sharers.get(target.code, []))
    return {"comparator": target.comparator, "value": value, "unit_of_measure": target.unit_of_measure, "metric": target.metric}


def _reported(targets: Sequence[Target], duties: Iterable[Mapping[str, Any]], unit_code: str) -> set[str]:
    found: set[str] = set()
    for duty in duties:
        found |= reported_codes(targets, duty["indicators"], duty["kind"], unit_code)
    return found


def _task_named(change: Mapping[str, Any]) -> set[str]:
    named: set[str] = set()
    for side in (change["before"], change["after"]):
        if side:
            named |= {*side.get("lead", []), *side.get("support", [])}
    return named


def _unit_items(
    unit: Unit,
    held_before: Sequence[str],
    held_after: Sequence[str],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    targets: tuple[list[Target], list[Target]],
    sharers: tuple[Mapping[str, Sequence[str]], Mapping[str, Sequence[str]]],
    answered: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """What changed for one unit, in the order its notice lists it; `held_before`/`held_after`: the codes of the
    duties it answers in each version; `answered`: those it has already answered (a moved deadline is not its concern)."""
    items: list[dict[str, Any]] = []
    old_duties = {d["code"]: d for d in before["plan"]["duties"]}
    new_duties = {d["code"]: d for d in after["plan"]["duties"]}
    for change in changes:
        kind = change["kind"]
        if kind in ("title", "purposes", "requirements", "basis"):
            items.append({"kind": kind, "after": change["after"]})
        elif kind.startswith("task_") and (not (named := _task_named(change)) or unit.code in named):
            items.append({"kind": kind, "title": change["name"]})
    old_targets, new_targets = ({t.code: t for t in side} for side in targets)
    was = _reported(targets[0], (old_duties[c] for c in held_before if c in old_duties), unit.code)
    now = _reported(targets[1], (new_duties[c] for c in held_after if c in new_duties), unit.code)
    for code in [t.code for t in targets[1] if t.code in was | now] + [c for c in old_targets if c in was - now and c not in new_targets]:
        old_ask = _ask(old_targets.get(code), unit.code, sharers[0]) if code in was else None
        new_ask = _ask(new_targets.get(code), unit.code, sharers[1]) if code in now else None
        if old_ask is None and new_ask is not None:
            items.append({"kind": "target_added", "code": code, "metric": new_ask["metric"], "after": new_ask})
        elif new_ask is None and old_ask is not None:
            items.append({"kind": "target_removed", "code": code, "metric": old_ask["metric"]})
        elif old_ask != new_ask and new_ask is not None:
            items.append({"kind": "target", "code": code, "metric": new_ask["metric"], "before": old_ask, "after": new_ask})
    moved = {c["code"]: c for c in changes if c["kind"] == "deadline"}
    reshaped = {c["code"] for c in changes if c["kind"] == "duty_changed" and _form_fields_differ(c)}
    for code in held_before:
        duty = old_duties.get(code)
        if duty is None:
            continue
        if code not in new_duties:
            items.append({"kind": "duty_removed", "code": code, "title": duty["title"]})
        elif code not in held_after:
            items.append({"kind": "unassigned", "code": code, "title": duty["title"]})
        else:
            if code in moved and code not in answered:
                items.append({"kind": "deadline", "code": code, "title": duty["title"], "before": moved[code]["before"], "after": moved[code]["after"]})
            if code in reshaped:
                items.append(
                    {"kind": "duty_changed", "code": code, "title": new_duties[code]["title"], "sections": [s["title"] for s in new_duties[code]["sections"]]}
                )
    for code in held_after:
        if code not in held_before and code in new_duties:
            items.append({"kind": "duty_added", "code": code, "title": new_duties[code]["title"], "due_on": new_duties[code]["due_on"]})
    return items


def _form_fields_differ(change: Mapping[str, Any]) -> bool:
    before, after = change["before"], change["after"]
    return any(before.get(k) != after.get(k) for k in ("title", "cutoff_on", "sections"))


def _retire_milestones(session: Session, duty_ids: Sequence[int], version: int) -> None:
    """A moved deadline's milestones start again: the ones done or skipped stay as history under a step of
    their version ('before-7@v1'), so that the calendar stores the new ones."""
    if not duty_ids:
        return
    for milestone in session.scalars(select(Milestone).where(Milestone.duty_id.in_(duty_ids), Milestone.status != MilestoneStatus.PENDING)):
        if "@" not in milestone.step:
            milestone.step = f"{milestone.step}@v{version}"[:32]


def amend(
    session: Session,
    plan: Plan,
    spec: PlanSpec,
    header: AmendmentHeader,
    *,
    as_of: date,
    calendar: WorkingCalendar,
    source: PlanAmendment | None = None,
) -> Amended | None:
    """Apply `spec` as the plan's next version under the amending document `header`, in the caller's transaction
    (see the module docstring); None when it changes nothing."""
    before = plan_document(session, plan)
    old_targets = snapshot_targets(before)
    old_sharers = dict(target_sharers(session, plan, header.issued_on))
    held = _holdings(session, plan)
    version = plan.version + 1
    apply_version(session, plan, spec, effective=header.issued_on, calendar=calendar, note=message("amendments.withdrawn", code=header.code))
    after = plan_document(session, plan)
    changes = document_changes(before, after)
    if not changes:
        return None
    plan.version = version
    amendment = PlanAmendment(
        plan_id=plan.id, version=version, number=header.number, symbol=header.symbol, issued_on=header.issued_on, place=header.place,
        reason=header.reason, signer_title=header.signer_title, signer_name=header.signer_name, before=before, changes=changes,
        source_id=source.id if source is not None else None,
    )  # fmt: skip
    session.add(amendment)
    session.flush()

    duties = {d.code: d for d in plan.duties}
    moved = [duties[c["code"]] for c in changes if c["kind"] == "deadline"]
    for duty in moved:
        session.execute(update(Assignment).where(Assignment.duty_id == duty.id, Assignment.status.in_(EXPECTED_STATUSES)).values(due_on=duty.due_on))
        # reminders and escalations start again for the new deadline
        session.execute(
            update(Assignment)
            .where(Assignment.duty_id == duty.id, Assignment.status.in_(OPEN_STATUSES))
            .values(reminder_rank=0, escalated_on=None)
            .execution_options(synchronize_session="fetch")
        )
    _retire_milestones(session, [d.id for d in moved], version - 1)

    new_sharers = target_sharers(session, plan, header.issued_on)
    open_duties = [d for d in plan.duties if d.closed_on is None]
    created_at = clock.moment(as_of)
    new_assignments: list[Assignment] = []
    withdrawn = 0
    notices: list[tuple[Unit, list[dict[str, Any]], list[Assignment], Assignment]] = []
    assignees = {d.code: {u.id for u in duty_assignees(session, d, on=header.issued_on)} for d in open_duties}
    for unit_id, holding in held.items():
        held_before = list(holding.assignments)
        for code, assignment in holding.assignments.items():
            if duties[code].withdrawn:
                withdrawn += 1  # its duty withdrawn: closed with it
            elif unit_id not in assignees[code]:
                assignment.status = AssignmentStatus.WITHDRAWN
                withdrawn += 1
        held_after = [d.code for d in open_duties if unit_id in assignees[d.code]]
        for duty in open_duties:
            if unit_id in assignees[duty.code] and duty.code not in holding.assignments:
                fresh = Assignment(duty=duty, unit_id=unit_id, due_on=duty.due_on, token=secrets.token_urlsafe(24), created_at=created_at)
                session.add(fresh)
                new_assignments.append(fresh)
                holding.assignments[duty.code] = fresh
        targets = (old_targets, list(plan.targets))
        answered = frozenset(
            code for code in held_before if holding.assignments[code].submitted_on is not None and holding.assignments[code].status != AssignmentStatus.RETURNED
        )
        items = _unit_items(holding.unit, held_before, held_after, before, after, changes, targets, (old_sharers, new_sharers), answered)
        if items:
            forms = _refreshed_forms(holding, items, duties)
            anchor = forms[0] if forms else next(iter(holding.assignments.values()))
            notices.append((holding.unit, items, forms, anchor))
    session.flush()

    children = list(
        session.scalars(
            select(Plan)
            .where(Plan.parent_plan_id == plan.id, Plan.status.in_((PlanStatus.ISSUED, PlanStatus.DRAFT)))
            .options(selectinload(Plan.targets), selectinload(Plan.issuer))  # read for every child below (`_looser_children`)
            .order_by(Plan.key)
        )
    )
    flags = _looser_children(children, old_targets, plan, new_sharers, old_sharers)
    drafts_changed = []
    for child in children:
        if child.status != PlanStatus.DRAFT:
            continue
        derived = derived_document(session, plan, before, child, calendar, old_sharers)
        if derived is not None:
            apply_version(
                session, child, spec_of(derived), effective=header.issued_on, calendar=calendar, note=message("amendments.withdrawn", code=header.code)
            )
            drafts_changed.append(child.key)

    document = write_amendment_document(session, amendment) if notices else None
    rows = []
    for unit, items, forms, anchor in notices:
        rows.append(_notice_row(session, amendment, unit, items, forms, anchor, flags.get(unit.id, []), document, as_of=as_of))
    queue_rows(session, rows)
    return Amended(
        amendment.id, plan.key, header.code, version, len(changes), tuple(unit.code for unit, *_ in notices), len(new_assignments), withdrawn,
        tuple(drafts_changed), tuple(c.id for c in children if c.status == PlanStatus.ISSUED),
        tuple(f"{f['plan']}: {f['metric']}" for found in flags.values() for f in found),
    )  # fmt: skip


def _refreshed_forms(holding: _Held, items: Sequence[Mapping[str, Any]], duties: Mapping[str, ReportDuty]) -> list[Assignment]:
    """The unit's report assignments whose form the change reaches (their revision raised), and its new ones."""
    target_codes = {i["code"] for i in items if i["kind"].startswith("target")}
    duty_codes = {i["code"] for i in items if i["kind"] in FORM_KINDS and not i["kind"].startswith("target")}
    forms = []
    for code, assignment in holding.assignments.items():
        duty = duties.get(code)
        if duty is None or duty.closed_on is not None or not needs_form(duty) or assignment.status == AssignmentStatus.WITHDRAWN:
            continue
        if assignment.id is None:  # added by this amendment: its first form
            forms.append(assignment)
            continue
        if code in duty_codes or target_codes or any(i["kind"] == "title" for i in items):
            assignment.form_revision += 1
            if assignment.status != AssignmentStatus.ACCEPTED:
                forms.append(assignment)
    return forms


def _looser_children(
    children: Sequence[Plan], old_targets: Sequence[Target], plan: Plan, new_sharers: Mapping[str, Sequence[str]], old_sharers: Mapping[str, Sequence[str]]
) -> dict[int, list[dict[str, Any]]]:
    """Issuer unit id → the targets of its implementing plan that the amendment leaves looser than the parent now asks
    (a target the unit had kept as inherited follows the parent instead, see `derived_document`)."""
    flags: dict[int, list[dict[str, Any]]] = defaultdict(list)
    old = {t.code: t for t in old_targets}
    new = {t.code: t for t in plan.targets}
    for child in children:
        for own in child.targets:
            parent = new.get(own.code)
            if parent is None or parent.comparator is None:
                continue
            asked = inherited_value(parent, child.issuer.code, new_sharers.get(own.code, []))
            if asked is None:
                continue
            earlier = old.get(own.code)
            inherited = earlier is not None and (own.comparator, own.value) == (
                earlier.comparator,
                inherited_value(earlier, child.issuer.code, old_sharers.get(own.code, [])),
            )
            if inherited:
                continue
            if own.comparator is None or own.value is None or looser_than(Comparator(own.comparator), own.value, Comparator(parent.comparator), asked):
                flags[child.issuer_id].append(
                    {"plan": child.code, "metric": own.metric, "own": {"comparator": own.comparator, "value": own.value, "unit_of_measure": own.unit_of_measure},
                     "asked": {"comparator": parent.comparator, "value": asked, "unit_of_measure": parent.unit_of_measure}}
                )  # fmt: skip
    return flags


def _notice_row(
    session: Session,
    amendment: PlanAmendment,
    unit: Unit,
    items: list[dict[str, Any]],
    forms: list[Assignment],
    anchor: Assignment,
    flags: list[dict[str, Any]],
    document: Path | None,
    *,
    as_of: date,
) -> dict[str, object]:
    """The one amendment notice a unit gets: what changed for it, with the amendment and its new forms."""
    plan = amendment.plan
    attachments = [str(document)] if document is not None else []
    shown_forms = []
    for assignment in forms:
        spec = form_spec(session, assignment, as_of=as_of)
        path = amendment_document_path(amendment).parent / unit.code / form_filename(spec)
        attachments.append(str(write_form(spec, path)))
        shown_forms.append(
            {"reference": reference(assignment), "title": assignment.duty.title, "due_on": assignment.due_on, "portal_url": portal_link(assignment)}
        )
    context = {
        "plan": plan_context(plan),
        "amendment": {"code": amendment.code, "issued_on": amendment.issued_on, "kind_word": amendment.kind_word, "reason": amendment.reason},
        "unit": {"code": unit.code, "name": unit.name},
        "items": _dated(items),
        "forms": shown_forms,
        "flags": flags,
        "reported": any(a.submitted_on is not None for a in forms),
        "assignment": {"reference": reference(anchor), "portal_url": portal_link(anchor) if needs_form(anchor.duty) else None},
    }
    return outbox_row(
        key=f"amendment:{amendment.id}:{unit.id}",
        kind=EmailKind.AMENDMENT,
        assignment_id=anchor.id,
        email_to=recipients(unit),
        reply_to=reply_to_header(anchor),
        rendered=render_email("amendment", **context),
        created_at=clock.moment(as_of),
        attachments=attachments,
    )


def _dated(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Items with their ISO dates as dates, for the templates' date filters."""
    out = []
    for item in items:
        shown = dict(item)
        for key in ("before", "after", "due_on"):
            if isinstance(shown.get(key), str) and len(shown[key]) == 10 and shown[key][4] == "-":
                shown[key] = date.fromisoformat(shown[key])
        out.append(shown)
    return out


# ---------------------------------------------------------------------------------------------
# Implementing plans
# ---------------------------------------------------------------------------------------------


def _number(value: Decimal | None) -> int | float | None:
    return None if value is None else yaml_number(value)


def _same(value: Any, other: Any) -> bool:
    """Two values of a plan file equal as numbers when both are numbers (3 and 3.0)."""
    if isinstance(value, int | float | Decimal) and isinstance(other, int | float | Decimal):
        return Decimal(str(value)) == Decimal(str(other))
    return bool(value == other)


def derived_document(
    session: Session, parent: Plan, parent_before: Mapping[str, Any], child: Plan, calendar: WorkingCalendar, old_sharers: Mapping[str, Sequence[str]]
) -> dict[str, Any] | None:
    """The next version of an implementing plan after its parent changed from `parent_before` to its rows now:
    what the child had inherited follows the parent, what it changed itself stays; None when nothing changes."""
    current = plan_document(session, child)
    doc = copy.deepcopy(current)
    # The parent as it now reads, once for all its children (it does not change while they follow it)
    mine, was, now = doc["plan"], parent_before["plan"], _memo(session, ("now", parent.id, parent.version), lambda: plan_document(session, parent))["plan"]
    unit = child.issuer
    for name in ("title", "purposes", "requirements"):
        if mine.get(name) == was.get(name):
            mine[name] = now.get(name)

    # Tasks: the parent's that concern the unit, naming the units below it
    below = subtrees(session, [unit.id])[unit.id]
    codes = {code for side in (was, now) for t in side.get("tasks", []) for code in (*t.get("lead", []), *t.get("support", []))}
    ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).tuples().all())
    old_tasks = {t["code"]: t for t in was.get("tasks", [])}
    own_tasks = {t["code"]: t for t in mine.get("tasks", [])}
    tasks = []
    for parent_task in now.get("tasks", []):
        named = {ids[c] for c in (*parent_task.get("lead", []), *parent_task.get("support", [])) if c in ids}
        earlier, own = old_tasks.get(parent_task["code"]), own_tasks.pop(parent_task["code"], None)
        passed = {
            "code": parent_task["code"], "title": parent_task["title"], "content": parent_task.get("content", ""),
            "lead": [c for c in parent_task.get("lead", []) if ids.get(c) in below and c != unit.code],
            "support": [c for c in parent_task.get("support", []) if ids.get(c) in below and c != unit.code],
        }  # fmt: skip
        if own is not None:
            inherited = earlier is not None and (own["title"], own.get("content")) == (earlier["title"], earlier.get("content"))
            tasks.append(passed if inherited else own)
        elif earlier is None and task_concerns(named, below):
            tasks.append(passed)
    for code, own in own_tasks.items():
        if code not in old_tasks or code in {t["code"] for t in now.get("tasks", [])}:
            tasks.append(own)  # the unit's own task, or one it keeps
    mine["tasks"] = tasks

    # Targets: an inherited value follows the parent's
    old = {t.code: t for t in snapshot_targets(parent_before)}
    new = {t.code: t for t in parent.targets}
    new_sharers = target_sharers(session, parent, child.issued_on)
    targets = []
    for own_target in mine.get("targets", []):
        code = own_target["code"]
        if code not in new:
            if code in old:
                continue  # withdrawn above: withdrawn here
            targets.append(own_target)
            continue
        earlier_target, latest = old.get(code), new[code]
        old_ask = inherited_value(earlier_target, unit.code, old_sharers.get(code, [])) if earlier_target is not None else None
        inherited = (
            earlier_target is not None
            and own_target.get("comparator") == (earlier_target.comparator and str(earlier_target.comparator))
            and _same(own_target.get("value"), _number(old_ask))
        )
        following = dict(own_target)
        if inherited:
            following = {k: v for k, v in own_target.items() if k not in ("comparator", "value")}
            asked = inherited_value(latest, unit.code, new_sharers.get(code, []))
            if latest.comparator is not None and asked is not None:
                following |= {"comparator": str(latest.comparator), "value": _number(asked)}
        if earlier_target is not None:
            for name in ("text", "metric", "unit_of_measure"):
                if following.get(name) == getattr(earlier_target, name):
                    following[name] = getattr(latest, name)
        targets.append(_ordered_target(following))
    held = dict(
        session.execute(
            select(ReportDuty.code, Assignment.due_on)
            .join(Assignment, Assignment.duty_id == ReportDuty.id)
            .where(ReportDuty.plan_id == parent.id, ReportDuty.closed_on.is_(None), Assignment.unit_id == unit.id, Assignment.status.in_(EXPECTED_STATUSES))
        )
        .tuples()
        .all()
    )
    now_duties = {d["code"]: d for d in now.get("duties", [])}
    reported = _reported(list(parent.targets), (now_duties[c] for c in held if c in now_duties), unit.code)
    kept = {t["code"] for t in targets}
    for target in parent.targets:
        if target.code in reported and target.code not in kept:
            asked = inherited_value(target, unit.code, new_sharers.get(target.code, []))
            added: dict[str, Any] = {"code": target.code, "text": target.text, "metric": target.metric, "unit_of_measure": target.unit_of_measure}
            if target.comparator is not None and asked is not None:
                added |= {"comparator": str(target.comparator), "value": _number(asked)}
            added["aggregation"] = str(target.aggregation)
            if target.numerator_code and target.denominator_code:
                added |= {"numerator": target.numerator_code, "denominator": target.denominator_code}
            if target.unit_comparator is not None and target.unit_threshold is not None:
                added["unit_threshold"] = {"comparator": str(target.unit_comparator), "value": _number(target.unit_threshold)}
            if target.allocation_rule:
                added["allocation_rule"] = target.allocation_rule
            targets.append(added)
    mine["targets"] = targets
    target_codes = [t["code"] for t in targets]

    # Duties: an inherited deadline keeps its lead on the unit's own deadline
    lead = level_policy(parent.cascade_policy, child.level).lead_days
    old_duties = {d["code"]: d for d in was.get("duties", [])}
    duties = []
    for own_duty in mine.get("duties", []):
        code = own_duty["code"]
        if code in old_duties and code not in now_duties:
            continue  # withdrawn above
        above, earlier_duty = now_duties.get(code), old_duties.get(code)
        if above is None or earlier_duty is None:
            duties.append(own_duty)
            continue
        if own_duty["kind"] != DutyKind.IMPLEMENTING_PLAN and code in held and earlier_duty["due_on"] != above["due_on"]:
            old_lead = calendar.subtract_working_days(date.fromisoformat(earlier_duty["due_on"]), lead)
            due = date.fromisoformat(own_duty["due_on"])
            if due == old_lead or due > held[code]:
                own_duty["due_on"] = max(calendar.subtract_working_days(held[code], lead), calendar.roll_forward(child.issued_on)).isoformat()
        for name in ("title", "sections"):
            if own_duty.get(name) == earlier_duty.get(name):
                own_duty[name] = copy.deepcopy(above.get(name))  # the parent's document is shared by its children
        if own_duty["kind"] != DutyKind.IMPLEMENTING_PLAN:
            own_duty["indicators"] = [c for c in target_codes if c in reported_codes(list(parent.targets), above["indicators"], above["kind"], unit.code)]
        if own_duty.get("cutoff_on") and own_duty["cutoff_on"] > own_duty["due_on"]:
            own_duty["cutoff_on"] = own_duty["due_on"]
        duties.append(own_duty)
    listed = {d["code"] for d in duties}
    for code, due in held.items():
        above = now_duties.get(code)
        if above is None or code in listed or code in old_duties or above["kind"] == DutyKind.IMPLEMENTING_PLAN:
            continue  # a duty the unit already answers, or an implementing plan: this one
        own_due = max(calendar.subtract_working_days(due, lead), calendar.roll_forward(child.issued_on))
        duties.append(
            {
                "code": code, "kind": above["kind"], "title": above["title"], "period_start": above.get("period_start"),
                "cutoff_on": min(above["cutoff_on"], own_due.isoformat()) if above.get("cutoff_on") else None, "due_on": own_due.isoformat(),
                "reminder_days": list(above["reminder_days"]), "overdue_days": list(above["overdue_days"]), "on_day_off": above.get("on_day_off", "before"),
                "sections": [dict(s) for s in above["sections"]],
                "indicators": [c for c in target_codes if c in reported_codes(list(parent.targets), above["indicators"], above["kind"], unit.code)],
                "assignees": [],
            }
        )  # fmt: skip
    for duty in duties:  # a deadline now close to the plan's own day keeps only the reminders that fit after it
        span = max((date.fromisoformat(duty["due_on"]) - child.issued_on).days, 1)
        duty["reminder_days"] = [days for days in duty["reminder_days"] if days <= span]
    mine["duties"] = duties
    return doc if document_changes(current, doc) else None


_TARGET_ORDER = ("code", "text", "metric", "unit_of_measure", "comparator", "value", "aggregation", "numerator", "denominator", "unit_threshold")


def _ordered_target(target: Mapping[str, Any]) -> dict[str, Any]:
    """A target mapping in the plan file's order (the comparator and value beside each other)."""
    return {k: target[k] for k in _TARGET_ORDER if k in target} | {k: v for k, v in target.items() if k not in _TARGET_ORDER}


def derived_header(session: Session, child: Plan, source: PlanAmendment, effective: date) -> AmendmentHeader:
    """The amending document of an implementing plan that follows its parent's amendment: the unit's next number."""
    return AmendmentHeader(
        number=next_number(session, child.issuer_id, child.year),
        symbol=child.symbol,
        issued_on=effective,
        place=child.place,
        reason=message(
            "amendments.derived_reason",
            kind_word=source.kind_word,
            code=source.code,
            issued_on=source.issued_on,
            plan=source.plan.code,
            issuer=source.plan.issuer_names,
        ),
        signer_title=child.signer_title,
        signer_name=child.signer_name,
    )


def pass_amendment_down(session: Session, source: PlanAmendment, child: Plan, *, as_of: date, calendar: WorkingCalendar) -> Amended | None:
    """Amend an issued implementing plan after its parent's amendment `source`; None when it inherited nothing that changed."""
    sharers_before = _memo(session, ("sharers", source.id), lambda: _sharers_of(session, source))  # once for a batch of children
    derived = derived_document(session, source.plan, source.before, child, calendar, sharers_before)
    if derived is None:
        return None
    return amend(session, child, spec_of(derived), derived_header(session, child, source, source.issued_on), as_of=as_of, calendar=calendar, source=source)


def _memo(session: Session, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """`make()` once per session (one task's batch of implementing plans) for what every child of one parent reads."""
    memo: dict[tuple[Any, ...], Any] = session.info.setdefault("amendment_memo", {})
    if key not in memo:
        memo[key] = make()
    return memo[key]


def _sharers_of(session: Session, amendment: PlanAmendment) -> dict[str, list[str]]:
    """The units that reported each target of the version an amendment replaced: its assignments, less those it added."""
    plan = amendment.plan
    targets = snapshot_targets(amendment.before)
    duties = amendment.before["plan"].get("duties", [])
    rows = session.execute(
        select(ReportDuty.code, Unit.code)
        .join(Assignment, Assignment.duty_id == ReportDuty.id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(ReportDuty.plan_id == plan.id, Assignment.status.in_((*EXPECTED_STATUSES, AssignmentStatus.WITHDRAWN)))
    ).all()
    holders: dict[str, set[str]] = defaultdict(set)
    for duty_code, unit_code in rows:
        holders[duty_code].add(unit_code)
    sharers: dict[str, set[str]] = defaultdict(set)
    for duty in duties:
        for unit_code in holders.get(duty["code"], ()):
            for code in reported_codes(targets, duty["indicators"], duty["kind"], unit_code):
                sharers[code].add(unit_code)
    return {code: sorted(units) for code, units in sharers.items()}


# ---------------------------------------------------------------------------------------------
# Prefect tasks: the amended plan, then its implementing plans level by level, in batches
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassBatch:
    """Implementing plans to amend after their parent's amendment."""

    amendment_id: int
    plan_ids: tuple[int, ...]


@task(name="amend-plan-version")
def amend_from_file(plan: str, path: str, as_of: date) -> Amended:
    """Amend the plan with the file in one transaction (the file checked again inside it); raises ImportFileError
    with every problem, ConflictError when the file changes nothing."""
    loaded, plan_id = check_amendment(plan, path)
    with session_scope() as session:
        found = session.get_one(Plan, plan_id)
        result = amend(session, found, loaded.plan.spec, loaded.header_for(found), as_of=as_of, calendar=load_calendar(session))
        if result is None:
            raise ConflictError(f"{path}: the file changes nothing in plan {found.code} ({found.key}): nothing to amend")
        return result


def pass_batches(amended: Sequence[Amended]) -> list[PassBatch]:
    size = get_settings().cascade_batch_size
    return [PassBatch(a.amendment_id, a.below[start : start + size]) for a in amended for start in range(0, len(a.below), size)]


@task(name="pass-amendment-down")
def pass_down(batch: PassBatch, as_of: date) -> list[Amended]:
    """Amend a batch of implementing plans after their parent's amendment, in one transaction."""
    with session_scope() as session:
        source = session.get_one(PlanAmendment, batch.amendment_id)
        calendar = load_calendar(session)
        done = []
        for plan_id in batch.plan_ids:
            result = pass_amendment_down(session, source, session.get_one(Plan, plan_id), as_of=as_of, calendar=calendar)
            if result is not None:
                done.append(result)
        return done
