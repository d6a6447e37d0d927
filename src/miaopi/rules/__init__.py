"""Miaopi's rule language: a safe SQL subset over named facts, with a Python and a SQL target of one meaning.

Semantics shared by both targets (held equal by property tests against DuckDB):

* SQL three-valued logic: a missing or NULL fact is NULL; NULL propagates through arithmetic, comparisons
  and functions, LEAST/GREATEST included (unlike DuckDB/Spark's native LEAST, which skips NULLs: an
  unknown amount must never be capped to a known one); COALESCE, IS [NOT] NULL, Kleene AND/OR and
  CASE (a NULL condition does not match) are the exceptions.
* ``/`` is true division; ``/`` and ``%`` by zero are NULL; ``%`` keeps the dividend's sign.
  ROUND halves away from zero exactly as DuckDB's ROUND(DOUBLE, n) computes it.
* Dates: YEARS_BETWEEN(a, b) / MONTHS_BETWEEN(a, b) are full years / months from a to b (floored, so
  negative when b is before a); ADD_MONTHS/ADD_YEARS clamp to the month's last day.
* Types: INTEGER is 64-bit in SQL (results beyond BIGINT are an error there; Python ints do not
  overflow); NUMBER is a double; strings compare by code point. SQL fact columns should have the
  types of :func:`sql_type`.

Known limits: Spark's ROUND rounds the decimal representation (HALF_UP), so ROUND(x, n) with n > 0 can
differ from DuckDB/Python on binary ties such as 0.285; UPPER/LOWER of special-cased letters (ß) differ
between engines; dates beyond year 9999 raise :class:`EvaluationError` in Python.
"""

from miaopi.rules.aggregate import AGGREGATE_FUNCTIONS, Aggregate, compile_aggregate
from miaopi.rules.errors import EvaluationError, ExpressionError
from miaopi.rules.expression import Expression, compile_expression
from miaopi.rules.parse import FUNCTION_NAMES
from miaopi.rules.sql_target import DIALECTS, sql_type
from miaopi.rules.types import FactType

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "DIALECTS",
    "FUNCTION_NAMES",
    "Aggregate",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "FactType",
    "compile_aggregate",
    "compile_expression",
    "sql_type",
]
