"""Approval cases: per-rule results live in the case's explanation only.

``approval_rule_result`` repeated, row by row, what ``approval_application.explanation`` holds for
every rule (rule, result, message, legal basis, on-fail) — eleven of the thirty-odd rows each stored
decision wrote. Replay reads the explanation. The downgrade rebuilds the table from it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 05:20:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_rule_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_rule_result_case_no"))
    op.drop_table("approval_rule_result")


def downgrade() -> None:
    table = op.create_table(
        "approval_rule_result",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("on_fail", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"],
            ["approval_application.case_no"],
            name=op.f("fk_approval_rule_result_case_no_approval_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_rule_result")),
    )
    with op.batch_alter_table("approval_rule_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_rule_result_case_no"), ["case_no"], unique=False)
    connection = op.get_bind()
    cases = connection.execute(sa.text("SELECT case_no, explanation FROM approval_application")).all()
    for case_no, explanation in cases:
        rules = json.loads(explanation) if isinstance(explanation, str) else explanation
        if rules:
            op.bulk_insert(
                table,
                [
                    {
                        "case_no": case_no,
                        "position": position,
                        "rule_id": rule["rule"],
                        "result": rule["result"],
                        "on_fail": rule["on_fail"],
                        "message": rule["message"],
                        "legal_basis": rule["legal_basis"],
                    }
                    for position, rule in enumerate(rules)
                ],
            )
