"""Events, triggers and proactive cases (无感审批).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 22:50:00
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
