"""Group commit for decided cases.

Every decision is stored durably before it is answered, but committing each one alone makes the
commit (and the audit chain's head lock) the bottleneck. The writer thread takes whatever cases are
waiting once it holds the database's write lock — one when the system is quiet, hundreds under load
— and stores them in one transaction with one statement per table; each waiting request is released
when its case is committed, or gets its own error. A batch that fails on a repeated idempotency key
is written again without the repeats, which then fail alone; a batch that fails on any other
constraint is retried case by case, so one bad case never takes others down with it.

Under `miaopi serve` on SQLite, one writer process stores every worker's cases this way
(``approval.writer_process``), and each worker's own writer is only its fallback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, CaseEvidence, CaseStep
from miaopi.approval.uploads import bind_uploads
from miaopi.audit import AuditLog, AuditRecord, CheckedRecord, check_record
from miaopi.licence.issuing import LicenceRequest
from miaopi.licence.models import LicenceUse
from miaopi.sharing import AccessRecord
from miaopi.sharing.access_log import ACCESS_LOG, access_rows, count_reads, reads_of
from miaopi.store import Database
from miaopi.store.bulk import BoundRows, InsertSql, bind_rows, insert_bound

# The uploads one group commit carries, at most: a batch's uploads go to the database in one
# statement, and a PostgreSQL message holds at most 1 GB (a request up to 8 MB, a batch up to 256
# cases). Past it, the cases still waiting go into the next commit.
MAX_BATCH_UPLOAD_BYTES = 64 * 1024 * 1024
TABLES: tuple[tuple[str, Table], ...] = (
    ("application", cast(Table, Application.__table__)),
    ("evidence", cast(Table, CaseEvidence.__table__)),
    ("steps", cast(Table, CaseStep.__table__)),
    ("licence_uses", cast(Table, LicenceUse.__table__)),
)


class Issuing(Protocol):
    """Issues licences in the caller's transaction (``miaopi.licence.LicenceIssuer``)."""

    def issue(
        self, session: Session, requests: Sequence[LicenceRequest], at: dt.datetime
    ) -> list[AuditRecord]: ...


class WriterUnavailable(ConnectionError):
    """The writer process cannot be reached, or went away before it answered: the case may or may
    not be stored there, and is stored by the worker's own writer (its key makes that safe)."""


class RemoteWriter(Protocol):
    """A writer in another process (``approval.writer_process.WriterClient``)."""

    async def store(self, case: StoredCase) -> list[str | None]:
        """Store ``case``; the identifiers of the licences issued for it. IntegrityError for a
        repeated idempotency key, WriterUnavailable when it cannot tell."""
        ...


@dataclass
class CaseRows:
    """Everything one decision stores, ready to insert."""

    case_no: str
    application: dict[str, Any]
    evidence: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    access: list[AccessRecord]
    audit: AuditRecord
    licences: list[LicenceRequest] = field(default_factory=list)  # issued in the batch's transaction
    licence_uses: list[dict[str, Any]] = field(default_factory=list)  # licences that satisfied materials
    uploads: list[dict[str, Any]] = field(default_factory=list)  # uploaded materials, stored with the case

    def rows(self, name: str) -> list[dict[str, Any]]:
        value = getattr(self, name)
        return [value] if isinstance(value, dict) else list(value)


