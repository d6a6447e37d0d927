"""The access log: every read of shared data is recorded and counted.

Reads on the hot path are appended to an in-memory buffer (no I/O per read); ``flush`` writes them in
one statement — the decision pipeline flushes inside its own transaction, so a stored decision and
the reads it made commit together. The same transaction adds them to the counts per department and
resource (``sharing_access_count``); counts come from there plus whatever is still buffered.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from miaopi.sharing.models import AccessCount, AccessLogEntry
from miaopi.store.bulk import insert_many
from miaopi.store.driver import execute
from miaopi.store.insert_new import insert_for

ACCESS_LOG = cast(Table, AccessLogEntry.__table__)
ACCESS_COUNT = cast(Table, AccessCount.__table__)


@dataclass(frozen=True, slots=True)
class AccessRecord:
    read_at: dt.datetime
    department: str
    purpose: str
    case_no: str | None
    subject: str | None
    resource: str
    fields: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class AccessCounts:
    by_resource: dict[str, int]
    by_department: dict[str, int]
    total: int


class AccessLog:
    def __init__(self) -> None:
        self._buffer: list[AccessRecord] = []
        self._lock = threading.Lock()

    def record(self, entry: AccessRecord) -> None:
        with self._lock:
            self._buffer.append(entry)

    def pending(self) -> list[AccessRecord]:
        with self._lock:
            return list(self._buffer)

    def take(self, case_no: str | None = None) -> list[AccessRecord]:
        """Remove and return buffered records (all, or those of one case)."""
        with self._lock:
            if case_no is None:
                taken, self._buffer = self._buffer, []
            else:
                taken = [entry for entry in self._buffer if entry.case_no == case_no]
                self._buffer = [entry for entry in self._buffer if entry.case_no != case_no]
        return taken

    def take_many(self, case_nos: set[str]) -> list[AccessRecord]:
        """Remove and return the buffered records of these cases, in one pass."""
        if not case_nos:
            return []
        with self._lock:
            taken = [entry for entry in self._buffer if entry.case_no in case_nos]
            if taken:
                self._buffer = [entry for entry in self._buffer if entry.case_no not in case_nos]
        return taken

    def flush(self, session: Session, case_no: str | None = None) -> int:
        """Write buffered records in the caller's transaction; they return to the buffer if it fails."""
        taken = self.take(case_no)
        try:
            return write_records(session, taken)
        except BaseException:
            with self._lock:
                self._buffer[:0] = taken
            raise

    def counts(self, session: Session | None = None) -> AccessCounts:
        by_resource: Counter[str] = Counter()
        by_department: Counter[str] = Counter()
        if session is not None:
            for department, resource, reads in session.execute(
                select(AccessCount.department, AccessCount.resource, AccessCount.reads)
            ):
                by_resource[resource] += reads
                by_department[department] += reads
        for entry in self.pending():
            by_resource[entry.resource] += 1
            by_department[entry.department] += 1
        return AccessCounts(
            by_resource=dict(by_resource), by_department=dict(by_department), total=sum(by_resource.values())
        )


def write_records(session: Session, records: Sequence[AccessRecord]) -> int:
    """Insert access records in the caller's transaction, in one statement, and count them."""
    insert_many(session, ACCESS_LOG, access_rows(records))
    count_reads(session, reads_of(records))
    return len(records)


@cache  # at most one per number of departments and resources the grants let read
def _count_upsert(dialect: str, rows: int) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` adding to the counts of ``rows`` departments and
    resources in one statement (SQLite steps it once, where ``executemany`` hands the GIL over and
    back per row), built once for each number of rows. Its parameters: ``department_0``,
    ``resource_0``, ``reads_0``, ``department_1`` …"""
    statement = insert_for(dialect)(ACCESS_COUNT).values(
        [
            {
                "department": bindparam(f"department_{row}", type_=ACCESS_COUNT.c.department.type),
                "resource": bindparam(f"resource_{row}", type_=ACCESS_COUNT.c.resource.type),
                "reads": bindparam(f"reads_{row}", type_=ACCESS_COUNT.c.reads.type),
            }
            for row in range(rows)
        ]
    )
    return statement.on_conflict_do_update(
        index_elements=[ACCESS_COUNT.c.department, ACCESS_COUNT.c.resource],
        set_={"reads": ACCESS_COUNT.c.reads + statement.excluded.reads},
    )


def reads_of(records: Iterable[AccessRecord]) -> Counter[tuple[str, str]]:
    """How many of ``records`` each department made of each resource: what :func:`count_reads` adds."""
    return Counter((entry.department, entry.resource) for entry in records)


def count_reads(session: Session, reads: Mapping[tuple[str, str], int]) -> None:
    """Add ``reads`` (:func:`reads_of`) to the counts per department and resource, in the caller's
    transaction: one row per department and resource, whatever their number.

    On PostgreSQL each of those rows stays locked until the commit, so every transaction takes them
    in the same order (sorted), and before the licence counters and the audit chain's head, which
    writers take last: two writers never wait for each other in opposite orders."""
    if reads:
        parameters: dict[str, object] = {}
        for row, ((department, resource), count) in enumerate(sorted(reads.items())):
            parameters |= {
                f"department_{row}": department,
                f"resource_{row}": resource,
                f"reads_{row}": count,
            }
        execute(session, _count_upsert(session.get_bind().dialect.name, len(reads)), parameters)


def access_rows(records: Sequence[AccessRecord]) -> list[dict[str, object]]:
    """Access records as rows of the access log."""
    return [
        {
            "read_at": entry.read_at,
            "department": entry.department,
            "purpose": entry.purpose,
            "case_no": entry.case_no,
            "subject": entry.subject,
            "resource": entry.resource,
            "fields": ",".join(entry.fields),
            "rows": entry.rows,
        }
        for entry in records
    ]
