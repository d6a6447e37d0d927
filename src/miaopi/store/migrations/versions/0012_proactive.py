"""Events, triggers and proactive cases (无感审批).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events_event")),
        sa.UniqueConstraint("source", "event_id", name="uq_events_event_source"),
    )
    with op.batch_alter_table("events_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_event_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_event_subject"), ["subject"], unique=False)

    op.create_table(
        "proactive_case",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_key", sa.String(length=300), nullable=False),
        sa.Column("trigger_id", sa.String(length=128), nullable=False),
        sa.Column("event_row", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("target_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("contact", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("form_fields", sa.Integer(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("materials_waived", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("replaced_licence", sa.JSON(), nullable=True),
        sa.Column("successor_licence", sa.String(length=120), nullable=True),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("case_no", sa.String(length=32), nullable=True),
        sa.Column("benefit", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_row"], ["events_event.id"], name=op.f("fk_proactive_case_event_row_events_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proactive_case")),
        sa.UniqueConstraint("case_key", name=op.f("uq_proactive_case_case_key")),
    )
    with op.batch_alter_table("proactive_case", schema=None) as batch_op:
        for column in ("trigger_id", "event_row", "department", "subject", "contact", "status", "case_no"):
            batch_op.create_index(batch_op.f(f"ix_proactive_case_{column}"), [column], unique=False)

    op.create_table(
        "proactive_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["proactive_case.id"], name=op.f("fk_proactive_step_case_id_proactive_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proactive_step")),
    )
    with op.batch_alter_table("proactive_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proactive_step_case_id"), ["case_id"], unique=False)

    op.create_table(
        "proactive_courier",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("old_licence", sa.String(length=120), nullable=True),
        sa.Column("new_licence", sa.String(length=120), nullable=True),
        sa.Column("collect_status", sa.String(length=16), nullable=False),
        sa.Column("deliver_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["proactive_case.id"], name=op.f("fk_proactive_courier_case_id_proactive_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proactive_courier")),
        sa.UniqueConstraint("case_id", name=op.f("uq_proactive_courier_case_id")),
    )


def downgrade() -> None:
    op.drop_table("proactive_courier")
    with op.batch_alter_table("proactive_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proactive_step_case_id"))
    op.drop_table("proactive_step")
    with op.batch_alter_table("proactive_case", schema=None) as batch_op:
        for column in ("trigger_id", "event_row", "department", "subject", "contact", "status", "case_no"):
            batch_op.drop_index(batch_op.f(f"ix_proactive_case_{column}"))
    op.drop_table("proactive_case")
    with op.batch_alter_table("events_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_event_type"))
        batch_op.drop_index(batch_op.f("ix_events_event_subject"))
    op.drop_table("events_event")
