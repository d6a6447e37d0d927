"""Offers and benefit records (免申即享).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers_offer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("policy_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("version_hash", sa.String(length=80), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("queue_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers_offer")),
        sa.UniqueConstraint("policy_id", "subject", "period", name="uq_offers_offer_policy_subject_period"),
    )
    with op.batch_alter_table("offers_offer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offers_offer_queue", ["policy_id", "period", "status", "queue_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offers_offer_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_offer_expires_on"), ["expires_on"], unique=False)

    op.create_table(
        "offers_benefit",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("payee", sa.String(length=32), nullable=False),
        sa.Column("payee_name", sa.String(length=200), nullable=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("version_hash", sa.String(length=80), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=80), nullable=True),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers_offer.id"], name=op.f("fk_offers_benefit_offer_id_offers_offer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers_benefit")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_offers_benefit_offer_id")),
    )
    with op.batch_alter_table("offers_benefit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_benefit_policy_id"), ["policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_benefit_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_benefit_payee"), ["payee"], unique=False)

    op.create_table(
        "offers_period",
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "period", name=op.f("pk_offers_period")),
    )

    op.create_table(
        "offers_screening",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("version_hash", sa.String(length=80), nullable=False),
        sa.Column("screened", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("ineligible", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("eligible_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("output", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers_screening")),
    )
    with op.batch_alter_table("offers_screening", schema=None) as batch_op:
        batch_op.create_index("ix_offers_screening_policy_period", ["policy_id", "period"], unique=False)


def downgrade() -> None:
    op.drop_table("offers_screening")
    op.drop_table("offers_period")
    op.drop_table("offers_benefit")
    op.drop_table("offers_offer")
