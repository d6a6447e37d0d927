"""Electronic licences (电子证照): issued licences, their counters, and their uses as evidence.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licence_issued",
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("holder_kind", sa.String(length=16), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("list_no", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sa.String(length=80), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=300), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_licence_issued_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_licence_issued")),
        sa.UniqueConstraint("issuer_code", "list_no", "status_index", name="uq_licence_issued_status_entry"),
    )
    with op.batch_alter_table("licence_issued", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_issued_case_no"), ["case_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_issued_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_issued_holder"), ["holder"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_issued_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_issued_type_name"), ["type_name"], unique=False)

    op.create_table(
        "licence_counter",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_licence_counter")),
    )

    op.create_table(
        "licence_use",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("material", sa.String(length=100), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("licence", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_licence_use_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_use")),
    )
    with op.batch_alter_table("licence_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_use_case_no"), ["case_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_licence_use_type_name"), ["type_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("licence_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_use_type_name"))
        batch_op.drop_index(batch_op.f("ix_licence_use_case_no"))
    op.drop_table("licence_use")
    op.drop_table("licence_counter")
    with op.batch_alter_table("licence_issued", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_issued_type_name"))
        batch_op.drop_index(batch_op.f("ix_licence_issued_status"))
        batch_op.drop_index(batch_op.f("ix_licence_issued_holder"))
        batch_op.drop_index(batch_op.f("ix_licence_issued_department"))
        batch_op.drop_index(batch_op.f("ix_licence_issued_case_no"))
    op.drop_table("licence_issued")
