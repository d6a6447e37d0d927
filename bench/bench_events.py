"""无感审批 events at load: sustained ingestion through NATS JetStream, and what it costs.

A separate publisher process sends ``enterprise.name_changed`` events at a fixed rate (default
1,000/s for 20 s) to JetStream; the durable consumer (``EventConsumer``, in this process) stores
each batch, evaluates the three registration-change triggers of the demo catalogue over the
enterprise's shared data, opens the proactive cases that fire (about 1 event in 5 concerns a holder
of a construction, survey or disinfection licence) and queues their notifications — one
transaction per batch — and only then acknowledges. Figures: events stored per second, and p50/p99
of *received → notification queued* (the consumer's fetch to the batch's commit) and of
*published → queued*.

Baselines in the same run, on the same store: raw inserts of the same event rows (no triggers, no
cases, no audit), and ``EventIntake.ingest`` called directly in batches (no NATS).

    .venv/bin/python bench/bench_events.py [--rate 1000] [--seconds 20] [--database-url URL] [--city DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Table, insert

from miaopi.catalog import DEMO_CATALOG
from miaopi.city import generate_city
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.events import EventIn, validate_event
from miaopi.events.consumer import EventConsumer, ensure_stream, subject_for
from miaopi.events.models import Event
from miaopi.store import Database

SERVER = "nats://127.0.0.1:4222"
HOLDER_TYPES = ("建筑业企业资质证书", "工程勘察资质证书", "消毒产品生产企业卫生许可证")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def subjects(city: Path) -> tuple[list[str], list[str]]:
    registry = pq.read_table(
        city / "market_regulation" / "enterprise.registry.parquet", columns=["credit_code"]
    )
    licences = pq.read_table(
        city / "data_bureau" / "licence.enterprise_licence.parquet",
        columns=["holder_id", "licence_type_name", "status"],
    ).to_pylist()
    holders = sorted(
        {r["holder_id"] for r in licences if r["licence_type_name"] in HOLDER_TYPES and r["status"] == "有效"}
    )
    return registry.column("credit_code").to_pylist(), holders


def events(count: int, everyone: list[str], holders: list[str], tag: str, seed: int = 7) -> list[bytes]:
    """Name changes: one in five for a licence holder (a case opens), the rest for any enterprise."""
    chooser = random.Random(seed)
    out = []
    for number in range(count):
        subject = chooser.choice(holders) if number % 5 == 0 and holders else chooser.choice(everyone)
        day = dt.date(2026, 1, 1) + dt.timedelta(days=chooser.randrange(320))
        body = {
            "id": f"{tag}-{number:07d}",
            "type": "enterprise.name_changed",
            "subject": subject,
            "occurred_on": day.isoformat(),
            "payload": {"change_date": day.isoformat()},
        }
        out.append(json.dumps(body).encode("utf-8"))
    return out


def prepare(city: Path, database_url: str | None) -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="miaopi-bench-events-"))
    (data_dir / "city").symlink_to(city.resolve())
    shutil.copytree(DEMO_CATALOG, data_dir / "catalog")
    settings = load_settings(data_dir, database_url)
    Database(settings.database_url).migrate()
    (data_dir / "miaopi.json").write_text(json.dumps({"version": "bench"}), encoding="utf-8")
    return data_dir


def fresh_store(database_url: str | None) -> tuple[str, Path | None]:
    """An empty store: a new SQLite file, or a new PostgreSQL schema."""
    if database_url is None:
        return "", None
    from sqlalchemy import text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = Database(database_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{database_url}?options=-csearch_path%3D{schema}", None


def baseline_raw_inserts(deployment: Deployment, bodies: list[bytes], batch: int) -> float:
    """The same event rows inserted as they are: no validation, no triggers, no cases, no audit."""
    table = Event.__table__
    assert isinstance(table, Table)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for body in bodies:
        event = json.loads(body)
        rows.append(
            {
                "source": "market_regulation",
                "event_id": "raw-" + event["id"],
                "type": event["type"],
                "subject": event["subject"],
                "occurred_on": dt.date.fromisoformat(event["occurred_on"]),
                "payload": event["payload"],
                "channel": "nats",
                "received_at": now,
                "stored_at": now,
                "outcome": [],
            }
        )
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        with deployment.database.session() as session:
            session.execute(insert(table), rows[first : first + batch])
    return len(rows) / (time.perf_counter() - started)


def direct_intake(deployment: Deployment, bodies: list[bytes], batch: int) -> tuple[float, int]:
    """``EventIntake.ingest`` in batches, no NATS: the ceiling of storing and acting in this process."""
    received = dt.datetime.now(dt.UTC)
    valid = [
        validate_event(
            EventIn.model_validate_json(body.replace(b'"id": "', b'"id": "direct-')),
            "market_regulation",
            "nats",
            received,
        )
        for body in bodies
    ]
    cases = 0
    started = time.perf_counter()
    for first in range(0, len(valid), batch):
        cases += sum(len(r.cases) for r in deployment.events.ingest(valid[first : first + batch]))
    return len(valid) / (time.perf_counter() - started), cases


def publish(stream: str, prefix: str, rate: float, bodies_file: Path, stamps_file: Path) -> None:
    """The publisher process: ``rate`` events per second, paced, each publish acknowledged by JetStream."""
    import nats

    bodies = [line.encode("utf-8") for line in bodies_file.read_text(encoding="utf-8").splitlines()]

    async def run() -> None:
        connection = await nats.connect(SERVER)
        js = connection.jetstream()
        await ensure_stream(js, stream, prefix)
        subject = subject_for("market_regulation", prefix)
        stamps: list[float] = []
        started = time.time()
        pending: list[Any] = []
        for number, body in enumerate(bodies):
            due = started + number / rate
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stamps.append(time.time())
            pending.append(asyncio.ensure_future(js.publish(subject, body, stream=stream)))
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        stamps_file.write_text(json.dumps(stamps), encoding="utf-8")
        await connection.close()  # every publish is acknowledged: nothing left to drain

    asyncio.run(run())


def sustained(deployment: Deployment, bodies: list[bytes], rate: float, batch: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCH{tag}", f"bench{tag}.events"
    work = Path(tempfile.mkdtemp(prefix="miaopi-bench-publish-"))
    (work / "bodies.jsonl").write_text("\n".join(b.decode("utf-8") for b in bodies), encoding="utf-8")
    latencies: list[float] = []
    committed_at: dict[str, float] = {}

    def listener(results: Any, received: dt.datetime, committed: dt.datetime) -> None:
        latencies.extend([(committed - received).total_seconds()] * len(results))
        stamp = committed.timestamp()
        for result in results:
            committed_at[result.event.event_id] = stamp

    consumer = EventConsumer(
        deployment.events,
        SERVER,
        stream=stream,
        durable="bench",
        prefix=prefix,
        batch=batch,
        listener=listener,
    )

    async def main() -> None:
        import nats

        connection = await nats.connect(SERVER)
        await ensure_stream(connection.jetstream(), stream, prefix)
        await connection.drain()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        publisher = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--publish",
            stream,
            prefix,
            str(rate),
            str(work / "bodies.jsonl"),
            str(work / "stamps.json"),
        )
        await publisher.wait()
        while len(committed_at) < len(bodies):
            await asyncio.sleep(0.2)
        stop.set()
        await task
        connection = await nats.connect(SERVER)
        await connection.jetstream().delete_stream(stream)
        await connection.drain()

    asyncio.run(main())
    stamps = json.loads((work / "stamps.json").read_text(encoding="utf-8"))
    ids = [json.loads(b)["id"] for b in bodies]
    end_to_end = [committed_at[i] - s for i, s in zip(ids, stamps, strict=True)]
    span = max(committed_at.values()) - stamps[0]
    shutil.rmtree(work)
    return {
        "throughput": len(bodies) / span,
        "p50_received": percentile(latencies, 0.5),
        "p99_received": percentile(latencies, 0.99),
        "p50_published": percentile(end_to_end, 0.5),
        "p99_published": percentile(end_to_end, 0.99),
        "cases": float(consumer.counts.cases),
        "published_rate": len(stamps) / (stamps[-1] - stamps[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--city", type=Path, default=None, help="a generated city (default: demo scale, generated)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--publish", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        stream, prefix, rate, bodies, stamps = args.publish
        publish(stream, prefix, float(rate), Path(bodies), Path(stamps))
        return
    city = args.city
    if city is None:
        city = Path(tempfile.mkdtemp(prefix="miaopi-bench-city-")) / "city"
        generate_city(city, "demo")
    database_url, _ = fresh_store(args.database_url)
    data_dir = prepare(city, database_url or None)
    deployment = Deployment.open(load_settings(data_dir, database_url or None))
    deployment.warm()
    everyone, holders = subjects(city)
    count = int(args.rate * args.seconds)
    bodies = events(count, everyone, holders, uuid.uuid4().hex[:6])
    store = deployment.database.dialect
    print(
        f"store: {store}; {len(everyone):,} enterprises, {len(holders):,} hold a licence a trigger looks for"
    )
    print(f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")

    raw = baseline_raw_inserts(deployment, bodies[: min(len(bodies), 10_000)], args.batch)
    print(f"baseline — raw inserts of the event rows, batches of {args.batch}: {raw:,.0f} events/s")
    # Other subjects' occasions than the sustained run's, so that each run opens its own cases.
    others = events(min(count, 5_000), everyone, holders, uuid.uuid4().hex[:6], seed=11)
    direct, direct_cases = direct_intake(deployment, others, args.batch)
    print(
        f"intake in process (validate, 3 triggers over shared data, cases, notifications, audit): "
        f"{direct:,.0f} events/s ({direct_cases} cases)  = {direct / raw:.2f}× raw inserts"
    )
    figures = sustained(deployment, bodies, args.rate, args.batch)
    print(
        f"NATS JetStream, published at {figures['published_rate']:,.0f}/s for {args.seconds:g} s: "
        f"{figures['throughput']:,.0f} events/s stored and acted on ({figures['cases']:.0f} cases opened)"
    )
    print(
        f"  received → notification queued: p50 {figures['p50_received'] * 1000:,.0f} ms, "
        f"p99 {figures['p99_received'] * 1000:,.0f} ms (target < 1,000 ms)"
    )
    print(
        f"  published → notification queued: p50 {figures['p50_published'] * 1000:,.0f} ms, "
        f"p99 {figures['p99_published'] * 1000:,.0f} ms"
    )
    deployment.close()
    shutil.rmtree(data_dir)
    if args.database_url:
        from sqlalchemy import text

        admin = Database(args.database_url)
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{database_url.rsplit("%3D", 1)[-1]}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
