"""Notifications: the outbox (messages and per-channel deliveries), contacts, recorded sends.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_message",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=96), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_message")),
    )
    with op.batch_alter_table("notification_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_message_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_message_template"), ["template"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_message_reference"), ["reference"], unique=False)

    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("gateway_id", sa.String(length=96), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notification_message.id"],
            name=op.f("fk_notification_delivery_message_id_notification_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint("message_id", "channel", name="uq_notification_delivery_message_channel"),
    )
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_delivery_channel"), ["channel"], unique=False)
        batch_op.create_index("ix_notification_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_delivery_lease_token"), ["lease_token"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_delivery_gateway_id"), ["gateway_id"], unique=False)

    op.create_table(
        "notification_contact",
        sa.Column("recipient", sa.String(length=96), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recipient", "channel", name=op.f("pk_notification_contact")),
    )

    op.create_table(
        "notification_recorded",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_delivery.id"],
            name=op.f("fk_notification_recorded_delivery_id_notification_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_recorded")),
    )
    with op.batch_alter_table("notification_recorded", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_recorded_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_recorded_channel"), ["channel"], unique=False)


def downgrade() -> None:
    op.drop_table("notification_recorded")
    op.drop_table("notification_contact")
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_delivery_gateway_id"))
        batch_op.drop_index(batch_op.f("ix_notification_delivery_lease_token"))
        batch_op.drop_index("ix_notification_delivery_due")
        batch_op.drop_index(batch_op.f("ix_notification_delivery_channel"))
    op.drop_table("notification_delivery")
    with op.batch_alter_table("notification_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_message_reference"))
        batch_op.drop_index(batch_op.f("ix_notification_message_template"))
        batch_op.drop_index(batch_op.f("ix_notification_message_recipient"))
    op.drop_table("notification_message")
