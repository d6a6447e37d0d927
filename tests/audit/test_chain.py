"""Appending, verifying and tampering with the audit chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from miaopi.audit import GENESIS_HASH, AuditLog, AuditRecord, check_record, compute_hash
from miaopi.audit.models import AuditLogRecord
from miaopi.store import Database
from tests.audit.conftest import START, fill, tamper

STAMP = START.strftime("%Y-%m-%d %H:%M:%S.%f")  # a literal both SQLite (via SQLAlchemy) and PostgreSQL read


def test_append_links_entries_and_verify_accepts_them(database: Database, audit: AuditLog) -> None:
    entries = fill(database, audit, 5)
    assert [entry.seq for entry in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    with database.session() as session:
        result = audit.verify(session)
        assert audit.head(session) == (5, entries[-1].entry_hash)
        stored = audit.entries(session)
    assert result.ok and result.checked == 5 and result.first_broken is None
    assert result.reason == "审计链完整：5 条记录"
    assert stored == entries  # what comes back from the store is what was hashed


def test_empty_chain_verifies(database: Database, audit: AuditLog) -> None:
    with database.session() as session:
        result = audit.verify(session)
        assert audit.head(session) == (0, GENESIS_HASH)
    assert (result.ok, result.checked, result.reason) == (True, 0, "审计链完整：0 条记录")


def test_entry_hash_follows_the_documented_format(database: Database, audit: AuditLog) -> None:
    with database.session() as session:
        entry = audit.append(
            session,
            actor="applicant:11010519491231002X",
            action="application.submitted",
            target="SZ-2026-000042",
            outcome="accepted",
            details={"z": 1, "事项": "高龄津贴", "a": [True, None]},
            at=dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        )
    assert entry.details == '{"a":[true,null],"z":1,"事项":"高龄津贴"}'
    assert entry.recorded_at == dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)
    payload = (
        '[1,"2026-11-23T01:30:00.000000+00:00","applicant:11010519491231002X","application.submitted",'
        '"SZ-2026-000042","accepted","{\\"a\\":[true,null],\\"z\\":1,\\"事项\\":\\"高龄津贴\\"}",'
        f'"{"0" * 64}"]'
    )
    assert json.loads(payload)[6] == entry.details
    assert entry.entry_hash == hashlib.sha256(payload.encode("utf-8")).hexdigest()
    with database.session() as session:
        stored = audit.entry(session, 1)
    assert stored == entry
    assert stored is not None and stored.recorded_at.tzinfo is not None


def test_records_checked_ahead_hash_as_documented(database: Database, audit: AuditLog) -> None:
    """The group commit checks and serialises its records before locking the head; the hash must
    still be ``compute_hash``'s, byte for byte, whatever the text holds (quotes, backslashes,
    control characters, characters beyond the BMP)."""
    tricky = 'C-"引号"\\反斜杠\n\t\u0001😀'
    records = [
        AuditRecord("system", "application.decided", tricky, "approved", {"原因": tricky, "n": 1.5}),
        AuditRecord("applicant:1", "application.submitted", "C-2", "accepted"),
    ]
    checked = [check_record(record) for record in records]
    assert check_record(checked[0]) is checked[0]
    with database.session() as session:
        entries = audit.append_many(session, [checked[0], records[1], checked[1]])
    for entry in entries:
        assert entry.entry_hash == compute_hash(
            entry.seq,
            entry.recorded_at,
            entry.actor,
            entry.action,
            entry.target,
            entry.outcome,
            entry.details,
            entry.prev_hash,
        )
    assert entries[0].target == tricky and json.loads(entries[0].details)["原因"] == tricky
    with database.session() as session:
        assert audit.verify(session).ok


def test_append_refuses_bad_input(database: Database, audit: AuditLog) -> None:
    with database.session() as session:
        with pytest.raises(ValueError, match="timezone-aware"):
            audit.append(
                session, actor="system", action="x", target="t", outcome="o", at=dt.datetime(2026, 1, 1)
            )
        with pytest.raises(ValueError, match="actor"):
            audit.append(session, actor="", action="x", target="t", outcome="o")
        with pytest.raises(ValueError, match="JSON"):
            audit.append(
                session, actor="system", action="x", target="t", outcome="o", details={"d": dt.date.today()}
            )
        with pytest.raises(ValueError, match="longer"):
            audit.append(session, actor="system", action="x" * 65, target="t", outcome="o")
        assert audit.head(session) == (0, GENESIS_HASH)


def test_rollback_leaves_no_entry(database: Database, audit: AuditLog) -> None:
    class CaseFailed(Exception):
        pass

    with pytest.raises(CaseFailed), database.session() as session:
        audit.append(session, actor="system", action="application.decided", target="SZ-1", outcome="approved")
        raise CaseFailed
    with database.session() as session:
        assert audit.head(session) == (0, GENESIS_HASH)
        assert audit.entries(session) == []
        entry = audit.append(
            session, actor="system", action="application.decided", target="SZ-1", outcome="approved"
        )
    assert entry.seq == 1 and entry.prev_hash == GENESIS_HASH
    with database.session() as session:
        assert audit.verify(session).ok


def test_several_entries_in_one_transaction(database: Database, audit: AuditLog) -> None:
    with database.session() as session:
        first = audit.append(
            session, actor="applicant:1", action="application.submitted", target="C", outcome="ok"
        )
        second = audit.append(
            session, actor="system", action="application.decided", target="C", outcome="approved"
        )
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.entry_hash)
    with database.session() as session:
        assert [entry.seq for entry in audit.entries(session, target="C")] == [1, 2]
        assert audit.verify(session).ok


def test_database_refuses_updates_and_deletes(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 2)
    for statement in (
        "UPDATE audit_log SET outcome = 'approved' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_head",
    ):
        with pytest.raises(DBAPIError, match="审计记录只能追加"), database.engine.begin() as connection:
            connection.execute(text(statement))
    with database.session() as session:
        assert audit.verify(session).ok


def _verify(database: Database, audit: AuditLog) -> tuple[bool, int, int | None, str]:
    with database.session() as session:
        result = audit.verify(session)
    return result.ok, result.checked, result.first_broken, result.reason


def test_changed_field_is_named(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, "UPDATE audit_log SET outcome = 'revoked' WHERE seq = 3")
    assert _verify(database, audit) == (False, 2, 3, "第 3 条记录的哈希值与内容不符（记录被修改）")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'officer:li'"),
        ("action", "'application.revoked'"),
        ("target", "'SZ-9999'"),
        ("details", "'{}'"),
        ("recorded_at", "'2020-01-01 00:00:00'"),
        ("prev_hash", f"'{'1' * 64}'"),
        ("entry_hash", f"'{'2' * 64}'"),
    ],
)
def test_every_field_is_covered(database: Database, audit: AuditLog, column: str, value: str) -> None:
    fill(database, audit, 4)
    tamper(database, f"UPDATE audit_log SET {column} = {value} WHERE seq = 2")
    ok, _, first_broken, reason = _verify(database, audit)
    assert (ok, first_broken) == (False, 2)
    assert "第 2 条记录" in reason


def test_deleted_middle_entry_is_named(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, "DELETE FROM audit_log WHERE seq = 3")
    assert _verify(database, audit) == (False, 2, 3, "缺少第 3 条记录（记录被删除）")


def test_deleted_first_entry_is_named(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 3)
    tamper(database, "DELETE FROM audit_log WHERE seq = 1")
    assert _verify(database, audit) == (False, 0, 1, "缺少第 1 条记录（记录被删除）")


def test_deleted_last_entry_is_found_through_the_head(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, "DELETE FROM audit_log WHERE seq = 5")
    assert _verify(database, audit) == (False, 4, 5, "缺少第 5 条记录（最后一条记录被删除）")


def test_deleted_tail_is_found_through_the_head(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, "DELETE FROM audit_log WHERE seq >= 4")
    assert _verify(database, audit) == (False, 3, 4, "缺少第 4 条记录（记录被删除，链头为第 5 条）")


def _recomputed(database: Database, seq: int, **changes: str) -> str:
    """An UPDATE that changes fields of entry ``seq`` and recomputes its hash to cover the change."""
    with database.session() as session:
        row = session.execute(select(AuditLogRecord.__table__).where(AuditLogRecord.seq == seq)).one()
    values = {**row._asdict(), **changes}
    new_hash = compute_hash(
        seq,
        values["recorded_at"],
        values["actor"],
        values["action"],
        values["target"],
        values["outcome"],
        values["details"],
        values["prev_hash"],
    )
    assignments = ", ".join(f"{name} = '{value}'" for name, value in changes.items())
    return f"UPDATE audit_log SET {assignments}, entry_hash = '{new_hash}' WHERE seq = {seq}"


def test_recomputed_hash_breaks_the_link_to_the_next_entry(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, _recomputed(database, 2, outcome="revoked"))
    assert _verify(database, audit) == (False, 2, 3, "第 3 条记录的前序哈希与第 2 条不符")


def test_recomputed_hash_of_the_last_entry_disagrees_with_the_head(
    database: Database, audit: AuditLog
) -> None:
    fill(database, audit, 5)
    tamper(database, _recomputed(database, 5, outcome="revoked"))
    assert _verify(database, audit) == (False, 4, 5, "第 5 条记录的哈希值与链头不符（记录被修改）")


def test_changed_previous_hash_with_recomputed_hash_is_named(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    tamper(database, _recomputed(database, 3, prev_hash="f" * 64))
    assert _verify(database, audit) == (False, 2, 3, "第 3 条记录的前序哈希与第 2 条不符")


def test_changed_genesis_link_is_named(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 2)
    tamper(database, _recomputed(database, 1, prev_hash="f" * 64))
    assert _verify(database, audit) == (False, 0, 1, "第 1 条记录的前序哈希不是初始值（记录被修改）")


def test_reordered_entries_are_found(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 5)
    # Swap entries 2 and 3 whole (hashes included) by swapping their sequence numbers.
    tamper(
        database,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
    )
    assert _verify(database, audit) == (False, 1, 2, "第 2 条记录的哈希值与内容不符（记录被修改）")


def test_inserted_entry_beyond_the_head_is_found(database: Database, audit: AuditLog) -> None:
    entries = fill(database, audit, 3)
    forged = compute_hash(
        4, START, "system", "application.decided", "SZ-X", "approved", "{}", entries[-1].entry_hash
    )
    tamper(
        database,
        "INSERT INTO audit_log (seq, recorded_at, actor, action, target, outcome, details, prev_hash, entry_hash) "
        f"VALUES (4, '{STAMP}', 'system', 'application.decided', 'SZ-X', 'approved', '{{}}', "
        f"'{entries[-1].entry_hash}', '{forged}')",
    )
    ok, checked, first_broken, reason = _verify(database, audit)
    assert (ok, checked, first_broken) == (False, 3, 4)
    assert "第 4 条记录在链头（第 3 条）之后" in reason


def test_inserted_entry_before_the_first_is_found(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 2)
    tamper(
        database,
        "INSERT INTO audit_log (seq, recorded_at, actor, action, target, outcome, details, prev_hash, entry_hash) "
        f"VALUES (0, '{STAMP}', 'system', 'x', 'y', 'z', '{{}}', '{GENESIS_HASH}', '{GENESIS_HASH}')",
    )
    assert _verify(database, audit)[:3] == (False, 0, 0)


def test_unreadable_field_is_named(database: Database, audit: AuditLog) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL refuses a malformed timestamp itself")
    fill(database, audit, 4)
    tamper(database, "UPDATE audit_log SET recorded_at = 'yesterday' WHERE seq = 3")
    assert _verify(database, audit) == (
        False,
        2,
        3,
        "第 3 条记录的内容无法读取（字段格式被改动，记录被修改）",
    )


def test_lost_head_is_reported(database: Database, audit: AuditLog) -> None:
    fill(database, audit, 2)
    tamper(database, "DELETE FROM audit_head")
    ok, checked, first_broken, reason = _verify(database, audit)
    assert (ok, checked, first_broken) == (False, 0, None)
    assert "链头" in reason


def test_verify_streams_across_batches(database: Database) -> None:
    audit = AuditLog(batch_size=3)
    fill(database, audit, 10)
    seen: list[tuple[int, int]] = []
    with database.session() as session:
        result = audit.verify(session, progress=lambda done, total: seen.append((done, total)))
    assert result.ok and result.checked == 10
    assert seen == [(3, 10), (6, 10), (9, 10), (10, 10)]
    tamper(database, "DELETE FROM audit_log WHERE seq = 7")
    assert _verify(database, audit) == (False, 6, 7, "缺少第 7 条记录（记录被删除）")
    tamper(database, "DELETE FROM audit_log WHERE seq = 4")
    assert _verify(database, audit) == (False, 3, 4, "缺少第 4 条记录（记录被删除）")


def test_concurrent_appenders_keep_one_gap_free_chain(database: Database, audit: AuditLog) -> None:
    threads, per_thread = 8, 50
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def appender(worker: int) -> None:
        try:
            start.wait()
            for index in range(per_thread):
                with database.session() as session:
                    audit.append(
                        session,
                        actor=f"officer:worker{worker}",
                        action="application.decided",
                        target=f"SZ-{worker}-{index}",
                        outcome="approved",
                        details={"worker": worker, "index": index},
                    )
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=appender, args=(worker,)) for worker in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    total = threads * per_thread
    with database.session() as session:
        result = audit.verify(session)
        entries = audit.entries(session, limit=total + 1)
    assert (result.ok, result.checked) == (True, total), result.reason
    assert [entry.seq for entry in entries] == list(range(1, total + 1))
    assert {entry.target for entry in entries} == {
        f"SZ-{w}-{i}" for w in range(threads) for i in range(per_thread)
    }