@dataclass
class StoredCase:
    """What the group commit takes of one decided case, prepared where the case is decided (see
    :func:`stored_case`). It pickles: a writer process (``approval.writer_process``) may store it."""

    key: tuple[str, str]  # (applicant, idempotency key): how a repeat is recognised
    bound: list[BoundRows]  # the case's rows converted for the driver
    audit: CheckedRecord  # its audit record, checked and serialised
    reads: Counter[tuple[str, str]]  # its reads of shared data per (department, resource), counted
    licences: list[LicenceRequest]  # issued in the commit: each gets its identifier there
    upload_bytes: int  # the uploaded files it carries

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as one call on lists, tuples and strings. Each dataclass pickled as itself cost
        a class reference and a state dict, and the aware time its time zone — together as much as
        the rows: a case without a licence took 46 µs to dump and 34 µs to load, now 24 and 27."""
        audit = self.audit
        return (
            _stored_case,
            (
                self.key,
                [(rows.table, rows.insert, rows.parameters, rows.skip_existing) for rows in self.bound],
                (audit.actor, audit.action, audit.target, audit.outcome, audit.details),
                audit.at.isoformat(),
                audit.hashed,
                list(self.reads.items()),
                self.licences,
                self.upload_bytes,
            ),
        )


def _stored_case(
    key: tuple[str, str],
    bound: list[tuple[str, InsertSql, list[list[Any]], bool]],
    record: tuple[str, str, str, str, str],
    at: str,
    hashed: str,
    reads: list[tuple[tuple[str, str], int]],
    licences: list[LicenceRequest],
    upload_bytes: int,
) -> StoredCase:
    """A :class:`StoredCase` again, from what its ``__reduce__`` gave."""
    return StoredCase(
        key=key,
        bound=[BoundRows(*rows) for rows in bound],
        audit=CheckedRecord(*record, at=dt.datetime.fromisoformat(at), hashed=hashed),
        reads=Counter(dict(reads)),
        licences=licences,
        upload_bytes=upload_bytes,
    )


def stored_case(dialect: Dialect, case: CaseRows) -> StoredCase:
    """``case`` ready for the group commit: its rows converted for the driver (JSON serialised, times
    formatted …) and its audit record checked — the Python half of storing it, done where the case
    is decided, so that the commit, which every writer of the store waits for in turn, has as
    little left to do as possible."""
    bound = [bind_rows(dialect, table, rows) for name, table in TABLES if (rows := case.rows(name))]
    if case.access:
        bound.append(bind_rows(dialect, ACCESS_LOG, access_rows(case.access)))
    if case.uploads:
        bound.append(bind_uploads(dialect, case.uploads))  # equal content once
    return StoredCase(
        key=(case.application["applicant"], case.application["idempotency_key"]),
        bound=bound,
        audit=check_record(case.audit),
        reads=reads_of(case.access),
        licences=case.licences,
        upload_bytes=sum(upload["size"] for upload in case.uploads),
    )


@dataclass
class _Job:
    case: StoredCase
    done: Future[None] = field(default_factory=Future)


def insert_cases(
    session: Session, audit: AuditLog, cases: Sequence[StoredCase], issuer: Issuing | None = None
) -> None:
    """Insert decided cases in the caller's transaction: their bound rows with one statement per
    table, then the counts of their reads of shared data, the licences the approvals issue
    (numbered, signed and stored by ``issuer``), one audit append of the cases' records and the
    licences'."""
    insert_bound(session, [rows for case in cases for rows in case.bound])
    # Last, what every writer must take in turn — the access counts, the licence counters, then the
    # audit chain's head (PostgreSQL locks their rows until the commit), in that order everywhere —
    # so the next writer waits as little as possible.
    reads: Counter[tuple[str, str]] = Counter()
    for case in cases:
        reads.update(case.reads)
    count_reads(session, reads)
    requests = [request for case in cases for request in case.licences]
    issued = issuer.issue(session, requests, dt.datetime.now(dt.UTC)) if issuer and requests else []
    audit.append_many(session, [*(case.audit for case in cases), *issued])


