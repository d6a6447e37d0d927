"""Group commit: many cases in one transaction, and a bad case never takes the others down."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from miaopi.approval.models import Application, CaseStep, Upload
from miaopi.approval.uploads import content_hash, upload_row
from miaopi.approval.writer import CaseRows, CaseWriter, stored_case
from miaopi.audit import AuditLog, AuditRecord
from miaopi.store import Database

NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def rows(case_no: str, key: str) -> CaseRows:
    application = {
        "case_no": case_no,
        "item_code": "X-1",
        "item_name": "测试事项",
        "department": "civil_affairs",
        "version_hash": "sha256:0",
        "version_from": dt.date(2020, 1, 1),
        "applicant": "11010519491231002X",
        "applicant_kind": "person",
        "acting_person": None,
        "submitted_by": "applicant:11010519491231002X",
        "idempotency_key": key,
        "request_hash": "sha256:1",
        "status": "approved",
        "automatic_status": "approved",
        "machine_outcome": "approved",
        "reasons": [],
        "explanation": [],
        "facts": {"decision_date": {"kind": "context", "value": "2026-11-22"}},
        "form": {},
        "materials": [],
        "materials_waived": 0,
        "commitments": [],
        "human_review_requested": False,
        "review_requested_on_submission": False,
        "submitted_at": NOW,
        "decision_date": dt.date(2026, 11, 22),
        "decided_at": NOW,
        "promised_deadline": None,
        "statutory_deadline": None,
        "decision_micros": 100,
        "timings": {},
    }
    return CaseRows(
        case_no=case_no,
        application=application,
        evidence=[],
        steps=[{"case_no": case_no, "step": "submitted", "label": "提交申请", "at": NOW, "actor": "system"}],
        access=[],
        audit=AuditRecord(
            actor="system", action="application.decided", target=case_no, outcome="approved", at=NOW
        ),
    )


def count_commits(database: Database) -> list[int]:
    """A list that grows by one at every group commit (``write_session``) on ``database``."""
    commits: list[int] = []
    original = database.write_session

    def counted():  # type: ignore[no-untyped-def]
        commits.append(1)
        return original()

    database.write_session = counted  # type: ignore[method-assign]
    return commits


def test_a_batch_with_a_repeated_key_stores_the_others(database: Database) -> None:
    # Queue everything before the writer runs, so all of it lands in one batch.
    writer = CaseWriter(database, AuditLog(), autostart=False)
    futures: list[Future[None]] = [writer.submit(rows(f"C{index}", f"k{index}")) for index in range(5)]
    futures.append(writer.submit(rows("C-dup", "k2")))  # same applicant and key as C2
    writer.start()
    for future in futures[:5]:
        assert future.result(timeout=30) is None
    with pytest.raises(IntegrityError):
        futures[5].result(timeout=30)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 5
        assert session.scalar(select(func.count()).select_from(CaseStep)) == 5
        verdict = AuditLog().verify(session)
        assert verdict.ok and verdict.checked == 5


def test_append_many_continues_one_chain(database: Database) -> None:
    audit = AuditLog()
    with database.session() as session:
        audit.append(session, actor="a", action="x", target="t1", outcome="ok", at=NOW)
        entries = audit.append_many(
            session, [AuditRecord("b", "y", f"t{n}", "ok", {"n": n}, NOW) for n in range(2, 6)]
        )
        audit.append(session, actor="c", action="z", target="t6", outcome="ok", at=NOW)
    assert [entry.seq for entry in entries] == [2, 3, 4, 5]
    with database.session() as session:
        verdict = audit.verify(session)
        assert verdict.ok and verdict.checked == 6


def test_repeated_keys_fail_alone_and_the_rest_is_stored_in_one_batch(database: Database) -> None:
    first = CaseWriter(database, AuditLog())
    first.store(rows("OLD", "k-old"))  # stored before: its key comes again below
    writer = CaseWriter(database, AuditLog(), autostart=False)
    commits = count_commits(database)
    futures = [writer.submit(rows(f"N{index}", f"k{index}")) for index in range(6)]
    again = writer.submit(rows("AGAIN", "k-old"))  # a retry of a case stored earlier
    twice = writer.submit(rows("TWICE", "k3"))  # the same key twice in one batch
    writer.start()
    for future in futures:
        assert future.result(timeout=30) is None
    for repeated in (again, twice):
        with pytest.raises(IntegrityError):
            repeated.result(timeout=30)
    # the failed batch, then the rest once more as one batch: not one transaction per case
    assert len(commits) == 2
    with database.session() as session:
        stored = set(session.scalars(select(Application.case_no)))
        assert stored == {"OLD", *(f"N{index}" for index in range(6))}
        assert AuditLog().verify(session).ok


def test_sqlite_writers_queue_on_a_file_lock_not_on_polling(database: Database) -> None:
    """While one process writes a batch, another process's writer waits on the file lock (woken at
    release) instead of sleeping in SQLite's busy handler."""
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "try:\n"
        "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(3)\n"
    )
    with database.write_session() as session:
        session.execute(insert(Application), [rows("LOCKED", "k-lock").application])
        if database.dialect != "sqlite":
            return  # PostgreSQL queues writers on its own row locks
        lock = f"{database.engine.url.database}-writer.lock"
        held = subprocess.run([sys.executable, "-c", probe, lock], check=False)
        assert held.returncode == 3  # another process cannot write now
    free = subprocess.run([sys.executable, "-c", probe, lock], check=False)
    assert free.returncode == 0
    with database.session() as session:
        assert session.get(Application, "LOCKED") is not None


