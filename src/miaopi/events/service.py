"""Storing events once and acting on them, in one transaction per batch.

``EventIntake.ingest`` evaluates the triggers of each event (reads only), then in one transaction
inserts the events that are new (``(source, event_id)`` is unique: a repeated delivery is ignored),
the proactive cases they open (unique per occasion) or end (a death), their notifications, the
access log and the audit entries. Only after that transaction commits may a consumer acknowledge
the messages — so a crash anywhere before the commit loses nothing (the message is redelivered) and
a crash after it duplicates nothing (the redelivery is recognised).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, update

from miaopi.audit import AuditLog, AuditRecord
from miaopi.events.intake import ValidEvent
from miaopi.events.models import Event
from miaopi.sharing.access_log import write_records
from miaopi.store import Database
from miaopi.store.insert_new import insert_new

if TYPE_CHECKING:  # proactive builds on events; events only hands it the batch
    from miaopi.proactive.detect import Candidate, Detector

EVENT_TABLE = cast(Table, Event.__table__)


@dataclass(frozen=True)
class Ingested:
    event: ValidEvent
    duplicate: bool
    outcome: list[dict[str, Any]] = field(default_factory=list)
    stored_at: dt.datetime | None = None

    @property
    def cases(self) -> list[str]:
        return [entry["case"] for entry in self.outcome if "case" in entry]


class EventIntake:
    def __init__(self, database: Database, detector: Detector, audit: AuditLog) -> None:
        self.database = database
        self.detector = detector
        self.audit = audit

    def ingest(self, events: Sequence[ValidEvent]) -> list[Ingested]:
        """Store and act on a batch of validated events; returns one result per event, in order."""
        first: dict[tuple[str, str], ValidEvent] = {}
        for event in events:
            first.setdefault(event.key, event)
        self.detector.prefetch(list(first.values()))
        evaluated: dict[tuple[str, str], list[Candidate]] = {
            key: self.detector.evaluate(event) for key, event in first.items()
        }
        try:
            return self._store(events, first, evaluated)
        finally:  # the reads of a batch that failed are not kept (the same batch is read again)
            self.detector.exchange.access_log.take_many(
                {c.reference for cs in evaluated.values() for c in cs}
            )

    def _store(
        self,
        events: Sequence[ValidEvent],
        first: dict[tuple[str, str], ValidEvent],
        evaluated: dict[tuple[str, str], list[Candidate]],
    ) -> list[Ingested]:
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            rows = [
                {
                    "source": event.source,
                    "event_id": event.event_id,
                    "type": event.type.code,
                    "subject": event.subject,
                    "occurred_on": event.occurred_on,
                    "payload": event.stored_payload(),
                    "channel": event.channel,
                    "received_at": event.received_at,
                    "stored_at": now,
                    "outcome": [c.planned() for c in evaluated[key]],
                }
                for key, event in first.items()
            ]
            inserted = {
                (source, event_id): row_id
                for row_id, source, event_id in insert_new(
                    session,
                    EVENT_TABLE,
                    rows,
                    ["source", "event_id"],
                    [EVENT_TABLE.c.id, EVENT_TABLE.c.source, EVENT_TABLE.c.event_id],
                )
            }
            # A repeated delivery's reads happened all the same: they are logged, nothing else.
            repeated = {c.reference for key in first.keys() - inserted.keys() for c in evaluated[key]}
            write_records(session, self.detector.exchange.access_log.take_many(repeated))
            audit: list[AuditRecord] = []
            by_row = self.detector.store(
                session, [(row, first[key], evaluated[key]) for key, row in inserted.items()], audit
            )
            outcomes: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for key, row_id in inserted.items():
                event = first[key]
                outcome = outcomes[key] = by_row[row_id]
                if outcome != [c.planned() for c in evaluated[key]]:  # the occasion had a case already
                    session.execute(update(Event).where(Event.id == row_id).values(outcome=outcome))
                audit.append(
                    AuditRecord(
                        actor=f"department:{event.source}",
                        action="event.received",
                        target=f"{event.source}:{event.event_id}",
                        outcome="stored",
                        details={
                            "type": event.type.code,
                            "channel": event.channel,
                            "cases": [entry["case"] for entry in outcome if "case" in entry],
                        },
                        at=now,
                    )
                )
            self.audit.append_many(session, audit)
        seen: set[tuple[str, str]] = set()
        results = []
        for event in events:
            new = event.key in outcomes and event.key not in seen
            seen.add(event.key)
            results.append(Ingested(event, not new, outcomes.get(event.key, []) if new else [], now))
        return results
