"""Licence types in the catalogue (licence_types.yaml): loaded, checked with clear errors, and the demo
catalogue declares every result type of its items."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError
from miaopi.cli import app
from miaopi.sharing import ResourceCatalogue
from tests.licence.world import CARD, LICENCE_TYPES, write_licence_world


def load(data_dir: Path) -> Catalog:
    return Catalog.load(data_dir / "catalog", ResourceCatalogue.load(data_dir / "city" / "resources.yaml"))


def problems(tmp_path: Path, licence_types: str, name: str = "data") -> list[str]:
    data_dir = tmp_path / name
    write_licence_world(data_dir, licence_types)
    with pytest.raises(CatalogError) as raised:
        load(data_dir)
    return [f"{problem.file.rsplit('/', 1)[-1]}:{problem.message}" for problem in raised.value.problems]


def test_the_world_loads_its_type(tmp_path: Path) -> None:
    write_licence_world(tmp_path / "data")
    catalog = load(tmp_path / "data")
    card = catalog.licence_types[CARD]
    assert card.issuer_code == "114403000000101105" and str(card.validity) == "5年"
    assert catalog.result_type(catalog.items["440300-MZ-0001"]) is card
    assert catalog.result_facts(catalog.items["440300-MZ-0001"]) == ("person.name", "form.delivery")
    assert catalog.result_type(catalog.items["440300-MZ-0002"]) is None


def test_demo_catalogue_declares_every_result_type() -> None:
    from miaopi.city import builtin_resource_catalogue

    catalog = Catalog.load(DEMO_CATALOG, builtin_resource_catalogue())
    results = {item.result_licence_type for item in catalog.items.values() if item.result_licence_type}
    assert results == set(catalog.licence_types) and len(results) == 9
    for item in catalog.items.values():
        licence_type = catalog.result_type(item)
        if licence_type is not None:
            assert licence_type.department == item.department and licence_type.subject == item.subject
    hr = catalog.licence_types["人力资源服务许可证"]
    assert hr.validity.years == 5 and hr.holder_name == "enterprise.name"
    assert catalog.licence_types["建筑业企业资质证书"].validity.until_fact == (
        "enterprise.construction_qualification_expiry"
    )


def test_catalog_check_counts_the_types() -> None:
    result = CliRunner().invoke(app, ["catalog", "check", str(DEMO_CATALOG)])
    assert result.exit_code == 0, result.output
    assert "9 种证照类型" in result.output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('code: "114403000000101105009"', 'code: "11440300000010110a009"'),
            "只能由数字 0–9 和大写字母 A–Z 组成",
        ),
        (("validity: {years: 5}", "validity: {years: 5, months: 2}"), "validity 应为"),
        (("validity: {years: 5}", "validity: {years: 0}"), "有效期 years 须为正整数"),
        (("validity: {years: 5}", "validity: {until: person.name}"), "应为 date 类型"),
        (("fact: person.name}", "fact: person.nickname}"), "引用了未声明的事实“person.nickname”"),
        (("holder_name: person.name", "holder_name: enterprise.status"), "不属于主体 person"),
        (("department: civil_affairs", "department: nowhere"), "部门“nowhere”未在信息资源目录中登记"),
        (("department: civil_affairs", "department: public_security"), "与事项的实施部门 civil_affairs 不符"),
        (("fact: form.delivery", "fact: form.colour"), "打印表单字段“form.colour”，但本事项没有该字段"),
        (
            ("credential_type: SeniorCitizenCard", "credential_type: 老年卡"),
            "credential_type 须为 ASCII 标识符",
        ),
        (("name: 老年人优待证", "name: 老年证"), "事项结果证照“老年人优待证”未在 licence_types.yaml 中声明"),
    ],
)
def test_errors_name_the_file_and_the_fault(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in LICENCE_TYPES
    found = problems(tmp_path, LICENCE_TYPES.replace(old, new, 1))
    assert any(expected in problem for problem in found), found


def test_duplicate_names_and_codes_are_refused(tmp_path: Path) -> None:
    body = LICENCE_TYPES.split("types:\n", 1)[1]
    found = problems(tmp_path, LICENCE_TYPES + body)
    assert any("证照类型名称“老年人优待证”重复" in problem for problem in found), found
    renamed = body.replace("name: 老年人优待证", "name: 另一证")
    found = problems(tmp_path, LICENCE_TYPES + renamed, "again")
    assert any("证照类型代码“114403000000101105009”与“老年人优待证”重复" in problem for problem in found), (
        found
    )


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, "types: []\n")
    assert any("licence_types.yaml 须有 types 列表" in problem for problem in found), found
