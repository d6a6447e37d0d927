"""Durable scheduler jobs (deadlines, reminders, escalation, deemed approval).

Also the review tables they act on: special procedures (行政许可法 §45, the clock stops) and
deadline alerts (reminders and escalations to the department's head).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_job",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("due_key", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_job")),
        sa.UniqueConstraint("kind", "target", "due_key", name="uq_scheduler_job_key"),
    )
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.create_index("ix_scheduler_job_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_scheduler_job_target"), ["target"], unique=False)

    op.create_table(
        "scheduler_case_plan",
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("statutory_deadline", sa.Date(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_scheduler_case_plan_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("case_no", name=op.f("pk_scheduler_case_plan")),
    )

    op.create_table(
        "review_special_procedure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(length=80), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_review_special_procedure_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_special_procedure")),
    )
    with op.batch_alter_table("review_special_procedure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_special_procedure_case_no"), ["case_no"], unique=False)

    op.create_table(
        "review_deadline_alert",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("addressed_to", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_review_deadline_alert_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_deadline_alert")),
    )
    with op.batch_alter_table("review_deadline_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_deadline_alert_case_no"), ["case_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_deadline_alert_department"), ["department"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_deadline_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_deadline_alert_department"))
        batch_op.drop_index(batch_op.f("ix_review_deadline_alert_case_no"))
    op.drop_table("review_deadline_alert")
    with op.batch_alter_table("review_special_procedure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_special_procedure_case_no"))
    op.drop_table("review_special_procedure")
    op.drop_table("scheduler_case_plan")
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_job_target"))
        batch_op.drop_index("ix_scheduler_job_state_due_at")
    op.drop_table("scheduler_job")
