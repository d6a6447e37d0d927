"""Uploaded materials live in the case store.

Until now an upload was a file under ``<data dir>/uploads/``, synced to disk before its case
committed. In the case store it commits with the case or correction that refers to it (one sync
instead of three per file), reaches every server of a PostgreSQL deployment, and is in its backups.
Files uploaded before this migration are read in by ``miaopi.approval.uploads.import_files`` when the
deployment next opens.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_upload",
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_approval_upload")),
    )


def downgrade() -> None:
    op.drop_table("approval_upload")
