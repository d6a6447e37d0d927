"""秒批 at load: decision latency in process, and decided-and-stored applications per second over HTTP.

* in process: ``ApprovalService.submit`` for the ride-hailing driver licence (11 rules over 7 shared
  resources, credit gate, materials: the photo uploaded, the rest shared data) by drivers who passed
  the ride-hailing exam, on a district-scale city — about a quarter approved (each approval issues
  and signs its licence in the same transaction), the rest to review — p50/p99 of the decision alone and of
  decision + durable storage (one transaction: case with its facts and explanation, evidence,
  steps, access log, audit entry, licence);
* over HTTP: ``miaopi serve`` with 1 and 2 workers against SQLite (WAL) and against PostgreSQL,
  driven by wrk keeping C connections busy with new applications of 500 applicants for D seconds;
  throughput, p99 and the server's CPU per stored application (all its processes, from ``/proc``;
  with PostgreSQL, its backends' too) — steadier than throughput on a busy machine. Baseline in the
  same run: the same server answering ``GET /api/v1/health/live`` (no I/O: the ceiling of the HTTP
  stack on this machine, and its CPU per request). Then the target itself: 1,000
  applications per second offered on schedule (an open loop), each from a different applicant, as
  in real traffic (no bearer token cached yet), p50/p99/p99.9 from each request's due time; where
  that is more than the machine takes, the same at half and at 80 % of the closed loop's rate.

    .venv/bin/python bench/bench_approval.py [--city DIR] [--seconds 15] [--connections 32] [--skip-postgres] [--skip-sqlite] [--workers N …]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

try:
    import uvloop  # the load generator's own event loop costs less CPU on the shared cores
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    uvloop = None  # type: ignore[assignment]

from miaopi.approval import ApplicationIn
from miaopi.auth import Principal
from miaopi.catalog import DEMO_CATALOG
from miaopi.city import generate_city
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.store import Database

ITEM = "440300-JT-0001"
TARGET_RATE = 1000  # applications per second, the issue's target
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def prepare(city: Path, database_url: str | None) -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="miaopi-bench-approval-"))
    (data_dir / "city").symlink_to(city.resolve())
    shutil.copytree(DEMO_CATALOG, data_dir / "catalog")
    settings = load_settings(data_dir, database_url)
    Database(settings.database_url).migrate()
    (data_dir / "miaopi.json").write_text(
        json.dumps({"version": "bench", "city_scale": "district"}), encoding="utf-8"
    )
    return data_dir


def subjects(city: Path, count: int) -> list[str]:
    """Drivers who passed the ride-hailing exam — the people who apply. The rules still decide: some
    are approved (and get the licence issued), the rest go to review (no residence permit, too few
    years of driving, points …)."""
    rows = duckdb.sql(
        f"SELECT DISTINCT d.id_number FROM read_parquet('{city}/traffic_police/traffic.driving_licence.parquet') d "
        f"JOIN read_parquet('{city}/transport/transport.qualification.parquet') q USING (id_number) "
        "WHERE q.qualification = '网约车驾驶员从业资格考试合格' AND q.revoked_date IS NULL "
        "ORDER BY 1"
    ).fetchall()
    chosen = [row[0] for row in rows]
    random.Random(7).shuffle(chosen)
    if len(chosen) < count:
        raise SystemExit(f"the city has {len(chosen):,} such drivers; {count:,} are needed")
    return chosen[:count]


def issue_tokens(data_dir: Path, database_url: str | None, people: list[str]) -> dict[str, str]:
    """Each applicant's account and a bearer token, as signing in would give them."""
    deployment = Deployment.open(load_settings(data_dir, database_url))
    try:
        return {
            person: deployment.accounts.issue_token(
                deployment.accounts.ensure_applicant(person, verified=True).id
            )
            for person in people
        }
    finally:
        deployment.close()


def form_fields(deployment: Deployment) -> dict[str, object]:
    item = deployment.catalog.items[ITEM]
    values: dict[str, object] = {}
    for field in item.form:
        name = field.fact.name.removeprefix("form.")
        values[name] = (
            True if field.fact.type.value == "boolean" else (field.choices[0] if field.choices else "示例")
        )
    return values


def photo(person: str) -> bytes:
    """The applicant's own photo (近期免冠照片, an upload): a small stand-in, the same for one person."""
    return b"\xff\xd8\xff\xe0" + hashlib.sha256(person.encode()).digest() * 24


