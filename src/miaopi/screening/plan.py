"""The screening of one kind of subject, compiled for one engine's SQL dialect.

``miaopi.catalog.screening_query`` computes every policy's rules, status and amount side by side,
one row per subject. Screening writes them long — one row per (policy, subject) that the policy
screens — so the row of each subject is unfolded into one row per policy (DuckDB ``unnest``, Spark
``explode``), in the same single pass over the shared data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from miaopi.catalog import Catalog, Policy, ScreeningQuery, screening_query
from miaopi.catalog.population import sql_string
from miaopi.sharing import PopulationRead

# The columns of a screening result, in order (one row per policy and screened subject).
RESULT_COLUMNS = ("policy_id", "version_hash", "subject", "status", "amount", "rules", "missing_facts")


@dataclass(frozen=True)
class KindScreening:
    """The policies of one kind of subject (person or enterprise), compiled for one dialect."""

    registry: str  # the resource listing every subject of the kind
    policies: tuple[Policy, ...]
    query: ScreeningQuery
    results_sql: str  # RESULT_COLUMNS, one row per (policy, screened subject)

    @property
    def reads(self) -> tuple[PopulationRead, ...]:
        return self.query.reads

    @property
    def versions(self) -> dict[str, str]:
        return {columns.policy.id: columns.version.content_hash for columns in self.query.policies}

    @property
    def signature(self) -> str:
        """A digest of the compiled query: the same signature means the same function of the same
        input fields (same versions, facts, bindings and as-of date)."""
        return hashlib.sha256(self.results_sql.encode()).hexdigest()


def compile_screening(
    catalog: Catalog, policies: Sequence[Policy], as_of: dt.date, dialect: str
) -> list[KindScreening]:
    by_subject: dict[str, list[Policy]] = {}
    for policy in policies:
        by_subject.setdefault(policy.subject, []).append(policy)
    kinds = []
    for subject, chosen in by_subject.items():
        query = screening_query(catalog, chosen, as_of, dialect)
        kinds.append(
            KindScreening(
                registry=catalog.facts.registries[subject],
                policies=tuple(chosen),
                query=query,
                results_sql=_results_sql(query, dialect),
            )
        )
    return kinds


def _results_sql(query: ScreeningQuery, dialect: str) -> str:
    def text(value: str) -> str:
        return sql_string(value, dialect)

    rows = []
    per_policy = []
    for columns in query.policies:
        # The per-rule results as JSON text, built the same way on every engine.
        parts: list[str] = []
        for number, (rule_id, column) in enumerate(columns.rules.items()):
            key = ("{" if number == 0 else ",") + json.dumps(rule_id, ensure_ascii=False) + ':"'
            parts += [
                text(key),
                f"CASE WHEN {column} THEN 'pass' WHEN NOT {column} THEN 'fail' ELSE 'unknown' END",
                text('"'),
            ]
        rules = f"concat({', '.join(parts)}, '}}')" if parts else "'{}'"
        amount = f"CAST({columns.amount or 'NULL'} AS DOUBLE)"
        fields = {
            "policy_id": text(columns.policy.id),
            "version_hash": text(columns.version.content_hash),
            "screened": columns.screened,
            "status": columns.status,
            "amount": amount,
            "rules": rules,
            "missing_facts": columns.missing,
        }
        per_policy.append(fields)
        if dialect == "spark":
            rows.append(
                f"named_struct({', '.join(f'{text(name)}, {value}' for name, value in fields.items())})"
            )
        else:
            rows.append("{" + ", ".join(f"{text(name)}: {value}" for name, value in fields.items()) + "}")
    if len(query.policies) == 1:  # nothing to unfold: select the one policy's columns directly
        (fields,) = per_policy
        selected = ", ".join(
            "subject" if name == "subject" else f"{fields[name]} AS {name}" for name in RESULT_COLUMNS
        )
        return f"SELECT {selected} FROM ({query.sql}) screening WHERE {fields['screened']}"
    unfold = f"explode(array({', '.join(rows)}))" if dialect == "spark" else f"unnest([{', '.join(rows)}])"
    selected = ", ".join("subject" if name == "subject" else f"p.{name} AS {name}" for name in RESULT_COLUMNS)
    return (
        f"SELECT {selected} FROM (SELECT subject, {unfold} AS p FROM ({query.sql}) screening) unfolded "
        "WHERE p.screened"
    )
