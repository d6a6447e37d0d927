"""The NATS JetStream durable consumer against the real server: at-least-once delivery, duplicates
acknowledged and ignored, invalid messages terminated — and the kill test: ``kill -9`` between
storing and acknowledging loses nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from miaopi.events.consumer import HOLD_AFTER_STORE, EventConsumer, ensure_stream, subject_for
from miaopi.events.models import Event
from miaopi.proactive.models import ProactiveCase
from miaopi.store import Database
from tests.conftest import NATS_ADDRESS
from tests.events.world import BUILDER, name_change, open_world

pytestmark = pytest.mark.nats
SERVER = f"nats://{NATS_ADDRESS}"


def _names() -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"T{tag}", f"d{tag}", f"t{tag}.events"


async def _publish(stream: str, prefix: str, messages: list[tuple[str, bytes]]) -> None:
    import nats

    connection = await nats.connect(SERVER)
    try:
        js = connection.jetstream()
        await ensure_stream(js, stream, prefix)
        for department, data in messages:
            await js.publish(subject_for(department, prefix), data, stream=stream)
    finally:
        await connection.drain()


async def _consumer_state(stream: str, durable: str) -> tuple[int, int]:
    import nats

    connection = await nats.connect(SERVER)
    try:
        info = await connection.jetstream().consumer_info(stream, durable)
        return int(info.num_ack_pending), int(info.num_pending)
    finally:
        await connection.drain()


async def _delete_stream(stream: str) -> None:
    import nats

    connection = await nats.connect(SERVER)
    try:
        await connection.jetstream().delete_stream(stream)
    finally:
        await connection.drain()


def _event(number: int) -> bytes:
    day = f"2026-11-{1 + number % 20:02d}"
    body: dict[str, Any] = name_change(f"mr-{number:05d}", payload={"change_date": day})
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _stored(database_url: str) -> tuple[int, int, int]:
    database = Database(database_url)
    try:
        with database.session() as session:
            events = int(session.scalar(select(func.count()).select_from(Event)) or 0)
            distinct = int(session.scalar(select(func.count(func.distinct(Event.event_id)))) or 0)
            cases = int(session.scalar(select(func.count()).select_from(ProactiveCase)) or 0)
        return events, distinct, cases
    finally:
        database.dispose()


def test_consumer_stores_once_and_terminates_invalid_messages(tmp_path: Path, database_url: str) -> None:
    stream, durable, prefix = _names()
    deployment = open_world(tmp_path / "data", database_url)
    try:
        messages = [
            ("market_regulation", _event(1)),
            ("market_regulation", _event(2)),
            ("market_regulation", _event(1)),  # a repeated delivery of the same event id
            ("market_regulation", b"{not json"),
            ("education", _event(3)),  # education may not send registration changes
        ]
        asyncio.run(_publish(stream, prefix, messages))
        consumer = EventConsumer(
            deployment.events, SERVER, stream=stream, durable=durable, prefix=prefix, batch=2, ack_wait=2
        )
        counts = asyncio.run(consumer.run(idle_exit=2))
        assert (counts.received, counts.stored, counts.duplicates, counts.invalid) == (5, 2, 1, 2)
        assert counts.cases == 2
        assert _stored(database_url) == (2, 2, 2)
        assert asyncio.run(_consumer_state(stream, durable)) == (0, 0)
    finally:
        deployment.close()
        asyncio.run(_delete_stream(stream))


def _consume(
    data_dir: Path, database_url: str, names: tuple[str, str, str], **env: str
) -> subprocess.Popen[str]:
    stream, durable, prefix = names
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "miaopi",
            "events",
            "consume",
            "--data-dir",
            str(data_dir),
            "--servers",
            SERVER,
            "--stream",
            stream,
            "--durable",
            durable,
            "--prefix",
            prefix,
            "--batch",
            "5",
            "--ack-wait",
            "1",
            "--idle-exit",
            "4",
        ],
        env={**os.environ, "MIAOPI_DATABASE_URL": database_url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_kill_between_storing_and_acknowledging_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, database_url: str
) -> None:
    names = _names()
    stream, durable, prefix = names
    data_dir = tmp_path / "data"
    open_world(data_dir, database_url).close()
    total = 20
    asyncio.run(_publish(stream, prefix, [("market_regulation", _event(n)) for n in range(total)]))
    marker = tmp_path / "stored-not-acknowledged"
    try:
        first = _consume(data_dir, database_url, names, **{HOLD_AFTER_STORE: str(marker)})
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the consumer never stored a batch"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)  # stored and committed, not acknowledged
        first.wait(timeout=30)
        events, _, cases = _stored(database_url)
        assert events == 5 and cases == 5  # the first batch was stored before the kill
        assert asyncio.run(_consumer_state(stream, durable))[0] == 5  # …and never acknowledged

        second = _consume(data_dir, database_url, names)
        output, _ = second.communicate(timeout=180)
        assert second.returncode == 0, output
        assert "重复 5" in output  # the five redelivered messages were recognised
        assert _stored(database_url) == (total, total, total)  # nothing lost, nothing duplicated
        assert asyncio.run(_consumer_state(stream, durable)) == (0, 0)
    finally:
        asyncio.run(_delete_stream(stream))
    with Database(database_url).session() as session:
        subjects = set(session.scalars(select(ProactiveCase.subject)))
    assert subjects == {BUILDER}
