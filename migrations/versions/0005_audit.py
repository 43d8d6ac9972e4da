"""The audit log: who did what, when, from where

Revision ID: 0005_audit
Revises: 0004_figures
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audit"
down_revision: str | None = "0004_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="The real instant of the act (not the replayed day)."),
        sa.Column("as_of", sa.Date(), nullable=True, comment="The day of the cycle the act was made for, when it names one."),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="The signed-in user, or cli:<system user>; for a failed sign-in, the name typed."),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False, comment="What it was done to: a plan and duty, a unit's version, a file."),
        sa.Column("client", sa.String(length=64), nullable=True, comment="The client address, for acts through the portal."),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))
    op.drop_table("audit_event")