def application_body(person: str, form: dict[str, object], key: str) -> dict[str, object]:
    """What an applicant sends: form, the photo as an upload; every other material is shared data."""
    return {
        "item_code": ITEM,
        "applicant": {"id": person},
        "form": form,
        "materials": [
            {
                "name": "近期免冠照片",
                "file": {
                    "filename": "photo.jpg",
                    "content_type": "image/jpeg",
                    "content_base64": base64.b64encode(photo(person)).decode(),
                },
            }
        ],
        "idempotency_key": key,
    }


def in_process(data_dir: Path, people: list[str]) -> None:
    deployment = Deployment.open(load_settings(data_dir))
    deployment.warm()
    form = form_fields(deployment)
    decide_only: list[float] = []
    total: list[float] = []
    outcomes: dict[str, int] = {}
    before = usage([os.getpid()])
    for index, person in enumerate(people):
        principal = Principal(
            account_id=0, kind="applicant", login=person, role="applicant", subject_id=person
        )
        application = ApplicationIn.model_validate(application_body(person, form, f"bench-{index}"))
        began = time.perf_counter_ns()
        decision = deployment.approval.submit(principal, application)
        total.append((time.perf_counter_ns() - began) / 1000)
        decide_only.append(float(sum(decision.timings.values())))
        outcomes[decision.status] = outcomes.get(decision.status, 0) + 1
    written = usage_since(before, [os.getpid()]).written / len(people) / 1024
    print(f"in process, {len(people):,} applications for {deployment.catalog.items[ITEM].name} ({outcomes})")
    print(
        f"  decision (resolve → gather 7 resources → materials → 11 rules)  p50 {statistics.median(decide_only):7.0f} µs   p99 {percentile(decide_only, 0.99):7.0f} µs"
    )
    print(
        f"  decision + durable storage ({deployment.database.dialect:10})          p50 {statistics.median(total):7.0f} µs   p99 {percentile(total, 0.99):7.0f} µs"
    )
    print(f"  written to storage per case, each committed alone (WAL, checkpoints)     {written:7,.0f} KB")
    deployment.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (with Content-Length) off a keep-alive connection: its status."""
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def load(
    port: int, requests: list[tuple[str, bytes]], seconds: float, connections: int
) -> tuple[int, list[float], dict[int, int]]:
    """Keep ``connections`` keep-alive connections busy; each sends the next prepared request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                try:
                    head, payload = next(queue)
                except StopIteration:
                    return
                began = time.perf_counter()
                writer.write(head + payload)
                await writer.drain()
                status = await read_response(reader)
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return int(len(latencies) / elapsed), latencies, statuses


