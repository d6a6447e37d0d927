"""Screening on DuckDB, streamed: the shared Parquet files are read as views and the result is
written with ``COPY … TO`` under a memory limit, so a province never sits in memory.

Incremental re-screening: beside each result the run writes every subject's **fingerprint** — a hash
of the subject's input rows in each resource the policies read (only the fields they read). The next
run computes the fingerprints again (one cheap hashing pass), re-evaluates only the subjects whose
fingerprint changed or who are new, carries the other subjects' rows over from the previous result,
and drops subjects no longer in the registry. A kind of subject whose compiled screening differs from
the previous run's (another policy version, fact binding or as-of date — any of which can change any
subject's result) is re-evaluated in full, as is everything when the DuckDB version (whose ``hash``
the fingerprints use) differs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from miaopi.catalog import ScreeningError
from miaopi.screening.plan import RESULT_COLUMNS, KindScreening
from miaopi.sharing import SharingExchange
from miaopi.sharing.sources import quote_identifier, quote_literal

Progress = Callable[[str, int, int], None]
METADATA_KEY = b"miaopi.screening"
# The schema of the changed-only views an incremental run evaluates (see ``_changed_only_views``).
CHANGED_ONLY = "changed_only"


def fingerprints_path(output: Path) -> Path:
    """Where a result's subject fingerprints are kept: beside it."""
    return output.with_name(output.name + ".fingerprints")


@dataclass(frozen=True)
class Previous:
    """A previous screening result with its fingerprints, for an incremental run."""

    result: Path
    fingerprints: Path
    duckdb_version: str
    signatures: dict[str, str]  # registry → signature of the compiled screening

    @classmethod
    def open(cls, result: Path) -> Previous:
        fingerprints = fingerprints_path(result)
        if not result.is_file():
            raise ScreeningError(f"上次筛查结果“{result}”不存在")
        if not fingerprints.is_file():
            raise ScreeningError(
                f"上次筛查结果“{result}”旁没有主体指纹文件（{fingerprints.name}），无法增量筛查；请先全量筛查一次"
            )
        try:
            metadata = pq.read_metadata(fingerprints).metadata or {}
            document = json.loads(metadata[METADATA_KEY])
            return cls(result, fingerprints, str(document["duckdb"]), dict(document["signatures"]))
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise ScreeningError(f"主体指纹文件“{fingerprints}”无法读取：{error}") from None


@dataclass
class Reevaluation:
    """How many subjects a run evaluated, and — for an incremental run — carried over and dropped."""

    subjects: int = 0
    reevaluated: int = 0
    carried_over: int = 0
    removed: int = 0
    full_kinds: list[str] = field(default_factory=list)  # registries evaluated in full


def connect(memory_limit: str | None, threads: int | None, spill: Path) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "temp_directory": str(spill),
        # The result is sorted explicitly; without this promise COPY streams with less memory.
        "preserve_insertion_order": False,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    try:
        connection = duckdb.connect(config=config)
    except (duckdb.InvalidInputException, duckdb.BinderException) as error:
        raise ScreeningError(f"DuckDB 设置无效（--memory-limit 例如 3GB）：{error}") from None
    connection.execute("SET enable_progress_bar = false")  # the caller reports progress (a Rich bar)
    return connection


