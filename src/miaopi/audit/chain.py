"""The audit log: an append-only, hash-chained record of every state change (等保2.0 audit records).

Each entry records when (UTC), who (``actor``), what (``action``), on what (``target``) and with which
``outcome``, plus canonical JSON ``details``. Its hash covers all of that, its sequence number and the
previous entry's hash, so changing, deleting, inserting or reordering entries breaks the chain and
:meth:`AuditLog.verify` names the first broken entry.

Hash of an entry (stable format — external auditors can recompute it)::

    sha256(utf8(json([seq, time, actor, action, target, outcome, details, prev_hash])))

with ``json`` = ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``, ``time`` the UTC time
as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, ``details`` the canonical JSON text as stored (sorted keys,
``ensure_ascii=False``, compact separators) and entry 1's ``prev_hash`` 64 zeros.

Appending happens inside the caller's transaction: a case change and its audit entry commit together
or not at all. Appenders serialise on the one-row ``audit_head`` table (see :meth:`AuditLog.append`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Integer, Row, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from miaopi.audit.models import GENESIS_HASH, AuditHead, AuditLogRecord
from miaopi.store.bulk import insert_many
from miaopi.store.driver import execute

LOG = cast(Table, AuditLogRecord.__table__)
HEAD = cast(Table, AuditHead.__table__)
HEAD_ID = 1

_LIMITS = {"actor": 128, "action": 64, "target": 128, "outcome": 64}
# The head's two statements, built once: every group commit of decided cases runs them.
_ADVANCE = (
    update(HEAD)
    .where(HEAD.c.id == HEAD_ID)
    .values(seq=HEAD.c.seq + bindparam("count", type_=Integer))
    .returning(HEAD.c.seq, HEAD.c.entry_hash)
)
_SET_HASH = update(HEAD).where(HEAD.c.id == HEAD_ID).values(entry_hash=bindparam("last_hash"))


class AuditError(Exception):
    """The audit log cannot be written (e.g. the store was not migrated)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    recorded_at: dt.datetime
    actor: str
    action: str
    target: str
    outcome: str
    details: str
    prev_hash: str
    entry_hash: str

    @property
    def details_dict(self) -> Any:
        return json.loads(self.details)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    """Entries found intact (all of them when ``ok``; those before the first broken one otherwise)."""
    first_broken: int | None
    """Sequence number of the first broken or missing entry, ``None`` when intact."""
    reason: str


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Details as canonical JSON text: sorted keys, UTF-8 characters kept, compact separators."""
    try:
        return json.dumps(
            dict(details or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"audit details must be JSON-serialisable: {error}") from error


def utc_time_text(moment: dt.datetime) -> str:
    """The entry time as hashed: UTC, microseconds, explicit offset."""
    return _as_utc(moment).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditRecord:
    """An entry to append: who did what to what, with which outcome."""

    actor: str
    action: str
    target: str
    outcome: str
    details: Mapping[str, Any] | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """An :class:`AuditRecord` checked and serialised ahead of its append (:func:`check_record`):
    only its sequence number and the previous entry's hash are left to hash once the chain's head
    is locked — the group commit of decided cases checks its records before taking the lock."""

    actor: str
    action: str
    target: str
    outcome: str
    details: str  # canonical JSON text
    at: dt.datetime  # UTC
    hashed: str  # the middle of the hashed JSON array: the items after the sequence number, up to the previous hash


def check_record(record: AuditRecord | CheckedRecord) -> CheckedRecord:
    """``record`` checked (non-empty fields within their limits, an aware time; ValueError
    otherwise), its details in canonical JSON and its time in UTC (now when it has none)."""
    if isinstance(record, CheckedRecord):
        return record
    fields = {
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "outcome": record.outcome,
    }
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"audit {name} must be a non-empty string")
        if len(value) > _LIMITS[name]:
            raise ValueError(f"audit {name} longer than {_LIMITS[name]} characters: {value[:40]}…")
    at = record.at
    if at is None:
        at = dt.datetime.now(dt.UTC)
    elif at.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    else:
        at = at.astimezone(dt.UTC)
    details = canonical_details(record.details)
    hashed = _hash_json(
        [utc_time_text(at), record.actor, record.action, record.target, record.outcome, details]
    )
    return CheckedRecord(
        record.actor, record.action, record.target, record.outcome, details, at, hashed[1:-1]
    )


def _hash_json(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _chained_hash(seq: int, record: CheckedRecord, prev_hash: str) -> str:
    """:func:`compute_hash` of the record at ``seq`` after ``prev_hash``, byte for byte: the JSON
    array ``[seq, …, prev_hash]`` put together around the part serialised ahead."""
    payload = f"[{seq},{record.hashed},{_hash_json([prev_hash])[1:-1]}]"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def compute_hash(
    seq: int,
    recorded_at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    details: str,
    prev_hash: str,
) -> str:
    payload = _hash_json(
        [seq, utc_time_text(recorded_at), actor, action, target, outcome, details, prev_hash]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _as_utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back the stored (UTC) wall time without an offset; PostgreSQL an aware value.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        recorded_at=_as_utc(row.recorded_at),
        actor=row.actor,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        details=row.details,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def _row_hash(row: Row[Any]) -> str:
    return compute_hash(
        row.seq, row.recorded_at, row.actor, row.action, row.target, row.outcome, row.details, row.prev_hash
    )


class AuditLog:
    """Append to and verify the audit chain of one case store (stateless; share one instance)."""

    def __init__(self, *, batch_size: int = 5000) -> None:
        self.batch_size = batch_size

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        details: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> AuditEntry:
        """Append one entry in the caller's transaction (the caller commits or rolls back).

        Three statements: lock-and-advance the head, insert the entry, store its hash in the head.

        The first statement is an ``UPDATE … RETURNING`` of the one-row head table, so the head is
        read under a write lock on both backends and concurrent appenders queue there:

        - PostgreSQL: the row lock on ``audit_head`` is held until the caller's transaction ends; a
          waiting appender (READ COMMITTED, the default) then re-reads the committed head row, so it
          continues the chain after the entry that just committed. No two transactions can hold the
          head at once, hence no duplicate sequence number and no fork. A transaction-scoped advisory
          lock would serialise the same way, but it costs an extra round trip and protects nothing the
          row lock does not (the head row always exists; the migration creates it and a trigger
          refuses its deletion).
        - SQLite: pysqlite (with SQLAlchemy 2's default, legacy transaction control) runs plain SELECTs
          outside a transaction and issues a deferred ``BEGIN`` right before the first write. Because
          our first statement *is* a write, it acquires SQLite's database-wide write lock (waiting up
          to ``busy_timeout``) before it reads the head, and keeps it until the caller commits. A
          SELECT of the head first would instead read a snapshot and then fail to upgrade with
          ``SQLITE_BUSY`` (“database is locked”) whenever another appender committed in between. If
          the caller has already written in this transaction, it holds the write lock already.

        The head stays locked until the caller commits, so append as late in the transaction as you
        can: every appender in the whole store waits on that lock.
        """
        (entry,) = self.append_many(
            session,
            [AuditRecord(actor=actor, action=action, target=target, outcome=outcome, details=details, at=at)],
        )
        return entry

    def append_many(
        self, session: Session, records: Sequence[AuditRecord | CheckedRecord]
    ) -> list[AuditEntry]:
        """Append several entries, in order, in the caller's transaction — the same three statements
        as one ``append`` (the head advances by ``len(records)`` at once), so a batch of stored
        decisions pays for the chain once. Records checked ahead (:func:`check_record`) leave less
        to do while the head is locked."""
        if not records:
            return []
        prepared = [check_record(record) for record in records]
        heads = execute(session, _ADVANCE, {"count": len(prepared)})
        if not heads:
            raise AuditError("审计链头记录缺失：请先迁移数据库（miaopi init）")
        (head_seq, head_hash), *_ = heads
        seq = int(head_seq) - len(prepared)
        prev_hash = str(head_hash)
        entries: list[AuditEntry] = []
        for record in prepared:
            seq += 1
            entry = AuditEntry(
                seq=seq,
                recorded_at=record.at,
                actor=record.actor,
                action=record.action,
                target=record.target,
                outcome=record.outcome,
                details=record.details,
                prev_hash=prev_hash,
                entry_hash=_chained_hash(seq, record, prev_hash),
            )
            entries.append(entry)
            prev_hash = entry.entry_hash
        insert_many(
            session,
            LOG,
            [
                {
                    "seq": entry.seq,
                    "recorded_at": entry.recorded_at,
                    "actor": entry.actor,
                    "action": entry.action,
                    "target": entry.target,
                    "outcome": entry.outcome,
                    "details": entry.details,
                    "prev_hash": entry.prev_hash,
                    "entry_hash": entry.entry_hash,
                }
                for entry in entries
            ],
        )
        execute(session, _SET_HASH, {"last_hash": prev_hash})
        return entries

    def head(self, session: Session) -> tuple[int, str] | None:
        """The last sequence number and its hash (``(0, GENESIS_HASH)`` when empty; ``None`` if lost)."""
        row = session.execute(select(HEAD.c.seq, HEAD.c.entry_hash).where(HEAD.c.id == HEAD_ID)).first()
        return None if row is None else (int(row.seq), str(row.entry_hash))

    def entry(self, session: Session, seq: int) -> AuditEntry | None:
        row = session.execute(select(LOG).where(LOG.c.seq == seq)).first()
        return None if row is None else _entry(row)

    def entries(
        self, session: Session, *, target: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries in sequence order, optionally only those about one target (e.g. one case number)."""
        query = select(LOG).where(LOG.c.seq > after).order_by(LOG.c.seq).limit(limit)
        if target is not None:
            query = query.where(LOG.c.target == target)
        return [_entry(row) for row in session.execute(query)]

    def _batches(self, session: Session, head_seq: int) -> Iterator[list[Row[Any] | int]]:
        """Entries up to the head in sequence order, ``batch_size`` at a time (keyset pagination).

        An entry whose stored values cannot be read back (e.g. a time rewritten as free text in
        SQLite) comes as its bare sequence number instead of failing the whole walk.
        """
        last: int | None = None
        while True:
            bounds = [LOG.c.seq <= head_seq] + ([] if last is None else [LOG.c.seq > last])
            batch: list[Row[Any] | int]
            try:
                batch = list(
                    session.execute(select(LOG).where(*bounds).order_by(LOG.c.seq).limit(self.batch_size))
                )
            except (TypeError, ValueError):
                numbers = session.execute(
                    select(LOG.c.seq).where(*bounds).order_by(LOG.c.seq).limit(self.batch_size)
                ).scalars()
                batch = []
                for seq in numbers:
                    try:
                        batch.append(session.execute(select(LOG).where(LOG.c.seq == seq)).one())
                    except (TypeError, ValueError):
                        batch.append(int(seq))
            if not batch:
                return
            yield batch
            tail = batch[-1]
            last = tail if isinstance(tail, int) else int(tail.seq)

    def verify(self, session: Session, *, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Walk the chain in sequence order, in batches, and report the first break.

        Checks every entry's hash against its content, its previous hash against the entry before, the
        numbering (gap-free from 1), and the last entry against the head row. Entries appended while
        this runs are not checked (the walk stops at the head read first).
        """
        head = self.head(session)
        if head is None:
            return VerifyResult(False, 0, None, "审计链头记录缺失（链头被删除），无法确认最后一条记录")
        head_seq, head_hash = head
        checked = 0
        last_seq, last_hash = 0, GENESIS_HASH
        for batch in self._batches(session, head_seq):
            for row in batch:
                seq = row if isinstance(row, int) else int(row.seq)
                expected = last_seq + 1
                if seq < expected:
                    return VerifyResult(
                        False,
                        checked,
                        seq,
                        f"第 {seq} 条记录的序号不在审计链上（序号应从 1 起连续，记录被插入）",
                    )
                if seq > expected:
                    return VerifyResult(False, checked, expected, f"缺少第 {expected} 条记录（记录被删除）")
                if isinstance(row, int):
                    return VerifyResult(
                        False, checked, seq, f"第 {seq} 条记录的内容无法读取（字段格式被改动，记录被修改）"
                    )
                try:
                    intact = _row_hash(row) == row.entry_hash
                except (TypeError, ValueError, AttributeError):
                    intact = False
                if not intact:
                    return VerifyResult(
                        False, checked, seq, f"第 {seq} 条记录的哈希值与内容不符（记录被修改）"
                    )
                if row.prev_hash != last_hash:
                    if seq == 1:
                        reason = "第 1 条记录的前序哈希不是初始值（记录被修改）"
                    else:
                        reason = f"第 {seq} 条记录的前序哈希与第 {seq - 1} 条不符"
                    return VerifyResult(False, checked, seq, reason)
                last_seq, last_hash = seq, row.entry_hash
                checked += 1
            if progress is not None:
                progress(checked, head_seq)
        if last_seq < head_seq:
            missing = last_seq + 1
            if missing == head_seq:
                reason = f"缺少第 {missing} 条记录（最后一条记录被删除）"
            else:
                reason = f"缺少第 {missing} 条记录（记录被删除，链头为第 {head_seq} 条）"
            return VerifyResult(False, checked, missing, reason)
        if last_hash != head_hash:
            return VerifyResult(
                False, checked - 1, last_seq, f"第 {last_seq} 条记录的哈希值与链头不符（记录被修改）"
            )
        # Entries beyond the head were not appended through the chain — unless an append committed
        # since the head was read. Read the highest number first, then the head again: any append
        # visible to the first read is visible to the second.
        highest = session.execute(select(func.max(LOG.c.seq))).scalar()
        if highest is not None and highest > head_seq:
            latest = self.head(session)
            latest_seq = head_seq if latest is None else latest[0]
            if highest > latest_seq:
                stray = session.execute(select(func.min(LOG.c.seq)).where(LOG.c.seq > latest_seq)).scalar()
                return VerifyResult(
                    False,
                    checked,
                    int(stray if stray is not None else highest),
                    f"第 {stray} 条记录在链头（第 {latest_seq} 条）之后，不是经审计链追加的（记录被插入）",
                )
        return VerifyResult(True, checked, None, f"审计链完整：{checked} 条记录")
