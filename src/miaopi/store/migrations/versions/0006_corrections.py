"""补正: requests to correct or complete an application, and the re-checked submissions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:14:39.025407
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_correction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission", sa.JSON(), nullable=True),
        sa.Column("recheck", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_review_correction_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_correction")),
    )
    with op.batch_alter_table("review_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_correction_case_no"), ["case_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_correction_case_no"))

    op.drop_table("review_correction")
