"""Scheduler jobs: index (target, state), so planning a case never scans every pending job.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 01:08:00
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduler_job_target")
        batch_op.create_index("ix_scheduler_job_target_state", ["target", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduler_job_target_state")
        batch_op.create_index("ix_scheduler_job_target", ["target"], unique=False)
