"""A drafted plan as it was drafted for its unit, kept when the unit first adjusts it

Revision ID: 0007_plan_drafted
Revises: 0006_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_plan_drafted"
down_revision: str | None = "0006_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "drafted",
                sa.JSON(),
                nullable=True,
                comment="A drafted plan as it was drafted for its unit (the plan file's mapping), kept when the unit first adjusts it.",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("drafted")
