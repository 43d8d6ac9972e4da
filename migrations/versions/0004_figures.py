"""Plain figures (targets without a comparator) and rates computed from two count indicators

Revision ID: 0004_figures
Revises: 0003_calendar
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_figures"
down_revision: str | None = "0003_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "numerator_code",
                sa.String(length=32),
                nullable=True,
                comment="weighted_rate computed from two sum indicators of the plan: the code of the part (units do not type the rate).",
            )
        )
        batch_op.add_column(
            sa.Column("denominator_code", sa.String(length=32), nullable=True, comment="weighted_rate computed from two sum indicators: the code of the whole.")
        )
        batch_op.alter_column("comparator", existing_type=sa.String(length=8), nullable=True)
        batch_op.alter_column("value", existing_type=sa.Numeric(precision=20, scale=6), nullable=True)


def downgrade() -> None:
    # Plain figures have no target to restore: they become 'at least 0', which every figure meets.
    op.execute("UPDATE target SET comparator = 'ge' WHERE comparator IS NULL")
    op.execute("UPDATE target SET value = 0 WHERE value IS NULL")
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.Numeric(precision=20, scale=6), nullable=False)
        batch_op.alter_column("comparator", existing_type=sa.String(length=8), nullable=False)
        batch_op.drop_column("denominator_code")
        batch_op.drop_column("numerator_code")
