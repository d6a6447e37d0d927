"""The catalogue loader checks a policy's budget, budget order and confirmation window."""

from __future__ import annotations

from pathlib import Path

import pytest

from miaopi.catalog import Catalog, CatalogError
from miaopi.catalog.model import TimeLimit
from miaopi.sharing import ResourceCatalogue
from tests.offers.world import REFUND, write_world

GOOD_HEADER = """budget: 100000
priority: 中小微企业先于大型企业；同组裁员率低者在前；再按信用代码的 SHA-256 排序
priority_order:
  - asc: "CASE WHEN enterprise.size_class = '大' THEN 1 ELSE 0 END"
  - asc: enterprise.layoff_rate
confirm_within: {value: 10, unit: 工作日}
"""


def load(tmp_path: Path, header: str) -> Catalog:
    assert GOOD_HEADER in REFUND
    write_world(tmp_path, refund=REFUND.replace(GOOD_HEADER, header))
    return Catalog.load(tmp_path / "catalog", ResourceCatalogue.load(tmp_path / "city" / "resources.yaml"))


def test_a_good_policy_loads_with_its_order_and_window(tmp_path: Path) -> None:
    policy = load(tmp_path, GOOD_HEADER).policies["refund"]
    assert policy.budget == 100000.0
    assert [key.expression.source for key in policy.priority_order] == [
        "CASE WHEN enterprise.size_class = '大' THEN 1 ELSE 0 END",
        "enterprise.layoff_rate",
    ]
    assert policy.confirm_within == TimeLimit(10, "工作日")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("budget: lots\n", "budget 应为正数"),
        ("budget: -5\n", "budget 应为正数"),
        ("budget: 100.001\n", "最多精确到分"),
        ("priority_order: enterprise.layoff_rate\n", "priority_order 应为 1–8 项的列表"),
        ("priority_order:\n  - up: enterprise.layoff_rate\n", "第1项应为 {asc: 表达式}"),
        ("priority_order:\n  - asc: enterprise.size_class\n", "第1项的结果应为数值"),
        ("priority_order:\n  - desc: enterprise.nope\n", "第1项表达式有误"),
        ("confirm_within: {value: 10, unit: 天}\n", "confirm_within 应为"),
        ("confirm_within: {value: 0, unit: 即办}\n", "单位应为 工作日 或 自然日"),
    ],
)
def test_bad_budget_order_or_window_is_named(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(CatalogError) as error:
        load(tmp_path, header)
    assert message in str(error.value)
    assert "refund.yaml" in str(error.value)


AMOUNT = (
    "amount: \"ROUND(enterprise.ui_paid * CASE WHEN enterprise.size_class = '大' THEN 0.3 ELSE 0.6 END, 2)\""
)


def test_priority_facts_need_a_grant(tmp_path: Path) -> None:
    # Only the budget order reads the size class here (the amount is a flat 1,000).
    assert AMOUNT in REFUND
    write_world(
        tmp_path, refund=REFUND.replace(AMOUNT, 'amount: "1000"').replace("amount: 60000", "amount: 1000")
    )
    grants = tmp_path / "catalog" / "grants.yaml"
    grants.write_text(grants.read_text(encoding="utf-8").replace("size_class, ", ""), encoding="utf-8")
    with pytest.raises(CatalogError, match="size_class"):
        Catalog.load(tmp_path / "catalog", ResourceCatalogue.load(tmp_path / "city" / "resources.yaml"))
