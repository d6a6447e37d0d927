"""Issuing licences inside the transaction that stores the approval.

An approved case yields a :class:`LicenceRequest` (its item's result licence type, filled from the
case's facts). :meth:`LicenceIssuer.issue` runs in the caller's transaction — the case writer's batch
for automatic approvals, the reviewer's transaction for manual and deemed ones: it advances the
counter rows (serials per type and issuer; status positions per issuer) once per batch, builds each
credential, signs it with the issuer's current key, and inserts the rows. Either the approval and
its licence are both stored, or neither is.

Status list positions: the ``n``-th licence of an issuer takes list ``n // 131072 + 1`` and, in it,
index ``(n × 0x9E3779B1 + 0x5BD1) mod 131072`` — a bijection on the list (the multiplier is odd and
the list size a power of two), so indexes never collide yet do not reveal the order of issue, as
the Bitstring Status List specification recommends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from miaopi.audit import AuditRecord
from miaopi.catalog.licence_types import LicenceType
from miaopi.licence.credential import HolderCodeType, Issuer, LicenceHolder, StatusReference, build_credential
from miaopi.licence.identifier import make_identifier
from miaopi.licence.keys import KeyStore
from miaopi.licence.models import IssuedLicence, LicenceCounter
from miaopi.licence.signing import Signer, add_proof
from miaopi.licence.status import MIN_ENTRIES, StatusPurpose
from miaopi.store.bulk import insert_many
from miaopi.store.driver import execute
from miaopi.store.insert_new import insert_for

__all__ = [
    "LIST_SIZE",
    "LicenceIssuer",
    "LicenceRequest",
    "list_id",
    "parse_list_id",
    "request_for",
    "status_position",
]

LIST_SIZE = MIN_ENTRIES
_MULTIPLIER = 0x9E3779B1
_OFFSET = 0x5BD1


def status_position(n: int) -> tuple[int, int]:
    """List number and index of an issuer's ``n``-th licence (0-based)."""
    return n // LIST_SIZE + 1, (n % LIST_SIZE * _MULTIPLIER + _OFFSET) % LIST_SIZE


def list_id(issuer_code: str, purpose: StatusPurpose, list_no: int) -> str:
    return f"{issuer_code}-{StatusPurpose(purpose).value}-{list_no}"


def parse_list_id(text: str) -> tuple[str, StatusPurpose, int]:
    """``<issuer code>-<revocation|suspension>-<n>`` → its parts; ValueError (Chinese) otherwise."""
    parts = text.split("-")
    if len(parts) != 3 or parts[1] not in {p.value for p in StatusPurpose} or not parts[2].isdigit():
        raise ValueError(f"状态列表编号“{text}”无效：应为 <签发机关代码>-<revocation|suspension>-<序号>")
    return parts[0], StatusPurpose(parts[1]), int(parts[2])


@dataclass
class LicenceRequest:
    """One licence to issue for an approved case."""

    case_no: str
    licence_type: LicenceType
    holder: str  # citizen ID number or unified social credit code
    holder_kind: str  # person | enterprise
    holder_name: str
    fields: dict[str, Any]  # label → printed value
    valid_from: dt.date
    valid_until: dt.date | None
    actor: str  # who approved: "system" for automatic approvals, the reviewer otherwise
    identifier: str | None = None  # set once issued


def _printable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plus_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def request_for(
    licence_type: LicenceType,
    *,
    case_no: str,
    holder: str,
    values: Mapping[str, Any],
    decided_on: dt.date,
    actor: str,
) -> LicenceRequest:
    """The licence an approved case issues, its fields filled from the case's fact ``values``.

    Validity runs from the decision day: ``years``/``months`` up to the day before the same date
    that many years or months later; ``until`` to the date the fact gives (a change keeps the
    original licence's expiry); when that fact is unknown the licence gets no end date rather than
    an invented one — the reviewer sees the case's facts."""
    validity = licence_type.validity
    until: dt.date | None = None
    if validity.years or validity.months:
        until = _plus_months(decided_on, validity.years * 12 + validity.months) - dt.timedelta(days=1)
    elif validity.until_fact:
        until = _as_date(values.get(validity.until_fact))
        if until is not None and until < decided_on:
            until = decided_on
    name = values.get(licence_type.holder_name)
    fields = {
        field.label: _printable(values[field.fact])
        for field in licence_type.fields
        if values.get(field.fact) is not None
    }
    return LicenceRequest(
        case_no=case_no,
        licence_type=licence_type,
        holder=holder,
        holder_kind=licence_type.subject,
        holder_name=str(name) if name else "（登记名称缺失）",
        fields=fields,
        valid_from=decided_on,
        valid_until=until,
        actor=actor,
    )


