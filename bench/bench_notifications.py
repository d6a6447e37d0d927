"""Notifications: messages queued per second (validated, rendered, PII-checked, outbox rows and audit
entry, one transaction each) and delivered per second by one dispatcher (inbox + recorded SMS), on
SQLite and — when reachable — PostgreSQL.

Baseline in the same run: the same transactions inserting only the bare message row (no
validation, deliveries or audit), the floor of any transactional outbox on this store.

    .venv/bin/python bench/bench_notifications.py [--messages 2000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, text

from miaopi.auth import Principal
from miaopi.notifications import Dispatcher, NotificationConfig, Notifications, Templates
from miaopi.notifications.models import Message
from miaopi.store import Database

PERSON = "11010519491231002X"
OFFER = {"policy": "老年综合津贴", "amount": "每月 75 元", "deadline": "2026-12-31"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(database: Database, messages: int) -> dict[str, float]:
    config = NotificationConfig.from_mapping(
        {"channels": {"inbox": {"rate_per_second": 1e9}, "sms": {"rate_per_second": 1e9}}}
    )
    notifications = Notifications(database, Templates.load(), config)
    notifications.set_contact(
        Principal(account_id=1, kind="applicant", login=PERSON, role="applicant", subject_id=PERSON),
        "sms",
        "13812345678",
    )
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    for _ in range(messages):
        with database.session() as session:
            session.execute(
                insert(Message).values(
                    id=uuid.uuid4().hex,
                    recipient=PERSON,
                    template="baseline",
                    variables=OFFER,
                    title="t",
                    body="b",
                    created_at=now,
                )
            )
    baseline = messages / (time.perf_counter() - start)

    latencies = []
    start = time.perf_counter()
    for _ in range(messages):
        began = time.perf_counter()
        with database.session() as session:
            notifications.enqueue(
                session, recipient=PERSON, template="offer.made", variables=OFFER, channels=("inbox", "sms")
            )
        latencies.append(time.perf_counter() - began)
    queued = messages / (time.perf_counter() - start)

    dispatcher = Dispatcher(notifications, batch=200)
    start = time.perf_counter()
    sent = 0
    while (handled := dispatcher.run_once().handled) > 0:
        sent += handled
    dispatched = sent / (time.perf_counter() - start)
    assert sent == 2 * messages, sent
    return {
        "baseline_per_s": baseline,
        "queued_per_s": queued,
        "enqueue_p50_ms": statistics.median(latencies) * 1000,
        "enqueue_p99_ms": percentile(latencies, 0.99) * 1000,
        "deliveries_per_s": dispatched,
    }


def report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:10s} queued {figures['queued_per_s']:8.0f}/s (p50 {figures['enqueue_p50_ms']:.2f} ms, "
        f"p99 {figures['enqueue_p99_ms']:.2f} ms; bare row {figures['baseline_per_s']:.0f}/s)  "
        f"dispatched {figures['deliveries_per_s']:8.0f} deliveries/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
        database.migrate()
        report("SQLite", measure(database, arguments.messages))
        database.dispose()
    try:
        admin = Database(arguments.postgres)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        print(f"PostgreSQL not reachable ({type(error).__name__}): skipped")
        return
    try:
        database = Database(arguments.postgres, search_path=schema)
        database.migrate()
        report("PostgreSQL", measure(database, arguments.messages))
        database.dispose()
    finally:
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
