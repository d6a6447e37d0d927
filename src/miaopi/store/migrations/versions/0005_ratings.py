"""好差评: ratings of closed cases and the follow-ups a poor grade opens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 22:08:55.594513
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_rating",
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("follow_up_due", sa.Date(), nullable=True),
        sa.Column("follow_up_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up_by", sa.String(length=80), nullable=True),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_review_rating_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("case_no", name=op.f("pk_review_rating")),
    )
    with op.batch_alter_table("review_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_rating_department"), ["department"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_rating_department"))

    op.drop_table("review_rating")
