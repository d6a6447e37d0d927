"""Aggregates over a subject's records (COUNT, SUM, MIN, MAX, AVG, EXISTS) with both targets.

SQL composition (see :meth:`Aggregate.to_sql`): the text is an aggregate expression for a query over
the records table grouped by the subject key::

    SELECT person_id, <aggregate.to_sql()> AS "penalty.count_3y"
    FROM penalty_records
    GROUP BY person_id

``column(name)`` resolves both record fields (columns of the records table) and context facts
(e.g. ``decision_date``: a column joined onto each record row, or a literal such as DATE '2024-05-01').
A subject with no rows does not appear in the result: the caller maps it to :attr:`Aggregate.empty_value`
when the resource covers the subject (no records), or to NULL when the resource has no data for it —
exactly what :meth:`Aggregate.evaluate` does for ``[]`` and ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

from miaopi.rules.errors import ExpressionError
from miaopi.rules.expression import build_tree, check_facts
from miaopi.rules.ir import Node
from miaopi.rules.python_target import PythonFunction, compile_python
from miaopi.rules.sql_target import ColumnFunction, SqlBuilder
from miaopi.rules.types import NUMERIC, FactType, label

AGGREGATE_FUNCTIONS = ("COUNT", "SUM", "MIN", "MAX", "AVG", "EXISTS")
_VALUE_TYPES: dict[str, frozenset[FactType]] = {
    "COUNT": frozenset(FactType),
    "SUM": NUMERIC,
    "AVG": NUMERIC,
    "MIN": frozenset({FactType.INTEGER, FactType.NUMBER, FactType.STRING, FactType.DATE}),
    "MAX": frozenset({FactType.INTEGER, FactType.NUMBER, FactType.STRING, FactType.DATE}),
}
_SQL_AGGREGATES: dict[str, type[exp.AggFunc]] = {
    "COUNT": exp.Count,
    "SUM": exp.Sum,
    "MIN": exp.Min,
    "MAX": exp.Max,
    "AVG": exp.Avg,
}


class _Part:
    """One compiled sub-expression (value or where) of an aggregate."""

    __slots__ = ("function", "source", "tree", "type")

    def __init__(self, source: str, tree: Node, type_: FactType, function: PythonFunction) -> None:
        self.source = source
        self.tree = tree
        self.type = type_
        self.function = function


class Aggregate:
    """An aggregate of ``value`` over the records for which ``where`` is TRUE."""

    __slots__ = ("_value", "_where", "empty_value", "facts_read", "function", "result_type")

    def __init__(
        self, function: str, value: _Part | None, where: _Part | None, facts_read: tuple[str, ...]
    ) -> None:
        self.function = function
        self._value = value
        self._where = where
        self.facts_read = facts_read
        if function == "COUNT":
            self.result_type = FactType.INTEGER
        elif function == "EXISTS":
            self.result_type = FactType.BOOLEAN
        elif function == "AVG":
            self.result_type = FactType.NUMBER
        else:
            assert value is not None
            self.result_type = value.type
        # The value over an empty set of records, as in SQL: COUNT 0, EXISTS FALSE, the others NULL.
        self.empty_value: object | None = (
            0 if function == "COUNT" else False if function == "EXISTS" else None
        )

    def evaluate(
        self, records: Sequence[Mapping[str, object]] | None, context: Mapping[str, object] | None = None
    ) -> object | None:
        """The aggregate over one subject's records; ``None`` records (no data) gives NULL."""
        if records is None:
            return None
        ctx: Mapping[str, object] = context if context is not None else {}
        where = self._where.function if self._where is not None else None
        matching = records if where is None else [r for r in records if where(r, ctx) is True]
        if self._value is None:
            return len(matching) > 0 if self.function == "EXISTS" else len(matching)
        value = self._value.function
        values = [v for v in (value(r, ctx) for r in matching) if v is not None]
        if self.function == "COUNT":
            return len(values)
        if not values:
            return None
        if self.function == "SUM":
            total = sum(values)  # type: ignore[arg-type]
            return float(total) if self.result_type is FactType.NUMBER else total
        if self.function == "AVG":
            return sum(values) / len(values)  # type: ignore[arg-type]
        return min(values) if self.function == "MIN" else max(values)  # type: ignore[type-var]

    def to_sql(self, dialect: str = "duckdb", column: ColumnFunction | None = None) -> str:
        """An aggregate SQL expression for ``SELECT key, <this> FROM records GROUP BY key``.

        COUNT → ``COUNT(CASE WHEN <where> THEN 1 END)`` (or ``COUNT(CASE WHEN <where> THEN <value> END)``),
        SUM/MIN/MAX/AVG → ``F(CASE WHEN <where> THEN <value> END)``, EXISTS → ``COUNT(CASE WHEN <where>
        THEN 1 END) > 0``; without ``where``: ``COUNT(*)``, ``F(<value>)``. A record whose ``where`` is NULL
        is not counted, as in a SQL WHERE clause.
        """
        return SqlBuilder(dialect, column).to_sql(self._sql_tree)

    def _sql_tree(self, builder: SqlBuilder) -> exp.Expr:
        value = builder.build(self._value.tree) if self._value is not None else None
        if self._where is not None:
            when = builder.build(self._where.tree)
            argument: exp.Expr = exp.Case(
                ifs=[exp.If(this=when, true=value if value is not None else exp.Literal.number(1))]
            )
        else:
            argument = value if value is not None else exp.Star()
        if self.function == "EXISTS":
            return exp.GT(this=exp.Count(this=argument), expression=exp.Literal.number(0))
        return _SQL_AGGREGATES[self.function](this=argument)

    def __repr__(self) -> str:
        value = self._value.source if self._value else None
        where = self._where.source if self._where else None
        return f"Aggregate({self.function}, value={value!r}, where={where!r})"


