"""Evaluating policies over a whole population in one vectorised query (screening, 免申即享).

The same parsed rules that decide one case compile here to SQL — DuckDB by default, Spark SQL
through sqlglot — with the same three-valued meaning: a rule over a missing fact is NULL (unknown),
a subject is eligible only when every rule is TRUE, ineligible when any is FALSE, unknown otherwise.

The query reads the subject registry, left-joins each one-record resource on the subject key and
each many-record resource through one ``GROUP BY`` per resource holding all its aggregate facts, and
computes every policy's rules, eligibility and amount side by side, so a province is scanned once
however many policies are screened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from miaopi.catalog.evaluation import Plan
from miaopi.catalog.facts import DECISION_DATE, Fact, FactKind
from miaopi.catalog.loader import Catalog
from miaopi.catalog.model import Policy, Version
from miaopi.rules.sql_target import check_dialect, default_column
from miaopi.sharing import PopulationRead


class ScreeningError(ValueError):
    """Policies cannot be screened as asked (no version in force, mixed subject kinds …)."""


@dataclass(frozen=True)
class PolicyColumns:
    """Where one policy's results are in the screening query's output."""

    policy: Policy
    version: Version
    screened: str
    status: str
    amount: str | None
    rules: dict[str, str]  # rule id → column
    missing: str  # comma-separated names of the missing base facts that left a rule unknown


@dataclass(frozen=True)
class ScreeningQuery:
    sql: str
    subject_column: str
    policies: tuple[PolicyColumns, ...]
    reads: tuple[PopulationRead, ...]


def screening_query(
    catalog: Catalog, policies: Sequence[Policy], as_of: dt.date, dialect: str = "duckdb"
) -> ScreeningQuery:
    """Compile the policies in force on ``as_of`` into one query over the registered resource views
    (see ``SharingExchange.population_reads``; the views are named by resource code)."""
    if not policies:
        raise ScreeningError("没有要筛查的政策")
    check_dialect(dialect)
    quote_identifier = default_column(dialect)  # "name" in DuckDB, `name` in Spark
    subjects = {policy.subject for policy in policies}
    if len(subjects) != 1:
        raise ScreeningError("一次筛查的政策须针对同一类主体（自然人或法人）")
    subject = subjects.pop()
    registry_code = catalog.facts.registries[subject]
    registry = catalog.facts.resources.resource(registry_code)

    plans: list[tuple[Policy, Version, Plan, list[Fact]]] = []
    for policy in policies:
        version = policy.version_on(as_of)
        if version is None:
            raise ScreeningError(f"政策“{policy.id}”在 {as_of} 没有生效的版本")
        plan = Plan(version, catalog.facts)
        screen_facts = catalog.facts.closure(policy.screen.facts_read) if policy.screen is not None else []
        plans.append((policy, version, plan, screen_facts))

    facts: dict[str, Fact] = {}
    for _policy, _version, plan, screen_facts in plans:
        for fact in [*plan.facts, *screen_facts]:
            facts[fact.name] = fact

    aliases: dict[str, str] = {registry_code: "s"}
    joins: list[str] = []
    columns: dict[str, str] = {DECISION_DATE: f"DATE '{as_of.isoformat()}'"}
    grouped: dict[str, list[Fact]] = {}
    for fact in facts.values():
        if fact.kind is FactKind.BINDING:
            assert fact.resource is not None and fact.field is not None
            if fact.resource not in aliases:
                alias = f"r{len(aliases)}"
                aliases[fact.resource] = alias
                key = catalog.facts.resources.resource(fact.resource).key
                joins.append(
                    f"LEFT JOIN {quote_identifier(fact.resource)} {alias} "
                    f"ON {alias}.{quote_identifier(key)} = s.{quote_identifier(registry.key)}"
                )
            columns[fact.name] = f"{aliases[fact.resource]}.{quote_identifier(fact.field)}"
        elif fact.kind is FactKind.AGGREGATE:
            assert fact.resource is not None
            grouped.setdefault(fact.resource, []).append(fact)

    for resource_code, aggregates in grouped.items():
        alias = f"g{len(joins)}"
        key = catalog.facts.resources.resource(resource_code).key
        parts = []
        for fact in aggregates:
            assert fact.aggregate is not None
            expression = fact.aggregate.to_sql(dialect, column=_record_column(as_of, dialect))
            parts.append(f"{expression} AS {quote_identifier(fact.name)}")
            columns[fact.name] = f"{alias}.{quote_identifier(fact.name)}"
        joins.append(
            f"LEFT JOIN (SELECT {quote_identifier(key)} AS k, {', '.join(parts)} "
            f"FROM {quote_identifier(resource_code)} GROUP BY {quote_identifier(key)}) {alias} "
            f"ON {alias}.k = s.{quote_identifier(registry.key)}"
        )
        # A subject with no records at all: COUNT is 0 and EXISTS is FALSE, as for one case.
        for fact in aggregates:
            assert fact.aggregate is not None
            empty = fact.aggregate.empty_value
            if empty is not None:
                columns[fact.name] = f"COALESCE({columns[fact.name]}, {_sql_literal(empty)})"

    def column(name: str) -> str:
        fact = facts.get(name)
        if fact is not None and fact.kind is FactKind.DERIVED:
            assert fact.expression is not None
            return f"({fact.expression.to_sql(dialect, column=column)})"
        return columns[name]

    inner: list[str] = [f"s.{quote_identifier(registry.key)} AS subject"]
    outer: list[str] = ["subject"]
    results: list[PolicyColumns] = []
    for index, (policy, version, plan, _screen) in enumerate(plans):
        prefix = f"p{index}"
        rule_columns = {}
        for number, rule in enumerate(version.rules):
            name = f"{prefix}_r{number}"
            inner.append(f"({rule.expression.to_sql(dialect, column=column)}) AS {name}")
            rule_columns[rule.id] = name
        screened = f"{prefix}_screened"
        if policy.screen is not None:
            inner.append(f"COALESCE(({policy.screen.to_sql(dialect, column=column)}), FALSE) AS {screened}")
        else:
            inner.append(f"TRUE AS {screened}")
        amount = None
        if version.amount is not None:
            amount = f"{prefix}_amount"
            inner.append(f"({version.amount.to_sql(dialect, column=column)}) AS {amount}")
        all_rules = " AND ".join(rule_columns.values())
        status = f"{prefix}_status"
        outer += [*rule_columns.values(), screened]
        if amount is not None:
            outer.append(f"CASE WHEN {all_rules} THEN {amount} END AS {amount}")
        outer.append(f"{status_expression(all_rules)} AS {status}")
        # For a subject left unknown: which inputs were missing (the fact to name, never a silent drop).
        missing = f"{prefix}_missing"
        inputs = [fact for fact in plan.inputs if fact.name != DECISION_DATE]
        checks = [
            f"CASE WHEN {column(fact.name)} IS NULL THEN {sql_string(fact.name, dialect)} END"
            for fact in inputs
        ]
        inner.append(f"concat_ws(',', {', '.join(checks)}) AS {missing}" if checks else f"'' AS {missing}")
        outer.append(f"CASE WHEN {status_expression(all_rules)} = 'unknown' THEN {missing} END AS {missing}")
        results.append(PolicyColumns(policy, version, screened, status, amount, rule_columns, missing))

    sql = (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} "
        f"FROM {quote_identifier(registry_code)} s {' '.join(joins)}) screening"
    )
    reads = tuple(
        PopulationRead(
            policy.department,
            policy.purpose,
            _requests(catalog, [*plan.facts, *screen_facts], registry_code),
        )
        for policy, _version, plan, screen_facts in plans
    )
    return ScreeningQuery(sql=sql, subject_column="subject", policies=tuple(results), reads=reads)


def status_expression(all_rules: str) -> str:
    return (
        f"CASE WHEN {all_rules} THEN 'eligible' WHEN NOT ({all_rules}) THEN 'ineligible' ELSE 'unknown' END"
    )


def _requests(catalog: Catalog, facts: list[Fact], registry_code: str) -> dict[str, tuple[str, ...]]:
    """The resources a policy reads; the registry always (its key lists who is screened)."""
    requests = catalog.facts.resource_requests(facts)
    requests.setdefault(registry_code, ())
    return requests


def sql_string(text: str, dialect: str) -> str:
    """A string literal in the dialect (Spark escapes a quote with a backslash, DuckDB doubles it)."""
    return exp.Literal.string(text).sql(dialect=dialect)


def _record_column(as_of: dt.date, dialect: str):  # type: ignore[no-untyped-def]
    quote = default_column(dialect)

    def column(name: str) -> str:
        if name == DECISION_DATE:
            return f"DATE '{as_of.isoformat()}'"
        return quote(name)

    return column


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)
