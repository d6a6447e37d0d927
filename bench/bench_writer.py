"""The group commit alone: what storing a decided case costs the writer, by how many cases share a commit.

The SQLite writer process of ``miaopi serve`` takes whatever the workers sent meanwhile and stores
it with ``CaseWriter.write_now`` — the serial part of 秒批, the queue p99 waits in at 1,000/s. Here
the same cases (the ride-hailing driver licence of ``bench_approval.py``: decided in process with
``ApprovalService.prepare``, bound with ``writer.stored_case`` as a worker does) are stored into a
fresh SQLite store in commits of 10 and 50 cases, each followed by the writer's checkpoint when one
is due, against the baseline of the same run: every case committed alone, as on a quiet server.
Per case: wall time, CPU, write system calls and bytes sent to storage (``bench_approval.usage``,
from ``/proc``: the WAL, the checkpoints, the statement journals when they are files).

    .venv/bin/python bench/bench_writer.py [--city DIR] [--cases 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_approval import ITEM, Usage, application_body, form_fields, prepare, subjects, usage, usage_since
from miaopi.approval import ApplicationIn
from miaopi.approval.writer import CaseRows, CaseWriter, stored_case
from miaopi.audit import AuditLog
from miaopi.auth import Principal
from miaopi.city import generate_city
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.licence.issuing import LicenceIssuer
from miaopi.licence.keys import KeyStore
from miaopi.store import Database


def decided(source: Path, people: list[str]) -> list[CaseRows]:
    """Each person's application decided as a worker decides it, not stored."""
    deployment = Deployment.open(load_settings(source))
    try:
        deployment.warm()
        form = form_fields(deployment)
        cases = []
        for index, person in enumerate(people):
            principal = Principal(
                account_id=0, kind="applicant", login=person, role="applicant", subject_id=person
            )
            application = ApplicationIn.model_validate(application_body(person, form, f"writer-{index}"))
            _decision, rows = deployment.approval.prepare(principal, application)
            cases.append(rows)
        return cases
    finally:
        deployment.close()


def store(city: Path, keys: KeyStore, cases: list[CaseRows], per_commit: int) -> tuple[float, Usage]:
    """``cases`` into a fresh store, ``per_commit`` to a commit, as the writer process stores them."""
    database = Database(load_settings(prepare(city, None)).database_url)
    try:
        writer = CaseWriter(database, AuditLog(), autostart=False, issuer=LicenceIssuer(keys))
        bound = [stored_case(database.engine.dialect, rows) for rows in cases]  # done in the workers
        database.checkpoint()  # the writer's connection open, as in a running writer process
        before = usage([os.getpid()])
        began = time.perf_counter()
        for start in range(0, len(bound), per_commit):
            failed = [error for error in writer.write_now(bound[start : start + per_commit]) if error]
            if failed:
                raise SystemExit(f"a case was not stored: {failed[0]!r}")
            database.checkpoint_when_due()
        return time.perf_counter() - began, usage_since(before, [os.getpid()])
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--city", type=Path, help="an existing district city (else one is generated)")
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    city = args.city or Path(tempfile.mkdtemp(prefix="miaopi-bench-")) / "district"
    if not (city / "resources.yaml").exists():
        print(f"generating a district city in {city} …", file=sys.stderr)
        generate_city(city, scale="district")
    source = prepare(city, None)
    cases = decided(source, subjects(city, args.cases))
    keys = KeyStore.in_data_dir(source)
    licences = sum(len(rows.licences) for rows in cases)
    print(
        f"the group commit, {len(cases):,} decided cases of {ITEM} ({licences:,} licences issued), SQLite (WAL)"
    )
    baseline: float | None = None
    count = len(cases)
    for per_commit in (1, 10, 50):
        wall, used = store(city, keys, cases, per_commit)
        label = "each case alone (baseline)" if per_commit == 1 else f"{per_commit} cases a commit"
        ratio = "" if baseline is None else f"   {wall / baseline:.2f}× the baseline's time"
        print(
            f"  {label:28} {wall / count * 1e6:6.0f} µs a case   CPU {used.cpu / count * 1e6:5.0f} µs   "
            f"{used.write_calls / count:5.1f} writes, {used.written / count / 1024:5.1f} KB to storage{ratio}"
        )
        baseline = baseline or wall


if __name__ == "__main__":
    main()
