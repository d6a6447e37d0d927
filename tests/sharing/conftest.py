"""A tiny two-department catalogue written to Parquet for sharing tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from miaopi.sharing import Grant, GrantRegistry, ResourceCatalogue, SharingExchange

ALICE = "11010519491231002X"
BOB = "440524188001010014"
ACME = "914403001922038216"


def write_catalogue(root: Path) -> Path:
    (root / "population").mkdir(parents=True)
    (root / "credit").mkdir()
    pq.write_table(
        pa.table(
            {
                "id_number": [BOB, ALICE],
                "name": ["李四", "王芳"],
                "birth_date": pa.array([dt.date(1880, 1, 1), dt.date(1949, 12, 31)], pa.date32()),
                "hukou_city": ["440300", "310000"],
            }
        ),
        root / "population" / "person.parquet",
    )
    pq.write_table(
        pa.table({"id_number": [ALICE], "permit_city": ["440300"]}),
        root / "population" / "residence.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "subject_id": [ACME, ACME, ALICE],
                "decision_date": pa.array(
                    [dt.date(2024, 3, 1), dt.date(2025, 6, 1), dt.date(2023, 1, 1)], pa.date32()
                ),
                "amount": [1000.0, 500.0, 200.0],
            }
        ),
        root / "credit" / "penalty.parquet",
    )
    document = {
        "departments": [
            {"code": "public_security", "name": "市公安局"},
            {"code": "credit_office", "name": "市发展改革委（信用办）"},
            {"code": "civil_affairs", "name": "市民政局"},
        ],
        "resources": [
            {
                "code": "population.person",
                "name": "人口基本信息",
                "provider": "public_security",
                "sharing": "conditional",
                "update_cycle": "每日",
                "subject": "person",
                "key": "id_number",
                "records": "one",
                "path": "population/person.parquet",
                "fields": [
                    {"name": "id_number", "type": "string", "label": "公民身份号码"},
                    {"name": "name", "type": "string", "label": "姓名"},
                    {"name": "birth_date", "type": "date", "label": "出生日期"},
                    {"name": "hukou_city", "type": "string", "label": "户籍城市"},
                ],
            },
            {
                "code": "credit.penalty",
                "name": "行政处罚信息",
                "provider": "credit_office",
                "sharing": "unconditional",
                "update_cycle": "每日",
                "subject": "enterprise",
                "key": "subject_id",
                "records": "many",
                "path": "credit/penalty.parquet",
                "fields": [
                    {"name": "subject_id", "type": "string", "label": "主体标识"},
                    {"name": "decision_date", "type": "date", "label": "处罚决定日期"},
                    {"name": "amount", "type": "number", "label": "罚没金额"},
                ],
            },
            {
                "code": "population.residence",
                "name": "居住证信息",
                "provider": "public_security",
                "sharing": "unconditional",
                "subject": "person",
                "key": "id_number",
                "path": "population/residence.parquet",
                "fields": [
                    {"name": "id_number", "type": "string", "label": "公民身份号码"},
                    {"name": "permit_city", "type": "string", "label": "居住证城市"},
                ],
            },
            {
                "code": "population.secret",
                "name": "不予共享的资源",
                "provider": "public_security",
                "sharing": "none",
                "subject": "person",
                "key": "id_number",
                "path": "population/person.parquet",
                "fields": [{"name": "id_number", "type": "string"}],
            },
        ],
    }
    path = root / "resources.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def catalogue(tmp_path: Path) -> ResourceCatalogue:
    return ResourceCatalogue.load(write_catalogue(tmp_path / "city"))


@pytest.fixture
def exchange(catalogue: ResourceCatalogue) -> SharingExchange:
    grants = GrantRegistry(
        catalogue,
        [
            Grant(
                "civil_affairs",
                "policy:elderly_allowance",
                "population.person",
                frozenset({"birth_date", "hukou_city"}),
            ),
            Grant(
                "civil_affairs",
                "policy:elderly_allowance",
                "credit.penalty",
                frozenset({"decision_date", "amount"}),
            ),
            Grant(
                "civil_affairs",
                "policy:elderly_allowance",
                "population.residence",
                frozenset({"permit_city"}),
            ),
        ],
    )
    return SharingExchange(catalogue, grants)
