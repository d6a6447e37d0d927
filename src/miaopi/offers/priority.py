"""The budget order (docs/offers.md): a policy's ``priority_order`` keys, then the SHA-256 of the
subject id, encoded as one fixed-width text ``queue_key`` that sorts the same way everywhere (Python,
SQLite, PostgreSQL) and stays comparable between screenings of the same period.

Per key: ``0`` + 16 hex digits of the value's IEEE-754 bits made order-preserving (inverted for
``desc``), or ``1`` + 16 zeros for NULL (so a missing value always comes after every known one);
then the 64 hex digits of ``sha256(subject id)``. A hash rather than the id itself, so that no region
code or registration order inside identifiers gives anyone a place in the queue.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import struct
from collections.abc import Sequence

import duckdb

from miaopi.catalog import Catalog, Policy, screening_query
from miaopi.catalog.model import PriorityKey
from miaopi.sharing import PopulationRead, SharingExchange

_MASK = (1 << 64) - 1
_NULL = "1" + "0" * 16


def encode_key(value: float | None, *, descending: bool = False) -> str:
    if value is None:
        return _NULL
    bits: int = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))[0]  # + 0.0: no -0.0
    bits = (~bits & _MASK) if bits >> 63 else bits | (1 << 63)
    if descending:
        bits ^= _MASK
    return f"0{bits:016x}"


def queue_key(subject: str, values: Sequence[float | None] = (), keys: Sequence[PriorityKey] = ()) -> str:
    encoded = "".join(
        encode_key(value, descending=key.descending) for value, key in zip(values, keys, strict=True)
    )
    return encoded + hashlib.sha256(subject.encode("utf-8")).hexdigest()


def priority_values(
    catalog: Catalog, exchange: SharingExchange, policy: Policy, as_of: dt.date
) -> dict[str, tuple[float | None, ...]]:
    """Each eligible subject's priority key values on ``as_of``, computed by the same compiled
    population query as the screening (each key rides in as the amount of a copy of the policy, so
    it is NULL for anyone not eligible); the reads are checked and logged under the policy's purpose."""
    version = policy.version_on(as_of)
    if not policy.priority_order or version is None:
        return {}
    copies = [
        dataclasses.replace(policy, versions=(dataclasses.replace(version, amount=key.expression),))
        for key in policy.priority_order
    ]
    query = screening_query(catalog, copies, as_of)
    connection = duckdb.connect()
    try:
        # One logged read for the policy: the union of what its keys read.
        union: dict[str, dict[str, None]] = {}
        for read in query.reads:
            for code, fields in read.requests.items():
                union.setdefault(code, {}).update(dict.fromkeys(fields))
        requests = {code: tuple(fields) for code, fields in union.items()}
        exchange.population_reads([PopulationRead(policy.department, policy.purpose, requests)], connection)
        first = query.policies[0]
        values = ", ".join(f"CAST({columns.amount} AS DOUBLE)" for columns in query.policies)
        rows = connection.execute(
            f"SELECT subject, {values} FROM ({query.sql}) q WHERE {first.screened} AND {first.status} = 'eligible'"
        ).fetchall()
    finally:
        connection.close()
    return {str(row[0]): tuple(None if value is None else float(value) for value in row[1:]) for row in rows}
