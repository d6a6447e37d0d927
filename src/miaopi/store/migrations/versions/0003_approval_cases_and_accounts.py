"""Approval cases (办件) with their facts, evidence, rule results and steps; accounts and tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 21:17:13.694679
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_application",
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("version_hash", sa.String(length=80), nullable=False),
        sa.Column("version_from", sa.Date(), nullable=False),
        sa.Column("applicant", sa.String(length=32), nullable=False),
        sa.Column("applicant_kind", sa.String(length=16), nullable=False),
        sa.Column("acting_person", sa.String(length=32), nullable=True),
        sa.Column("submitted_by", sa.String(length=80), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("automatic_status", sa.String(length=16), nullable=False),
        sa.Column("machine_outcome", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("materials_waived", sa.Integer(), nullable=False),
        sa.Column("commitments", sa.JSON(), nullable=False),
        sa.Column("human_review_requested", sa.Boolean(), nullable=False),
        sa.Column("review_requested_on_submission", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promised_deadline", sa.Date(), nullable=True),
        sa.Column("statutory_deadline", sa.Date(), nullable=True),
        sa.Column("decision_micros", sa.Integer(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_no", name=op.f("pk_approval_application")),
        sa.UniqueConstraint("applicant", "idempotency_key", name="uq_approval_application_idempotency"),
    )
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_application_acting_person"), ["acting_person"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approval_application_applicant"), ["applicant"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_application_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_application_item_code"), ["item_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_application_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_approval_application_submitted_at"), ["submitted_at"], unique=False
        )

    op.create_table(
        "auth_account",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_account")),
        sa.UniqueConstraint("login", name=op.f("uq_auth_account_login")),
    )
    op.create_table(
        "approval_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_approval_evidence_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_evidence")),
    )
    with op.batch_alter_table("approval_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_evidence_case_no"), ["case_no"], unique=False)

    op.create_table(
        "approval_rule_result",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("on_fail", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_approval_rule_result_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_rule_result")),
    )
    with op.batch_alter_table("approval_rule_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_rule_result_case_no"), ["case_no"], unique=False)

    op.create_table(
        "approval_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_approval_step_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_step")),
    )
    with op.batch_alter_table("approval_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_step_case_no"), ["case_no"], unique=False)

    op.create_table(
        "auth_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["auth_account.id"], name=op.f("fk_auth_token_account_id_auth_account")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_token")),
    )
    with op.batch_alter_table("auth_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_token_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_token_account_id"))

    op.drop_table("auth_token")
    with op.batch_alter_table("approval_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_step_case_no"))

    op.drop_table("approval_step")
    with op.batch_alter_table("approval_rule_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_rule_result_case_no"))

    op.drop_table("approval_rule_result")
    with op.batch_alter_table("approval_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_evidence_case_no"))

    op.drop_table("approval_evidence")
    op.drop_table("auth_account")
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_application_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_approval_application_status"))
        batch_op.drop_index(batch_op.f("ix_approval_application_item_code"))
        batch_op.drop_index(batch_op.f("ix_approval_application_department"))
        batch_op.drop_index(batch_op.f("ix_approval_application_applicant"))
        batch_op.drop_index(batch_op.f("ix_approval_application_acting_person"))

    op.drop_table("approval_application")
