"""A department database as a source: the real PostgreSQL on this machine."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from miaopi.sharing import Grant, GrantRegistry, ResourceCatalogue, SharingExchange, content_hash
from tests.sharing.conftest import ALICE, BOB

pytestmark = pytest.mark.postgres


@pytest.fixture
def department_table(postgres_server_url: str) -> Iterator[str]:
    table = f"hukou_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_server_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (id_number text, hukou_city text, moved_in date)"))
        connection.execute(
            text(f"INSERT INTO {table} VALUES (:a, '310000', '2001-05-01'), (:b, '440300', NULL)"),
            {"a": ALICE, "b": BOB},
        )
    yield table
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def test_postgres_resource_answers_one_subject_and_population(
    postgres_server_url: str, department_table: str
) -> None:
    catalogue = ResourceCatalogue.from_document(
        {
            "departments": [
                {"code": "public_security", "name": "市公安局"},
                {"code": "civil_affairs", "name": "市民政局"},
            ],
            "resources": [
                {
                    "code": "population.hukou",
                    "name": "户籍信息",
                    "provider": "public_security",
                    "sharing": "conditional",
                    "subject": "person",
                    "key": "id_number",
                    "sql": {
                        "url": postgres_server_url.replace("postgres@", "postgres:secret@"),
                        "table": department_table,
                    },
                    "fields": [
                        {"name": "id_number", "type": "string"},
                        {"name": "hukou_city", "type": "string"},
                        {"name": "moved_in", "type": "date"},
                    ],
                }
            ],
        },
        base=__import__("pathlib").Path("."),
        origin="test",
    )
    grants = GrantRegistry(
        catalogue,
        [Grant("civil_affairs", "policy:p", "population.hukou", frozenset({"hukou_city", "moved_in"}))],
    )
    exchange = SharingExchange(catalogue, grants)
    facts = exchange.read_subject(
        department="civil_affairs",
        purpose="policy:p",
        subject=ALICE,
        requests={"population.hukou": ["hukou_city", "moved_in"]},
    )
    assert facts.one("population.hukou") == {"hukou_city": "310000", "moved_in": dt.date(2001, 5, 1)}
    (evidence,) = facts.evidence()
    assert evidence.source.startswith("sql:postgresql") and "secret" not in evidence.source
    assert evidence.content_hash == content_hash([{"hukou_city": "310000", "moved_in": dt.date(2001, 5, 1)}])

    connection = exchange.population(
        department="civil_affairs", purpose="policy:p", requests={"population.hukou": ["hukou_city"]}
    )
    assert connection.execute('SELECT hukou_city FROM "population.hukou" ORDER BY 1').fetchall() == [
        ("310000",),
        ("440300",),
    ]
