"""Parsing, whitelisting and type checking: SQL text → validated, typed :class:`~miaopi.rules.ir.Node`.

The converter below *is* the whitelist: every sqlglot node class it does not handle explicitly is
rejected with a message naming it. Size bounds are checked on the token stream before sqlglot's
recursive-descent parser runs (so pathological nesting can never reach a RecursionError) and again on
the parsed tree before the recursive conversion.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from miaopi.rules import types as t
from miaopi.rules.errors import ExpressionError
from miaopi.rules.ir import Node, Op
from miaopi.rules.types import NUMERIC, FactType

READ_DIALECT = "duckdb"
MAX_NODES = 3000
MAX_INTEGER_LITERAL = 10**15
MAX_NUMBER_LITERAL = 1e15
MAX_STRING_LITERAL = 1000
MAX_IN_ITEMS = 1000
MAX_SQL_WEIGHT = 100_000
MAX_ROUND_DIGITS = 15
MAX_DEPTH_LIMIT = 200  # the largest max_depth a caller may ask for
_FRAMES_PER_LEVEL = 30  # sqlglot's recursive-descent parser uses ~25 Python frames per nesting level

_DATE_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER_TEXT = re.compile(r"\d+")

# Prefix operators: each one in a run nests one level deeper in the parser.
_PREFIX_TOKENS = frozenset({TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE})
_OPEN_TOKENS = frozenset({TokenType.L_PAREN, TokenType.CASE, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSE_TOKENS = frozenset({TokenType.R_PAREN, TokenType.END, TokenType.R_BRACKET, TokenType.R_BRACE})

_COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_ARITHMETIC: dict[type[exp.Expr], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
}

# sqlglot parses many functions into dedicated classes; the rest arrive as exp.Anonymous.
_FUNCTION_CLASSES: dict[type[exp.Expr], str] = {
    exp.Coalesce: "COALESCE",
    exp.Least: "LEAST",
    exp.Greatest: "GREATEST",
    exp.Abs: "ABS",
    exp.Round: "ROUND",
    exp.Floor: "FLOOR",
    exp.Ceil: "CEIL",
    exp.If: "IF",
    exp.Length: "LENGTH",
    exp.Substring: "SUBSTR",
    exp.Upper: "UPPER",
    exp.Lower: "LOWER",
    exp.StartsWith: "STARTS_WITH",
    exp.Year: "YEAR",
    exp.Month: "MONTH",
    exp.Day: "DAY",
    exp.AddMonths: "ADD_MONTHS",
    exp.MonthsBetween: "MONTHS_BETWEEN",
}
_ANONYMOUS_FUNCTIONS = frozenset(
    {"YEARS_BETWEEN", "MONTHS_BETWEEN", "DAYS_BETWEEN", "ADD_YEARS", "ADD_MONTHS", "ADD_DAYS"}
)
# name → (min args, max args)
ARITY: dict[str, tuple[int, int]] = {
    "COALESCE": (1, 100),
    "LEAST": (2, 100),
    "GREATEST": (2, 100),
    "ABS": (1, 1),
    "ROUND": (1, 2),
    "FLOOR": (1, 1),
    "CEIL": (1, 1),
    "IF": (3, 3),
    "LENGTH": (1, 1),
    "SUBSTR": (2, 3),
    "UPPER": (1, 1),
    "LOWER": (1, 1),
    "STARTS_WITH": (2, 2),
    "YEAR": (1, 1),
    "MONTH": (1, 1),
    "DAY": (1, 1),
    "YEARS_BETWEEN": (2, 2),
    "MONTHS_BETWEEN": (2, 2),
    "DAYS_BETWEEN": (2, 2),
    "ADD_YEARS": (2, 2),
    "ADD_MONTHS": (2, 2),
    "ADD_DAYS": (2, 2),
}
FUNCTION_NAMES = tuple(sorted(ARITY))

_STATEMENT_CLASSES: tuple[type[exp.Expr], ...] = (
    exp.Copy,
    exp.Pragma,
    exp.Attach,
    exp.Detach,
    exp.Command,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Set,
    exp.Use,
    exp.Describe,
    exp.Install,
    exp.Export,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Show,
    exp.Summarize,
    exp.Kill,
    exp.Refresh,
    exp.Cache,
    exp.Uncache,
    exp.TruncateTable,
)


def _offset(source: str, line: int, col: int) -> int:
    lines = source.split("\n")
    return sum(len(lines[i]) + 1 for i in range(min(line - 1, len(lines)))) + max(col - 1, 0)


def _token_error(message: str, token: Token) -> ExpressionError:
    return ExpressionError(message, position=token.start, snippet=token.text)


def _check_tokens(source: str, max_depth: int) -> None:
    try:
        tokens = sqlglot.Dialect.get_or_raise(READ_DIALECT).tokenize(source)
    except TokenError as error:
        raise ExpressionError(f"无法识别的词法单元，例如未闭合的引号 (cannot tokenize: {error})") from None
    nesting = 0
    prefix_run = 0
    for token in tokens:
        if token.comments:
            raise _token_error("不允许注释 (comments are not allowed in rule expressions)", token)
        if token.token_type is TokenType.SEMICOLON:
            raise _token_error("不允许分号或多条语句 (';' and multiple statements are not allowed)", token)
        if token.token_type in _OPEN_TOKENS:
            nesting += 1
        elif token.token_type in _CLOSE_TOKENS:
            nesting -= 1
        prefix_run = prefix_run + 1 if token.token_type in _PREFIX_TOKENS else 0
        if nesting + prefix_run > max_depth:
            raise _token_error(
                f"表达式嵌套过深：超过 {max_depth} 层 (nesting deeper than max_depth={max_depth})", token
            )
    if len(tokens) > MAX_NODES:
        raise ExpressionError(
            f"表达式过大：{len(tokens)} 个词法单元，上限 {MAX_NODES} (expression too large)"
        )


def _check_tree(tree: exp.Expr, max_depth: int) -> None:
    """Depth (AND/OR chains and parentheses count as one level) and node count, without recursion."""
    count = 0
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"表达式过大：超过 {MAX_NODES} 个节点 (more than {MAX_NODES} nodes)")
        if depth > max_depth:
            raise ExpressionError(
                f"表达式嵌套过深：超过 {max_depth} 层 (nesting deeper than max_depth={max_depth})",
                position=_position(node),
                snippet=_snippet(node),
            )
        if isinstance(node, exp.Column):  # a fact reference is a leaf; its identifiers do not nest
            continue
        for child in node.iter_expressions():
            flat = isinstance(child, exp.Paren) or (
                isinstance(child, exp.And | exp.Or) and type(child) is type(node)
            )
            stack.append((child, depth if flat else depth + 1))


def _position(node: exp.Expr) -> int | None:
    starts = [n.meta["start"] for n in node.walk() if n._meta and "start" in n._meta]
    return min(starts) if starts else None


def _snippet(node: exp.Expr) -> str:
    text = node.sql(dialect=READ_DIALECT)
    return text if len(text) <= 120 else text[:117] + "..."


@contextmanager
def recursion_headroom(max_depth: int) -> Iterator[None]:
    """Make sure recursion up to ``max_depth`` levels of nesting fits under the interpreter's limit.

    Nesting is bounded (checked on tokens before parsing), so the raised limit is bounded too.
    """
    if not 1 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(
            f"max_depth 须在 1 到 {MAX_DEPTH_LIMIT} 之间 (max_depth must be in [1, {MAX_DEPTH_LIMIT}])"
        )
    previous = sys.getrecursionlimit()
    frame, used = sys._getframe(), 0
    while frame is not None:
        frame, used = frame.f_back, used + 1  # type: ignore[assignment]
    needed = used + _FRAMES_PER_LEVEL * (max_depth + 5) + 200
    if needed > previous:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if needed > previous:
            sys.setrecursionlimit(previous)


def parse_sql(source: str, *, max_length: int, max_depth: int) -> exp.Expr:
    """Parse one SQL expression after the size checks; no semantic validation yet."""
    if not isinstance(source, str):
        raise ExpressionError(
            f"表达式必须是字符串 (expression must be a string, got {type(source).__name__})"
        )
    if len(source) > max_length:
        raise ExpressionError(f"表达式过长：{len(source)} 个字符，上限 {max_length} (expression too long)")
    if not source.strip():
        raise ExpressionError("表达式为空 (empty expression)")
    _check_tokens(source, max_depth)
    try:
        statements = sqlglot.parse(source, read=READ_DIALECT)
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        line, col = first.get("line"), first.get("col")
        highlight = first.get("highlight") or None
        context = (first.get("start_context") or "") + (highlight or "")
        position = None
        if isinstance(line, int) and isinstance(col, int):
            position = max(_offset(source, line, col) - len(highlight or " ") + 1, 0)
        description = first.get("description") or str(error)
        raise ExpressionError(
            f"语法错误 (syntax error: {description})", position=position, snippet=context.strip() or None
        ) from None
    except RecursionError:
        raise ExpressionError(f"表达式嵌套过深 (nesting deeper than max_depth={max_depth})") from None
    if len(statements) != 1:
        raise ExpressionError("不允许多条语句 (multiple statements are not allowed)")
    tree = statements[0]
    if tree is None:
        raise ExpressionError("表达式为空 (empty expression)")
    _check_tree(tree, max_depth)
    return tree


def _literal(value: object, type_: FactType | None) -> Node:
    return Node(Op.LITERAL, type_, value=value, nullable=value is None)


def _node(
    op: Op,
    type_: FactType | None,
    args: tuple[Node, ...],
    value: object = None,
    *,
    nullable: bool | None = None,
    repeat: int = 1,
) -> Node:
    return Node(
        op,
        type_,
        args,
        value,
        nullable=any(a.nullable for a in args) if nullable is None else nullable,
        weight=1 + repeat * sum(a.weight for a in args),
    )


def typed_null(node: Node, type_: FactType | None) -> Node:
    """Give an untyped node the type its context requires (SQL engines need it to pick overloads).

    A node has no type only if every value flowing into it is a NULL literal, so it is always NULL
    and can be replaced by a typed NULL literal.
    """
    return _literal(None, type_) if node.type is None and type_ is not None else node


def as_number(node: Node) -> Node:
    """Widen an INTEGER node to NUMBER (literals are folded)."""
    if node.type is not FactType.INTEGER:
        return node
    if node.op is Op.LITERAL:
        return _literal(float(node.value), FactType.NUMBER)  # type: ignore[arg-type]
    return _node(Op.TO_NUMBER, FactType.NUMBER, (node,))


class Converter:
    """Converts one sqlglot tree into IR; collects the facts it reads."""

    def __init__(self, facts: Mapping[str, FactType]) -> None:
        self.facts = facts
        self.facts_read: dict[str, None] = {}

    # -- errors -------------------------------------------------------------------------------------

    def error(self, message: str, node: exp.Expr) -> ExpressionError:
        return ExpressionError(message, position=_position(node), snippet=_snippet(node))

    def require(self, node: Node, source: exp.Expr, allowed: frozenset[FactType], what: str) -> None:
        if node.type is not None and node.type not in allowed:
            wanted = "、".join(t.label(a) for a in sorted(allowed))
            raise self.error(
                f"类型错误：{what} 需要 {wanted}，但 «{_snippet(source)}» 是 {t.label(node.type)} "
                f"(type error: {what} needs {'/'.join(sorted(allowed))}, got {node.type})",
                source,
            )

    def join_types(self, nodes: list[Node], sources: list[exp.Expr], what: str) -> FactType | None:
        result: FactType | None = None
        for node, source in zip(nodes, sources, strict=True):
            try:
                result = t.join(result, node.type)
            except ValueError:
                raise self.error(
                    f"类型错误：{what} 的各分支类型不一致：{t.label(result)} 与 {t.label(node.type)} "
                    f"(type error: {what} branches disagree: {result} vs {node.type})",
                    source,
                ) from None
        return result

    def unify(self, nodes: list[Node], type_: FactType | None) -> list[Node]:
        typed = [typed_null(n, type_) for n in nodes]
        return [as_number(n) for n in typed] if type_ is FactType.NUMBER else typed

    # -- dispatch -----------------------------------------------------------------------------------

    def convert(self, e: exp.Expr) -> Node:
        if isinstance(e, exp.Paren):
            return self.convert(e.this)
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            return handler(self, e)
        if isinstance(e, exp.Func) and (type(e) in _FUNCTION_CLASSES or isinstance(e, exp.Anonymous)):
            return self.function(e)
        raise self.reject(e)

    def reject(self, e: exp.Expr) -> ExpressionError:
        if isinstance(e, exp.Query | exp.Subquery | exp.Exists):
            return self.error("不允许子查询或 SELECT (subqueries and SELECT are not allowed)", e)
        if isinstance(e, exp.Window):
            return self.error("不允许窗口函数 (window functions are not allowed)", e)
        if isinstance(e, exp.AggFunc):
            return self.error(
                f"聚合函数 {e.sql_name()} 不能用在普通表达式中，请定义聚合 (aggregate {e.sql_name()} is not "
                "allowed in a plain expression; use compile_aggregate)",
                e,
            )
        if isinstance(e, _STATEMENT_CLASSES):
            name = type(e).__name__.upper()
            return self.error(f"不允许 SQL 语句 {name} (SQL statements such as {name} are not allowed)", e)
        if isinstance(e, exp.Cast):
            return self.error(
                "不允许类型转换 CAST/::，日期请写 DATE 'yyyy-mm-dd' (casts are not allowed; "
                "write dates as DATE 'yyyy-mm-dd')",
                e,
            )
        if isinstance(e, exp.Placeholder):
            return self.error("不允许参数占位符 (placeholders are not allowed)", e)
        if isinstance(e, exp.Func):
            name = str(e.name) if isinstance(e, exp.Anonymous) else e.sql_name()
            close = difflib.get_close_matches(name.upper(), FUNCTION_NAMES, n=3)
            hint = f"；您是否想用 {', '.join(close)}" if close else ""
            return self.error(
                f"未知函数 {name} (unknown function){hint}；可用函数 (allowed): {', '.join(FUNCTION_NAMES)}",
                e,
            )
        name = type(e).__name__
        return self.error(f"不支持的语法 {name} (unsupported syntax: {name})", e)

    # -- leaves -------------------------------------------------------------------------------------

    def literal(self, e: exp.Expr) -> Node:
        assert isinstance(e, exp.Literal)
        text = e.this
        if e.is_string:
            if len(text) > MAX_STRING_LITERAL:
                raise self.error(
                    f"字符串常量过长：{len(text)} 个字符，上限 {MAX_STRING_LITERAL} (string literal too long)",
                    e,
                )
            return _literal(text, FactType.STRING)
        if _INTEGER_TEXT.fullmatch(text):
            value = int(text)
            if value > MAX_INTEGER_LITERAL:
                raise self.error(f"整数常量过大，上限 10^15 (integer literal beyond ±10^15): {text[:30]}", e)
            return _literal(value, FactType.INTEGER)
        try:
            number = float(text)
        except ValueError:
            raise self.error(f"无法识别的数值常量 {text} (invalid number literal)", e) from None
        if not math.isfinite(number) or abs(number) > MAX_NUMBER_LITERAL:
            raise self.error(f"数值常量过大，上限 10^15 (number literal beyond ±10^15): {text[:30]}", e)
        return _literal(number, FactType.NUMBER)

    def boolean(self, e: exp.Expr) -> Node:
        return _literal(bool(e.this), FactType.BOOLEAN)

    def null(self, e: exp.Expr) -> Node:
        return _literal(None, None)

    def cast(self, e: exp.Expr) -> Node:
        assert isinstance(e, exp.Cast)
        inner = e.this
        if e.to.is_type(exp.DataType.Type.DATE) and isinstance(inner, exp.Literal) and inner.is_string:
            text = inner.this
            try:
                if not _DATE_LITERAL.fullmatch(text):
                    raise ValueError(text)
                value = dt.date.fromisoformat(text)
            except ValueError:
                raise self.error(
                    f"无效的日期 '{text[:40]}'，格式为 DATE 'yyyy-mm-dd' (invalid date literal)", e
                ) from None
            return _literal(value, FactType.DATE)
        raise self.reject(e)

    def column(self, e: exp.Expr) -> Node:
        assert isinstance(e, exp.Column)
        if isinstance(e.this, exp.Star):
            raise self.error("不允许使用 * (star is not allowed)", e)
        name = ".".join(part.name for part in e.parts)
        fact_type = self.facts.get(name)
        if fact_type is None:
            close = difflib.get_close_matches(name, list(self.facts), n=3)
            hint = f"；您是否想用 {', '.join(close)} (did you mean)" if close else ""
            raise self.error(f"未声明的事实 {name} (unknown fact){hint}", e)
        self.facts_read.setdefault(name)
        return Node(Op.FACT, fact_type, value=name)

    # -- logic and comparison -----------------------------------------------------------------------

    def connector(self, e: exp.Expr) -> Node:
        assert isinstance(e, exp.Connector)
        op = Op.AND if isinstance(e, exp.And) else Op.OR
        sources = list(e.flatten())
        args = [self.convert(s) for s in sources]
        for node, source in zip(args, sources, strict=True):
            self.require(node, source, frozenset({FactType.BOOLEAN}), op.value.upper())
        return _node(op, FactType.BOOLEAN, tuple(args))

    def not_(self, e: exp.Expr) -> Node:
        arg = self.convert(e.this)
        self.require(arg, e.this, frozenset({FactType.BOOLEAN}), "NOT")
        return _node(Op.NOT, FactType.BOOLEAN, (arg,))

    def check_comparable(self, a: Node, b: Node, e: exp.Expr, what: str) -> None:
        if t.comparable(a.type, b.type):
            return
        hint = ""
        if {a.type, b.type} == {FactType.DATE, FactType.STRING}:
            hint = "；日期常量请写 DATE 'yyyy-mm-dd' (write date literals as DATE 'yyyy-mm-dd')"
        raise self.error(
            f"类型错误：{what} 无法比较 {t.label(a.type)} 与 {t.label(b.type)} "
            f"(type error: cannot compare {a.type} with {b.type}){hint}",
            e,
        )

    def compare(self, e: exp.Expr) -> Node:
        a, b = self.convert(e.this), self.convert(e.expression)
        symbol = _COMPARISONS[type(e)]
        self.check_comparable(a, b, e, symbol)
        return _node(Op.COMPARE, FactType.BOOLEAN, (typed_null(a, b.type), typed_null(b, a.type)), symbol)

    def is_(self, e: exp.Expr) -> Node:
        if not isinstance(e.expression, exp.Null):
            raise self.error("只支持 IS NULL / IS NOT NULL (only IS NULL and IS NOT NULL are supported)", e)
        arg = self.convert(e.this)
        return _node(Op.IS_NULL, FactType.BOOLEAN, (arg,), nullable=False)

    def in_(self, e: exp.Expr) -> Node:
        if e.args.get("query") or e.args.get("unnest") or e.args.get("field"):
            raise self.error("IN 只接受值列表，不允许子查询 (IN takes a list of values, not a subquery)", e)
        sources = e.expressions
        if not sources:
            raise self.error("IN 列表为空 (empty IN list)", e)
        if len(sources) > MAX_IN_ITEMS:
            raise self.error(f"IN 列表过长：{len(sources)} 项，上限 {MAX_IN_ITEMS} (IN list too long)", e)
        subject = self.convert(e.this)
        items = [self.convert(s) for s in sources]
        for item, source in zip(items, sources, strict=True):
            self.check_comparable(subject, item, source, "IN")
        return _node(Op.IN, FactType.BOOLEAN, (subject, *items))

    def between(self, e: exp.Expr) -> Node:
        if e.args.get("symmetric"):
            raise self.error("不支持 BETWEEN SYMMETRIC (BETWEEN SYMMETRIC is not supported)", e)
        subject, low, high = self.convert(e.this), self.convert(e.args["low"]), self.convert(e.args["high"])
        self.check_comparable(subject, low, e, "BETWEEN")
        self.check_comparable(subject, high, e, "BETWEEN")
        return _node(Op.BETWEEN, FactType.BOOLEAN, (subject, low, high))

    def like(self, e: exp.Expr) -> Node:
        pattern = e.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise self.error("LIKE 的模式必须是字符串常量 (the LIKE pattern must be a string literal)", e)
        if "\\" in pattern.this:
            raise self.error("LIKE 模式中不允许反斜杠 (backslashes are not allowed in LIKE patterns)", e)
        self.literal(pattern)  # length bound
        subject = self.convert(e.this)
        self.require(subject, e.this, frozenset({FactType.STRING}), "LIKE")
        node = _node(Op.LIKE, FactType.BOOLEAN, (subject,), pattern.this)
        return _node(Op.NOT, FactType.BOOLEAN, (node,)) if e.args.get("negate") else node

    # -- arithmetic ---------------------------------------------------------------------------------

    def arith(self, e: exp.Expr) -> Node:
        if isinstance(e, exp.Div) and (e.args.get("typed") or e.args.get("safe")):
            raise self.reject(e)
        symbol = _ARITHMETIC[type(e)]
        a, b = self.convert(e.this), self.convert(e.expression)
        self.require(a, e.this, NUMERIC, f"运算 {symbol}")
        self.require(b, e.expression, NUMERIC, f"运算 {symbol}")
        a, b = typed_null(a, b.type or FactType.INTEGER), typed_null(b, a.type or FactType.INTEGER)
        type_ = FactType.NUMBER if symbol == "/" or FactType.NUMBER in (a.type, b.type) else FactType.INTEGER
        nullable = a.nullable or b.nullable
        if symbol in "/%":
            nullable = nullable or not (b.op is Op.LITERAL and b.value != 0)
        return _node(Op.ARITH, type_, (a, b), symbol, nullable=nullable)

    def neg(self, e: exp.Expr) -> Node:
        arg = self.convert(e.this)
        self.require(arg, e.this, NUMERIC, "负号 unary minus")
        if arg.op is Op.LITERAL and arg.value is not None:
            return _literal(-arg.value, arg.type)  # type: ignore[operator]
        return _node(Op.NEG, arg.type, (arg,))

    # -- conditionals -------------------------------------------------------------------------------

    def case(self, e: exp.Expr) -> Node:
        if e.this is not None:
            raise self.error(
                "请使用 CASE WHEN 条件 THEN … 形式 (simple CASE x WHEN v is not supported; write CASE WHEN x = v)",
                e,
            )
        whens: list[tuple[exp.Expr, exp.Expr]] = [(i.this, i.args["true"]) for i in e.args["ifs"]]
        return self.conditional(e, whens, e.args.get("default"), "CASE")

    def if_(self, e: exp.Expr) -> Node:
        args = self.function_args(e, "IF")
        return self.conditional(e, [(args[0], args[1])], args[2], "IF")

    def conditional(
        self, e: exp.Expr, whens: list[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None, what: str
    ) -> Node:
        conditions: list[Node] = []
        results: list[Node] = []
        result_sources: list[exp.Expr] = []
        for condition_source, result_source in whens:
            condition = self.convert(condition_source)
            self.require(
                condition, condition_source, frozenset({FactType.BOOLEAN}), f"{what} 的条件 condition"
            )
            conditions.append(condition)
            results.append(self.convert(result_source))
            result_sources.append(result_source)
        if default is not None:
            results.append(self.convert(default))
            result_sources.append(default)
        else:
            results.append(_literal(None, None))
            result_sources.append(e)
        type_ = self.join_types(results, result_sources, what)
        results = self.unify(results, type_)
        args: list[Node] = []
        for condition, result in zip(conditions, results, strict=False):
            args += [condition, result]
        args.append(results[-1])
        return _node(Op.CASE, type_, tuple(args), nullable=any(r.nullable for r in results))

    # -- functions ----------------------------------------------------------------------------------

    def function_args(self, e: exp.Expr, name: str) -> list[exp.Expr]:
        args: list[exp.Expr] = []
        for key in e.arg_types:
            value = e.args.get(key)
            if isinstance(value, list):
                args.extend(v for v in value if isinstance(v, exp.Expr))
            elif isinstance(value, exp.Expr):
                args.append(value)
        if isinstance(e, exp.Anonymous):
            args = [a for a in args if a is not e.this]
        low, high = ARITY[name]
        if not low <= len(args) <= high:
            expected = str(low) if low == high else f"{low}–{high}"
            raise self.error(
                f"函数 {name} 需要 {expected} 个参数，实际 {len(args)} 个 "
                f"(function {name} takes {expected} arguments, got {len(args)})",
                e,
            )
        return args

    def integer_constant(self, source: exp.Expr, name: str, low: int, high: int) -> int:
        node = self.convert(source)
        if node.op is not Op.LITERAL or node.type is not FactType.INTEGER:
            raise self.error(
                f"函数 {name} 的这个参数必须是整数常量 (this argument of {name} must be an integer literal)",
                source,
            )
        value = node.value
        assert isinstance(value, int)
        if not low <= value <= high:
            raise self.error(
                f"函数 {name} 的参数须在 {low} 到 {high} 之间 (argument of {name} must be in [{low}, {high}])",
                source,
            )
        return value

    def function(self, e: exp.Expr) -> Node:
        if isinstance(e, exp.Anonymous):
            name = str(e.name).upper()
            if name not in _ANONYMOUS_FUNCTIONS:
                raise self.reject(e)
        else:
            name = _FUNCTION_CLASSES[type(e)]
        if name == "IF":
            return self.if_(e)
        sources = self.function_args(e, name)
        if name == "ROUND":
            arg = self.convert(sources[0])
            self.require(arg, sources[0], NUMERIC, name)
            digits = (
                self.integer_constant(sources[1], name, -MAX_ROUND_DIGITS, MAX_ROUND_DIGITS)
                if len(sources) > 1
                else 0
            )
            return _node(Op.CALL, arg.type, (arg, _literal(digits, FactType.INTEGER)), name)
        if name == "SUBSTR":
            arg = self.convert(sources[0])
            self.require(arg, sources[0], frozenset({FactType.STRING}), name)
            start = self.integer_constant(sources[1], name, 1, MAX_INTEGER_LITERAL)
            extra = (
                (_literal(self.integer_constant(sources[2], name, 0, MAX_INTEGER_LITERAL), FactType.INTEGER),)
                if len(sources) > 2
                else ()
            )
            return _node(Op.CALL, FactType.STRING, (arg, _literal(start, FactType.INTEGER), *extra), name)
        args = [self.convert(s) for s in sources]
        rule = _SIGNATURES[name]
        return rule(self, name, e, args, sources)


Signature = Callable[[Converter, str, exp.Expr, list[Node], list[exp.Expr]], Node]


def _fixed(params: tuple[frozenset[FactType], ...], result: FactType, repeat: int = 1) -> Signature:
    """Functions with fixed parameter types and result type."""

    def check(c: Converter, name: str, e: exp.Expr, args: list[Node], sources: list[exp.Expr]) -> Node:
        for arg, source, allowed in zip(args, sources, params, strict=True):
            c.require(arg, source, allowed, name)
        typed = (
            typed_null(a, next(iter(p)) if len(p) == 1 else None) for a, p in zip(args, params, strict=True)
        )
        return _node(Op.CALL, result, tuple(typed), name, repeat=repeat)

    return check


def _same_as_argument(allowed: frozenset[FactType]) -> Signature:
    """One argument; the result has the argument's type (ABS, FLOOR, CEIL, UPPER, LOWER)."""

    def check(c: Converter, name: str, e: exp.Expr, args: list[Node], sources: list[exp.Expr]) -> Node:
        c.require(args[0], sources[0], allowed, name)
        return _node(Op.CALL, args[0].type, tuple(args), name)

    return check


