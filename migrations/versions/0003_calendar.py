"""Deadlines on days off and deadlines moved because a plan reached a level late

Revision ID: 0003_calendar
Revises: 0002_calendar
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_calendar"
down_revision: str | None = "0002_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "on_day_off",
                sa.String(length=8),
                server_default="before",
                nullable=False,
                comment="Where a due date on a day off goes: before, after, keep (models.calendar.settle_deadline).",
            )
        )
        batch_op.add_column(
            sa.Column(
                "back_scheduled_on",
                sa.Date(),
                nullable=True,
                comment="The back-scheduled deadline, when the plan reached this level too late for it: due_on is then the first feasible working day.",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.drop_column("back_scheduled_on")
        batch_op.drop_column("on_day_off")
