"""Miaopi's rule language: a safe SQL subset over named facts, with a Python and a SQL target of one meaning."""

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
