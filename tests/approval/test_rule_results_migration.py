"""Migration 0014: per-rule results are kept in the case's explanation only; the downgrade rebuilds
the old table from it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import insert, inspect, text

from miaopi.approval.models import Application
from miaopi.store import Database
from tests.approval.test_writer import rows

EXPLANATION = [
    {
        "rule": "age",
        "result": "pass",
        "message": "年满60周岁",
        "legal_basis": "《办法》第二条",
        "on_fail": "reject",
        "facts": {},
    },
    {
        "rule": "hukou",
        "result": "unknown",
        "message": "本市户籍",
        "legal_basis": "《办法》第三条",
        "on_fail": "review",
        "facts": {},
    },
]


def test_downgrade_rebuilds_the_rule_results_from_the_explanation_and_upgrade_drops_them(
    database: Database,
) -> None:
    case = rows("MP2026112301805A1B2C3D4E5", "k-migration").application
    with database.session() as session:
        session.execute(insert(Application), [{**case, "explanation": EXPLANATION}])
    assert "approval_rule_result" not in inspect(database.engine).get_table_names()

    command.downgrade(database.alembic_config(), "0013")
    with database.engine.connect() as connection:
        rebuilt = connection.execute(
            text(
                "SELECT case_no, position, rule_id, result, on_fail, legal_basis FROM approval_rule_result ORDER BY position"
            )
        ).all()
    assert [tuple(row) for row in rebuilt] == [
        ("MP2026112301805A1B2C3D4E5", 0, "age", "pass", "reject", "《办法》第二条"),
        ("MP2026112301805A1B2C3D4E5", 1, "hukou", "unknown", "review", "《办法》第三条"),
    ]

    command.upgrade(database.alembic_config(), "head")
    assert "approval_rule_result" not in inspect(database.engine).get_table_names()
    with database.session() as session:
        stored = session.get(Application, "MP2026112301805A1B2C3D4E5")
        assert stored is not None and stored.explanation == EXPLANATION
