"""Data sharing: the access log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_access_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("case_no", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(32), nullable=True),
        sa.Column("resource", sa.String(128), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_access_log")),
    )
    op.create_index("ix_sharing_access_log_read_at", "sharing_access_log", ["read_at"])
    op.create_index("ix_sharing_access_log_department", "sharing_access_log", ["department"])
    op.create_index("ix_sharing_access_log_resource", "sharing_access_log", ["resource"])
    op.create_index("ix_sharing_access_log_subject", "sharing_access_log", ["subject"])


def downgrade() -> None:
    op.drop_table("sharing_access_log")
