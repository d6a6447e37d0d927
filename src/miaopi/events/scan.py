"""The platform's daily scans, which turn shared data into events: licences approaching expiry
(``miaopi events scan-expiry``) and people turning 65, 70 or 80 (``miaopi events scan-ages``).

Each scan reads whole resources through the sharing exchange (DuckDB over Parquet, or the
department's database), under the data bureau's own grant, and sends its events through the same
intake as any department. Event ids are derived from what they describe (the licence and its
expiry date; the person and the age), so running a scan twice — or on overlapping days — stores
each event once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from miaopi.catalog import Catalog
from miaopi.events.intake import ValidEvent
from miaopi.events.service import EventIntake
from miaopi.events.types import EVENT_TYPES, PLATFORM, TRACKED_AGES
from miaopi.identity import parse_subject_id
from miaopi.licence.models import IssuedLicence
from miaopi.proactive.models import ProactiveCase
from miaopi.sharing import Grant, SharingExchange
from miaopi.sharing.sources import quote_identifier

SCAN_PURPOSE = "events:scan"
EXPIRY_FIELDS = ("licence_type_name", "licence_number", "valid_to", "status")
PERSON_FIELDS = ("birth_date", "death_date")
BATCH = 500


def scan_grants(catalog: Catalog) -> list[Grant]:
    """What the scans read: licences' type, number, expiry and status; people's birth and death dates."""
    grants = [
        Grant(PLATFORM, SCAN_PURPOSE, resource, frozenset(EXPIRY_FIELDS))
        for resource in catalog.facts.licences.values()
    ]
    person = catalog.facts.registries.get("person")
    if person is not None:
        grants.append(Grant(PLATFORM, SCAN_PURPOSE, person, frozenset(PERSON_FIELDS)))
    return grants


@dataclass(frozen=True)
class ScanResult:
    found: int
    stored: int
    duplicates: int
    cases: int


def scan_expiry(
    catalog: Catalog,
    exchange: SharingExchange,
    intake: EventIntake,
    as_of: dt.date,
    within: int = 60,
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Licences in force whose validity ends within ``within`` days of ``as_of`` → ``licence.expiring``."""

    def events() -> Iterator[ValidEvent]:
        now = dt.datetime.now(dt.UTC)
        superseded = _superseded(intake)
        for kind, resource in catalog.facts.licences.items():
            connection = exchange.population(
                department=PLATFORM, purpose=SCAN_PURPOSE, requests={resource: EXPIRY_FIELDS}
            )
            key = exchange.catalogue.resource(resource).key
            rows = connection.execute(
                f"SELECT {quote_identifier(key)}, licence_type_name, licence_number, valid_to "
                f"FROM {quote_identifier(resource)} WHERE status = '有效' AND valid_to >= ? AND valid_to <= ? "
                f"ORDER BY valid_to, licence_number",
                [as_of, as_of + dt.timedelta(days=within)],
            ).fetchall()
            for holder, licence_type, number, valid_to in rows:
                if number in superseded:  # replaced through a proactive case: its successor is scanned
                    continue
                yield _expiring(kind, str(holder), licence_type, number, valid_to, as_of, now)

        # Licences Miaopi issued itself (电子证照 signed here) expire too.
        with intake.database.session() as session:
            issued = session.execute(
                select(
                    IssuedLicence.holder,
                    IssuedLicence.type_name,
                    IssuedLicence.identifier,
                    IssuedLicence.valid_until,
                )
                .where(
                    IssuedLicence.status == "valid",
                    IssuedLicence.valid_until >= as_of,
                    IssuedLicence.valid_until <= as_of + dt.timedelta(days=within),
                )
                .order_by(IssuedLicence.valid_until, IssuedLicence.identifier)
            ).all()
        for holder, licence_type, number, valid_to in issued:
            if valid_to is None:  # excluded by the query; says so to the type checker
                continue
            kind = parse_subject_id(holder)[0].value
            yield _expiring(kind, holder, licence_type, number, valid_to, as_of, now)

    return _send(intake, events(), progress)