def compile_aggregate(
    function: str,
    record_fields: Mapping[str, FactType],
    *,
    value: str | None,
    where: str | None,
    context: Mapping[str, FactType],
    max_length: int = 4000,
    max_depth: int = 40,
) -> Aggregate:
    """Compile an aggregate over records. ``value`` and ``where`` read record fields and context facts."""
    name = str(function).upper()
    if name not in AGGREGATE_FUNCTIONS:
        raise ExpressionError(
            f"未知聚合函数 {function} (unknown aggregate; allowed: {', '.join(AGGREGATE_FUNCTIONS)})"
        )
    fields, ctx = check_facts(record_fields), check_facts(context)
    # A record field named like a context fact (credit penalty records have a ``decision_date`` field)
    # would make that name ambiguous. The resource stays usable: only *reading* such a name is an error.
    clash = frozenset(fields) & frozenset(ctx)
    if name == "EXISTS" and value is not None:
        raise ExpressionError("EXISTS 不接受 value，只用 where (EXISTS takes no value, only where)")
    if name in _VALUE_TYPES and name != "COUNT" and value is None:
        raise ExpressionError(f"{name} 需要 value 表达式 ({name} needs a value expression)")
    facts = {**fields, **ctx}
    params = {**dict.fromkeys(fields, "record"), **dict.fromkeys(ctx, "context")}
    read: dict[str, None] = {}

    def part(source: str, expect: FactType | None) -> _Part:
        tree, type_, facts_read = build_tree(
            source, facts, expect=expect, max_length=max_length, max_depth=max_depth
        )
        unambiguous(source, facts_read)
        read.update(dict.fromkeys(facts_read))
        python, _ = compile_python(
            tree, {f: facts[f] for f in facts_read}, params, ("record", "context"), source
        )
        return _Part(source, tree, type_, python)

    def unambiguous(source: str, part_read: tuple[str, ...]) -> None:
        ambiguous = sorted(clash.intersection(part_read))
        if ambiguous:
            raise ExpressionError(
                f"名称 {', '.join(ambiguous)} 既是记录字段又是上下文事实，有歧义，不能在汇总中使用 "
                f"(ambiguous: both a record field and a context fact)",
                snippet=source,
            )

    value_part = part(value, None) if value is not None else None
    if value_part is not None and value_part.type not in _VALUE_TYPES[name]:
        raise ExpressionError(
            f"类型错误：{name} 不能用于 {label(value_part.type)} (type error: {name} of {value_part.type})",
            snippet=value,
        )
    where_part = part(where, FactType.BOOLEAN) if where is not None else None
    return Aggregate(name, value_part, where_part, tuple(read))
