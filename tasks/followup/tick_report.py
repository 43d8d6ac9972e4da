"""What the daily tick shows admins in the Prefect UI: a markdown summary and per-unit state tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy import select

from models.db import session_scope
from models.milestones import Milestone, milestone_title
from models.plan import Plan, PlanStatus, ReportDuty
from tasks.outbound.outbox import DeliveryTally
from tasks.reporting.consolidation import artifact_key
from tasks.reporting.queries import status_summary
from templates import message, render, words


@dataclass(frozen=True)
class TickResult:
    day: date
    reminders: int  # reminder and overdue emails queued
    skipped: int  # steps skipped: a later step of the same duty came due with them, or their day is long past
    escalation_digests: int
    consolidated: int
    deadlines: int
    failed: tuple[str, ...]  # consolidations that raised (they stay pending and are retried next tick)
    delivery: DeliveryTally


# A table artifact is one JSON document on the server: past this many rows only the units still
# owing a report are listed (the CLI's `cascade status` always shows every row). Making one of 2,000
# rows took 60 MB at its peak (the table as dicts, as JSON, as the API's request).
MAX_TABLE_ROWS = 500


@task(name="publish-tick-artifacts")
def publish_tick_artifacts(result: TickResult, day: date) -> None:
    """The tick's summary (`daily-tick`) and, for each issued root plan, a table of every unit's state (`unit-state-<plan>`)."""
    with session_scope() as session:
        ran = session.execute(
            select(Milestone, Plan, ReportDuty).join(Plan, Plan.id == Milestone.plan_id).join(ReportDuty, ReportDuty.id == Milestone.duty_id)
            .where(Milestone.done_on == day).order_by(Milestone.day, Milestone.id)
        ).all()  # fmt: skip
        upcoming = session.execute(
            select(Milestone, Plan, ReportDuty).join(Plan, Plan.id == Milestone.plan_id).join(ReportDuty, ReportDuty.id == Milestone.duty_id)
            .where(Milestone.done_on.is_(None), Milestone.day > day, Plan.status == PlanStatus.ISSUED)
            .order_by(Milestone.day, Milestone.id).limit(10)
        ).all()  # fmt: skip
        roots = session.execute(select(Plan.key, Plan.number, Plan.symbol).where(Plan.level == 0, Plan.status == PlanStatus.ISSUED).order_by(Plan.id)).all()
        statuses = words("milestones.status")
        ran_rows = [(m.day, plan.code, duty.title, milestone_title(m.kind, m.step, duty.kind), statuses[m.status], m.outcome or "") for m, plan, duty in ran]
        upcoming_rows = [(m.day, plan.code, duty.title, milestone_title(m.kind, m.step, duty.kind)) for m, plan, duty in upcoming]
    create_markdown_artifact(
        key="daily-tick",
        markdown=render("reports/tick_summary.md.j2", result=result, day=day, ran=ran_rows, upcoming=upcoming_rows),
        description=message("milestones.tick.summary", day=day),
    )
    c, state_words = words("reporting.columns"), words("reporting.state")
    for key, _, _ in roots:
        summary = status_summary(key, day, at_most=MAX_TABLE_ROWS)
        shown = summary.rows
        counts = [(word, summary.counts[state]) for state, word in state_words.items() if summary.counts.get(state)]  # in the catalogue's order
        listed = None if len(shown) == sum(summary.counts.values()) else len(shown)
        description = message("milestones.tick.unit_state", code=summary.code, day=day, states=counts, listed=listed)
        create_table_artifact(
            key=f"unit-state-{artifact_key(key)}",
            table=[
                {
                    c["level"]: row.level,
                    c["unit"]: row.unit_name,
                    c["duty"]: row.duty_code,
                    c["due_on"]: f"{row.due_on:%d/%m/%Y}",
                    c["state"]: state_words[row.state],
                    c["submitted_on"]: f"{row.submitted_on:%d/%m/%Y}" if row.submitted_on else "",
                    c["last_reminder"]: row.last_reminder or "",
                    c["emails_waiting"]: row.emails_waiting,
                }
                for row in shown
            ],
            description=description,
        )
