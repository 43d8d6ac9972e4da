"""The cycle calendar: plan milestones, escalations, heads addresses

Revision ID: 0002_calendar
Revises: 0001_baseline
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_calendar"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False, comment="'before-3', 'overdue-7', 'escalate-5', 'due', 'consolidate'."),
        sa.Column("rank", sa.Integer(), nullable=False, comment="Reminder rank of the step (models.reminders); 0 for other kinds."),
        sa.Column("due_on", sa.Date(), nullable=False, comment="The duty's deadline the step is counted from."),
        sa.Column("day", sa.Date(), nullable=False, comment="The working day the step runs on."),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True, comment="The day the tick ran (or skipped) it; later than `day` when caught up."),
        sa.Column("outcome", sa.String(), nullable=True, comment="What it did, in Vietnamese: '12 đơn vị được nhắc'."),
        sa.ForeignKeyConstraint(["duty_id"], ["report_duty.id"], name=op.f("fk_plan_milestone_duty_id_report_duty"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_milestone_plan_id_plan"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_milestone")),
        sa.UniqueConstraint("duty_id", "kind", "step", name=op.f("uq_plan_milestone_duty_id_kind_step")),
    )
    with op.batch_alter_table("plan_milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_milestone_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_milestone_duty_id"), ["duty_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_milestone_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_milestone_status"), ["status"], unique=False)

    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalated_on", sa.Date(), nullable=True, comment="The day it was reported overdue to the unit's head and the secretariat (once).")
        )

    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_email", sa.String(), nullable=True, comment="The head's own address: overdue escalations go there."))


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("head_email")

    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("escalated_on")

    with op.batch_alter_table("plan_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_milestone_status"))
        batch_op.drop_index(batch_op.f("ix_plan_milestone_plan_id"))
        batch_op.drop_index(batch_op.f("ix_plan_milestone_duty_id"))
        batch_op.drop_index(batch_op.f("ix_plan_milestone_day"))

    op.drop_table("plan_milestone")
