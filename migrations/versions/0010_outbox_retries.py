"""Outbox retries by time and by recipient: when a message was first attempted, and who still awaits it

Revision ID: 0010_outbox_retries
Revises: 0009_report_layout
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_outbox_retries"
down_revision: str | None = "0009_report_layout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "first_attempt_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="When it was first handed to the server: retries end outbox_retry_hours later.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "retry_recipients",
                sa.JSON(),
                nullable=True,
                comment="After a partial refusal: the addresses still owed the message (4xx); the next attempt goes to these only.",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.drop_column("retry_recipients")
        batch_op.drop_column("first_attempt_at")
