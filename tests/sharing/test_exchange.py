import datetime as dt
from pathlib import Path

import pytest
import yaml

from miaopi.identity import IdentifierError
from miaopi.sharing import (
    AccessRefused,
    CatalogueError,
    Grant,
    GrantRegistry,
    ResourceCatalogue,
    SharingExchange,
    SharingType,
    content_hash,
)
from miaopi.store import Database
from tests.sharing.conftest import ACME, ALICE, BOB

PURPOSE = "policy:elderly_allowance"


def test_catalogue_describes_resources(catalogue: ResourceCatalogue) -> None:
    person = catalogue.resource("population.person")
    assert person.provider == "public_security"
    assert person.sharing is SharingType.CONDITIONAL and person.sharing.label == "有条件共享"
    assert person.field("birth_date") is not None and person.field("birth_date").type == "date"  # type: ignore[union-attr]
    assert not person.many and catalogue.resource("credit.penalty").many
    assert catalogue.departments["public_security"].name == "市公安局"


def test_one_subject_read_returns_only_granted_fields_with_evidence(exchange: SharingExchange) -> None:
    facts = exchange.read_subject(
        department="civil_affairs",
        purpose=PURPOSE,
        subject=ALICE,
        requests={"population.person": ["birth_date", "hukou_city"]},
        case_no="C1",
    )
    assert facts.one("population.person") == {"birth_date": dt.date(1949, 12, 31), "hukou_city": "310000"}
    (evidence,) = facts.evidence()
    assert evidence.resource == "population.person" and evidence.provider == "public_security"
    assert evidence.source.startswith("parquet:") and evidence.source.endswith("person.parquet")
    assert evidence.content_hash == content_hash(
        [{"birth_date": dt.date(1949, 12, 31), "hukou_city": "310000"}]
    )
    assert evidence.rows == 1 and evidence.read_at.tzinfo is not None


def test_many_record_resource_returns_all_records_of_the_subject(exchange: SharingExchange) -> None:
    facts = exchange.read_subject(
        department="civil_affairs", purpose=PURPOSE, subject=ACME, requests={"credit.penalty": ["amount"]}
    )
    assert facts.records("credit.penalty") == [{"amount": 1000.0}, {"amount": 500.0}]
    nobody = exchange.read_subject(
        department="civil_affairs", purpose=PURPOSE, subject=BOB, requests={"credit.penalty": ["amount"]}
    )
    assert nobody.records("credit.penalty") == [] and nobody.evidence()[0].rows == 0


def test_content_hash_changes_with_the_data() -> None:
    assert content_hash([{"a": 1}]) != content_hash([{"a": 2}])
    assert content_hash([{"a": 1, "b": 2}]) == content_hash([{"b": 2, "a": 1}])


@pytest.mark.parametrize(
    ("department", "purpose", "requests", "fragment"),
    [
        ("civil_affairs", PURPOSE, {"population.person": ["name"]}, "字段 name 未获授权"),
        ("civil_affairs", "item:other", {"population.person": ["birth_date"]}, "未获授权为“item:other”"),
        ("public_security", PURPOSE, {"population.person": ["birth_date"]}, "部门“public_security”未获授权"),
        ("civil_affairs", PURPOSE, {"population.nothing": ["x"]}, "没有资源“population.nothing”"),
    ],
)
def test_reads_outside_the_grants_are_refused_and_not_logged(
    exchange: SharingExchange, department: str, purpose: str, requests: dict[str, list[str]], fragment: str
) -> None:
    with pytest.raises(AccessRefused) as caught:
        exchange.read_subject(department=department, purpose=purpose, subject=ALICE, requests=requests)
    assert fragment in caught.value.message
    assert exchange.access_log.pending() == []


def test_one_refused_resource_refuses_the_whole_read(exchange: SharingExchange) -> None:
    with pytest.raises(AccessRefused):
        exchange.read_subject(
            department="civil_affairs",
            purpose=PURPOSE,
            subject=ALICE,
            requests={"population.person": ["birth_date"], "credit.penalty": ["subject_id"]},
        )
    assert exchange.access_log.pending() == []


def test_invalid_subject_identifier_is_rejected_at_the_boundary(exchange: SharingExchange) -> None:
    with pytest.raises(IdentifierError):
        exchange.read_subject(
            department="civil_affairs",
            purpose=PURPOSE,
            subject="110105194912310021",
            requests={"population.person": ["birth_date"]},
        )


def test_grants_are_checked_against_the_catalogue(catalogue: ResourceCatalogue) -> None:
    registry = GrantRegistry(catalogue)
    with pytest.raises(CatalogueError, match="不予共享"):
        registry.add(Grant("civil_affairs", PURPOSE, "population.secret", frozenset({"id_number"})))
    with pytest.raises(CatalogueError, match="不存在的字段：salary"):
        registry.add(Grant("civil_affairs", PURPOSE, "population.person", frozenset({"salary"})))
    with pytest.raises(CatalogueError, match="部门“nobody”"):
        registry.add(Grant("nobody", PURPOSE, "population.person", frozenset({"name"})))


