"""The NATS JetStream durable consumer (``miaopi events consume``): at-least-once delivery made
exactly-once in effect.

Departments publish events as JSON on ``miaopi.events.<department>`` (the server's account
permissions decide who may publish on which subject: the subject names the sender). The consumer
pulls batches, validates each message, stores the batch and acts on it in one transaction
(``EventIntake.ingest``), and acknowledges only after that transaction has committed:

- killed before the commit: nothing was stored, the messages are redelivered after ``ack_wait``;
- killed after the commit but before the acks: the redelivered messages carry event ids already
  stored, so they are acknowledged and ignored (the unique constraint, not a lookup, decides).

A message that can never be valid (bad JSON, unknown type, a department sending another's type) is
terminated (not redelivered) and counted; its content is not logged (it may carry personal data).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from miaopi.events.intake import EventIn, EventRejected, ValidEvent, validate_event
from miaopi.events.service import EventIntake, Ingested

STREAM = "MIAOPI_EVENTS"
SUBJECT_PREFIX = "miaopi.events"
DURABLE = "miaopi-events"
# Test hook for the kill test: after a batch is stored, write this file and block before acknowledging.
HOLD_AFTER_STORE = "MIAOPI_EVENTS_HOLD_AFTER_STORE"
log = logging.getLogger("miaopi.events")


def subject_for(department: str, prefix: str = SUBJECT_PREFIX) -> str:
    return f"{prefix}.{department}"


@dataclass
class ConsumerCounts:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    cases: int = 0


BatchListener = Callable[[Sequence[Ingested], dt.datetime, dt.datetime], None]


class EventConsumer:
    def __init__(
        self,
        intake: EventIntake,
        servers: str = "nats://127.0.0.1:4222",
        *,
        stream: str = STREAM,
        durable: str = DURABLE,
        prefix: str = SUBJECT_PREFIX,
        batch: int = 200,
        ack_wait: float = 30.0,
        listener: BatchListener | None = None,
    ) -> None:
        self.intake = intake
        self.servers = servers
        self.stream = stream
        self.durable = durable
        self.prefix = prefix
        self.batch = batch
        self.ack_wait = ack_wait
        self.listener = listener
        self.counts = ConsumerCounts()
        hold = os.environ.get(HOLD_AFTER_STORE)
        self.hold_after_store = Path(hold) if hold else None

    async def run(
        self, stop: asyncio.Event | None = None, *, idle_exit: float | None = None
    ) -> ConsumerCounts:
        """Consume until ``stop`` is set (or, with ``idle_exit``, until no message came for that long)."""
        import nats
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig

        connection = await nats.connect(self.servers, name="miaopi-events-consumer")
        try:
            js = connection.jetstream()
            await ensure_stream(js, self.stream, self.prefix)
            subscription = await js.pull_subscribe(
                f"{self.prefix}.>",
                durable=self.durable,
                stream=self.stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait, max_ack_pending=self.batch * 20
                ),
            )
            idle_since = asyncio.get_running_loop().time()
            while stop is None or not stop.is_set():
                try:
                    messages = await subscription.fetch(self.batch, timeout=1)
                except (TimeoutError, NatsTimeout):
                    if idle_exit is not None and asyncio.get_running_loop().time() - idle_since > idle_exit:
                        break
                    continue
                idle_since = asyncio.get_running_loop().time()
                await self._handle(messages)
        finally:
            # Every handled batch is acknowledged already: flush those acks and close. (A drain would
            # wait for the pull subscription's pending fetch, up to its 30 s timeout.)
            try:
                await connection.flush()
            except Exception:  # the connection broke: what stopped the loop is the error to raise
                log.debug("events consumer: acknowledgements not flushed at close", exc_info=True)
            finally:
                await connection.close()
        return self.counts

    async def _handle(self, messages: Sequence[object]) -> None:
        received = dt.datetime.now(dt.UTC)
        valid: list[tuple[object, ValidEvent]] = []
        invalid: list[object] = []
        for message in messages:
            department = message.subject.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
            try:
                event = EventIn.model_validate_json(message.data)  # type: ignore[attr-defined]
                valid.append((message, validate_event(event, department, "nats", received)))
            except (ValidationError, EventRejected) as error:
                field = error.field if isinstance(error, EventRejected) else "body"
                log.warning("event refused from %s: field %s", department, field)
                invalid.append(message)
        self.counts.received += len(messages)
        results = await asyncio.to_thread(self.intake.ingest, [event for _, event in valid]) if valid else []
        committed = dt.datetime.now(dt.UTC)
        for result in results:
            if result.duplicate:
                self.counts.duplicates += 1
            else:
                self.counts.stored += 1
                self.counts.cases += len(result.cases)
        if self.listener is not None:
            self.listener(results, received, committed)
        if self.hold_after_store is not None:
            # Stored and committed, not yet acknowledged: the kill test's moment.
            self.hold_after_store.write_text(str(self.counts.stored), encoding="utf-8")
            await asyncio.Event().wait()
        for message, _ in valid:
            await message.ack()  # type: ignore[attr-defined]
        for message in invalid:
            self.counts.invalid += 1
            await message.term()  # type: ignore[attr-defined]


async def ensure_stream(js: object, stream: str = STREAM, prefix: str = SUBJECT_PREFIX) -> None:
    """Create the events stream (file storage, so the server keeps events across its restarts)."""
    from nats.js.api import StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(stream)  # type: ignore[attr-defined]
    except NotFoundError:
        await js.add_stream(  # type: ignore[attr-defined]
            StreamConfig(name=stream, subjects=[f"{prefix}.>"], storage=StorageType.FILE)
        )
