"""The inbox and the delivery figures over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from miaopi.api import create_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.notifications import Dispatcher
from tests.livehttp import serving
from tests.notifications.conftest import OFFER, OTHER_PERSON, PERSON
from tests.notifications.gateways import GatewayScript, http_gateway
from tests.sharing.conftest import write_catalogue


@dataclass
class World:
    deployment: Deployment
    http: httpx.Client

    def applicant(self, subject: str) -> dict[str, str]:
        account = self.deployment.accounts.ensure_applicant(subject, verified=True)
        return {"Authorization": f"Bearer {self.deployment.accounts.issue_token(account.id)}"}

    def officer(self, login: str = "reviewer1") -> dict[str, str]:
        account = self.deployment.accounts.add_officer(login, "civil_affairs", "通知-password-1")
        return {"Authorization": f"Bearer {self.deployment.accounts.issue_token(account.id)}"}

    def send(self, recipient: str, template: str, variables: dict[str, str], *channels: str) -> str:
        with self.deployment.database.session() as session:
            return self.deployment.notifications.enqueue(
                session,
                recipient=recipient,
                template=template,
                variables=variables,
                channels=channels or ("inbox",),
            )


@contextmanager
def opened(data_dir: Path, database_url: str, config: dict[str, object] | None = None) -> Iterator[World]:
    settings = load_settings(data_dir, database_url)
    write_catalogue(settings.city_dir)
    settings.catalog_dir.mkdir(parents=True)
    settings.marker.write_text(json.dumps({"version": "test"}), encoding="utf-8")
    if config is not None:
        (data_dir / "notifications.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    deployment = Deployment.open(settings)
    try:
        with serving(create_app(deployment)) as http:
            yield World(deployment, http)
    finally:
        deployment.close()


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    with opened(tmp_path / "data", database_url) as opened_world:
        yield opened_world


def test_each_subject_reads_only_their_own_inbox(world: World) -> None:
    alice, bob = world.applicant(PERSON), world.applicant(OTHER_PERSON)
    first = world.send(PERSON, "offer.made", OFFER)
    second = world.send(PERSON, "offer.expiring", OFFER)
    bobs = world.send(
        OTHER_PERSON, "proactive.prepared", {"item": "食品经营许可证变更", "link": "https://m.example/p/1"}
    )
    # Queued is not yet delivered: the inbox is what the dispatcher delivered.
    assert world.http.get("/api/v1/inbox", headers=alice).json() == {"unread": 0, "messages": []}
    Dispatcher(world.deployment.notifications).run_once()

    mine = world.http.get("/api/v1/inbox", headers=alice).json()
    assert mine["unread"] == 2 and {message["id"] for message in mine["messages"]} == {first, second}
    assert mine["messages"][0]["title"] in ("免申即享：老年综合津贴", "即将逾期：老年综合津贴")
    theirs = world.http.get("/api/v1/inbox", headers=bob).json()
    assert [message["id"] for message in theirs["messages"]] == [bobs]
    assert "食品经营许可证变更" in theirs["messages"][0]["body"]

    # Bob cannot read (or learn of) Alice's message.
    refused = world.http.post(f"/api/v1/inbox/{first}/read", headers=bob)
    assert (
        refused.status_code == 404 and refused.json()["error"]["message"] == f"您的站内信中没有消息 {first}"
    )
    read = world.http.post(f"/api/v1/inbox/{first}/read", headers=alice)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = world.http.post(f"/api/v1/inbox/{first}/read", headers=alice)
    assert again.json()["read_at"] == read.json()["read_at"]
    unread = world.http.get("/api/v1/inbox", params={"unread": "true"}, headers=alice).json()
    assert unread["unread"] == 1 and [message["id"] for message in unread["messages"]] == [second]
    assert world.http.get("/api/v1/inbox").status_code == 401


def test_an_officer_inbox_and_the_figures_per_channel(world: World) -> None:
    officer = world.officer()
    alice = world.applicant(PERSON)
    world.send(
        "officer:reviewer1",
        "review.reminder",
        {"case_no": "MP20261122A1B2C3D4E5", "item": "高龄津贴", "deadline": "2026-12-01"},
    )
    assert world.http.put(
        "/api/v1/inbox/contacts/sms", json={"address": "13812345678"}, headers=alice
    ).json() == {"sms": "1381***5678"}
    world.send(PERSON, "offer.made", OFFER, "inbox", "sms")
    world.send(OTHER_PERSON, "offer.made", OFFER, "wechat")  # no WeChat contact: fails
    Dispatcher(world.deployment.notifications).run_once()

    inbox = world.http.get("/api/v1/inbox", headers=officer).json()
    assert [message["template"] for message in inbox["messages"]] == ["review.reminder"]
    stats = world.http.get("/api/v1/notifications/stats", headers=officer)
    assert stats.status_code == 200
    counts = {row["channel"]: row["counts"] for row in stats.json()["channels"]}
    assert counts["inbox"] == {"queued": 0, "sent": 0, "delivered": 2, "failed": 0}
    assert counts["sms"] == {"queued": 0, "sent": 1, "delivered": 0, "failed": 0}
    assert counts["wechat"]["failed"] == 1 and counts["email"] == dict.fromkeys(counts["email"], 0)
    assert all(row["recording_only"] for row in stats.json()["channels"] if row["channel"] != "inbox")

    recorded = world.http.get("/api/v1/notifications/recorded", headers=officer).json()
    assert [(row["channel"], row["address"]) for row in recorded] == [("sms", "1381***5678")]
    assert PERSON not in json.dumps(recorded) and "13812345678" not in json.dumps(recorded)
    assert world.http.get("/api/v1/notifications/stats", headers=alice).status_code == 403
    assert world.http.get("/api/v1/notifications/recorded", headers=alice).status_code == 403


def test_contacts_are_validated_and_shown_masked(world: World) -> None:
    alice = world.applicant(PERSON)
    bad = world.http.put("/api/v1/inbox/contacts/sms", json={"address": "12345"}, headers=alice)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == [{"field": "address", "reason": "手机号码格式不正确"}]
    assert (
        world.http.put("/api/v1/inbox/contacts/fax", json={"address": "1"}, headers=alice).status_code == 422
    )
    world.http.put("/api/v1/inbox/contacts/email", json={"address": "wang.fang@example.cn"}, headers=alice)
    assert world.http.get("/api/v1/inbox/contacts", headers=alice).json() == {"email": "wang************e.cn"}


def test_gateway_receipts_mark_a_sent_sms_delivered_or_failed(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMS_RECEIPT_TOKEN", "回执-secret".encode().hex())
    token = {"Authorization": "Bearer " + "回执-secret".encode().hex()}
    script = GatewayScript()
    with http_gateway(script) as url:
        config = {
            "channels": {
                "sms": {"gateway": "http", "url": url, "receipt_token_env": "TEST_SMS_RECEIPT_TOKEN"}
            }
        }
        with opened(tmp_path / "data", database_url, config) as world:
            alice = world.applicant(PERSON)
            world.http.put("/api/v1/inbox/contacts/sms", json={"address": "13812345678"}, headers=alice)
            delivered = world.send(PERSON, "offer.made", OFFER, "sms")
            lost = world.send(PERSON, "offer.expiring", OFFER, "sms")
            Dispatcher(world.deployment.notifications).run_once()
            assert [body["to"] for body in script.received] == ["13812345678", "13812345678"]
            ids = {
                row.message_id: row.gateway_id for row in world.deployment.notifications.deliveries(delivered)
            }
            ids |= {row.message_id: row.gateway_id for row in world.deployment.notifications.deliveries(lost)}

            receipts = "/api/v1/notifications/receipts/sms"
            assert (
                world.http.post(receipts, json={"id": ids[delivered], "status": "delivered"}).status_code
                == 403
            )
            assert (
                world.http.post(
                    receipts,
                    json={"id": ids[delivered], "status": "delivered"},
                    headers={"Authorization": "Bearer x"},
                ).status_code
                == 403
            )
            answer = world.http.post(
                receipts, json={"id": ids[delivered], "status": "delivered"}, headers=token
            )
            assert answer.status_code == 200
            assert answer.json() == {
                "message_id": delivered,
                "channel": "sms",
                "status": "delivered",
                "status_label": "已送达",
            }
            again = world.http.post(
                receipts, json={"id": ids[delivered], "status": "delivered"}, headers=token
            )
            assert again.status_code == 200
            failed = world.http.post(
                receipts, json={"id": ids[lost], "status": "failed", "reason": "用户关机"}, headers=token
            )
            assert failed.json()["status"] == "failed"
            assert world.deployment.notifications.deliveries(lost)[0].last_error == "网关回执：用户关机"
            late = world.http.post(receipts, json={"id": ids[lost], "status": "delivered"}, headers=token)
            assert late.status_code == 409
            unknown = world.http.post(receipts, json={"id": "nope", "status": "delivered"}, headers=token)
            assert unknown.status_code == 404
            # WeChat has no receipts configured here.
            assert (
                world.http.post(
                    "/api/v1/notifications/receipts/wechat",
                    json={"id": "1", "status": "delivered"},
                    headers=token,
                ).status_code
                == 404
            )