def test_grants_load_from_a_file_with_clear_errors(catalogue: ResourceCatalogue, tmp_path: Path) -> None:
    path = tmp_path / "grants.yaml"
    path.write_text(
        yaml.safe_dump(
            {"grants": [{"department": "civil_affairs", "purpose": PURPOSE, "resource": "population.person"}]}
        ),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"grants\[0\]: 缺少 fields"):
        GrantRegistry(catalogue).load_file(path)
    path.write_text(
        yaml.safe_dump(
            {
                "grants": [
                    {
                        "department": "civil_affairs",
                        "purpose": PURPOSE,
                        "resource": "population.person",
                        "fields": ["name"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    registry = GrantRegistry(catalogue)
    registry.load_file(path)
    assert registry.granted_fields("civil_affairs", PURPOSE, "population.person") == {"name"}


def test_malformed_catalogue_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "resources.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "departments": [{"code": "a", "name": "甲"}],
                "resources": [
                    {
                        "code": "x.y",
                        "name": "乙",
                        "provider": "b",
                        "sharing": "unconditional",
                        "subject": "person",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"resources\[0\] \(x.y\): 提供部门“b”未在 departments 中登记"):
        ResourceCatalogue.load(path)


def test_access_log_is_stored_and_counted(exchange: SharingExchange, database: Database) -> None:
    for subject in (ALICE, BOB):
        exchange.read_subject(
            department="civil_affairs",
            purpose=PURPOSE,
            subject=subject,
            requests={"population.person": ["birth_date"], "credit.penalty": ["amount"]},
            case_no=f"case-{subject[-4:]}",
        )
    with database.session() as session:
        assert exchange.access_log.flush(session) == 4
    exchange.read_subject(
        department="civil_affairs",
        purpose=PURPOSE,
        subject=ALICE,
        requests={"population.person": ["hukou_city"]},
    )
    with database.session() as session:
        counts = exchange.access_log.counts(session)
    assert counts.by_resource == {"population.person": 3, "credit.penalty": 2}
    assert counts.by_department == {"civil_affairs": 5} and counts.total == 5
    from sqlalchemy import select

    from miaopi.sharing.models import AccessLogEntry

    with database.session() as session:
        rows = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
    assert [(row.subject, row.resource, row.fields, row.case_no) for row in rows[:2]] == [
        (ALICE, "population.person", "birth_date", "case-002X"),
        (ALICE, "credit.penalty", "amount", "case-002X"),
    ]
    assert all(row.department == "civil_affairs" and row.purpose == PURPOSE for row in rows)


def test_failed_flush_keeps_the_records(exchange: SharingExchange, tmp_path: Path) -> None:
    exchange.read_subject(
        department="civil_affairs",
        purpose=PURPOSE,
        subject=ALICE,
        requests={"population.person": ["birth_date"]},
    )
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(Exception), unmigrated.session() as session:  # noqa: B017 (no table: any DB error)
        exchange.access_log.flush(session)
    assert len(exchange.access_log.pending()) == 1


def test_population_read_projects_granted_fields_and_joins(exchange: SharingExchange) -> None:
    connection = exchange.population(
        department="civil_affairs",
        purpose=PURPOSE,
        requests={"population.person": ["birth_date", "hukou_city"]},
    )
    rows = connection.execute('SELECT * FROM "population.person" ORDER BY id_number').fetchall()
    assert rows == [(ALICE, dt.date(1949, 12, 31), "310000"), (BOB, dt.date(1880, 1, 1), "440300")]
    columns = [column[0] for column in connection.execute('SELECT * FROM "population.person"').description]
    assert "name" not in columns
    (record,) = exchange.access_log.pending()
    assert record.subject is None and record.rows == 2
    with pytest.raises(AccessRefused):
        exchange.population(
            department="civil_affairs", purpose=PURPOSE, requests={"population.person": ["name"]}
        )


def test_population_join_refuses_many_record_resources(exchange: SharingExchange) -> None:
    with pytest.raises(CatalogueError, match="多条记录"):
        exchange.population(
            department="civil_affairs",
            purpose=PURPOSE,
            requests={"population.person": ["birth_date"], "credit.penalty": ["amount"]},
        )


def test_population_join_of_one_record_resources(exchange: SharingExchange) -> None:
    connection = exchange.population(
        department="civil_affairs",
        purpose=PURPOSE,
        requests={"population.person": ["hukou_city"], "population.residence": ["permit_city"]},
    )
    rows = connection.execute(
        'SELECT subject, "population.person.hukou_city", "population.residence.permit_city" FROM joined ORDER BY 1'
    ).fetchall()
    assert rows == [(ALICE, "310000", "440300"), (BOB, "440300", None)]