def screen_on_duckdb(
    exchange: SharingExchange,
    kinds: Sequence[KindScreening],
    output: Path,
    fingerprints: Path,
    previous: Previous | None,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    report: Progress,
) -> Reevaluation:
    """Write the screening of ``kinds`` to ``output`` and the subjects' fingerprints to
    ``fingerprints`` (both Parquet); with ``previous``, re-evaluate only the changed subjects."""
    spill = Path(tempfile.mkdtemp(prefix=".duckdb-spill-", dir=output.parent))
    try:
        connection = connect(memory_limit, threads, spill)
        try:
            return _screen(connection, exchange, kinds, output, fingerprints, previous, report)
        finally:
            connection.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _screen(
    connection: duckdb.DuckDBPyConnection,
    exchange: SharingExchange,
    kinds: Sequence[KindScreening],
    output: Path,
    fingerprints: Path,
    previous: Previous | None,
    report: Progress,
) -> Reevaluation:
    projections = exchange.authorise_population([read for kind in kinds for read in kind.reads])
    for code, fields in projections.items():
        exchange.source(code).register(connection, code, fields)
    resources = {kind.registry: _resources(kind) for kind in kinds}

    report("计算主体指纹", 0, 3)
    signatures = {kind.registry: kind.signature for kind in kinds}
    metadata = json.dumps({"duckdb": duckdb.__version__, "signatures": signatures})
    fingerprint_sql = " UNION ALL ".join(
        _fingerprint_sql(kind.registry, resources[kind.registry], projections) for kind in kinds
    )
    connection.execute(
        f"COPY ({fingerprint_sql}) TO {quote_literal(str(fingerprints))} "
        f"(FORMAT parquet, KV_METADATA {{{quote_literal(METADATA_KEY.decode())}: {quote_literal(metadata)}}})"
    )
    current = f"read_parquet({quote_literal(str(fingerprints))})"
    counts = dict(
        connection.execute(f"SELECT registry, count(*) FROM {current} GROUP BY registry").fetchall()
    )
    outcome = Reevaluation(subjects=sum(counts.values()))

    incremental = [
        kind
        for kind in kinds
        if previous is not None
        and previous.duckdb_version == duckdb.__version__
        and previous.signatures.get(kind.registry) == kind.signature
    ]
    outcome.full_kinds = [
        kind.registry for kind in kinds if kind.registry not in {k.registry for k in incremental}
    ]
    outcome.reevaluated = sum(counts.get(registry, 0) for registry in outcome.full_kinds)
    carried: list[str] = []
    per_kind: dict[str, int] = {}
    if incremental:
        assert previous is not None
        report("找出数据变化的主体", 1, 3)
        before = f"read_parquet({quote_literal(str(previous.fingerprints))})"
        registries = ", ".join(quote_literal(kind.registry) for kind in incremental)
        # One full join of the two fingerprint files: subjects new, changed or gone (few, usually).
        connection.execute(
            "CREATE TEMP TABLE diff AS SELECT coalesce(now.registry, was.registry) AS registry, "
            "coalesce(now.subject, was.subject) AS subject, now.subject IS NULL AS removed "
            f"FROM (SELECT * FROM {current} WHERE registry IN ({registries})) now "
            f"FULL JOIN (SELECT * FROM {before} WHERE registry IN ({registries})) was "
            "ON was.registry = now.registry AND was.subject = now.subject "
            "WHERE now.fingerprint IS DISTINCT FROM was.fingerprint"
        )
        connection.execute(
            "CREATE TEMP TABLE changed AS SELECT registry, subject FROM diff WHERE NOT removed"
        )
        per_kind = dict(
            connection.execute("SELECT registry, count(*) FROM changed GROUP BY registry").fetchall()
        )
        changed = (sum(per_kind.values()),)
        removed = connection.execute("SELECT count(*) FROM diff WHERE removed").fetchone()
        assert removed is not None
        outcome.reevaluated += int(changed[0])
        outcome.removed = int(removed[0])
        outcome.carried_over = outcome.subjects - outcome.reevaluated
        for kind in incremental:
            policies = ", ".join(quote_literal(policy.id) for policy in kind.policies)
            carried.append(
                f"SELECT {', '.join(RESULT_COLUMNS)} FROM read_parquet({quote_literal(str(previous.result))}) r "
                f"WHERE policy_id IN ({policies}) "
                f"AND subject NOT IN (SELECT subject FROM diff WHERE registry = {quote_literal(kind.registry)})"
            )
    _changed_only_views(connection, kinds, incremental, resources, projections)

    report("筛查（读取共享数据并评估规则）", 2, 3)
    # A kind screened incrementally with no changed subject needs no evaluation (nor its data read).
    unchanged = {kind.registry for kind in incremental if not per_kind.get(kind.registry)}
    parts = [kind.results_sql for kind in kinds if kind.registry not in unchanged] + carried
    connection.execute(
        f"COPY (SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY policy_id, subject) "
        f"TO {quote_literal(str(output))} (FORMAT parquet)"
    )
    report("写出结果", 3, 3)
    return outcome


def _resources(kind: KindScreening) -> list[str]:
    """The resources a kind's policies read, the registry first."""
    codes = dict.fromkeys([kind.registry])
    for read in kind.reads:
        codes.update(dict.fromkeys(read.requests))
    return list(codes)


def _fingerprint_sql(registry: str, codes: list[str], projections: dict[str, tuple[str, ...]]) -> str:
    """Per subject: a hash over, per resource, the sum of its rows' hashes and their count (a sum, so
    the order of the rows does not matter and a duplicated row still counts)."""
    parts = []
    for number, code in enumerate(codes):
        key, *fields = projections[code]
        row = ", ".join(quote_identifier(name) for name in (key, *fields))
        parts.append(
            f"(SELECT {quote_identifier(key)} AS k, sum(hash({row})) AS h, count(*) AS n "
            f"FROM {quote_identifier(code)} GROUP BY {quote_identifier(key)}) f{number}"
        )
    joins = " ".join(f"LEFT JOIN {part} ON f{number}.k = f0.k" for number, part in enumerate(parts) if number)
    hashed = ", ".join(f"f{number}.h, f{number}.n" for number in range(len(parts)))
    return (
        f"SELECT {quote_literal(registry)} AS registry, f0.k AS subject, hash({hashed}) AS fingerprint "
        f"FROM {parts[0]} {joins}"
    )


def _changed_only_views(
    connection: duckdb.DuckDBPyConnection,
    kinds: Sequence[KindScreening],
    incremental: Sequence[KindScreening],
    resources: dict[str, list[str]],
    projections: dict[str, tuple[str, ...]],
) -> None:
    restricted = {kind.registry for kind in incremental}
    """Shadow every resource view with one in schema ``changed_only``: restricted to the changed
    subjects for a kind screened incrementally, the whole resource for a kind screened in full. The
    compiled queries name resources unqualified, so they then read the shadows."""
    connection.execute(f"CREATE SCHEMA {CHANGED_ONLY}")
    for kind in kinds:
        for code in resources[kind.registry]:
            view = f"{CHANGED_ONLY}.{quote_identifier(code)}"
            source = f"SELECT * FROM main.{quote_identifier(code)}"
            if kind.registry in restricted:
                key = quote_identifier(projections[code][0])
                source += f" WHERE {key} IN (SELECT subject FROM changed WHERE registry = {quote_literal(kind.registry)})"
            connection.execute(f"CREATE VIEW {view} AS {source}")
    connection.execute(f"SET search_path = '{CHANGED_ONLY},main'")
