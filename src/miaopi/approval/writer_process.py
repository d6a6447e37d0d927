"""One writer process for the SQLite case store of ``miaopi serve`` (one worker or several).

SQLite takes one writer at a time. With a group-commit writer thread in every worker, the workers
queued for the write lock, and each commit held it about twice its own CPU time: the writer thread
shared its process's interpreter lock with the busy event loop, and waited for it back after every
statement SQLite stepped. Measured at 900 applications/s with two workers: the lock was busy 93 % of
the time, about 1.08 ms per case — so two workers could not store much more than 930 cases/s. One
worker's writer thread took the same lock from its own event loop: with the writer process, one
worker's closed loop went from 914–932 to 1,132–1,239 applications/s.

Here one process does nothing but commit: the workers decide, bind each case's rows for the driver
(``writer.stored_case``) and send them over a Unix socket; the writer process reads whatever the
workers sent meanwhile, stores it in one group commit (``CaseWriter.write_now``: the same statements
and the same handling of repeated keys) and answers each case. It holds the write lock only for its
own work, and one commit carries every worker's cases.

Nothing depends on it being there. A worker that cannot reach it, or loses it before an answer,
stores the case with its own writer (``WriterUnavailable``): a case the writer process did commit is
then a repeated key, answered as the stored case. ``miaopi serve`` restarts it when it exits.

The socket lives in a directory only this user can enter; what crosses it is pickled, between
processes of the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import io
import logging
import multiprocessing
import os
import pickle
import selectors
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from miaopi.approval.writer import CaseWriter, StoredCase, WriterUnavailable

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")  # each message: its length, then a pickle
STORED, REPEATED, FAILED = "stored", "repeated", "failed"
RECONNECT_SECONDS = 1.0  # a worker that could not reach the writer process tries again after this
START_SECONDS = 60.0  # how long ``miaopi serve`` waits for a new writer process to listen


# SQLite's drivers take a BLOB as the memoryview its column type's bind processor made of the bytes
_DISPATCH = {**copyreg.dispatch_table, memoryview: lambda view: (bytes, (view.tobytes(),))}


def _frame(message: Any) -> bytes:
    buffer = io.BytesIO()
    buffer.write(b"\0" * _HEADER.size)
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(message)
    framed = buffer.getbuffer()
    _HEADER.pack_into(framed, 0, len(framed) - _HEADER.size)
    return bytes(framed)


# ---- the worker's side ------------------------------------------------------------------------


class WriterClient:
    """A worker's way to the writer process: one connection per event loop, many cases in flight on
    it, each answered by its number (``CaseWriter.remote``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None
        self._retry_at = 0.0

    async def store(self, case: StoredCase) -> list[str | None]:
        connection = await self._connect()
        return await connection.store(case)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and not connection.closed and connection.loop is loop:
            return connection
        if self._connecting is None or self._connecting.get_loop() is not loop:
            if time.monotonic() < self._retry_at:
                raise WriterUnavailable("案件写入进程暂不可用")
            self._connecting = loop.create_task(self._open(loop))
        # Shared by the requests that come meanwhile, and not cancelled with the one that started it.
        return await asyncio.shield(self._connecting)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        try:
            reader, writer = await asyncio.open_unix_connection(self.path)
        except OSError as error:
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            raise WriterUnavailable(f"无法连接案件写入进程：{error.strerror or error}") from None
        finally:
            self._connecting = None
        self._connection = _Connection(loop, reader, writer)
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


class _Connection:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.loop = loop
        self.closed = False
        self._reader = reader
        self._writer = writer
        self._waiting: dict[int, asyncio.Future[list[str | None]]] = {}
        self._numbers = iter(range(1, 1 << 62))
        self._answers = loop.create_task(self._read_answers())

    async def store(self, case: StoredCase) -> list[str | None]:
        if self.closed:
            raise WriterUnavailable("与案件写入进程的连接已断开")
        number = next(self._numbers)
        answer = self._waiting[number] = self.loop.create_future()
        self._writer.write(_frame((number, case)))
        return await answer

    async def _read_answers(self) -> None:
        try:
            while True:
                (length,) = _HEADER.unpack(await self._reader.readexactly(_HEADER.size))
                number, outcome, detail = pickle.loads(await self._reader.readexactly(length))
                answer = self._waiting.pop(number, None)
                if answer is None or answer.done():
                    continue
                if outcome == STORED:
                    answer.set_result(detail)
                elif outcome == REPEATED:
                    answer.set_exception(IntegrityError("INSERT", None, Exception(detail)))
                else:
                    answer.set_exception(RuntimeError(f"案件写入进程未能保存：{detail}"))
        except (asyncio.IncompleteReadError, OSError, pickle.UnpicklingError, ValueError):
            pass
        finally:
            self.closed = True
            self._writer.close()
            for answer in self._waiting.values():
                if not answer.done():
                    answer.set_exception(WriterUnavailable("案件写入进程在答复前断开"))
            self._waiting.clear()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(asyncio.CancelledError):
            self._answers.cancel()
            await self._answers


# ---- the writer process's side ----------------------------------------------------------------


@dataclass(eq=False)  # compared by identity
class _Peer:
    """One worker's connection, as the writer process sees it."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    unsent: bytearray = field(default_factory=bytearray)

    def messages(self) -> list[tuple[int, StoredCase]]:
        """The whole messages received so far, taken out of the buffer."""
        taken: list[tuple[int, StoredCase]] = []
        offset = 0
        while len(self.received) - offset >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self.received, offset)
            end = offset + _HEADER.size + length
            if len(self.received) < end:
                break
            taken.append(pickle.loads(memoryview(self.received)[offset + _HEADER.size : end]))
            offset = end
        del self.received[:offset]
        return taken

    def flush(self) -> bool:
        """Send what the socket takes now; True when nothing is left to send."""
        while self.unsent:
            try:
                sent = self.sock.send(self.unsent)
            except BlockingIOError:
                return False
            del self.unsent[:sent]
        return True


def _outcome(error: BaseException | None, case: StoredCase) -> tuple[str, Any]:
    if error is None:
        return STORED, [request.identifier for request in case.licences]
    if isinstance(error, IntegrityError):
        return REPEATED, "幂等键重复"
    log.error("案件写入进程未能保存案件：%s", type(error).__name__, exc_info=error)
    return FAILED, type(error).__name__


def serve(path: Path, writer: CaseWriter, stop: threading.Event) -> None:
    """Listen on ``path`` and store what the workers send, in group commits, until ``stop`` is set."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a previous writer process's
    listener.bind(str(path))
    listener.listen(64)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    peers: list[_Peer] = []

    def drop(peer: _Peer) -> None:
        selector.unregister(peer.sock)
        peer.sock.close()
        peers.remove(peer)

    try:
        while not stop.is_set():
            received: list[tuple[_Peer, int, StoredCase]] = []
            for key, events in selector.select(timeout=0.5):
                if key.data is None:
                    sock, _address = listener.accept()
                    sock.setblocking(False)
                    peer = _Peer(sock)
                    peers.append(peer)
                    selector.register(sock, selectors.EVENT_READ, peer)
                    continue
                peer = key.data
                try:
                    if events & selectors.EVENT_WRITE and peer.flush():
                        selector.modify(peer.sock, selectors.EVENT_READ, peer)
                    if events & selectors.EVENT_READ:
                        data = peer.sock.recv(1 << 20)
                        if not data:
                            raise ConnectionResetError
                        peer.received += data
                        received.extend((peer, number, case) for number, case in peer.messages())
                except OSError:
                    drop(peer)  # the worker went away: it stores its unanswered cases itself
                except Exception:
                    log.exception("案件写入进程无法读取工作进程发来的案件，已断开该连接")
                    drop(peer)
            if not received:
                continue
            errors = writer.write_now([case for _peer, _number, case in received])
            for (peer, number, case), error in zip(received, errors, strict=True):
                peer.unsent += _frame((number, *_outcome(error, case)))
            for peer in {peer for peer, _number, _case in received}:
                try:
                    if peer in peers and not peer.flush():
                        selector.modify(peer.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, peer)
                except OSError:
                    drop(peer)
            # Its cases answered, they do not wait for it. (On a thread of its own, a checkpoint
            # racing the commits rarely reached the WAL's end, and p99 at 1,000/s got worse.)
            writer.database.checkpoint_when_due()
    finally:
        for peer in list(peers):
            drop(peer)
        selector.close()
        listener.close()


def _run(database_url: str, data_dir: str, path: str) -> None:
    """The writer process: the store, the audit chain and the licence keys, then :func:`serve`."""
    from miaopi.audit import AuditLog
    from miaopi.deployment.collector import tune_for_serving
    from miaopi.licence.issuing import LicenceIssuer
    from miaopi.licence.keys import KeyStore
    from miaopi.store import Database

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: stop.set())
    parent = os.getppid()
    threading.Thread(
        target=_stop_when_orphaned, args=(parent, stop), name="miaopi-writer-orphan", daemon=True
    ).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: ``serve`` stops it
    database = Database(database_url)
    issuer = LicenceIssuer(KeyStore.in_data_dir(Path(data_dir)))
    writer = CaseWriter(database, AuditLog(), autostart=False, issuer=issuer)
    # Warm (the store's connection open, its dialect set up), then out of the collector's way: a
    # full collection walked everything loaded here, 55–60 ms with every worker's cases waiting.
    database.checkpoint()
    tune_for_serving()
    try:
        serve(Path(path), writer, stop)
    finally:
        database.dispose()


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    """Set ``stop`` once the server that started this process is gone (killed, it could not say)."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


class WriterProcess:
    """The writer process of one ``miaopi serve``, started and kept running by it: restarted when
    it exits, stopped with the server."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self._directory = Path(tempfile.mkdtemp(prefix="miaopi-writer-"))  # 0700: this user only
        self.path = self._directory / "writer.sock"
        self._process: multiprocessing.process.BaseProcess | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start it and wait until it listens; RuntimeError when it exits first or takes too long."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="miaopi-writer-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        process = context.Process(
            target=_run,
            args=(self.database_url, str(self.data_dir), str(self.path)),
            name="miaopi-case-writer",
            daemon=True,
        )
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        process.start()
        self._process = process
        deadline = time.monotonic() + START_SECONDS
        while not self._listening():
            if not process.is_alive():
                raise RuntimeError(f"案件写入进程启动失败（退出码 {process.exitcode}）")
            if time.monotonic() > deadline:
                process.terminate()
                raise RuntimeError(f"案件写入进程 {START_SECONDS:.0f} 秒内未就绪")
            time.sleep(0.05)

    def _listening(self) -> bool:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            process.join()
            if self._stopping.is_set():
                return
            log.warning(
                "案件写入进程已退出（退出码 %s），正在重启；其间各工作进程自行保存案件", process.exitcode
            )
            time.sleep(RECONNECT_SECONDS)
            try:
                self._spawn()
            except RuntimeError as error:
                log.error("%s；各工作进程继续自行保存案件", error)
                return

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """Stop it once its current commit is done, and remove its socket."""
        self._stopping.set()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()  # SIGTERM: it finishes the commit it is in
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> WriterProcess:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


SOCKET_VARIABLE = "MIAOPI_CASE_WRITER_SOCKET"  # set by ``miaopi serve`` for its workers


def client_from_environment() -> WriterClient | None:
    """The writer process's client when this process is a worker of a ``miaopi serve`` that runs one."""
    path = os.environ.get(SOCKET_VARIABLE)
    return WriterClient(Path(path)) if path else None
