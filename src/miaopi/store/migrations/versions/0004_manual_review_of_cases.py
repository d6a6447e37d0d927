"""Manual review: who holds a case under review, and the decision a person made.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:05:08.499200
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("review_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("review_legal_basis", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("first_reviewer", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("first_decision", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_approval_application_claimed_by"), ["claimed_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_application_claimed_by"))
        batch_op.drop_column("first_decision")
        batch_op.drop_column("first_reviewer")
        batch_op.drop_column("review_legal_basis")
        batch_op.drop_column("review_comment")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
