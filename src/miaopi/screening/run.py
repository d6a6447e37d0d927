"""One screening run over the deployment's shared data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from miaopi.catalog import Catalog, Policy, screening_query
from miaopi.catalog.population import ScreeningError
from miaopi.sharing import SharingExchange
from miaopi.sharing.sources import quote_literal

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


def screen(
    catalog: Catalog,
    exchange: SharingExchange,
    as_of: dt.date,
    output: Path,
    policy_ids: Sequence[str] = (),
    engine: str = "duckdb",
    progress: Progress | None = None,
) -> ScreeningRun:
    """Screen the policies (all when none named) and write ``output`` (Parquet): one row per
    screened subject and policy with status, amount, per-rule results and, for unknown subjects, the
    missing facts."""
    if engine != "duckdb":
        raise ScreeningError(
            f"引擎“{engine}”不可用：本部署只提供 duckdb（Spark 需安装可选依赖 pyspark，见 README）"
        )
    unknown = [policy_id for policy_id in policy_ids if policy_id not in catalog.policies]
    if unknown:
        raise ScreeningError(
            f"没有政策 {', '.join(unknown)}；现有：{', '.join(sorted(catalog.policies)) or '无'}"
        )
    chosen = [catalog.policies[policy_id] for policy_id in policy_ids] or list(catalog.policies.values())
    if not chosen:
        raise ScreeningError("事项目录中没有政策")
    report = progress or (lambda _label, _done, _total: None)
    by_subject: dict[str, list[Policy]] = {}
    for policy in chosen:
        by_subject.setdefault(policy.subject, []).append(policy)
    run = ScreeningRun(as_of=as_of, output=output)
    selects: list[str] = []
    connection = duckdb.connect()
    steps = len(by_subject) + 1
    for step, (subject, policies) in enumerate(by_subject.items()):
        report("筛查（读取共享数据并评估规则）", step, steps)
        query = screening_query(catalog, policies, as_of)
        exchange.population_reads(query.reads, connection)
        connection.execute(f"CREATE OR REPLACE TEMP TABLE screening_{subject} AS {query.sql}")
        for columns in query.policies:
            screened = f"FROM screening_{subject} WHERE {columns.screened}"
            rules = ", ".join(
                f"{quote_literal(rule_id)}: CASE WHEN {column} THEN 'pass' WHEN NOT {column} THEN 'fail' ELSE 'unknown' END"
                for rule_id, column in columns.rules.items()
            )
            amount = columns.amount or "CAST(NULL AS DOUBLE)"
            selects.append(
                f"SELECT {quote_literal(columns.policy.id)} AS policy_id, {quote_literal(columns.version.content_hash)} AS version_hash, "
                f"subject, {columns.status} AS status, CAST({amount} AS DOUBLE) AS amount, "
                f"to_json({{{rules}}}) AS rules, {columns.missing} AS missing_facts {screened}"
            )
            counts = connection.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {columns.status} = 'eligible'), "
                f"count(*) FILTER (WHERE {columns.status} = 'ineligible'), count(*) FILTER (WHERE {columns.status} = 'unknown'), "
                f"coalesce(sum({amount}), 0) {screened}"
            ).fetchone()
            assert counts is not None
            run.figures.append(
                PolicyFigures(
                    policy_id=columns.policy.id,
                    policy_name=columns.policy.name,
                    version_hash=columns.version.content_hash,
                    screened=int(counts[0]),
                    eligible=int(counts[1]),
                    ineligible=int(counts[2]),
                    unknown=int(counts[3]),
                    total_amount=round(float(counts[4]), 2),
                )
            )
    report("写出结果", steps - 1, steps)
    output.parent.mkdir(parents=True, exist_ok=True)
    connection.execute(
        f"COPY ({' UNION ALL '.join(selects)} ORDER BY policy_id, subject) TO {quote_literal(str(output))} (FORMAT parquet)"
    )
    report("写出结果", steps, steps)
    return run


__all__ = ["PolicyFigures", "ScreeningError", "ScreeningRun", "screen"]