def _expiring(
    kind: str,
    holder: str,
    licence_type: str,
    number: str,
    valid_to: dt.date,
    as_of: dt.date,
    now: dt.datetime,
) -> ValidEvent:
    """The ``licence.expiring`` (enterprise) or ``licence.person_expiring`` event of one licence; its id
    names the licence and the end of validity, so the next day's scan stores nothing new."""
    return ValidEvent(
        source=PLATFORM,
        event_id=f"expiry:{number}:{valid_to.isoformat()}",
        type=EVENT_TYPES["licence.expiring" if kind == "enterprise" else "licence.person_expiring"],
        subject=holder,
        occurred_on=as_of,
        payload={
            "licence_type": licence_type,
            "licence_number": number,
            "valid_to": valid_to,
            "days_left": (valid_to - as_of).days,
        },
        channel="scan",
        received_at=now,
    )


def _pseudonym(subject: str) -> str:
    """A stable stand-in for an ID number in an event id (ids reach the audit log; ID numbers must not)."""
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()[:20]


def _superseded(intake: EventIntake) -> set[str]:
    """Licences from another system's library that a proactive case replaced (the library still lists
    them as valid; Miaopi cannot revoke them there)."""
    with intake.database.session() as session:
        replaced = session.scalars(
            select(ProactiveCase.replaced_licence).where(
                ProactiveCase.status == "delivered", ProactiveCase.replaced_licence.is_not(None)
            )
        ).all()
    return {str(r["licence_number"]) for r in replaced if r and r.get("revocation") == "superseded"}


def scan_ages(
    catalog: Catalog,
    exchange: SharingExchange,
    intake: EventIntake,
    as_of: dt.date,
    since: dt.date | None = None,
    ages: Sequence[int] = TRACKED_AGES,
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Living people who turned one of ``ages`` on a day from ``since`` to ``as_of`` → ``person.turned_age``
    (a person born on 29 February turns a year older on 28 February in common years)."""
    resource = catalog.facts.registries.get("person")
    if resource is None:
        return ScanResult(0, 0, 0, 0)
    first = since or as_of
    event_type = EVENT_TYPES["person.turned_age"]

    def events() -> Iterator[ValidEvent]:
        now = dt.datetime.now(dt.UTC)
        connection = exchange.population(
            department=PLATFORM, purpose=SCAN_PURPOSE, requests={resource: PERSON_FIELDS}
        )
        key = quote_identifier(exchange.catalogue.resource(resource).key)
        for age in ages:
            rows = connection.execute(
                f"SELECT {key}, CAST(birth_date + to_years(CAST(? AS INTEGER)) AS DATE) AS birthday "
                f"FROM {quote_identifier(resource)} "
                f"WHERE birth_date + to_years(CAST(? AS INTEGER)) BETWEEN ? AND ? "
                f"AND (death_date IS NULL OR death_date > ?) ORDER BY 1",
                [age, age, first, as_of, as_of],
            ).fetchall()
            for person, birthday in rows:
                yield ValidEvent(
                    source=PLATFORM,
                    event_id=f"age:{_pseudonym(str(person))}:{age}",
                    type=event_type,
                    subject=str(person),
                    occurred_on=birthday,
                    payload={"age": age, "birthday": birthday},
                    channel="scan",
                    received_at=now,
                )

    return _send(intake, events(), progress)


def _send(
    intake: EventIntake, events: Iterator[ValidEvent], progress: Callable[[int], None] | None
) -> ScanResult:
    found = stored = duplicates = cases = 0
    batch: list[ValidEvent] = []

    def flush() -> None:
        nonlocal stored, duplicates, cases
        for result in intake.ingest(batch):
            if result.duplicate:
                duplicates += 1
            else:
                stored += 1
                cases += len(result.cases)
        batch.clear()
        if progress is not None:
            progress(found)

    for event in events:
        found += 1
        batch.append(event)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return ScanResult(found, stored, duplicates, cases)
