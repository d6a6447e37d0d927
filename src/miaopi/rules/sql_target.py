"""SQL target: the validated IR → a sqlglot tree → SQL text in the DuckDB or Spark dialect.

The generated SQL has the same meaning as the Python target (see runtime.py):
integer literals used as values are BIGINT, decimal literals DOUBLE; ``/`` and ``%`` divide by
``NULLIF(divisor, 0)`` so that division by zero is NULL on both engines; LEAST/GREATEST return NULL
when an argument is NULL; the date functions expand to portable arithmetic on YEAR/MONTH/DAY.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from miaopi.rules.ir import Node, Op
from miaopi.rules.parse import MAX_DEPTH_LIMIT, recursion_headroom
from miaopi.rules.types import SQL_TYPES, FactType

DIALECTS = ("duckdb", "spark")
ColumnFunction = Callable[[str], str]

_SIMPLE_REFERENCE = re.compile(r'(?:"[^"]*"|`[^`]*`|\w+)(?:\.(?:"[^"]*"|`[^`]*`|\w+))*')
_ATOMIC = (exp.Literal, exp.Var, exp.Column, exp.Paren, exp.Func, exp.Boolean, exp.Null)
_COMPARE: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "<>": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
_ARITH: dict[str, type[exp.Binary]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod}
_SIMPLE_FUNCTIONS: dict[str, type[exp.Func]] = {
    "ABS": exp.Abs,
    "LENGTH": exp.Length,
    "UPPER": exp.Upper,
    "LOWER": exp.Lower,
    "STARTS_WITH": exp.StartsWith,
    "YEAR": exp.Year,
    "MONTH": exp.Month,
    "DAY": exp.Day,
    "FLOOR": exp.Floor,
    "CEIL": exp.Ceil,
}


def check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(
            f"不支持的 SQL 方言 {dialect} (unsupported dialect; use one of {', '.join(DIALECTS)})"
        )


def default_column(dialect: str) -> ColumnFunction:
    """A quoted column named after the fact: "person.age" in DuckDB, `person.age` in Spark."""
    return lambda name: exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def _paren(e: exp.Expr) -> exp.Expr:
    atomic = isinstance(e, exp.Paren) or (
        isinstance(e, _ATOMIC) and not isinstance(e, exp.Binary | exp.Unary | exp.Predicate)
    )
    return e if atomic else exp.Paren(this=e)


def _number(value: int) -> exp.Expr:
    return exp.Literal.number(value)


def _cast(e: exp.Expr, type_: str) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build(type_))


class SqlBuilder:
    """Builds sqlglot trees for one dialect, resolving facts through ``column``."""

    def __init__(self, dialect: str, column: ColumnFunction | None) -> None:
        check_dialect(dialect)
        self.dialect = dialect
        self.column = column or default_column(dialect)

    def to_sql(self, tree: Callable[[SqlBuilder], exp.Expr]) -> str:
        """Build a sqlglot tree with ``tree(self)`` and generate its text (both steps recurse on the tree)."""
        with recursion_headroom(MAX_DEPTH_LIMIT):
            return tree(self).sql(dialect=self.dialect)

    def fact(self, name: str) -> exp.Expr:
        text = self.column(name)
        var = exp.Var(this=text)
        return var if _SIMPLE_REFERENCE.fullmatch(text) else exp.Paren(this=var)

    def literal(self, node: Node, *, bare: bool = False) -> exp.Expr:
        value = node.value
        if value is None:
            return exp.Null() if node.type is None else _cast(exp.Null(), SQL_TYPES[node.type])
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, int):
            return _number(value) if bare else _cast(_number(value), "BIGINT")
        if isinstance(value, float):
            return _cast(exp.Literal.number(repr(value)), "DOUBLE")
        if isinstance(value, str):
            return exp.Literal.string(value)
        return _cast(exp.Literal.string(value.isoformat()), "DATE")  # type: ignore[attr-defined]

    def operand(self, node: Node) -> exp.Expr:
        """An operand of a comparison: integer literals stay bare (no overflow possible there)."""
        return _paren(self.literal(node, bare=True) if node.op is Op.LITERAL else self.build(node))

    def build(self, node: Node) -> exp.Expr:
        op = node.op
        if op is Op.LITERAL:
            return self.literal(node)
        if op is Op.FACT:
            return self.fact(str(node.value))
        if op is Op.AND or op is Op.OR:
            connector = exp.And if op is Op.AND else exp.Or
            parts = [self.build(a) for a in node.args]
            parts = [exp.Paren(this=p) if isinstance(p, exp.Connector) else p for p in parts]
            result = parts[0]
            for part in parts[1:]:
                result = connector(this=result, expression=part)
            return result
        if op is Op.NOT:
            return exp.Not(this=_paren(self.build(node.args[0])))
        if op is Op.COMPARE:
            a, b = node.args
            return _COMPARE[str(node.value)](this=self.operand(a), expression=self.operand(b))
        if op is Op.ARITH:
            return self.arith(node)
        if op is Op.NEG:
            return exp.Neg(this=_paren(self.build(node.args[0])))
        if op is Op.IS_NULL:
            return exp.Is(this=_paren(self.build(node.args[0])), expression=exp.Null())
        if op is Op.IN:
            subject, *items = node.args
            return exp.In(this=self.operand(subject), expressions=[self.operand(i) for i in items])
        if op is Op.BETWEEN:
            subject, low, high = node.args
            return exp.Between(this=self.operand(subject), low=self.operand(low), high=self.operand(high))
        if op is Op.LIKE:
            return exp.Like(
                this=_paren(self.build(node.args[0])), expression=exp.Literal.string(str(node.value))
            )
        if op is Op.CASE:
            args = node.args
            ifs = [
                exp.If(this=self.build(args[i]), true=self.build(args[i + 1]))
                for i in range(0, len(args) - 1, 2)
            ]
            default = args[-1]
            return exp.Case(ifs=ifs, default=None if default.is_null_literal else self.build(default))
        if op is Op.TO_NUMBER:
            return _cast(self.build(node.args[0]), "DOUBLE")
        return self.call(node)

    def arith(self, node: Node) -> exp.Expr:
        symbol = str(node.value)
        a, b = node.args
        left, right = _paren(self.build(a)), self.build(b)
        if symbol in "/%" and not (b.op is Op.LITERAL and b.value != 0):
            right = exp.Nullif(this=right, expression=_number(0))
        return _ARITH[symbol](this=left, expression=_paren(right))

    def call(self, node: Node) -> exp.Expr:
        name = str(node.value)
        args = node.args
        if name in _SIMPLE_FUNCTIONS:
            if name in ("FLOOR", "CEIL") and node.type is FactType.INTEGER:
                return self.build(args[0])
            built = [self.build(a) for a in args]
            keys = list(_SIMPLE_FUNCTIONS[name].arg_types)
            return _SIMPLE_FUNCTIONS[name](**dict(zip(keys, built, strict=False)))
        if name == "COALESCE":
            first, *rest = [self.build(a) for a in args]
            return exp.Coalesce(this=first, expressions=rest)
        if name in ("LEAST", "GREATEST"):
            return self.least_greatest(node)
        if name == "ROUND":
            digits = args[1].value
            assert isinstance(digits, int)
            if node.type is FactType.INTEGER and digits >= 0:
                return self.build(args[0])
            if node.type is not FactType.INTEGER:
                return self.round_number(self.build(args[0]), digits)
            return exp.Round(this=self.build(args[0]), decimals=_number(digits) if digits else None)
        if name == "SUBSTR":
            length = self.literal(args[2], bare=True) if len(args) > 2 else None
            return exp.Substring(
                this=self.build(args[0]), start=self.literal(args[1], bare=True), length=length
            )
        if name in ("YEARS_BETWEEN", "MONTHS_BETWEEN"):
            return self.full_periods(name, args)
        if name == "DAYS_BETWEEN":
            start, end = self.build(args[0]), self.build(args[1])
            unit = exp.var("DAY") if self.dialect == "duckdb" else None
            return exp.DateDiff(this=end, expression=start, unit=unit)
        return self.add_to_date(name, args)

    def round_number(self, value: exp.Expr, digits: int) -> exp.Expr:
        """The rule language's ROUND of a number, operation for operation as ``runtime.round_number``:
        ROUND(value * 10^digits) / 10^digits in doubles, halves away from zero — spelled out for every
        engine, because the engines' own ROUND(DOUBLE, digits) disagree and change: Spark rounds the
        shortest decimal text of the double (ROUND(1.005, 2) = 1.01, not 1.0), and DuckDB 2.0 rounds
        the double's exact binary value (ROUND(2.675, 2) = 2.67, where DuckDB 1.x and the rule
        language give 2.68)."""
        if digits == 0:
            return exp.Round(this=_cast(value, "DOUBLE"))
        modifier = _cast(exp.Literal.number(10 ** abs(digits)), "DOUBLE")
        if digits > 0:
            scaled: exp.Expr = exp.Mul(this=_paren(value), expression=modifier)
            return exp.Div(this=exp.Round(this=scaled), expression=modifier.copy())
        scaled = exp.Div(this=_paren(value), expression=modifier)
        return exp.Mul(this=exp.Round(this=scaled), expression=modifier.copy())

    def least_greatest(self, node: Node) -> exp.Expr:
        cls = exp.Least if node.value == "LEAST" else exp.Greatest
        first, *rest = [self.build(a) for a in node.args]
        call = cls(this=first, expressions=rest, ignore_nulls=True)
        tests = [exp.Is(this=_paren(self.build(a)), expression=exp.Null()) for a in node.args if a.nullable]
        if not tests:
            return call
        condition: exp.Expr = tests[0]
        for test in tests[1:]:
            condition = exp.Or(this=condition, expression=test)
        return exp.Case(ifs=[exp.If(this=condition, true=exp.Null())], default=call)

    def full_periods(self, name: str, args: tuple[Node, ...]) -> exp.Expr:
        """FLOOR((code(end) - code(start)) / unit): code = Y*10000+M*100+D (years) or (Y*12+M)*100+D (months)."""

        def code(node: Node) -> exp.Expr:
            d = self.build(node)
            year, month, day = exp.Year(this=d), exp.Month(this=d.copy()), exp.Day(this=d.copy())
            if name == "YEARS_BETWEEN":
                head: exp.Expr = exp.Add(
                    this=exp.Mul(this=year, expression=_number(10000)),
                    expression=exp.Mul(this=month, expression=_number(100)),
                )
            else:
                months = exp.Paren(
                    this=exp.Add(this=exp.Mul(this=year, expression=_number(12)), expression=month)
                )
                head = exp.Mul(this=months, expression=_number(100))
            return exp.Paren(this=exp.Add(this=head, expression=day))

        unit = 10000 if name == "YEARS_BETWEEN" else 100
        difference = exp.Paren(this=exp.Sub(this=code(args[1]), expression=code(args[0])))
        return _cast(exp.Floor(this=exp.Div(this=difference, expression=_number(unit))), "BIGINT")

    def add_to_date(self, name: str, args: tuple[Node, ...]) -> exp.Expr:
        day, amount = self.build(args[0]), self.operand(args[1])
        if name == "ADD_YEARS":
            amount = exp.Mul(this=_paren(amount), expression=_number(12))
        if self.dialect == "spark":  # Spark's ADD_MONTHS and DATE_ADD take INT and return DATE
            amount = _cast(amount, "INT")
            if name == "ADD_DAYS":
                return exp.Anonymous(this="DATE_ADD", expressions=[day, amount])
            return exp.AddMonths(this=day, expression=amount)
        unit = "DAY" if name == "ADD_DAYS" else "MONTH"  # DuckDB: DATE + INTERVAL is a TIMESTAMP
        return _cast(exp.DateAdd(this=day, expression=amount, unit=exp.var(unit)), "DATE")


def sql_type(fact_type: FactType) -> str:
    """The SQL column type a fact of this type should have in the target tables."""
    return SQL_TYPES[fact_type]