class LicenceIssuer:
    """Numbers, signs and stores licences in the caller's transaction."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def issue(
        self, session: Session, requests: Sequence[LicenceRequest], at: dt.datetime
    ) -> list[AuditRecord]:
        """Issue every request (setting its ``identifier``); returns the audit records to append in
        the same transaction."""
        if not requests:
            return []
        serial_blocks: dict[tuple[str, str], int] = {}
        status_blocks: dict[str, int] = {}
        for request in requests:
            kind = request.licence_type
            serial_blocks[(kind.code, kind.issuer_code)] = (
                serial_blocks.get((kind.code, kind.issuer_code), 0) + 1
            )
            status_blocks[kind.issuer_code] = status_blocks.get(kind.issuer_code, 0) + 1
        # Counters in a fixed order, so two transactions never wait for each other's rows crosswise.
        next_serial = {
            key: _advance(session, f"serial:{key[0]}.{key[1]}", count)
            for key, count in sorted(serial_blocks.items())
        }
        next_status = {
            code: _advance(session, f"status:{code}", count) for code, count in sorted(status_blocks.items())
        }
        created = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows: list[dict[str, Any]] = []
        records: list[AuditRecord] = []
        issuers: dict[str, Issuer] = {}
        signers: dict[str, Signer] = {}
        list_urls: dict[tuple[str, StatusPurpose, int], str] = {}
        for request in requests:
            kind = request.licence_type
            serial = next_serial[(kind.code, kind.issuer_code)] + 1
            next_serial[(kind.code, kind.issuer_code)] = serial
            position = next_status[kind.issuer_code]
            next_status[kind.issuer_code] = position + 1
            list_no, index = status_position(position)
            issuer = issuers.get(kind.issuer_code)
            if issuer is None:
                issuer = Issuer(self.keys.issuer_id(kind.issuer_code), kind.issuer_name, kind.issuer_code)
                issuers[kind.issuer_code] = issuer
            identifier = make_identifier(kind.code, kind.issuer_code, f"{serial:010d}", 1)
            signer = signers.get(kind.issuer_code)
            if signer is None:
                signer = signers[kind.issuer_code] = self.keys.signer(kind.issuer_code)
            references = []
            for purpose in (StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION):
                url = list_urls.get((kind.issuer_code, purpose, list_no))
                if url is None:
                    url = self.keys.status_list_url(list_id(kind.issuer_code, purpose, list_no))
                    list_urls[(kind.issuer_code, purpose, list_no)] = url
                references.append(StatusReference(purpose, index, url))
            document = build_credential(
                identifier=identifier,
                licence_type=kind.credential_type,
                licence_name=kind.name,
                issuer=issuer,
                holder=LicenceHolder(
                    request.holder,
                    HolderCodeType.CITIZEN_ID
                    if request.holder_kind == "person"
                    else HolderCodeType.CREDIT_CODE,
                    request.holder_name,
                ),
                valid_from=request.valid_from,
                valid_until=request.valid_until,
                licence_fields=request.fields,
                status=references,
            )
            signed = add_proof(document, signer, created)
            request.identifier = identifier
            rows.append(
                {
                    "identifier": identifier,
                    "case_no": request.case_no,
                    "type_name": kind.name,
                    "type_code": kind.code,
                    "issuer_code": kind.issuer_code,
                    "department": kind.department,
                    "holder": request.holder,
                    "holder_kind": request.holder_kind,
                    "serial": serial,
                    "list_no": list_no,
                    "status_index": index,
                    "valid_from": request.valid_from,
                    "valid_until": request.valid_until,
                    "status": "valid",
                    "issued_at": at,
                    "key_id": signer.key_id,
                    "document": signed,
                }
            )
            records.append(
                AuditRecord(
                    actor=request.actor,
                    action="licence.issued",
                    target=identifier,
                    outcome="valid",
                    details={"case": request.case_no, "type": kind.name, "key": signer.key_id},
                    at=at,
                )
            )
        insert_many(session, cast(Table, IssuedLicence.__table__), rows)
        return records


def _counter_upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE … RETURNING`` of one counter, built once per dialect."""
    table = cast(Table, LicenceCounter.__table__)
    return (
        insert_for(dialect)(table)
        .values(name=bindparam("name"), value=bindparam("count", type_=Integer))
        .on_conflict_do_update(
            index_elements=[table.c.name], set_={"value": table.c.value + bindparam("count", type_=Integer)}
        )
        .returning(table.c.value)
    )


_UPSERTS = {dialect: _counter_upsert(dialect) for dialect in ("postgresql", "sqlite")}


def _advance(session: Session, name: str, count: int) -> int:
    """Advance counter ``name`` by ``count`` in this transaction (its row stays locked until commit);
    returns the value before, i.e. the first of the ``count`` numbers now taken. One statement on
    SQLite and PostgreSQL (an upsert returning the new value, built once): it runs in every group
    commit that issues a licence, while the database's write lock is held."""
    dialect = session.get_bind().dialect.name
    if dialect in _UPSERTS:
        ((value,),) = execute(session, _UPSERTS[dialect], {"name": name, "count": count})
        return int(value) - count
    if session.get(LicenceCounter, name) is None:  # pragma: no cover - other databases
        session.execute(insert(LicenceCounter).values(name=name, value=0))
    session.execute(
        update(LicenceCounter).where(LicenceCounter.name == name).values(value=LicenceCounter.value + count)
    )
    value = session.scalar(select(LicenceCounter.value).where(LicenceCounter.name == name))
    assert value is not None
    return int(value) - count
