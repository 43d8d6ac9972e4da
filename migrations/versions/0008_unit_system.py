"""Which rules a unit's documents follow: state (Decree 30/2020) or party (Hướng dẫn 36-HD/VPTW)

Revision ID: 0008_unit_system
Revises: 0007_plan_drafted
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_unit_system"
down_revision: str | None = "0007_plan_drafted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("system", sa.String(length=8), server_default="state", nullable=False, comment="state (Decree 30) or party (HD 36)."))


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("system")
