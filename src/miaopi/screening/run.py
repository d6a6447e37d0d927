"""One screening run over the deployment's shared data."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from miaopi.catalog import Catalog, Policy
from miaopi.catalog.population import ScreeningError
from miaopi.screening.duckdb_engine import Previous, Reevaluation, fingerprints_path, screen_on_duckdb
from miaopi.screening.plan import compile_screening
from miaopi.screening.spark_engine import DEFAULT_MASTER, screen_on_spark
from miaopi.sharing import SharingExchange
from miaopi.sharing.sources import quote_literal

ENGINES = ("duckdb", "spark")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PolicyFigures:
    policy_id: str
    policy_name: str
    version_hash: str
    screened: int
    eligible: int
    ineligible: int
    unknown: int
    total_amount: float


@dataclass
class ScreeningRun:
    as_of: dt.date
    output: Path
    figures: list[PolicyFigures] = field(default_factory=list)
    engine: str = "duckdb"
    # DuckDB only: the subjects' fingerprints beside the result, and how many subjects were
    # re-evaluated, carried over from the previous result and dropped (incremental runs).
    fingerprints: Path | None = None
    reevaluation: Reevaluation | None = None


def screen(
    catalog: Catalog,
    exchange: SharingExchange,
    as_of: dt.date,
    output: Path,
    policy_ids: Sequence[str] = (),
    engine: str = "duckdb",
    progress: Progress | None = None,
    *,
    previous: Path | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    spark_master: str = DEFAULT_MASTER,
    spark_conf: Mapping[str, str] | None = None,
    spark_paths: Mapping[str, str] | None = None,
) -> ScreeningRun:
    """Screen the policies (all when none named) and write ``output`` (Parquet): one row per
    screened subject and policy with status, amount, per-rule results and, for unknown subjects, the
    missing facts.

    DuckDB (the default engine) also writes each subject's fingerprint beside the result; given the
    ``previous`` result, it re-evaluates only the subjects whose data changed (see
    ``miaopi.screening.duckdb_engine``). Spark runs the same compiled rules on ``spark_master``.
    """
    if engine not in ENGINES:
        raise ScreeningError(f"未知引擎“{engine}”，可选：{'、'.join(ENGINES)}")
    if engine == "spark" and previous is not None:
        raise ScreeningError("增量筛查（--previous）目前只支持 duckdb 引擎")
    unknown = [policy_id for policy_id in policy_ids if policy_id not in catalog.policies]
    if unknown:
        raise ScreeningError(
            f"没有政策 {', '.join(unknown)}；现有：{', '.join(sorted(catalog.policies)) or '无'}"
        )
    chosen = [catalog.policies[policy_id] for policy_id in dict.fromkeys(policy_ids)] or list(
        catalog.policies.values()
    )
    if not chosen:
        raise ScreeningError("事项目录中没有政策")
    report = progress or (lambda _label, _done, _total: None)
    earlier = Previous.open(previous) if previous is not None else None
    kinds = compile_screening(catalog, chosen, as_of, engine)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the output and renamed at the end: a failed run leaves the previous result whole
    # (an incremental run may read the very file it replaces).
    staged = output.with_name(f".{output.name}.writing")
    run = ScreeningRun(as_of=as_of, output=output, engine=engine)
    try:
        if engine == "spark":
            screen_on_spark(
                exchange,
                kinds,
                staged,
                master=spark_master,
                conf=spark_conf,
                paths=spark_paths,
                report=report,
            )
        else:
            fingerprints = fingerprints_path(staged)
            run.reevaluation = screen_on_duckdb(
                exchange, kinds, staged, fingerprints, earlier,
                memory_limit=memory_limit, threads=threads, report=report,
            )  # fmt: skip
            run.fingerprints = fingerprints_path(output)
            os.replace(fingerprints, run.fingerprints)
        os.replace(staged, output)
    finally:
        staged.unlink(missing_ok=True)
        fingerprints_path(staged).unlink(missing_ok=True)
    run.figures = _figures(output, [policy for kind in kinds for policy in kind.policies], as_of)
    return run


def _figures(output: Path, policies: Sequence[Policy], as_of: dt.date) -> list[PolicyFigures]:
    """Per policy, counted in the written result."""
    counted = {
        row[0]: row[1:]
        for row in duckdb.connect()
        .execute(
            "SELECT policy_id, count(*), count(*) FILTER (WHERE status = 'eligible'), "
            "count(*) FILTER (WHERE status = 'ineligible'), count(*) FILTER (WHERE status = 'unknown'), "
            f"coalesce(sum(amount), 0) FROM read_parquet({quote_literal(str(output))}) GROUP BY policy_id"
        )
        .fetchall()
    }
    figures = []
    for policy in policies:
        version = policy.version_on(as_of)
        assert version is not None  # compile_screening refused policies without one
        screened, eligible, ineligible, unknown, amount = counted.get(policy.id, (0, 0, 0, 0, 0.0))
        figures.append(
            PolicyFigures(
                policy_id=policy.id,
                policy_name=policy.name,
                version_hash=version.content_hash,
                screened=int(screened),
                eligible=int(eligible),
                ineligible=int(ineligible),
                unknown=int(unknown),
                total_amount=round(float(amount), 2),
            )
        )
    return figures


__all__ = ["ENGINES", "PolicyFigures", "Reevaluation", "ScreeningError", "ScreeningRun", "screen"]
