"""The validated, typed intermediate form of an expression, shared by the Python and SQL targets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from miaopi.rules.types import FactType


class Op(StrEnum):
    LITERAL = "literal"  # value: None | bool | int | float | str | date
    FACT = "fact"  # value: fact name
    AND = "and"  # n-ary, Kleene
    OR = "or"  # n-ary, Kleene
    NOT = "not"
    COMPARE = "compare"  # value: one of = <> < <= > >=
    ARITH = "arith"  # value: one of + - * / %
    NEG = "neg"
    IS_NULL = "is_null"  # IS NOT NULL is NOT(IS_NULL)
    IN = "in"  # args: subject, *items
    BETWEEN = "between"  # args: subject, low, high
    LIKE = "like"  # value: the pattern (a string literal)
    CASE = "case"  # args: cond1, result1, ..., condN, resultN, default
    TO_NUMBER = "to_number"  # INTEGER widened to NUMBER where branches of mixed types meet
    CALL = "call"  # value: canonical function name


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    op: Op
    type: FactType | None  # None: an untyped NULL literal (or an expression built only from one)
    args: tuple[Node, ...] = ()
    value: object = None
    nullable: bool = True  # False when the node can never evaluate to NULL
    weight: int = 1  # size of the generated SQL in nodes (some expansions repeat an argument)

    @property
    def is_null_literal(self) -> bool:
        return self.op is Op.LITERAL and self.value is None
