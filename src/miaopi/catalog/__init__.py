"""The catalogue (事项目录 / 流程配置): items, policies and facts as files, rules as code.

Load a folder with ``Catalog.load``; evaluate one case with ``Plan``; screen a population with
``screening_query``; run the tests beside the rules with ``run_all``.
"""

from pathlib import Path

from miaopi.catalog.evaluation import Evaluation, Outcome, Plan, RuleOutcome, RuleResult
from miaopi.catalog.facts import DECISION_DATE, Fact, FactKind, FactRegistry
from miaopi.catalog.loader import Catalog, canonical_hash
from miaopi.catalog.model import Case, Item, LegalBasis, Material, OnFail, Policy, Rule, TimeLimit, Version
from miaopi.catalog.population import ScreeningError, ScreeningQuery, screening_query
from miaopi.catalog.source import CatalogError, Problem
from miaopi.catalog.testing import CaseResult, run_all, run_case

DEMO_CATALOG = Path(__file__).resolve().parent / "demo"

__all__ = [
    "DECISION_DATE",
    "DEMO_CATALOG",
    "Case",
    "CaseResult",
    "Catalog",
    "CatalogError",
    "Evaluation",
    "Fact",
    "FactKind",
    "FactRegistry",
    "Item",
    "LegalBasis",
    "Material",
    "OnFail",
    "Outcome",
    "Plan",
    "Policy",
    "Problem",
    "Rule",
    "RuleOutcome",
    "RuleResult",
    "ScreeningError",
    "ScreeningQuery",
    "TimeLimit",
    "Version",
    "canonical_hash",
    "run_all",
    "run_case",
    "screening_query",
]
