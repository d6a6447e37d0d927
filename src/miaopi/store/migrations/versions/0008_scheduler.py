"""Durable scheduler jobs (deadlines, reminders, escalation, deemed approval).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 22:50:00
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
