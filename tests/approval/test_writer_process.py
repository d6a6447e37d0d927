"""The writer process of ``miaopi serve --workers N``: the workers' cases in its group commits, each
answered; a worker that cannot reach it, or loses it before an answer, stores the case itself."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, Upload
from miaopi.approval.uploads import content_hash, upload_row
from miaopi.approval.writer import CaseRows, CaseWriter, StoredCase, WriterUnavailable, stored_case
from miaopi.approval.writer_process import (
    _HEADER,
    SOCKET_VARIABLE,
    WriterClient,
    WriterProcess,
    _frame,
    client_from_environment,
    serve,
)
from miaopi.audit import AuditLog, AuditRecord
from miaopi.licence.issuing import LicenceRequest
from miaopi.sharing import AccessRecord
from miaopi.store import Database
from tests.approval.test_writer import rows


class NumberingIssuer:
    """Gives each licence request an identifier (the real issuer needs a catalogue's licence types)."""

    def issue(
        self, session: Session, requests: Sequence[LicenceRequest], at: dt.datetime
    ) -> list[AuditRecord]:
        for request in requests:
            request.identifier = f"L-{request.case_no}"
        return []


def with_upload(case: CaseRows) -> CaseRows:
    content = f"照片 {case.case_no}".encode()
    return dataclasses.replace(
        case, uploads=[upload_row(content_hash(content), content, case.application["submitted_at"])]
    )


def with_licence(case: CaseRows) -> CaseRows:
    request = LicenceRequest(
        case_no=case.case_no,
        licence_type=None,  # type: ignore[arg-type]  # the numbering issuer reads no type
        holder=case.application["applicant"],
        holder_kind="person",
        holder_name="测试",
        fields={},
        valid_from=dt.date(2026, 11, 22),
        valid_until=None,
        actor="system",
    )
    return dataclasses.replace(case, licences=[request])


@pytest.fixture
def writer_socket(database: Database, tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """The writer process's loop, on a thread of this process; stopped by setting the event."""
    path = tmp_path / "writer.sock"
    stop = threading.Event()
    writer = CaseWriter(database, AuditLog(), autostart=False, issuer=NumberingIssuer())
    thread = threading.Thread(target=serve, args=(path, writer, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield path, stop
    stop.set()
    thread.join(30)


def count_cases(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Application)) or 0


def test_cases_from_two_workers_are_stored_and_answered(
    database: Database, writer_socket: tuple[Path, threading.Event]
) -> None:
    path, _ = writer_socket

    async def worker(prefix: str) -> list[list[str | None]]:
        client = WriterClient(path)
        try:
            cases = [
                stored_case(
                    database.engine.dialect, with_upload(with_licence(rows(f"{prefix}{n}", f"{prefix}-{n}")))
                )
                for n in range(20)
            ]
            return await asyncio.gather(*(client.store(case) for case in cases))
        finally:
            await client.close()

    async def both() -> list[list[list[str | None]]]:
        return await asyncio.gather(worker("A"), worker("B"))

    answers = asyncio.run(both())
    assert answers[0] == [[f"L-A{n}"] for n in range(20)]  # each case its own licence's identifier
    assert answers[1] == [[f"L-B{n}"] for n in range(20)]
    assert count_cases(database) == 40
    with database.session() as session:  # their uploads too, BLOBs and all
        contents = session.scalars(select(Upload.content)).all()
    assert sorted(contents) == sorted(f"照片 {p}{n}".encode() for p in "AB" for n in range(20))
    with database.session() as session:
        verdict = AuditLog().verify(session)
    assert verdict.ok and verdict.checked == 40


def test_a_repeated_key_is_an_integrity_error_for_that_case_alone(
    database: Database, writer_socket: tuple[Path, threading.Event]
) -> None:
    path, _ = writer_socket
    dialect = database.engine.dialect

    async def send() -> list[object]:
        client = WriterClient(path)
        try:
            first = stored_case(dialect, rows("C1", "k1"))
            again = stored_case(dialect, rows("C2", "k1"))  # same applicant and key
            other = stored_case(dialect, rows("C3", "k3"))
            return await asyncio.gather(
                *(client.store(case) for case in (first, again, other)), return_exceptions=True
            )
        finally:
            await client.close()

    first, again, other = asyncio.run(send())
    assert first == [] and other == []
    assert isinstance(again, IntegrityError)
    assert count_cases(database) == 2


def test_with_no_writer_process_the_worker_stores_the_case_itself(database: Database, tmp_path: Path) -> None:
    writer = CaseWriter(database, AuditLog())
    writer.remote = WriterClient(tmp_path / "nobody-listens.sock")

    async def store() -> None:
        await writer.store_async(rows("C1", "k1"))
        with pytest.raises(WriterUnavailable):  # not tried again at once
            await writer.remote.store(stored_case(database.engine.dialect, rows("C2", "k2")))  # type: ignore[union-attr]
        await writer.store_async(rows("C3", "k3"))

    asyncio.run(store())
    assert count_cases(database) == 2


def test_a_case_committed_by_a_writer_process_that_died_before_answering_is_a_repeat(
    database: Database, tmp_path: Path
) -> None:
    """The writer process commits, then goes away before its answer: the worker's own writer finds
    the key stored (IntegrityError), which the pipeline answers with the stored case."""
    path = tmp_path / "writer.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    committing = CaseWriter(database, AuditLog(), autostart=False)

    def commit_then_die() -> None:
        connection, _ = listener.accept()
        with connection:
            buffer = b""
            while len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[:4], "big"):
                buffer += connection.recv(65536)
            _number, case = pickle.loads(buffer[4:])
            assert committing.write_now([case]) == [None]

    thread = threading.Thread(target=commit_then_die, daemon=True)
    thread.start()
    writer = CaseWriter(database, AuditLog())
    writer.remote = WriterClient(path)
    with pytest.raises(IntegrityError):
        asyncio.run(writer.store_async(rows("C1", "k1")))
    thread.join(30)
    listener.close()
    assert count_cases(database) == 1


def test_a_peer_sending_garbage_is_dropped_and_others_are_served(
    database: Database, writer_socket: tuple[Path, threading.Event]
) -> None:
    path, _ = writer_socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:
        bad.connect(str(path))
        bad.sendall(b"\x00\x00\x00\x05hello")
        assert bad.recv(10) == b""  # closed by the writer

    async def store() -> list[str | None]:
        client = WriterClient(path)
        try:
            return await client.store(stored_case(database.engine.dialect, rows("C1", "k1")))
        finally:
            await client.close()

    assert asyncio.run(store()) == []
    assert count_cases(database) == 1


def test_stored_cases_pickle_and_keep_grouping_into_one_statement(database: Database) -> None:
    dialect = database.engine.dialect
    here = stored_case(dialect, rows("C1", "k1"))
    there: StoredCase = pickle.loads(pickle.dumps(stored_case(dialect, rows("C2", "k2"))))
    # the same INSERT object after the trip: rows of both cases go into one statement per table
    assert [bound.insert for bound in here.bound] == [bound.insert for bound in there.bound]
    assert all(a.insert is b.insert for a, b in zip(here.bound, there.bound, strict=True))


def test_a_stored_case_arrives_as_it_was_sent(database: Database) -> None:
    """Everything the commit takes of a case crosses the socket intact: rows (a BLOB among them),
    the audit record with its time, the counted reads, the licence requests."""
    read = AccessRecord(
        read_at=dt.datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=dt.UTC),
        department="civil_affairs",
        purpose="秒批",
        case_no="C1",
        subject="11010519491231002X",
        resource="population.person",
        fields=("name",),
        rows=1,
    )
    sent = stored_case(
        database.engine.dialect,
        dataclasses.replace(with_upload(with_licence(rows("C1", "k1"))), access=[read, read]),
    )
    number, arrived = pickle.loads(_frame((7, sent))[_HEADER.size :])

    def plain(case: StoredCase) -> list[tuple[str, object, list[list[object]]]]:
        # PostgreSQL's driver wraps JSON and BLOB values (psycopg's Json, Binary), which do not compare
        return [
            (
                rows.table,
                rows.insert,
                [[getattr(value, "obj", value) for value in row] for row in rows.parameters],
            )
            for rows in case.bound
        ]

    assert number == 7 and plain(arrived) == plain(sent)
    assert dataclasses.replace(arrived, bound=[]) == dataclasses.replace(sent, bound=[])
    assert arrived.audit.at == sent.audit.at and arrived.audit.at.utcoffset() == dt.timedelta(0)
    assert arrived.reads == {("civil_affairs", "population.person"): 2}
    assert arrived.licences[0].holder == "11010519491231002X"


@pytest.fixture
def writer_process(tmp_path: Path) -> Iterator[tuple[WriterProcess, Database]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'miaopi.db'}"
    database = Database(url)
    database.migrate()
    process = WriterProcess(url, data_dir)
    with process:
        yield process, database
    database.dispose()


def test_the_writer_process_stores_and_is_restarted_when_it_exits(
    writer_process: tuple[WriterProcess, Database],
) -> None:
    process, database = writer_process
    dialect = database.engine.dialect

    async def store(case_no: str) -> list[str | None]:
        client = WriterClient(process.path)
        try:
            return await client.store(stored_case(dialect, rows(case_no, case_no)))
        finally:
            await client.close()

    assert asyncio.run(store("C1")) == []
    first = process.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while (process.pid == first or not process.path.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.pid != first
    stored = None
    while stored is None and time.monotonic() < deadline:
        with contextlib.suppress(WriterUnavailable):
            stored = asyncio.run(store("C2"))
        time.sleep(0.1)
    assert stored == []
    assert count_cases(database) == 2


def test_the_writer_process_keeps_what_it_loaded_out_of_garbage_collection(tmp_path: Path) -> None:
    """Frozen once warm, as a worker's heap is: a full collection walked it all, a 55–60 ms pause
    with every worker's cases waiting."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'miaopi.db'}"
    Database(url).migrate()
    probe = (
        "import gc, os, signal, sys, threading, time\n"
        "from pathlib import Path\n"
        "from miaopi.approval.writer_process import _run\n"
        "path = Path(sys.argv[3])\n"
        "def report():\n"
        "    while not path.exists():\n"
        "        time.sleep(0.01)\n"
        "    print(gc.get_freeze_count(), gc.get_threshold()[0], flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "threading.Thread(target=report, daemon=True).start()\n"
        "_run(*sys.argv[1:4])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, url, str(data_dir), str(tmp_path / "writer.sock")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    frozen, threshold = map(int, result.stdout.split())
    assert frozen > 10_000 and threshold == 50_000


def test_stopping_removes_the_socket(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'miaopi.db'}"
    Database(url).migrate()
    process = WriterProcess(url, data_dir)
    process.start()
    assert process.path.exists() and oct(process.path.parent.stat().st_mode & 0o777) == "0o700"
    process.stop()
    assert not process.path.parent.exists()


def test_workers_find_the_writer_process_in_their_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SOCKET_VARIABLE, raising=False)
    assert client_from_environment() is None
    monkeypatch.setenv(SOCKET_VARIABLE, str(tmp_path / "writer.sock"))
    client = client_from_environment()
    assert client is not None and client.path == tmp_path / "writer.sock"


def test_requests_share_one_connection_and_a_cancelled_one_does_not_strand_the_others(
    database: Database, writer_socket: tuple[Path, threading.Event]
) -> None:
    path, _ = writer_socket
    dialect = database.engine.dialect
    opened = 0
    original = asyncio.open_unix_connection

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal opened
        opened += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    async def send() -> list[list[str | None]]:
        client = WriterClient(path)
        try:
            first = asyncio.create_task(client.store(stored_case(dialect, rows("C0", "k0"))))
            await asyncio.sleep(0)  # it is connecting now
            others = [
                asyncio.create_task(client.store(stored_case(dialect, rows(f"C{n}", f"k{n}"))))
                for n in range(1, 5)
            ]
            first.cancel()  # its client went away: the others still get their connection
            return await asyncio.gather(*others)
        finally:
            await client.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "open_unix_connection", counted)
        assert asyncio.run(send()) == [[], [], [], []]
    assert opened == 1
    assert count_cases(database) == 4
