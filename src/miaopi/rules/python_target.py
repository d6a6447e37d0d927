"""Python target: generate the source of one function per expression from the validated IR and compile it.

No user text is ever evaluated: the generated code consists of fixed templates, fact names and string
literals embedded through ``repr``, and other constants (dates, sets, regexes) bound by name.
Every generated sub-expression evaluates to a value or ``None`` (SQL NULL) and never raises on NULLs.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Mapping

from miaopi.rules.errors import ExpressionError
from miaopi.rules.ir import Node, Op
from miaopi.rules.parse import MAX_DEPTH_LIMIT, recursion_headroom
from miaopi.rules.runtime import NAMESPACE, like_matcher
from miaopi.rules.types import FactType

_PY_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_METHOD_CALLS = {
    "UPPER": "{0}.upper()",
    "LOWER": "{0}.lower()",
    "STARTS_WITH": "{0}.startswith({1})",
    "YEAR": "{0}.year",
    "MONTH": "{0}.month",
    "DAY": "{0}.day",
    "LENGTH": "len({0})",
    "ABS": "abs({0})",
    "DAYS_BETWEEN": "({1} - {0}).days",
    "YEARS_BETWEEN": "_years_between({0}, {1})",
    "MONTHS_BETWEEN": "_months_between({0}, {1})",
    "ADD_YEARS": "_add_years({0}, {1})",
    "ADD_MONTHS": "_add_months({0}, {1})",
    "ADD_DAYS": "_add_days({0}, {1})",
}

PythonFunction = Callable[..., object]


class _Generator:
    def __init__(self, fact_vars: Mapping[str, str]) -> None:
        self.fact_vars = fact_vars
        self.constants: dict[str, object] = {}
        self.temps = 0

    def constant(self, value: object) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"_t{self.temps}"

    def literal(self, value: object) -> str:
        if value is None or isinstance(value, bool | int | float | str):
            return repr(value)
        return self.constant(value)

    # -- helpers ------------------------------------------------------------------------------------

    def strict(self, args: tuple[Node, ...], template: str, reused: frozenset[int] = frozenset()) -> str:
        """A NULL-propagating operation: None if any argument is None, else the template on the values.

        Arguments that may be NULL, or appear more than once in the template (indices in ``reused``),
        are bound once to temporaries.
        """
        if any(a.is_null_literal for a in args):
            return "None"
        checks: list[str] = []
        refs: list[str] = []
        for index, arg in enumerate(args):
            if arg.op is Op.LITERAL:
                refs.append(self.literal(arg.value))
            elif arg.op is Op.FACT:
                name = self.fact_vars[str(arg.value)]
                refs.append(name)
                checks.append(f"{name} is None")
            elif arg.nullable or index in reused:
                name = self.temp()
                checks.append(f"({name} := {self.expr(arg)}) is None")
                refs.append(name)
            else:
                refs.append(self.expr(arg))
        body = template.format(*refs)
        return f"(None if {' or '.join(checks)} else {body})" if checks else body

    def connector(self, node: Node) -> str:
        is_and = node.op is Op.AND
        certain = [self.expr(a) for a in node.args if not a.nullable]
        uncertain = [(self.temp(), self.expr(a)) for a in node.args if a.nullable]
        joiner = " and " if is_and else " or "
        if not uncertain:
            return f"({joiner.join(certain)})"
        decisive = "False" if is_and else "True"
        tests = (
            [f"not ({joiner.join(certain)})" if is_and else f"({joiner.join(certain)})"] if certain else []
        )
        tests += [f"({name} := {code}) is {decisive}" for name, code in uncertain]
        unknown = " or ".join(f"{name} is None" for name, _ in uncertain)
        return f"({decisive} if {' or '.join(tests)} else (None if {unknown} else {is_and}))"

    def case(self, node: Node) -> str:
        args = node.args
        code = self.expr(args[-1])
        for index in range(len(args) - 3, -1, -2):
            code = f"({self.expr(args[index + 1])} if {self.expr(args[index])} else {code})"
        return code

    def coalesce(self, args: tuple[Node, ...]) -> str:
        code = "None"
        for arg in reversed(args):
            if not arg.nullable:
                code = self.expr(arg)
            elif arg.op is Op.FACT:
                name = self.fact_vars[str(arg.value)]
                code = f"({name} if {name} is not None else {code})"
            elif not arg.is_null_literal:
                name = self.temp()
                code = f"({name} if ({name} := {self.expr(arg)}) is not None else {code})"
        return code

    def in_(self, node: Node) -> str:
        subject, items = node.args[0], node.args[1:]
        if all(i.op is Op.LITERAL and i.value is not None for i in items):
            members = self.constant(frozenset(i.value for i in items))
            return self.strict((subject,), f"({{0}} in {members})")
        codes = ", ".join(self.expr(i) for i in items)
        return f"_in({self.expr(subject)}, ({codes},))"

    def call(self, node: Node) -> str:
        name = str(node.value)
        args = node.args
        if name == "COALESCE":
            return self.coalesce(args)
        if name in ("LEAST", "GREATEST"):
            refs = ", ".join(f"{{{i}}}" for i in range(len(args)))
            return self.strict(args, f"{'min' if name == 'LEAST' else 'max'}({refs})")
        if name == "ROUND":
            digits = args[1].value
            assert isinstance(digits, int)
            if node.type is FactType.NUMBER:
                return self.strict(args[:1], f"_round_number({{0}}, {digits})")
            return (
                self.strict(args[:1], f"_round_integer({{0}}, {digits})")
                if digits < 0
                else self.expr(args[0])
            )
        if name in ("FLOOR", "CEIL"):
            if node.type is FactType.INTEGER:
                return self.expr(args[0])
            return self.strict(args, f"_{name.lower()}({{0}})")
        if name == "SUBSTR":
            start = args[1].value
            assert isinstance(start, int)
            stop = "" if len(args) == 2 else str(start - 1 + args[2].value)  # type: ignore[operator]
            return self.strict(args[:1], f"{{0}}[{start - 1}:{stop}]")
        return self.strict(args, _METHOD_CALLS[name])

    # -- dispatch -----------------------------------------------------------------------------------

    def expr(self, node: Node) -> str:
        op = node.op
        if op is Op.LITERAL:
            return self.literal(node.value)
        if op is Op.FACT:
            return self.fact_vars[str(node.value)]
        if op is Op.AND or op is Op.OR:
            return self.connector(node)
        if op is Op.NOT:
            (arg,) = node.args
            if not arg.nullable:
                return f"(not {self.expr(arg)})"
            name = self.temp()
            return f"(None if ({name} := {self.expr(arg)}) is None else not {name})"
        if op is Op.COMPARE:
            return self.strict(node.args, f"({{0}} {_PY_COMPARE[str(node.value)]} {{1}})")
        if op is Op.ARITH:
            return self.arith(node)
        if op is Op.NEG:
            return self.strict(node.args, "(-{0})")
        if op is Op.IS_NULL:
            operand = node.args[0]
            if operand.op is Op.LITERAL:  # decided now: `0.3 is None` would be a SyntaxWarning
                return repr(operand.value is None)
            code = self.expr(operand)
            if not _reads_a_fact(operand) or _is_literal(code):
                # Python folds it to a constant (or it is one: COALESCE('', x) is ''): `is` would warn
                return f"_is_null({code})"
            return f"({code} is None)"
        if op is Op.IN:
            return self.in_(node)
        if op is Op.BETWEEN:
            if not (node.args[1].nullable or node.args[2].nullable):
                return self.strict(node.args, "({1} <= {0} <= {2})")
            return f"_between({', '.join(self.expr(a) for a in node.args)})"
        if op is Op.LIKE:
            matcher = self.constant(like_matcher(str(node.value)))
            return self.strict(node.args, f"({matcher}({{0}}) is not None)")
        if op is Op.CASE:
            return self.case(node)
        if op is Op.TO_NUMBER:
            return self.strict(node.args, "float({0})")
        return self.call(node)

    def arith(self, node: Node) -> str:
        symbol = str(node.value)
        divisor = node.args[1]
        if symbol == "%":
            return self.strict(node.args, "_mod({0}, {1})")
        if symbol == "/" and not (divisor.op is Op.LITERAL and divisor.value != 0):
            return self.strict(node.args, "(None if {1} == 0 else {0} / {1})", reused=frozenset({1}))
        return self.strict(node.args, f"({{0}} {symbol} {{1}})")


def compile_python(
    root: Node,
    fact_types: Mapping[str, FactType],
    fact_params: Mapping[str, str],
    params: tuple[str, ...],
    label: str,
) -> tuple[PythonFunction, str]:
    """Generate and compile ``def f(*params)`` evaluating ``root``.

    ``fact_types`` lists the facts read, in order; ``fact_params`` says which parameter (a mapping)
    each fact is read from. Returns the function and its source (for inspection and tests).
    """
    fact_vars = {name: f"_f{i}" for i, name in enumerate(fact_types)}
    generator = _Generator(fact_vars)
    with recursion_headroom(MAX_DEPTH_LIMIT):
        body = generator.expr(root)
    lines = [f"def _expression({', '.join(params)}):"]
    for name, var in fact_vars.items():
        type_ = fact_types[name]
        lines.append(f"    {var} = {fact_params[name]}.get({name!r})")
        lines.append(
            f"    if {var} is not None and {var}.__class__ is not _cls_{type_.value}: "
            f"{var} = _coerce({var}, _type_{type_.value}, {name!r})"
        )
    lines.append(f"    return {body}")
    source = "\n".join(lines)
    namespace: dict[str, object] = {**NAMESPACE, **generator.constants, "_date": dt.date}
    try:
        code = compile(source, f"<miaopi rule {label[:60]!r}>", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        raise ExpressionError("表达式过于复杂，无法编译 (expression too complex to compile)") from None
    exec(code, namespace)
    function = namespace["_expression"]
    assert callable(function)
    return function, source


def _reads_a_fact(node: Node) -> bool:
    return node.op is Op.FACT or any(_reads_a_fact(arg) for arg in node.args)


def _is_literal(code: str) -> bool:
    """Whether generated code is a plain constant (``''``, ``1.5``, ``None``)."""
    try:
        ast.literal_eval(code)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True
