"""A small, exactly known city in the synthetic city's shape (so the demo catalogue and its triggers
load unchanged): a builder that just changed its name, a salon whose hygiene licence expires in 50
days, a shop without licences, and people turning 65 today in Shanghai and in Shenzhen.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from miaopi.api import create_app
from miaopi.catalog import DEMO_CATALOG
from miaopi.city.catalogue import write_catalogue
from miaopi.city.generate import resources
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from tests.approval.world import citizen, credit
from tests.livehttp import serving

TODAY = dt.date(2026, 11, 22)

REP = citizen("440304", "19700101", "011")  # legal representative of BUILDER
REP2 = citizen("440304", "19720505", "013")  # legal representative of SALON and SHOP
OLD = citizen("310101", "19611122", "015")  # Shanghai hukou, 65 today
OLD_SZ = citizen("440304", "19611122", "017")  # Shenzhen hukou, 65 today
STRANGER = citizen("440304", "19800101", "019")
BUILDER = credit("20000001")
SALON = credit("20000002")
SHOP = credit("20000003")
CONSTRUCTION_NUMBER = "ZJ-370200-0001"
HYGIENE_NUMBER = "WJ-440112-0001"
HYGIENE_EXPIRY = TODAY + dt.timedelta(days=50)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


ROWS: dict[str, list[dict[str, Any]]] = {
    "population.person": [
        {
            "id_number": REP,
            "name": "张建国",
            "sex": "男",
            "birth_date": _date("1970-01-01"),
            "hukou_city": "440300",
        },
        {
            "id_number": REP2,
            "name": "李美华",
            "sex": "女",
            "birth_date": _date("1972-05-05"),
            "hukou_city": "440300",
        },
        {
            "id_number": OLD,
            "name": "王秀英",
            "sex": "女",
            "birth_date": _date("1961-11-22"),
            "hukou_city": "310000",
        },
        {
            "id_number": OLD_SZ,
            "name": "陈志强",
            "sex": "男",
            "birth_date": _date("1961-11-22"),
            "hukou_city": "440300",
        },
        {
            "id_number": STRANGER,
            "name": "赵磊",
            "sex": "男",
            "birth_date": _date("1980-01-01"),
            "hukou_city": "440300",
        },
    ],
    "enterprise.registry": [
        {
            "credit_code": code,
            "name": name,
            "entity_type": "企业",
            "size_class": "小",
            "legal_rep_id": rep,
            "status": "存续",
            "region_code": "370202",
            "address": address,
            "founding_date": _date("2010-05-01"),
        }
        for code, name, rep, address in (
            (BUILDER, "青岛海岸建设工程有限公司", REP, "青岛市市南区香港中路1号"),
            (SALON, "黄埔丽人美容有限公司", REP2, "广州市黄埔区开创大道2号"),
            (SHOP, "青岛小店商贸有限公司", REP2, "青岛市市北区辽宁路3号"),
        )
    ],
    "enterprise.change": [
        {
            "credit_code": BUILDER,
            "change_date": _date("2026-11-20"),
            "change_item": "名称",
            "before": "青岛海岸建筑有限公司",
            "after": "青岛海岸建设工程有限公司",
        },
        {
            "credit_code": SHOP,
            "change_date": _date("2026-11-20"),
            "change_item": "名称",
            "before": "青岛小铺",
            "after": "青岛小店商贸有限公司",
        },
    ],
    "licence.enterprise_licence": [
        {
            "holder_id": BUILDER,
            "holder_kind": "法人",
            "holder_name": "青岛海岸建筑有限公司",
            "licence_type_code": "ZJ01",
            "licence_type_name": "建筑业企业资质证书",
            "licence_number": CONSTRUCTION_NUMBER,
            "issuer": "市住房和城乡建设局",
            "valid_from": _date("2024-03-01"),
            "valid_to": _date("2029-03-01"),
            "status": "有效",
        },
        {
            "holder_id": SALON,
            "holder_kind": "法人",
            "holder_name": "黄埔丽人美容有限公司",
            "licence_type_code": "WJ01",
            "licence_type_name": "公共场所卫生许可证",
            "licence_number": HYGIENE_NUMBER,
            "issuer": "区卫生健康局",
            "valid_from": HYGIENE_EXPIRY - dt.timedelta(days=4 * 365),
            "valid_to": HYGIENE_EXPIRY,
            "status": "有效",
        },
    ],
}


def write_city(city_dir: Path) -> None:
    city_dir.mkdir(parents=True, exist_ok=True)
    every = resources()
    write_catalogue(city_dir / "resources.yaml", every)
    for resource in every:
        rows = ROWS.get(resource.code, [])
        columns = {f.name: [row.get(f.name) for row in rows] for f in resource.fields}
        path = city_dir / resource.path
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=resource.schema), path)


@dataclass
class World:
    deployment: Deployment
    http: httpx.Client
    data_dir: Path

    def token(self, subject: str) -> str:
        account = self.deployment.accounts.ensure_applicant(subject, verified=True)
        return self.deployment.accounts.issue_token(account.id)

    def headers(self, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject)}"}

    def officer(self, username: str, department: str) -> dict[str, str]:
        self.deployment.accounts.add_officer(username, department, "事件-password-1")
        return {"Authorization": f"Bearer {self.deployment.accounts.sign_in(username, '事件-password-1')}"}


def open_world(data_dir: Path, database_url: str) -> Deployment:
    settings = load_settings(data_dir, database_url)
    write_city(settings.city_dir)
    shutil.copytree(DEMO_CATALOG, settings.catalog_dir)
    settings.marker.write_text(json.dumps({"version": "test"}), encoding="utf-8")
    return Deployment.open(settings, today=lambda: TODAY)


@contextmanager
def serving_world(data_dir: Path, database_url: str) -> Iterator[World]:
    deployment = open_world(data_dir, database_url)
    try:
        with serving(create_app(deployment)) as http:
            yield World(deployment, http, data_dir)
    finally:
        deployment.close()


def name_change(event_id: str, subject: str = BUILDER, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "type": "enterprise.name_changed",
        "subject": subject,
        "occurred_on": "2026-11-20",
        "payload": {"change_date": "2026-11-20"},
    }
    body.update(overrides)
    return body
