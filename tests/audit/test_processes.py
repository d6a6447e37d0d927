"""Appenders in separate processes share one gap-free chain (the locks are the database's, not Python's)."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import text

from miaopi.audit import AuditLog
from miaopi.store import Database


def _append_from_process(url: str, search_path: str | None, worker: int, count: int) -> None:
    database = Database(url, search_path=search_path)
    audit = AuditLog()
    try:
        for index in range(count):
            with database.session() as session:
                audit.append(
                    session,
                    actor=f"system:process{worker}",
                    action="offer.pushed",
                    target=f"P-{worker}-{index}",
                    outcome="sent",
                )
    finally:
        database.dispose()


def test_appenders_in_separate_processes(database: Database) -> None:
    processes, per_process = 4, 25
    url = database.engine.url.render_as_string(hide_password=False)
    search_path = None
    if database.dialect == "postgresql":
        with database.engine.connect() as connection:
            search_path = connection.execute(text("SELECT current_schema()")).scalar_one()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_from_process, args=(url, search_path, worker, per_process))
        for worker in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * processes
    audit = AuditLog()
    with database.session() as session:
        result = audit.verify(session)
        entries = audit.entries(session, limit=1000)
    assert (result.ok, result.checked) == (True, processes * per_process), result.reason
    assert [entry.seq for entry in entries] == list(range(1, processes * per_process + 1))
