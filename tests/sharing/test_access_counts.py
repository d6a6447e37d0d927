"""The counts of reads of shared data per department and resource are kept as the access log is
written (migration 0017): always equal to counting the log, on every path that writes it."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from miaopi.approval.writer import CaseWriter
from miaopi.audit import AuditLog
from miaopi.sharing import AccessLog, AccessRecord
from miaopi.sharing.models import AccessCount, AccessLogEntry
from miaopi.store import Database
from tests.approval.test_writer import rows
from tests.indexes import index_definitions

AT = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
PERSON = "11010519491231002X"


def read(resource: str, department: str = "transport", case_no: str | None = None) -> AccessRecord:
    return AccessRecord(
        read_at=AT,
        department=department,
        purpose="item:440300-JT-0001",
        case_no=case_no,
        subject=PERSON,
        resource=resource,
        fields=("name",),
        rows=1,
    )


def stored_counts(database: Database) -> dict[tuple[str, str], int]:
    with database.session() as session:
        return {
            (department, resource): reads
            for department, resource, reads in session.execute(
                select(AccessCount.department, AccessCount.resource, AccessCount.reads)
            )
        }


def counted_from_the_log(database: Database) -> dict[tuple[str, str], int]:
    with database.session() as session:
        return {
            (department, resource): reads
            for department, resource, reads in session.execute(
                select(AccessLogEntry.department, AccessLogEntry.resource, func.count()).group_by(
                    AccessLogEntry.department, AccessLogEntry.resource
                )
            )
        }


def test_group_commits_count_the_reads_of_the_cases_they_store_and_no_others(database: Database) -> None:
    writer = CaseWriter(database, AuditLog(), autostart=False)
    futures: list[Future[None]] = []
    for index in range(4):
        case = rows(f"C{index}", f"k{index}")
        case.access = [
            read("population.person", case_no=case.case_no),
            read("credit.penalty", case_no=case.case_no),
        ]
        futures.append(writer.submit(case))
    repeated = rows("C-dup", "k1")  # the same applicant and key as C1: not stored, so not counted
    repeated.access = [read("population.person", case_no="C-dup"), read("tax.income", case_no="C-dup")]
    futures.append(writer.submit(repeated))
    writer.start()
    for future in futures[:4]:
        assert future.result(timeout=30) is None
    with pytest.raises(IntegrityError):
        futures[4].result(timeout=30)
    assert stored_counts(database) == {
        ("transport", "population.person"): 4,
        ("transport", "credit.penalty"): 4,
    }
    assert stored_counts(database) == counted_from_the_log(database)


def test_counts_add_up_across_flushes_and_include_what_is_still_buffered(database: Database) -> None:
    log = AccessLog()
    for record in (read("population.person"), read("population.person", "civil_affairs"), read("tax.income")):
        log.record(record)
    with database.session() as session:
        assert log.flush(session) == 3
    log.record(read("population.person"))
    with database.session() as session:
        log.flush(session)
    log.record(read("tax.income", "civil_affairs"))  # read, not yet written
    with database.session() as session:
        counts = log.counts(session)
    assert counts.by_resource == {"population.person": 3, "tax.income": 2}
    assert counts.by_department == {"transport": 3, "civil_affairs": 2}
    assert counts.total == 5
    assert stored_counts(database) == counted_from_the_log(database)


def test_a_transaction_that_fails_after_logging_counts_nothing(database: Database) -> None:
    log = AccessLog()
    log.record(read("population.person"))
    with database.session() as session:
        log.flush(session)
    log.record(read("population.person"))
    with pytest.raises(RuntimeError), database.session() as session:
        log.flush(session)
        raise RuntimeError("the rest of the transaction failed")
    assert stored_counts(database) == {("transport", "population.person"): 1}
    assert stored_counts(database) == counted_from_the_log(database)
    with database.session() as session:
        assert log.counts(session).total == 1


def _log_indexes(database: Database) -> set[str]:
    return set(index_definitions(database, "sharing_access_log"))


def test_the_migration_counts_the_log_as_it_stands_and_drops_the_two_indexes(database: Database) -> None:
    command.downgrade(database.alembic_config(), "0016")
    assert {"ix_sharing_access_log_department", "ix_sharing_access_log_resource"} <= _log_indexes(database)
    logged = [
        read("population.person"),
        read("population.person"),
        read("population.person", "civil_affairs"),
        read("credit.penalty", "civil_affairs"),
    ]
    with database.session() as session:
        session.execute(
            insert(AccessLogEntry),
            [
                {
                    "read_at": record.read_at,
                    "department": record.department,
                    "purpose": record.purpose,
                    "case_no": record.case_no,
                    "subject": record.subject,
                    "resource": record.resource,
                    "fields": ",".join(record.fields),
                    "rows": record.rows,
                }
                for record in logged
            ],
        )
    command.upgrade(database.alembic_config(), "head")
    assert stored_counts(database) == {
        ("transport", "population.person"): 2,
        ("civil_affairs", "population.person"): 1,
        ("civil_affairs", "credit.penalty"): 1,
    }
    indexes = _log_indexes(database)
    assert not {"ix_sharing_access_log_department", "ix_sharing_access_log_resource"} & indexes
    assert {"ix_sharing_access_log_read_at", "ix_sharing_access_log_subject"} <= indexes

    command.downgrade(database.alembic_config(), "0016")
    assert {"ix_sharing_access_log_department", "ix_sharing_access_log_resource"} <= _log_indexes(database)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM sharing_access_log")).scalar_one() == 4
    command.upgrade(database.alembic_config(), "head")
