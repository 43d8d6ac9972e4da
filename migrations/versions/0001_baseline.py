"""Baseline: the schema before migrations (issues 1-6)

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_override",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_override")),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("short_name", sa.String(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer_symbol", sa.String(length=32), nullable=True, comment="Abbreviation in document symbols: SXD, UBND."),
        sa.Column("governing_body", sa.String(), nullable=True, comment="The body above it, printed over its name in document headers."),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("head_title", sa.String(), nullable=True),
        sa.Column("head_name", sa.String(), nullable=True),
        sa.Column("place", sa.String(), nullable=True, comment="Place name for the date line: 'Biên Hòa'."),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("successor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.ForeignKeyConstraint(["successor_id"], ["unit.id"], name=op.f("fk_unit_successor_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("code", name=op.f("uq_unit_code")),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False, comment="Stable identifier: '74-kh-sxd-2024'."),
        sa.Column("number", sa.String(length=16), nullable=True, comment="Sequence, blank on a draft: '74'."),
        sa.Column("symbol", sa.String(length=32), nullable=False, comment="Kind and issuer: 'KH-SXD'."),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("parent_plan_id", sa.Integer(), nullable=True),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("signer_title", sa.String(), nullable=False),
        sa.Column("signer_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True, comment="The day the cycle closed: no submissions after it; portal links expire some days later."),
        sa.Column("level", sa.Integer(), nullable=False, comment="Depth of the issuer below the root plan's issuer: 0 for a root plan."),
        sa.Column(
            "cascade_policy",
            sa.JSON(),
            nullable=False,
            comment="How the plan passes down: {levels: [{lead_days, issue}]} (see models.cascading); derived plans copy it.",
        ),
        sa.ForeignKeyConstraint(["issuer_id"], ["unit.id"], name=op.f("fk_plan_issuer_id_unit")),
        sa.ForeignKeyConstraint(["parent_plan_id"], ["plan.id"], name=op.f("fk_plan_parent_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_key")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_parent_plan_id"), ["parent_plan_id"], unique=False)

    op.create_table(
        "plan_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_task_plan_id_plan"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_task")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("uq_plan_task_plan_id_code")),
    )
    with op.batch_alter_table("plan_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_task_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "report_duty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("cutoff_on", sa.Date(), nullable=True, comment="Data up to this day: 'từ đầu năm đến ngày 31/10'."),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reminder_days", sa.JSON(), nullable=False, comment="Days before the due date."),
        sa.Column("overdue_days", sa.JSON(), nullable=False, comment="Days after the due date."),
        sa.Column("sections", sa.JSON(), nullable=False, comment="[{code, title}] narrative sections."),
        sa.Column("indicator_codes", sa.JSON(), nullable=False, comment="Targets reported; empty = all the plan's targets."),
        sa.Column("assignee_codes", sa.JSON(), nullable=False, comment="Units; empty = the issuer's direct subordinates."),
        sa.Column("source_duty_id", sa.Integer(), nullable=True, comment="The parent plan's duty this one answers: its consolidation is submitted there."),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_report_duty_plan_id_plan"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_duty_id"], ["report_duty.id"], name=op.f("fk_report_duty_source_duty_id_report_duty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_duty")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("uq_report_duty_plan_id_code")),
    )
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_duty_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_duty_source_duty_id"), ["source_duty_id"], unique=False)

    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False, comment="Indicator code units report against: 'nha_o_xa_hoi'."),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, comment="The target as the plan words it."),
        sa.Column("metric", sa.String(), nullable=False, comment="What is measured, short: 'Nhà ở xã hội hoàn thành'."),
        sa.Column("unit_of_measure", sa.String(length=32), nullable=False),
        sa.Column("comparator", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("aggregation", sa.String(length=24), nullable=False),
        sa.Column("unit_comparator", sa.String(length=8), nullable=True, comment="share_of_units: how one unit's figure is judged."),
        sa.Column("unit_threshold", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("reporter_codes", sa.JSON(), nullable=False, comment="Units that report it; empty = every assignee."),
        sa.Column("allocations", sa.JSON(), nullable=False, comment="Unit code → its share of a sum target."),
        sa.Column("allocation_rule", sa.String(length=16), nullable=True, comment="How units without explicit allocations share the value: 'equal'."),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_target_plan_id_plan"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("uq_target_plan_id_code")),
    )
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_target_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False, comment="Secret behind the unit's reply address and its forms' signatures."),
        sa.Column("link_token", sa.String(length=64), nullable=False, comment="Secret of the unit's portal link (192 random bits); replaced to revoke a link."),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True, comment="First time the unit opened its portal page."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True, comment="Vietnam date of the first submission: decides lateness."),
        sa.Column("reminder_rank", sa.Integer(), nullable=False, comment="Highest reminder step queued so far (see models.reminders)."),
        sa.Column(
            "transferred_from_id", sa.Integer(), nullable=True, comment="The unit this assignment belonged to before a merger moved it to its successor."
        ),
        sa.ForeignKeyConstraint(["duty_id"], ["report_duty.id"], name=op.f("fk_assignment_duty_id_report_duty"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["transferred_from_id"], ["unit.id"], name=op.f("fk_assignment_transferred_from_id_unit")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_assignment_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
        sa.UniqueConstraint("duty_id", "unit_id", name=op.f("uq_assignment_duty_id_unit_id")),
        sa.UniqueConstraint("link_token", name=op.f("uq_assignment_link_token")),
        sa.UniqueConstraint("token", name=op.f("uq_assignment_token")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_duty_id"), ["duty_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignment_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False, comment="The consolidating unit."),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completeness", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("timeliness", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False, comment="Figures, verdicts and their sources."),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["duty_id"], ["report_duty.id"], name=op.f("fk_report_duty_id_report_duty"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_report_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_duty_id"), ["duty_id"], unique=False)

    op.create_table(
        "task_unit",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["plan_task.id"], name=op.f("fk_task_unit_task_id_plan_task"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_task_unit_unit_id_unit")),
        sa.PrimaryKeyConstraint("task_id", "unit_id", name=op.f("pk_task_unit")),
    )
    op.create_table(
        "outbound_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("email_to", sa.JSON(), nullable=False, comment="RFC 5322 addresses with display names."),
        sa.Column("email_cc", sa.JSON(), nullable=False),
        sa.Column("reply_to", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False, comment="Paths of files to attach."),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("in_reply_to", sa.String(length=255), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False, comment="Lower is sooner: receipts and overdue notices before bulk."),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], name=op.f("fk_outbound_email_assignment_id_assignment"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_email")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_email_idempotency_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbound_email_message_id")),
    )
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_email_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index("ix_outbound_email_status_due", ["status", "priority", "not_before"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(), nullable=True),
        sa.Column("source_key", sa.String(length=128), nullable=False, comment="Content hash or Message-ID: the same input twice is one version."),
        sa.Column("self_score", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("self_assessment", sa.Text(), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column(
            "reviewed_score", sa.Numeric(precision=20, scale=6), nullable=True, comment="The self-assessment score as adjusted by the upper level (see Review)."
        ),
        sa.Column("report_id", sa.Integer(), nullable=True, comment="The consolidation this version was made from."),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], name=op.f("fk_submission_assignment_id_assignment"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], name=op.f("fk_submission_report_id_report")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint("assignment_id", "source_key", name=op.f("uq_submission_assignment_id_source_key")),
        sa.UniqueConstraint("assignment_id", "version", name=op.f("uq_submission_assignment_id_version")),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_assignment_id"), ["assignment_id"], unique=False)

    op.create_table(
        "submission_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False, comment="Field name → text as typed."),
        sa.Column("evidence", sa.JSON(), nullable=False, comment="[[file name, sha256, size, content type]] uploaded so far."),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], name=op.f("fk_submission_draft_assignment_id_assignment"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_draft")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_submission_draft_assignment_id")),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_attachment_submission_id_submission"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachment_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "inbound_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False, comment="sha256 of the Message-ID (of the raw message when it has none)."),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "arrived_at", sa.DateTime(timezone=True), nullable=False, comment="When it counts as received: IMAP INTERNALDATE, or the replayed day when earlier."
        ),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, comment="What people need to know, in Vietnamese."),
        sa.Column("folder", sa.String(length=255), nullable=False, comment="The folder it was moved to."),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True, comment="Set once the message left the inbox."),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], name=op.f("fk_inbound_email_assignment_id_assignment"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_inbound_email_submission_id_submission"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_email")),
        sa.UniqueConstraint("message_key", name=op.f("uq_inbound_email_message_key")),
    )
    with op.batch_alter_table("inbound_email", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_email_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_email_outcome"), ["outcome"], unique=False)

    op.create_table(
        "submission_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("score_before", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("score_after", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_submission_review_submission_id_submission"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_review")),
    )
    with op.batch_alter_table("submission_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_review_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "submission_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_submission_section_submission_id_submission"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_section")),
        sa.UniqueConstraint("submission_id", "code", name=op.f("uq_submission_section_submission_id_code")),
    )
    with op.batch_alter_table("submission_section", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_section_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "submission_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("indicator_code", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("numerator", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("denominator", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("covers", sa.Integer(), nullable=True, comment="Consolidated figures: how many units the figure stands for."),
        sa.Column("sources", sa.JSON(), nullable=False, comment="Consolidated figures: [[unit code, submission id]] behind it."),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_submission_value_submission_id_submission"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_value")),
        sa.UniqueConstraint("submission_id", "indicator_code", name=op.f("uq_submission_value_submission_id_indicator_code")),
    )
    with op.batch_alter_table("submission_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_value_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submission_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_value_submission_id"))

    op.drop_table("submission_value")
    with op.batch_alter_table("submission_section", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_section_submission_id"))

    op.drop_table("submission_section")
    with op.batch_alter_table("submission_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_review_submission_id"))

    op.drop_table("submission_review")
    with op.batch_alter_table("inbound_email", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_email_outcome"))
        batch_op.drop_index(batch_op.f("ix_inbound_email_assignment_id"))

    op.drop_table("inbound_email")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_submission_id"))
        batch_op.drop_index(batch_op.f("ix_attachment_sha256"))

    op.drop_table("attachment")
    op.drop_table("submission_draft")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_assignment_id"))

    op.drop_table("submission")
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_email_status_due")
        batch_op.drop_index(batch_op.f("ix_outbound_email_assignment_id"))

    op.drop_table("outbound_email")
    op.drop_table("task_unit")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_duty_id"))

    op.drop_table("report")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_unit_id"))
        batch_op.drop_index(batch_op.f("ix_assignment_status"))
        batch_op.drop_index(batch_op.f("ix_assignment_duty_id"))

    op.drop_table("assignment")
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_plan_id"))

    op.drop_table("target")
    with op.batch_alter_table("report_duty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_duty_source_duty_id"))
        batch_op.drop_index(batch_op.f("ix_report_duty_plan_id"))

    op.drop_table("report_duty")
    with op.batch_alter_table("plan_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_task_plan_id"))

    op.drop_table("plan_task")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_parent_plan_id"))

    op.drop_table("plan")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_parent_id"))

    op.drop_table("unit")
    op.drop_table("calendar_override")
