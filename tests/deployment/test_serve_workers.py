"""``miaopi serve --workers N``: every worker listens on the port itself, so the kernel spreads
connections across them (a shared listening socket left 84 of 128 keep-alive connections on one)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.livehttp import free_port, wait_until_answering

MIAOPI = [sys.executable, "-m", "miaopi"]
LISTEN, ESTABLISHED = "0A", "01"


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets on local ``port`` in ``state`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


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
        while len(_tcp(port, LISTEN)) < 2 and time.monotonic() < settle:
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
    listening = _tcp(port, LISTEN)
    owners = {pid: _socket_inodes(pid) & listening for pid in _children(process.pid)}
    assert sorted(len(inodes) for inodes in owners.values() if inodes) == [1, 1]
    assert len(set().union(*owners.values())) == 2  # two sockets, not one shared
    assert not _socket_inodes(process.pid) & listening  # the supervisor only holds the port


def test_connections_are_spread_over_the_workers(
    two_workers: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, _ = two_workers
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(64)]
    try:
        for client in clients:
            assert client.get("/api/v1/health/live").status_code == 200
        established = _tcp(port, ESTABLISHED)
        per_worker = [len(_socket_inodes(pid) & established) for pid in _children(process.pid)]
        # 64 kept-alive connections hashed over two sockets: fewer than 8 on one has odds of 1 in 10¹⁰
        assert sum(per_worker) == 64 and sorted(count for count in per_worker if count)[0] >= 8
    finally:
        for client in clients:
            client.close()


def _writer_process(server: int, port: int) -> int:
    """The server's child process that does not listen on the port (nor tracks multiprocessing's
    resources): its writer process."""
    listening = _tcp(port, LISTEN)
    others = [
        pid
        for pid in _children(server)
        if not _socket_inodes(pid) & listening and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    if len(others) != 1:
        raise LookupError(f"{len(others)} children of the server besides its workers")
    return others[0]


def test_applications_are_decided_and_stored_by_either_worker(
    two_workers: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, data_dir = two_workers
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    listed = subprocess.run(
        [
            *MIAOPI,
            "sharing",
            "subjects",
            "population.person",
            "--where",
            "hukou_city = '440300' AND death_date IS NULL AND birth_date < DATE '1950-01-01'",
            "--limit",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    person = listed.stdout.split()[0]
    token = subprocess.run(
        [*MIAOPI, "token", "--as", person], capture_output=True, text=True, env=env, timeout=120
    ).stdout.strip()
    case_numbers = set()

    def apply(attempt: int) -> None:  # a new connection each: both workers take some
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/applications",
            json={
                "item_code": "440306-MZ-0001",
                "applicant": {"id": person},
                "form": {"bank_account": "6222020200000000000"},
                "commitments": ["深圳市高龄老人津贴申请（变更）表", "银行存折或银行卡"],
                "idempotency_key": f"workers-{attempt}",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        case_numbers.add(response.json()["case_no"])

    for attempt in range(6):
        apply(attempt)
    # SQLite: the workers' cases go to one writer process. Killed, it loses nothing: the workers
    # store their cases themselves until the server has started it again.
    writer = _writer_process(process.pid, port)
    os.kill(writer, signal.SIGKILL)
    for attempt in range(6, 10):
        apply(attempt)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(LookupError):
            if _writer_process(process.pid, port) != writer:
                break
        time.sleep(0.2)
    assert _writer_process(process.pid, port) != writer
    for attempt in range(10, 12):
        apply(attempt)
    assert len(case_numbers) == 12
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
