"""Extensions of the statutory limit (行政许可法 §42), requested by the reviewer, approved by the head.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 22:16:59.211924
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extension_requested_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("extension_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("extension_approved_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("extension_days", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("approval_application", schema=None) as batch_op:
        batch_op.drop_column("extension_days")
        batch_op.drop_column("extension_approved_by")
        batch_op.drop_column("extension_reason")
        batch_op.drop_column("extension_requested_by")
