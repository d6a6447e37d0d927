"""Electronic licences: issued (build + eddsa-jcs-2022 sign), issued and stored (the platform's own
issuing path: numbers from the counter rows, build, sign, insert, audit entries — in one transaction
per 200 licences, as the case writer's group commit stores approvals; the case rows themselves are
the approval's cost and left out) and
verified (full verdict: structure, signature, status lists, validity) per second, against raw Ed25519
sign/verify from ``cryptography`` measured in the same run — the ceiling no licence code can beat.

Each figure is measured in one process and with one process per core (``--processes``, default
all cores), each process running the same loop; ratios compare like with like. Figures are the best
of ``--rounds`` interleaved rounds, so a burst of other work on the machine hurts less.

SM2 (国密, Miaopi's own suite ``sm2-jcs-2026``, pure-Python ``gmssl``; skipped when it is not
installed): issue and verify measured in the first round only, in blocks of 10 operations, so each of
its four figures costs about ``--seconds`` — the run grows by about 4 × ``--seconds``.

    .venv/bin/python bench/bench_licence.py [--seconds 2] [--processes 2] [--rounds 3]

Storage: SQLite in a temporary directory, one file per process (SQLite has one writer at a time).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from miaopi.licence import (
    Ed25519Signer,
    HolderCodeType,
    Issuer,
    KeyRing,
    LicenceHolder,
    StatusList,
    StatusPurpose,
    StatusReference,
    build_credential,
    make_identifier,
    verify_licence,
    verify_proof,
)
from miaopi.licence.sm2 import SM2Signer, sm2_available

ISSUER = Issuer(
    "https://zwfw.example.gov.cn/issuers/330105-scjg", "杭州市拱墅区市场监督管理局", "11330105002500287C"
)
HOLDER = LicenceHolder("91330105MA2XXXXX0X", HolderCodeType.CREDIT_CODE, "杭州某某餐饮有限公司")
REVOCATION_URL = "https://zwfw.example.gov.cn/status/330105/revocation/1"
SUSPENSION_URL = "https://zwfw.example.gov.cn/status/330105/suspension/1"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 22)

RING = KeyRing()
RING.add_signer(
    Ed25519Signer.from_multibase(f"{ISSUER.id}#key-1", "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
)
LISTS = {
    REVOCATION_URL: StatusList(purpose=StatusPurpose.REVOCATION, issuer=ISSUER.id),
    SUSPENSION_URL: StatusList(purpose=StatusPurpose.SUSPENSION, issuer=ISSUER.id),
}
RAW_KEY = Ed25519PrivateKey.generate()
RAW_PUBLIC = RAW_KEY.public_key()
MESSAGE = os.urandom(64)  # eddsa-jcs-2022 signs 64 bytes (two SHA-256 digests)
RAW_SIGNATURE = RAW_KEY.sign(MESSAGE)


def issue(serial: int, ring: KeyRing = RING) -> dict[str, object]:
    document = build_credential(
        identifier=make_identifier("11100000000013338W009", ISSUER.code, f"{serial:010d}", 1),
        licence_type="FoodBusinessLicence",
        licence_name="食品经营许可证",
        issuer=ISSUER,
        holder=HOLDER,
        valid_from=date(2026, 11, 22),
        valid_until=date(2031, 11, 21),
        licence_fields={
            "经营场所": "杭州市拱墅区某某路 1 号",
            "主体业态": "餐饮服务经营者",
            "经营项目": ["热食类食品制售"],
        },
        status=[
            StatusReference(StatusPurpose.REVOCATION, serial % 131_072, REVOCATION_URL),
            StatusReference(StatusPurpose.SUSPENSION, serial % 131_072, SUSPENSION_URL),
        ],
        licence_number=f"JY1330105{serial:07d}",
        jurisdiction_code="330105",
    )
    return ring.sign(document, NOW)


SAMPLE = [issue(serial) for serial in range(256)]

SM2 = sm2_available()
SM2_RING = KeyRing()
if SM2:  # the GB/T 32918.5 Annex A example key, on the issuer's second key id
    SM2_RING.add_signer(
        SM2Signer(f"{ISSUER.id}#key-2", 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8)
    )
SM2_SAMPLE = [issue(serial, SM2_RING) for serial in range(16)] if SM2 else []

# ---- issue + store: the platform's issuing path into a real database -----------------------------

BATCH = 200  # rate() runs operations in blocks of 200: each block is one transaction


class _Store:
    """A migrated SQLite store, its key store and the licence issuer, opened lazily in each process."""

    def __init__(self) -> None:
        from miaopi.audit import AuditLog
        from miaopi.catalog.licence_types import LicenceField, LicenceType, LicenceValidity
        from miaopi.licence.issuing import LicenceIssuer
        from miaopi.licence.keys import KeyStore
        from miaopi.store import Database

        directory = Path(tempfile.mkdtemp(prefix="bench-licence-"))
        self.database = Database(f"sqlite:///{directory / 'miaopi.db'}")
        self.database.migrate()
        # The figure is the licence's own cost: its case rows (stored by the approval in the same
        # transaction in the platform) are left out, so the licence table's foreign key is off here.
        event.listen(self.database.engine, "connect", _no_foreign_keys)
        self.database.engine.dispose()
        keys = KeyStore(directory / "keys.json", public_url="https://zwfw.example.gov.cn")
        self.type = LicenceType(
            name="食品经营许可证",
            code="11100000000013338W009",
            credential_type="FoodBusinessLicence",
            subject="enterprise",
            department="market_regulation",
            issuer_name=ISSUER.name,
            issuer_code=ISSUER.code,
            validity=LicenceValidity(years=5),
            holder_name="enterprise.name",
            fields=(
                LicenceField("经营场所", "enterprise.address"),
                LicenceField("主体业态", "enterprise.business_form"),
            ),
        )
        keys.ensure([ISSUER.code])
        self.issuer = LicenceIssuer(keys)
        self.audit = AuditLog()
        self.pending: list[object] = []
        self.cases = 0
        self.pid = os.getpid()  # a forked worker opens its own store, never its parent's

    def flush(self) -> None:
        with self.database.session() as session:
            now = datetime.now(UTC)
            self.audit.append_many(session, self.issuer.issue(session, self.pending, now))  # type: ignore[arg-type]
        self.pending.clear()


_STORE: _Store | None = None


def _no_foreign_keys(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def op_issue_store(i: int) -> None:
    global _STORE
    from miaopi.licence.issuing import request_for

    if _STORE is None or _STORE.pid != os.getpid():
        _STORE = _Store()
    store = _STORE
    store.cases += 1
    store.pending.append(
        request_for(
            store.type,
            case_no=f"MP{os.getpid()}{store.cases:09d}",
            holder=HOLDER.code,
            values={
                "enterprise.name": HOLDER.name,
                "enterprise.address": "杭州市拱墅区某某路 1 号",
                "enterprise.business_form": "餐饮服务经营者",
            },
            decided_on=TODAY,
            actor="system",
        )
    )
    if len(store.pending) >= BATCH:
        store.flush()


def op_issue(i: int) -> None:
    issue(i)


def op_verify(i: int) -> None:
    verdict = verify_licence(SAMPLE[i & 255], RING, LISTS, TODAY)
    assert verdict.valid, verdict


def op_verify_proof(i: int) -> None:
    assert verify_proof(SAMPLE[i & 255], RING.resolve).verified


def op_sm2_issue(i: int) -> None:
    issue(i, SM2_RING)


def op_sm2_verify(i: int) -> None:
    verdict = verify_licence(SM2_SAMPLE[i & 15], SM2_RING, LISTS, TODAY)
    assert verdict.valid, verdict


def op_raw_sign(i: int) -> None:
    RAW_KEY.sign(MESSAGE)


def op_raw_verify(i: int) -> None:
    RAW_PUBLIC.verify(RAW_SIGNATURE, MESSAGE)


OPERATIONS: dict[str, Callable[[int], None]] = {
    "issue": op_issue,
    "issue_store": op_issue_store,
    "verify": op_verify,
    "verify_proof": op_verify_proof,
    "raw_sign": op_raw_sign,
    "raw_verify": op_raw_verify,
}
SM2_OPERATIONS: dict[str, Callable[[int], None]] = {"sm2_issue": op_sm2_issue, "sm2_verify": op_sm2_verify}
BLOCK = {"sm2_issue": 10, "sm2_verify": 10}  # pure-Python SM2: ~5-10 ms an operation


def rate(name: str, seconds: float) -> float:
    """Operations per second in this process for ``seconds`` (after a short warm-up)."""
    operation = OPERATIONS.get(name) or SM2_OPERATIONS[name]
    block = BLOCK.get(name, 200)
    for i in range(block):
        operation(i)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for i in range(done, done + block):
            operation(i)
        done += block
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def _worker(arguments: tuple[str, float]) -> float:
    return rate(*arguments)


def parallel_rate(name: str, seconds: float, processes: int) -> float:
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.map(_worker, [(name, seconds)] * processes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sample_size = len(json.dumps(SAMPLE[0], ensure_ascii=False).encode())
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"load average before the run: {load} on {os.cpu_count()} cores (other work on the machine lowers every figure)"
    )
    print(
        f"licence credential: ~{sample_size} bytes of JSON (UTF-8); {args.processes} processes for the parallel column"
    )
    results: dict[str, tuple[float, float]] = {name: (0.0, 0.0) for name in OPERATIONS}
    for round_no in range(args.rounds):  # best of several rounds, interleaved, to damp other load
        names = [*OPERATIONS, *(SM2_OPERATIONS if SM2 and round_no == 0 else ())]
        for name in names:
            single = rate(name, args.seconds)
            parallel = parallel_rate(name, args.seconds, args.processes) if args.processes > 1 else single
            best_single, best_parallel = results.get(name, (0.0, 0.0))
            results[name] = (max(best_single, single), max(best_parallel, parallel))
    print(f"best of {args.rounds} rounds of {args.seconds:g} s per figure (sm2_*: first round only):")
    for name, (single, parallel) in results.items():
        print(
            f"  {name:<13} {single:>10,.0f}/s (1 process)   {parallel:>10,.0f}/s ({args.processes} processes)"
        )
    print("ratios (licence ÷ raw Ed25519, same process count):")
    for name, raw in (
        ("issue", "raw_sign"),
        ("issue_store", "raw_sign"),
        ("verify", "raw_verify"),
        ("verify_proof", "raw_verify"),
    ):
        single = results[name][0] / results[raw][0]
        parallel = results[name][1] / results[raw][1]
        print(
            f"  {name:<13} ÷ {raw:<10} {single:6.2f} (1 process)   {parallel:6.2f} ({args.processes} processes)"
        )
    if SM2:
        print("SM2 (sm2-jcs-2026, pure-Python gmssl) against the Ed25519 licence, same process count:")
        for name, ed in (("sm2_issue", "issue"), ("sm2_verify", "verify")):
            single = results[ed][0] / results[name][0]
            parallel = results[ed][1] / results[name][1]
            print(
                f"  {name:<13} {single:6.0f}× slower than {ed} (1 process)   {parallel:6.0f}× ({args.processes} processes)"
            )
    else:
        print("SM2 (国密) rows skipped: gmssl is not installed (pip install 'miaopi[sm]')")
    target = 5_000
    issued, verified = results["issue_store"][1], results["verify"][1]
    print(
        f"target ≥ {target:,}/s: issued and stored {issued:,.0f}/s {'met' if issued >= target else 'NOT met'}, "
        f"verified {verified:,.0f}/s {'met' if verified >= target else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
