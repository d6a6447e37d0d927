"""``miaopi serve --workers N``: every worker listens on the port itself, so the kernel spreads
connections across them (a shared listening socket left 84 of 128 keep-alive connections on one)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.livehttp import free_port, wait_until_answering
from tests.served import (
    ESTABLISHED,
    LISTEN,
    MIAOPI,
    apply_for_allowance,
    children,
    elderly_applicant,
    socket_inodes,
    tcp,
    writer_process,
)


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    data_dir = tmp_path_factory.mktemp("workers") / "data"
    port = free_port()
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [*MIAOPI, "serve", "--port", str(port), "--workers", "2", "--no-scheduler", "--no-notifications"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        wait_until_answering(process, f"http://127.0.0.1:{port}/api/v1/health/live")
        # the other worker may still be starting: a little longer for it to listen too
        settle = time.monotonic() + 60
        while len(tcp(port, LISTEN)) < 2 and time.monotonic() < settle:
            time.sleep(0.3)
        yield process, port, data_dir
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_each_worker_listens_on_the_port_itself(two_workers: tuple[subprocess.Popen[str], int, Path]) -> None:
    process, port, _ = two_workers
    listening = tcp(port, LISTEN)
    owners = {pid: socket_inodes(pid) & listening for pid in children(process.pid)}
    assert sorted(len(inodes) for inodes in owners.values() if inodes) == [1, 1]
    assert len(set().union(*owners.values())) == 2  # two sockets, not one shared
    assert not socket_inodes(process.pid) & listening  # the supervisor only holds the port


def test_connections_are_spread_over_the_workers(
    two_workers: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, _ = two_workers
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(64)]
    try:
        for client in clients:
            assert client.get("/api/v1/health/live").status_code == 200
        established = tcp(port, ESTABLISHED)
        per_worker = [len(socket_inodes(pid) & established) for pid in children(process.pid)]
        # 64 kept-alive connections hashed over two sockets: fewer than 8 on one has odds of 1 in 10¹⁰
        assert sum(per_worker) == 64 and sorted(count for count in per_worker if count)[0] >= 8
    finally:
        for client in clients:
            client.close()


def test_applications_are_decided_and_stored_by_either_worker(
    two_workers: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, data_dir = two_workers
    person, token = elderly_applicant(data_dir)
    case_numbers = set()

    def apply(attempt: int) -> None:  # a new connection each: both workers take some
        case_numbers.add(apply_for_allowance(f"http://127.0.0.1:{port}", person, token, f"workers-{attempt}"))

    for attempt in range(6):
        apply(attempt)
    # SQLite: the workers' cases go to one writer process. Killed, it loses nothing: the workers
    # store their cases themselves until the server has started it again.
    writer = writer_process(process.pid, port)
    os.kill(writer, signal.SIGKILL)
    for attempt in range(6, 10):
        apply(attempt)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(LookupError):
            if writer_process(process.pid, port) != writer:
                break
        time.sleep(0.2)
    assert writer_process(process.pid, port) != writer
    for attempt in range(10, 12):
        apply(attempt)
    assert len(case_numbers) == 12
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    audit = subprocess.run([*MIAOPI, "audit", "verify"], capture_output=True, text=True, env=env, timeout=120)
    assert audit.returncode == 0 and "审计链完整" in audit.stdout


def test_a_port_another_program_listens_on_is_refused_clearly(
    two_workers: tuple[subprocess.Popen[str], int, Path],
) -> None:
    _, _, data_dir = two_workers
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*MIAOPI, "serve", "--port", str(port), "--workers", "2", "--no-scheduler", "--no-notifications"],
            capture_output=True,
            text=True,
            env={**os.environ, "MIAOPI_DATA_DIR": str(data_dir)},
            timeout=120,
        )
    assert result.returncode == 1
    assert f"无法监听 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
