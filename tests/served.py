"""A served deployment seen from outside: its processes and sockets (from /proc), and an applicant
who applies to it over HTTP, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

MIAOPI = [sys.executable, "-m", "miaopi"]
LISTEN, ESTABLISHED = "0A", "01"


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def tcp(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets on local ``port`` in ``state`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def writer_process(server: int, port: int | None = None) -> int:
    """The server's child process that listens on no TCP ``port`` (nor tracks multiprocessing's
    resources): its writer process. LookupError when there is not exactly one."""
    listening = tcp(port, LISTEN) if port is not None else set()
    others = [
        pid
        for pid in children(server)
        if not socket_inodes(pid) & listening and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    if len(others) != 1:
        raise LookupError(f"{len(others)} children of the server besides its workers")
    return others[0]


def elderly_applicant(data_dir: Path) -> tuple[str, str]:
    """A resident of the demo city aged over 75, and a bearer token for them (``miaopi token``)."""
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
    return person, token


def apply_for_allowance(base: str, person: str, token: str, key: str) -> str:
    """Apply for the old-age allowance (高龄津贴) on a new connection; the case number (201 asserted)."""
    response = httpx.post(
        f"{base}/api/v1/applications",
        json={
            "item_code": "440306-MZ-0001",
            "applicant": {"id": person},
            "form": {"bank_account": "6222020200000000000"},
            "commitments": ["深圳市高龄老人津贴申请（变更）表", "银行存折或银行卡"],
            "idempotency_key": key,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    case_no: str = response.json()["case_no"]
    return case_no