def _variadic(allowed: frozenset[FactType], *, coalesce: bool) -> Signature:
    """COALESCE, LEAST, GREATEST: arguments of one common type."""

    def check(c: Converter, name: str, e: exp.Expr, args: list[Node], sources: list[exp.Expr]) -> Node:
        for arg, source in zip(args, sources, strict=True):
            c.require(arg, source, allowed, name)
        type_ = c.join_types(args, sources, name)
        unified = tuple(c.unify(args, type_))
        if coalesce:
            return _node(Op.CALL, type_, unified, name, nullable=all(a.nullable for a in unified))
        # LEAST/GREATEST propagate NULL; the SQL repeats each nullable argument once in a NULL test.
        return _node(Op.CALL, type_, unified, name, repeat=2)

    return check


_ANY = frozenset(FactType)
_NUM = NUMERIC
_STR = frozenset({FactType.STRING})
_DATE = frozenset({FactType.DATE})
_INT = frozenset({FactType.INTEGER})
_ORDERED = frozenset({FactType.INTEGER, FactType.NUMBER, FactType.STRING, FactType.DATE})

_SIGNATURES: dict[str, Signature] = {
    "COALESCE": _variadic(_ANY, coalesce=True),
    "LEAST": _variadic(_ORDERED, coalesce=False),
    "GREATEST": _variadic(_ORDERED, coalesce=False),
    "ABS": _same_as_argument(_NUM),
    "FLOOR": _same_as_argument(_NUM),
    "CEIL": _same_as_argument(_NUM),
    "UPPER": _same_as_argument(_STR),
    "LOWER": _same_as_argument(_STR),
    "LENGTH": _fixed((_STR,), FactType.INTEGER),
    "STARTS_WITH": _fixed((_STR, _STR), FactType.BOOLEAN),
    "YEAR": _fixed((_DATE,), FactType.INTEGER),
    "MONTH": _fixed((_DATE,), FactType.INTEGER),
    "DAY": _fixed((_DATE,), FactType.INTEGER),
    # YEARS_/MONTHS_BETWEEN expand to YEAR(d), MONTH(d), DAY(d) of each argument in SQL.
    "YEARS_BETWEEN": _fixed((_DATE, _DATE), FactType.INTEGER, repeat=3),
    "MONTHS_BETWEEN": _fixed((_DATE, _DATE), FactType.INTEGER, repeat=3),
    "DAYS_BETWEEN": _fixed((_DATE, _DATE), FactType.INTEGER),
    "ADD_YEARS": _fixed((_DATE, _INT), FactType.DATE),
    "ADD_MONTHS": _fixed((_DATE, _INT), FactType.DATE),
    "ADD_DAYS": _fixed((_DATE, _INT), FactType.DATE),
}

_HANDLERS: dict[type[exp.Expr], Callable[[Converter, exp.Expr], Node]] = {
    exp.Literal: Converter.literal,
    exp.Boolean: Converter.boolean,
    exp.Null: Converter.null,
    exp.Cast: Converter.cast,
    exp.Column: Converter.column,
    exp.And: Converter.connector,
    exp.Or: Converter.connector,
    exp.Not: Converter.not_,
    exp.Is: Converter.is_,
    exp.In: Converter.in_,
    exp.Between: Converter.between,
    exp.Like: Converter.like,
    exp.Neg: Converter.neg,
    exp.Case: Converter.case,
    **{cls: Converter.compare for cls in _COMPARISONS},
    **{cls: Converter.arith for cls in _ARITHMETIC},
}


def check_weight(node: Node) -> None:
    if node.weight > MAX_SQL_WEIGHT:
        raise ExpressionError(
            f"表达式展开后过大（{node.weight} 个节点，上限 {MAX_SQL_WEIGHT}）(expression expands to too much SQL)"
        )
