"""A plan's own report recipients, a joint plan's other issuers, and report sections that place the report's parts

Revision ID: 0009_report_layout
Revises: 0008_unit_system
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_report_layout"
down_revision: str | None = "0008_unit_system"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SECTIONS_BEFORE = "[{code, title}] narrative sections."
SECTIONS_AFTER = "[{code, title[, shows][, asked]}] the report's sections, in order (shows: ReportBlock values; asked: units write it)."


def upgrade() -> None:
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.alter_column("sections", existing_type=sa.JSON(), existing_nullable=False, comment=SECTIONS_AFTER, existing_comment=SECTIONS_BEFORE)
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "report_recipients",
                sa.JSON(),
                server_default=sa.text("'[]'"),
                nullable=False,
                comment="Nơi nhận of the plan's own consolidated reports; empty: the body above.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "co_issuers",
                sa.JSON(),
                server_default=sa.text("'[]'"),
                nullable=False,
                comment="A joint plan's other issuers: [{code, name, signer_title, signer_name}] (liên tịch).",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.alter_column("sections", existing_type=sa.JSON(), existing_nullable=False, comment=SECTIONS_BEFORE, existing_comment=SECTIONS_AFTER)
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("co_issuers")
        batch_op.drop_column("report_recipients")
