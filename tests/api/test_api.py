"""The API over real HTTP, on a deployment whose shared data is the small test catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from miaopi.api import create_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.store import Database
from tests.livehttp import serving
from tests.sharing.conftest import write_catalogue


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = load_settings(tmp_path / "data")
    write_catalogue(settings.city_dir)
    settings.catalog_dir.mkdir(parents=True)
    (settings.catalog_dir / "grants.yaml").write_text(
        yaml.safe_dump(
            {
                "grants": [
                    {
                        "department": "civil_affairs",
                        "purpose": "policy:p",
                        "resource": "population.person",
                        "fields": ["birth_date"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    Database(settings.database_url).migrate()
    settings.marker.write_text(json.dumps({"version": "test"}), encoding="utf-8")
    deployment = Deployment.open(settings)
    with serving(create_app(deployment)) as http:
        yield http
    deployment.close()


def test_liveness(client: httpx.Client) -> None:
    response = client.get("/api/v1/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_health(client: httpx.Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "sqlite" and body["database_ok"] is True
    assert body["resources"] == 4


def test_openapi_document(client: httpx.Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "秒批 Miaopi API"
    assert "/api/v1/health" in document["paths"] and "/api/v1/sharing/resources" in document["paths"]
    # The application endpoint reads its principal and body itself; both are still documented.
    submit = document["paths"]["/api/v1/applications"]["post"]
    assert (
        submit["security"] == [{"HTTPBearer": []}]
        and "HTTPBearer" in document["components"]["securitySchemes"]
    )
    body = submit["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApplicationIn"}
    schemas = document["components"]["schemas"]
    assert schemas["ApplicationIn"]["required"] == ["item_code", "applicant", "idempotency_key"]
    assert schemas["ApplicationIn"]["properties"]["materials"]["items"] == {
        "$ref": "#/components/schemas/MaterialIn"
    }
    assert "UploadIn" in schemas and "ApplicantIn" in schemas


def test_resource_catalogue_lists_metadata_only(client: httpx.Client) -> None:
    resources = {item["code"]: item for item in client.get("/api/v1/sharing/resources").json()}
    person = resources["population.person"]
    assert person["provider_name"] == "市公安局" and person["sharing_label"] == "有条件共享"
    assert [field["name"] for field in person["fields"]] == ["id_number", "name", "birth_date", "hukou_city"]
    assert "王芳" not in json.dumps(resources, ensure_ascii=False)


def test_access_counts_start_at_zero(client: httpx.Client) -> None:
    assert client.get("/api/v1/sharing/access-counts").json() == {
        "total": 0,
        "by_resource": {},
        "by_department": {},
    }


def test_unknown_path_is_a_chinese_json_404(client: httpx.Client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "http_404", "message": "未找到"}}