class CaseWriter:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        max_batch: int = 256,
        *,
        autostart: bool = True,
        issuer: Issuing | None = None,
    ) -> None:
        self.database = database
        self.audit = audit
        self.issuer = issuer  # issues the licences of approved cases in the batch's transaction
        self.max_batch = max_batch
        self.autostart = autostart
        self.remote: RemoteWriter | None = None  # the writer process of ``miaopi serve`` on SQLite
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, rows: CaseRows) -> Future[None]:
        """Queue a case; the future completes when it is committed, or fails with what stopped it
        (IntegrityError for a repeated idempotency key)."""
        return self._submit(stored_case(self.database.engine.dialect, rows))

    def _submit(self, case: StoredCase) -> Future[None]:
        if self.autostart:
            self.start()
        job = _Job(case)
        self._queue.put(job)
        return job.done

    def store(self, rows: CaseRows) -> None:
        """Block until the case is committed."""
        self.submit(rows).result()

    async def store_async(self, rows: CaseRows) -> None:
        """Wait, without blocking the event loop, until the case is committed: by the writer process
        when there is one (``remote``), else — or when it cannot be reached — by this writer."""
        case = stored_case(self.database.engine.dialect, rows)
        if self.remote is not None:
            try:
                identifiers = await self.remote.store(case)
            except WriterUnavailable:
                pass  # stored here instead: were it committed there after all, its key tells (IntegrityError)
            else:
                for request, identifier in zip(case.licences, identifiers, strict=True):
                    request.identifier = identifier
                return
        await asyncio.wrap_future(self._submit(case))

    def write_now(self, cases: Sequence[StoredCase]) -> list[BaseException | None]:
        """Store ``cases`` in this thread, in as few group commits as the limits allow (the writer
        process's way); what stopped each case, or None where it is committed."""
        jobs = [_Job(case) for case in cases]
        batch: list[_Job] = []
        carried = 0
        for job in jobs:
            if batch and not self._has_room(len(batch), carried):
                self._write(batch)
                batch, carried = [], 0
            batch.append(job)
            carried += job.case.upload_bytes
        if batch:
            self._write(batch)
        return [job.done.exception() for job in jobs]

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="miaopi-case-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            try:
                self._write(batch, take_waiting=True)
                self.database.checkpoint_when_due()  # its cases answered: they do not wait for it
            except BaseException as error:  # never let the thread die: fail what is still unanswered
                for job in batch:
                    if not job.done.done():
                        job.done.set_exception(error)

    def _take_waiting(self, batch: list[_Job]) -> None:
        """Add the cases queued meanwhile to ``batch``. Called once the database's write lock is held
        (SQLite: another worker process may have held it), so the cases that arrived while this
        writer waited go into this commit rather than waiting for the next turn — up to
        ``max_batch`` cases, and no more once the batch carries ``MAX_BATCH_UPLOAD_BYTES`` of
        uploaded files."""
        carried = sum(job.case.upload_bytes for job in batch)
        while self._has_room(len(batch), carried):
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            batch.append(job)
            carried += job.case.upload_bytes

    def _has_room(self, cases: int, upload_bytes: int) -> bool:
        """Whether a batch of ``cases`` carrying ``upload_bytes`` of uploaded files takes one more."""
        return cases < self.max_batch and upload_bytes < MAX_BATCH_UPLOAD_BYTES

    def _write(self, batch: list[_Job], *, take_waiting: bool = False) -> None:
        try:
            with self.database.write_session() as session:
                if take_waiting:
                    self._take_waiting(batch)
                insert_cases(session, self.audit, [job.case for job in batch], self.issuer)
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].done.set_exception(error)
                return
            # Almost always a repeated idempotency key (a client retrying): those cases fail alone and
            # the rest is written again as one batch — not case by case, a commit each.
            repeated = self._repeated_keys(batch)
            marked = {id(job) for job in repeated}  # by identity: == would compare their rows deeply
            rest = [job for job in batch if id(job) not in marked]
            if repeated and rest:
                self._write(rest)
            else:  # some other constraint: find the case that breaks it
                for job in rest:
                    self._write([job])
            # Only now: a repeat is answered with the case stored under its key, which may be in ``rest``.
            for job in repeated:
                job.done.set_exception(error)
            return
        except BaseException as error:  # the database is down, the disk is full …: every waiter learns it
            for job in batch:
                job.done.set_exception(error)
            return
        for job in batch:
            job.done.set_result(None)

    def _repeated_keys(self, batch: list[_Job]) -> list[_Job]:
        """The jobs whose (applicant, idempotency key) is already stored or came earlier in the batch."""
        keys = [job.case.key for job in batch]
        table = cast(Table, Application.__table__)
        with self.database.session() as session:
            stored: set[tuple[str, str]] = set(
                session.execute(
                    select(table.c.applicant, table.c.idempotency_key).where(
                        tuple_(table.c.applicant, table.c.idempotency_key).in_(set(keys))
                    )
                ).all()
            )
        repeated: list[_Job] = []
        for job, key in zip(batch, keys, strict=True):
            if key in stored:
                repeated.append(job)
            stored.add(key)
        return repeated
