"""compile_expression and the compiled Expression."""

from __future__ import annotations

from collections.abc import Mapping

from miaopi.rules.errors import ExpressionError
from miaopi.rules.ir import Node
from miaopi.rules.parse import Converter, as_number, check_weight, parse_sql, recursion_headroom, typed_null
from miaopi.rules.python_target import PythonFunction, compile_python
from miaopi.rules.sql_target import ColumnFunction, SqlBuilder
from miaopi.rules.types import FactType, label


def check_facts(facts: Mapping[str, FactType]) -> dict[str, FactType]:
    declared: dict[str, FactType] = {}
    for name, type_ in facts.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"事实名必须是非空字符串 (fact names must be non-empty strings): {name!r}")
        declared[name] = FactType(type_)
    return declared


def build_tree(
    source: str,
    facts: Mapping[str, FactType],
    *,
    expect: FactType | None,
    max_length: int,
    max_depth: int,
) -> tuple[Node, FactType, tuple[str, ...]]:
    """Parse, validate and type-check; returns the IR, its result type and the facts read."""
    converter = Converter(facts)
    with recursion_headroom(max_depth):
        root = converter.convert(parse_sql(source, max_length=max_length, max_depth=max_depth))
    check_weight(root)
    result_type = root.type
    if expect is not None:
        expect = FactType(expect)
        if (
            result_type is not None
            and result_type != expect
            and not (expect is FactType.NUMBER and result_type is FactType.INTEGER)
        ):
            raise ExpressionError(
                f"类型错误：表达式的结果应为 {label(expect)}，实际为 {label(result_type)} "
                f"(expression must be {expect}, got {result_type})",
                snippet=source.strip()[:120],
            )
        if result_type is FactType.INTEGER and expect is FactType.NUMBER:
            root = as_number(root)
        root = typed_null(root, expect)
        result_type = expect
    if result_type is None:
        raise ExpressionError(
            "无法确定表达式的类型（只有 NULL）(cannot infer the type of a NULL-only expression)"
        )
    return root, result_type, tuple(converter.facts_read)


class Expression:
    """A validated rule expression with a Python target (``evaluate``) and a SQL target (``to_sql``)."""

    __slots__ = ("_function", "_tree", "facts_read", "python_source", "result_type", "source")

    def __init__(
        self,
        source: str,
        tree: Node,
        result_type: FactType,
        facts_read: tuple[str, ...],
        facts: Mapping[str, FactType],
    ) -> None:
        self.source = source
        self.result_type = result_type
        self.facts_read = facts_read
        self._tree = tree
        read_types = {name: facts[name] for name in facts_read}
        self._function: PythonFunction
        self._function, self.python_source = compile_python(
            tree, read_types, dict.fromkeys(facts_read, "values"), ("values",), source
        )

    def evaluate(self, values: Mapping[str, object]) -> object | None:
        """The value for one case; None is SQL NULL (unknown). A missing key is NULL."""
        return self._function(values)

    def to_sql(self, dialect: str = "duckdb", column: ColumnFunction | None = None) -> str:
        """SQL text for ``dialect`` ("duckdb" or "spark").

        ``column(fact_name)`` returns the SQL, already quoted for the dialect, standing for the fact;
        by default a quoted column named after the fact ("person.age" / `person.age`). Fact columns
        should have the types of :func:`miaopi.rules.sql_type` (BIGINT, DOUBLE, VARCHAR, DATE, BOOLEAN).
        """
        return SqlBuilder(dialect, column).to_sql(lambda builder: builder.build(self._tree))

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, result_type={self.result_type.value})"


def compile_expression(
    source: str,
    facts: Mapping[str, FactType],
    *,
    expect: FactType | None = None,
    max_length: int = 4000,
    max_depth: int = 40,
) -> Expression:
    """Validate ``source`` against the declared ``facts`` and compile it to both targets.

    Raises :class:`ExpressionError` (message in Chinese with the English gist) for anything outside the
    language: unknown names or functions, wrong types, statements, subqueries, oversized input.
    """
    declared = check_facts(facts)
    tree, result_type, facts_read = build_tree(
        source, declared, expect=expect, max_length=max_length, max_depth=max_depth
    )
    return Expression(source, tree, result_type, facts_read, declared)