def test_the_writer_survives_a_failure_while_sorting_out_a_failed_batch(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away just when a batch with a repeated key is being sorted out: those cases
    get the error, and the writer thread keeps storing later cases."""
    writer = CaseWriter(database, AuditLog(), autostart=False)

    def lost(_batch: object) -> list[object]:
        raise OSError("connection lost")

    monkeypatch.setattr(writer, "_repeated_keys", lost)
    first = writer.submit(rows("A1", "same"))
    repeat = writer.submit(rows("A2", "same"))
    writer.start()
    for future in (first, repeat):
        with pytest.raises(OSError):
            future.result(timeout=30)
    monkeypatch.undo()
    assert writer.submit(rows("B1", "later")).result(timeout=30) is None


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """SQLite's own ways: its writer lock file, its WAL (PostgreSQL has neither)."""
    database = Database(f"sqlite:///{tmp_path / 'miaopi.db'}")
    database.migrate()
    yield database
    database.dispose()


def test_cases_queued_while_the_writer_waits_for_the_lock_join_its_batch(sqlite_database: Database) -> None:
    """Another SQLite writer holds the lock: the case the writer took is not committed alone, the
    cases that arrive while it waits go into the same commit."""
    database = sqlite_database
    writer = CaseWriter(database, AuditLog())
    commits = count_commits(database)
    descriptor = os.open(f"{database.engine.url.database}-writer.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # as another worker process writing its batch
    try:
        first = writer.submit(rows("W0", "k0"))
        while not writer._queue.empty():  # the writer has taken it and now waits for the lock
            time.sleep(0.01)
        later = [writer.submit(rows(f"W{index}", f"k{index}")) for index in range(1, 5)]
    finally:
        os.close(descriptor)  # the other writer is done
    for future in (first, *later):
        assert future.result(timeout=30) is None
    assert len(commits) == 1
    with database.session() as session:
        assert set(session.scalars(select(Application.case_no))) == {f"W{index}" for index in range(5)}
        assert AuditLog().verify(session).ok


def test_sqlite_commits_are_synced_and_the_writer_checkpoints_outside_its_commits(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit is on disk before it returns (synchronous=FULL). The group-commit writer's commits
    leave the WAL alone (no checkpoint while the write lock is held): the writer checkpoints once
    the lock is released, when one is due (``checkpoint_when_due``). Its statement journals stay
    in memory; other connections keep SQLite's temporary files, for sorts of any size."""
    database = sqlite_database
    with database.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert session.connection().exec_driver_sql("PRAGMA temp_store").scalar() == 0  # the default: files
    checkpoints = record_checkpoints(database, monkeypatch)
    monkeypatch.setattr("miaopi.store.database.CHECKPOINT_SECONDS", 3600.0)
    for key in ("k1", "k2"):
        with database.write_session() as session:
            connection = session.connection()
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
            session.execute(insert(Application), [rows(f"C-{key}", key).application])
        database.checkpoint_when_due()
    assert checkpoints == []  # not due yet
    monkeypatch.setattr("miaopi.store.database.CHECKPOINT_SECONDS", 0.0)
    with database.write_session() as session:
        session.execute(insert(Application), [rows("C-k3", "k3").application])
    assert checkpoints == []  # never inside the unit of work
    database.checkpoint_when_due()
    assert checkpoints == [True]  # due: taken once the write lock was free again
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 3


def test_a_wal_the_checkpoints_do_not_catch_up_with_is_finished_under_the_write_lock(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load from several workers, a checkpoint taken outside the write lock never reaches the
    end of the WAL (another worker has appended meanwhile), and SQLite starts the WAL over only once one has. Here a
    reader's snapshot holds it back instead. Once it is past ``WAL_RESTART_FRAMES``, the next
    commit finishes the checkpoint while it still holds the write lock, so the WAL can start over."""
    database = sqlite_database
    monkeypatch.setattr("miaopi.store.database.CHECKPOINT_SECONDS", 0.0)  # after every commit
    monkeypatch.setattr("miaopi.store.database.WAL_RESTART_FRAMES", 1)
    checkpoints = record_checkpoints(database, monkeypatch)
    with database.write_session() as session:
        session.execute(insert(Application), [rows("C-0", "k0").application])
    database.checkpoint_when_due()  # as the case writer does after each commit
    assert checkpoints == [True] and database._wal_frames == 0  # copied back, outside the lock
    with database.engine.connect() as reader:
        reader.exec_driver_sql("BEGIN")
        reader.exec_driver_sql("SELECT count(*) FROM approval_application").scalar()  # holds a snapshot
        with database.write_session() as session:
            session.execute(insert(Application), [rows("C-1", "k1").application])
        database.checkpoint_when_due()
        reader.exec_driver_sql("COMMIT")
    assert checkpoints == [True, True] and database._wal_frames > 0  # held back by the reader
    with database.write_session() as session:
        session.execute(insert(Application), [rows("C-2", "k2").application])
    database.checkpoint_when_due()
    assert checkpoints == [True, True, False, True]  # finished under the lock, then the usual one
    assert database._wal_frames == 0  # it reached the end: the next commit starts the WAL over
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 3


def test_the_writer_answers_its_cases_before_it_checkpoints(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint takes 10–15 ms under load: the cases just committed do not wait for it."""
    database = sqlite_database
    monkeypatch.setattr("miaopi.store.database.CHECKPOINT_SECONDS", 0.0)  # due after every commit
    writer = CaseWriter(database, AuditLog(), autostart=False)
    futures = [writer.submit(rows(f"A{index}", f"k{index}")) for index in range(3)]
    answered_first: list[bool] = []
    original = database.checkpoint

    def checkpoint() -> None:
        answered_first.append(all(future.done() for future in futures))
        original()

    monkeypatch.setattr(database, "checkpoint", checkpoint)
    writer.start()
    for future in futures:
        assert future.result(timeout=30) is None
    deadline = time.monotonic() + 30
    while not answered_first and time.monotonic() < deadline:  # the writer checkpoints right after
        time.sleep(0.01)
    assert answered_first and all(answered_first)


def record_checkpoints(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The database's checkpoints from now on, each as whether the write lock was free meanwhile."""
    checkpoints: list[bool] = []
    original = database.checkpoint

    def counted() -> None:
        checkpoints.append(fcntl_lock_free(database))
        original()

    monkeypatch.setattr(database, "checkpoint", counted)
    return checkpoints


def fcntl_lock_free(database: Database) -> bool:
    descriptor = os.open(f"{database.engine.url.database}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def test_uploads_commit_with_their_cases_once_per_content(database: Database) -> None:
    """Each case's uploads are stored in its batch's transaction: equal content once, content stored
    before kept as it is, and the upload of a case that failed to store is not kept."""
    photo, scan, orphan = b"\xff\xd8 photo", b"%PDF scan", b"\xff\xd8 only the repeat sent this"
    CaseWriter(database, AuditLog()).store(with_uploads(rows("OLD", "k-old"), scan))
    writer = CaseWriter(database, AuditLog(), autostart=False)
    commits = count_commits(database)
    futures = [
        writer.submit(with_uploads(rows("C1", "k1"), photo)),
        writer.submit(with_uploads(rows("C2", "k2"), photo, scan)),
        writer.submit(with_uploads(rows("AGAIN", "k-old"), orphan)),  # a repeated key: fails alone
    ]
    writer.start()
    assert futures[0].result(timeout=30) is None and futures[1].result(timeout=30) is None
    with pytest.raises(IntegrityError):
        futures[2].result(timeout=30)
    assert len(commits) == 2  # the failed batch, then the rest as one
    with database.session() as session:
        stored = {row.content_hash: (row.content, row.size) for row in session.scalars(select(Upload))}
    assert stored == {content_hash(photo): (photo, len(photo)), content_hash(scan): (scan, len(scan))}


def with_uploads(case: CaseRows, *contents: bytes) -> CaseRows:
    case.uploads.extend(upload_row(content_hash(content), content, NOW) for content in contents)
    return case


def test_a_commit_carries_a_bounded_amount_of_uploads(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases with large uploads are spread over several commits instead of one huge statement."""
    monkeypatch.setattr("miaopi.approval.writer.MAX_BATCH_UPLOAD_BYTES", 1_000)
    writer = CaseWriter(database, AuditLog(), autostart=False)
    commits = count_commits(database)
    futures = [
        writer.submit(with_uploads(rows(f"C{n}", f"k{n}"), bytes([n]) * 600)) for n in range(4)
    ]  # two cases reach the limit
    writer.start()
    assert [future.result(timeout=30) for future in futures] == [None] * 4
    assert len(commits) == 2
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 4


def test_writing_now_keeps_to_the_same_limits(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer process's way (``write_now``): no more cases, nor uploaded bytes, in one commit
    than the writer thread takes."""
    monkeypatch.setattr("miaopi.approval.writer.MAX_BATCH_UPLOAD_BYTES", 1_000)
    writer = CaseWriter(database, AuditLog(), max_batch=3, autostart=False)
    commits = count_commits(database)
    dialect = database.engine.dialect
    uploads = [stored_case(dialect, with_uploads(rows(f"U{n}", f"u{n}"), bytes([n]) * 600)) for n in range(2)]
    plain = [stored_case(dialect, rows(f"C{n}", f"k{n}")) for n in range(4)]
    assert writer.write_now(uploads + plain) == [None] * 6
    assert len(commits) == 3  # the two uploads reach the limit; then three cases; then one
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 6
        assert session.scalar(select(func.count()).select_from(Upload)) == 2