async def paced_load(
    port: int, requests: list[tuple[bytes, bytes]], rate: float, seconds: float, connections: int = 128
) -> tuple[float, list[float], dict[int, int]]:
    """Offer ``rate`` requests per second for ``seconds``, on schedule whatever the server does (an
    open loop): request i is due at start + i / rate, and its latency counts from then — time spent
    waiting for a free connection included — so a slow server cannot hide its queue by slowing the
    load down (no coordinated omission). Returns the rate completed, latencies (ms) and statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def send(head: bytes, payload: bytes, due: float) -> None:
        reader, writer = await free.get()
        writer.write(head + payload)
        status = await read_response(reader)
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        free.put_nowait((reader, writer))

    total = int(rate * seconds)
    tasks = []
    started = time.perf_counter()
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        head, payload = requests[index % len(requests)]
        tasks.append(asyncio.create_task(send(head, payload, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    while not free.empty():
        free.get_nowait()[1].close()
    return len(latencies) / elapsed, latencies, statuses


WRK_SCRIPT = """
-- each applicant: its token, and its application's JSON before and after the idempotency key
local applicants = {%(applicants)s}
-- thread_no is a global: setup() runs in the main state and thread:set() writes each thread's global
-- (a local here would shadow it, every thread would be 0, and the threads' keys would collide)
local counter = 0
thread_no = 0
setup = function(thread) thread_no = thread_no + 1; thread:set("thread_no", thread_no) end
init = function(args) math.randomseed(os.time() * 1000 + thread_no) end
request = function()
  counter = counter + 1
  local who = applicants[(counter %% #applicants) + 1]
  local key = "wrk-" .. thread_no .. "-" .. counter .. "-" .. math.random(1, 2000000000)
  return wrk.format("POST", "/api/v1/applications",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. who[1]}, who[2] .. key .. who[3])
end
"""


def lua_applicant(token: str, body: dict[str, object]) -> str:
    before, after = json.dumps(body).split("@KEY@")
    return f"{{[==[{token}]==], [==[{before}]==], [==[{after}]==]}}"


@dataclass(frozen=True)
class WrkRun:
    rate: int  # requests per second
    p50: float  # ms
    p99: float  # ms
    errors: int  # non-2xx answers
    done: int  # requests answered


@dataclass(frozen=True)
class Usage:
    """What processes used: CPU and bytes written to storage. Bytes written depend on how many cases
    share a commit, not, as time does, on how busy the machine is."""

    cpu: float  # seconds, user + system, all threads
    written: int  # bytes sent to storage (write_bytes of /proc/PID/io: the WAL, checkpoints, data files)
    write_calls: int = 0  # write system calls (syscw of /proc/PID/io)


def usage(pids: list[int]) -> dict[int, Usage]:
    """What each process has used so far, from /proc; one gone is left out."""
    used = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        try:  # another user's process (PostgreSQL's, unless we are root) keeps its I/O to itself
            io = Path(f"/proc/{pid}/io").read_text().splitlines()
        except OSError:
            io = []
        counters = {name: int(value) for name, _, value in (line.partition(": ") for line in io)}
        used[pid] = Usage(
            cpu=(int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"),
            written=counters.get("write_bytes", 0),
            write_calls=counters.get("syscw", 0),
        )
    return used


def usage_since(before: dict[int, Usage], pids: list[int]) -> Usage:
    """What the processes ``pids`` used since ``before`` (all of it for those started since)."""
    now = usage(pids)
    return Usage(
        cpu=sum(used.cpu - (before[pid].cpu if pid in before else 0.0) for pid, used in now.items()),
        written=sum(
            used.written - (before[pid].written if pid in before else 0) for pid, used in now.items()
        ),
        write_calls=sum(
            used.write_calls - (before[pid].write_calls if pid in before else 0) for pid, used in now.items()
        ),
    )


def server_processes(root: int) -> list[int]:
    """``root`` and its descendants (the uvicorn supervisor and its workers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(parent, []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


def postgres_processes() -> list[int]:
    """The local PostgreSQL server's processes (its backends do the case store's work)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def wrk_load_measured(
    pids: list[int], port: int, path: str, seconds: float, connections: int, script: str | None = None
) -> tuple[WrkRun, Usage]:
    """:func:`wrk_load`, and what the processes ``pids`` used meanwhile."""
    before = usage(pids)
    run = wrk_load(port, path, seconds, connections, script)
    return run, usage_since(before, pids)


def wrk_load(port: int, path: str, seconds: float, connections: int, script: str | None = None) -> WrkRun:
    """Drive the server with wrk (a C load generator, so the server keeps the CPU): requests per
    second, p50 and p99 in ms, the count of non-2xx answers and of requests answered."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
            command += ["-s", lua.name]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(lua.name)

    def millis(label: str) -> float:
        value = next(line.split()[1] for line in output.splitlines() if line.strip().startswith(label))
        for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
            if value.endswith(unit):
                return float(value[: -len(unit)]) * factor
        return float(value)

    rate = float(next(line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")))
    errors = sum(int(line.split()[-1]) for line in output.splitlines() if line.strip().startswith("Non-2xx"))
    done = int(next(line.split()[0] for line in output.splitlines() if " requests in " in line))
    return WrkRun(int(rate), millis("50%"), millis("99%"), errors, done)


def http_requests(
    people: list[str], tokens: dict[str, str], form: dict[str, object], count: int, path: str
) -> list[tuple[str, bytes]]:
    prepared = []
    for index in range(count):
        person = people[index % len(people)]
        if path == "/api/v1/health/live":
            head = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
            prepared.append((head, b""))
            continue
        payload = json.dumps(
            application_body(person, form, f"http-{index}-{time.time_ns()}"), ensure_ascii=False
        ).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {tokens[person]}\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        prepared.append((head, payload))
    return prepared


@contextmanager
def no_collector_pauses() -> Iterator[None]:
    """The load generator without its cyclic garbage collector. Its heap holds every prepared
    request, and each full collection walked it: pauses of about 0.1 s, five or six per run, during
    which requests fell due and went out late — measured as the server's latency. (The server's
    workers freeze what they load at start for the same reason: ``Deployment.warm``.)"""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def offered_count(seconds: float, rate: int = TARGET_RATE) -> int:
    """Applications an open loop sends: 3 s of warm-up and ``seconds`` measured."""
    return int(rate * (seconds + 3))


def offered(
    port: int,
    newcomers: list[str],
    tokens: dict[str, str],
    form: dict[str, object],
    seconds: float,
    rate: int = TARGET_RATE,
    label: str = "",
) -> None:
    """The target as stated — 1,000 applications a second with p99 under 50 ms — measured as such:
    an open loop offering exactly ``rate`` (after 3 s of it to warm up, not counted), latency from
    each request's due time. wrk's closed loop above measures the most the server can take.

    As in real traffic, every application comes from a different applicant, so no bearer token is
    in the server's cache yet: each one is looked up in the database."""
    prepared = http_requests(newcomers, tokens, form, offered_count(seconds, rate), "/api/v1/applications")
    run = uvloop.run if uvloop is not None else asyncio.run
    with no_collector_pauses():
        run(paced_load(port, prepared[: rate * 3], rate, 3))
        done, latencies, statuses = run(paced_load(port, prepared[rate * 3 :], rate, seconds))
    print(
        f"  POST /applications, {rate:,d}/s offered (open loop{label})  {done:6,.0f} /s      p50 {statistics.median(latencies):6.1f} ms   "
        f"p99 {percentile(latencies, 0.99):6.1f} ms   p99.9 {percentile(latencies, 0.999):6.1f} ms   statuses {statuses}"
    )


def over_http(
    label: str,
    data_dir: Path,
    database_url: str | None,
    tokens: dict[str, str],
    other_tokens: list[dict[str, str]],
    regulars: list[str],
    newcomers: list[str],
    seconds: float,
    connections: int,
    workers: int,
) -> None:
    """``regulars`` apply again and again in the closed loop; each of ``newcomers`` applies once, in
    the open loop."""
    deployment = Deployment.open(load_settings(data_dir, database_url))
    form = form_fields(deployment)
    deployment.close()
    port = free_port()
    env = {**os.environ, "MIAOPI_DATA_DIR": str(data_dir)}
    if database_url:
        env["MIAOPI_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        # The legal clock's scheduler and the outbox dispatcher run as their own processes here
        # (miaopi scheduler run, miaopi notifications dispatch), as in production: planning the legal
        # clock of the cases that go to review is not the decision being measured.
        [
            *(sys.executable, "-m", "miaopi", "serve", "--port", str(port), "--workers", str(workers)),
            *("--no-scheduler", "--no-notifications"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.3)
        time.sleep(3)  # both workers warm
        if shutil.which("wrk"):
            script = WRK_SCRIPT % {
                "applicants": ",\n".join(
                    lua_applicant(tokens[person], application_body(person, form, "@KEY@"))
                    for person in regulars
                )
            }
            pids = server_processes(server.pid)
            ceiling, ceiling_used = wrk_load_measured(pids, port, "/api/v1/health/live", seconds, connections)
            ceiling_cpu = ceiling_used.cpu / max(ceiling.done, 1) * 1e6
            # PostgreSQL's backends: those the server's pools open during the run count from their start
            database = usage(postgres_processes() if database_url else [])
            stored, server_used = wrk_load_measured(pids, port, "/", seconds, connections, script)
            database_used = usage_since(database, postgres_processes() if database_url else [])
            per_application = max(stored.done, 1)
            stored_cpu, database_cpu = (
                used.cpu / per_application * 1e6 for used in (server_used, database_used)
            )
            server_written, database_written = (
                used.written / per_application / 1024 for used in (server_used, database_used)
            )
            print(
                f"over HTTP, {label}: {workers} worker(s), {connections} connections, {seconds:.0f} s, load from wrk on the same 2 cores"
            )
            print(
                f"  GET /health/live (HTTP stack ceiling)    {ceiling.rate:6,d} req/s   p99 {ceiling.p99:6.1f} ms   "
                f"server CPU {ceiling_cpu:6,.0f} µs/request"
            )
            print(
                f"  POST /applications, decided and stored   {stored.rate:6,d} /s      p50 {stored.p50:6.1f} ms   "
                f"p99 {stored.p99:6.1f} ms   non-2xx {stored.errors}   server CPU {stored_cpu:6,.0f} µs/application"
                + (f" + PostgreSQL {database_cpu:,.0f} µs" if database_url else "")
            )
            print(
                f"  written to storage per stored application: {server_written:,.0f} KB"
                + (f" (server) + {database_written:,.0f} KB (PostgreSQL)" if database_url else "")
            )
            print(
                f"  ratio to the ceiling: {stored.rate / max(ceiling.rate, 1):.2f} in throughput, "
                f"{stored_cpu / max(ceiling_cpu, 1):.1f}× its CPU per request"
            )
            offered(port, newcomers, tokens, form, seconds)
            # Where 1,000/s is more than this machine takes, the latency above only measures the
            # queue: the same open loop at half and at 80 % of the closed loop's rate tells the
            # latency at loads it carries. The same newcomers, each with another token no server
            # has cached.
            for share, more_tokens in zip((0.5, 0.8), other_tokens, strict=True):
                rate = max(10, int(stored.rate * share) // 10 * 10)
                if rate < TARGET_RATE:
                    label = f", {share:.0%} of the closed loop"
                    offered(port, newcomers, more_tokens, form, seconds, rate, label)
            return
        ceiling, ceiling_latencies, _ = asyncio.run(
            load(
                port,
                http_requests(regulars, tokens, form, 400_000, "/api/v1/health/live"),
                seconds,
                connections,
            )
        )
        rate, latencies, statuses = asyncio.run(
            load(
                port,
                http_requests(regulars, tokens, form, 200_000, "/api/v1/applications"),
                seconds,
                connections,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"over HTTP, {label}: {workers} worker(s), {connections} connections, {seconds:.0f} s (load generator on the same 2 cores)"
    )
    print(
        f"  GET /health/live (HTTP stack ceiling)    {ceiling:6,d} req/s   p99 {percentile(ceiling_latencies, 0.99):6.1f} ms"
    )
    print(
        f"  POST /applications, decided and stored   {rate:6,d} /s      p50 {statistics.median(latencies):6.1f} ms   p99 {percentile(latencies, 0.99):6.1f} ms   statuses {statuses}"
    )
    print(f"  ratio to the ceiling: {rate / max(ceiling, 1):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--city", type=Path, help="an existing district city (else one is generated)")
    parser.add_argument("--applications", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="no in-process or SQLite runs")
    parser.add_argument(
        "--workers", type=int, action="append", help="server workers to run with (default: 1 and 2)"
    )
    args = parser.parse_args()
    worker_counts = args.workers or [1, 2]
    city = args.city or Path(tempfile.mkdtemp(prefix="miaopi-bench-")) / "district"
    if not (city / "resources.yaml").exists():
        print(f"generating a district city in {city} …", file=sys.stderr)
        generate_city(city, scale="district")
    # The closed loop's 500 regulars apply again and again; in the open loop each application comes
    # from another newcomer (the same newcomers in each server's run: a new server has cached no token).
    people = subjects(city, 500 + max(args.applications, offered_count(args.seconds)))
    regulars, newcomers = people[:500], people[500:][: offered_count(args.seconds)]

    def runs(label: str, database_url: str | None) -> None:
        data_dir = prepare(city, database_url)
        print(f"issuing {len(regulars) + len(newcomers):,} applicants' tokens ({label}) …", file=sys.stderr)
        tokens = issue_tokens(data_dir, database_url, regulars + newcomers)
        # for the open loops at rates the machine carries: each applicant new to the server again
        other_tokens = [issue_tokens(data_dir, database_url, newcomers) for _ in range(2)]
        for workers in worker_counts:
            over_http(
                label,
                data_dir,
                database_url,
                tokens,
                other_tokens,
                regulars,
                newcomers,
                args.seconds,
                args.connections,
                workers,
            )

    if not args.skip_sqlite:
        in_process(prepare(city, None), people[500:][: args.applications])
        runs("SQLite (WAL)", None)
    if not args.skip_postgres:
        schema = f"bench_{os.getpid()}"
        admin = Database(POSTGRES)
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        try:
            runs("PostgreSQL", f"{POSTGRES}?options=-csearch_path%3D{schema}")
        finally:
            with admin.engine.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
