"""电子证照 end to end over real HTTP, on SQLite and PostgreSQL: an approval issues a signed licence;
anyone verifies it; the issuing department revokes or suspends it; the holder's wallet; licences as
evidence; figures."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from sqlalchemy import select

from miaopi.api import create_app
from miaopi.approval.models import Application
from miaopi.audit import AuditLog
from miaopi.audit.models import AuditLogRecord
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.licence import Ed25519Signer, StatusList, add_proof, parse_identifier
from miaopi.licence.models import IssuedLicence, LicenceUse
from tests.approval.conftest import TODAY, World
from tests.approval.world import ACME, ALICE, FRANK
from tests.licence.world import BUS_ITEM, CARD, CARD_ITEM, ISSUER_CODE, write_licence_world
from tests.livehttp import serving

PHOTO = {
    "name": "近期照片",
    "file": {"filename": "p.jpg", "content_base64": base64.b64encode(b"\xff\xd8jpeg").decode()},
}


def apply_for_card(world: World, applicant: str, key: str = "card-1") -> dict[str, Any]:
    response = world.http.post(
        "/api/v1/applications",
        json={
            "item_code": CARD_ITEM,
            "applicant": {"id": applicant},
            "form": {"phone": "13800000000", "delivery": "邮寄"},
            "materials": [PHOTO],
            "idempotency_key": key,
        },
        headers=world.headers(applicant),
    )
    assert response.status_code in (200, 201), response.text  # 200: a repeated idempotency key
    decision: dict[str, Any] = response.json()
    return decision


def issued_card(world: World) -> tuple[str, dict[str, Any]]:
    decision = apply_for_card(world, ALICE)
    assert decision["status"] == "approved" and decision["licence"] is not None
    identifier = decision["licence"]
    document = world.http.get(f"/api/v1/wallet/licences/{identifier}", headers=world.headers(ALICE)).json()
    return identifier, document


def verify(world: World, document: Any) -> httpx.Response:
    return world.http.post("/api/v1/licences/verify", json=document)


def test_an_approval_issues_a_signed_licence_that_verifies_then_revocation_shows(world: World) -> None:
    decision = apply_for_card(world, ALICE)
    assert decision["status"] == "approved"
    identifier = decision["licence"]
    parsed = parse_identifier(identifier)
    assert parsed.type_code == f"{ISSUER_CODE}009" and parsed.issuer_code == ISSUER_CODE

    public = world.http.get(f"/api/v1/licences/{identifier}")
    assert public.status_code == 200, public.text
    view = public.json()
    assert view["verdict"] == "valid" and view["reason"] == "证照真实有效"
    assert view["licence_name"] == CARD and view["issuer"] == "市民政局"
    assert view["valid_from"] == "2026-11-22" and view["valid_until"] == "2031-11-21"
    # The public page carries no personal data: the holder is masked.
    assert "王芳" not in public.text and ALICE not in public.text
    assert view["holder_name"] == "王*" and view["holder_code"] == ALICE[:4] + "*" * 10 + ALICE[-4:]

    document = world.http.get(f"/api/v1/wallet/licences/{identifier}", headers=world.headers(ALICE)).json()
    assert document["credentialSubject"]["holderName"] == "王芳"
    assert document["credentialSubject"]["licence"]["fields"] == {"姓名": "王芳", "领取方式": "邮寄"}
    assert document["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert verify(world, document).json()["verdict"] == "valid"

    officer = world.officer("civil-1", "civil_affairs")
    revoked = world.http.post(
        f"/api/v1/licences/{identifier}/revoke", json={"reason": "申请人已迁出本市"}, headers=officer
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    after = world.http.get(f"/api/v1/licences/{identifier}").json()
    assert after["verdict"] == "revoked" and "吊销" in after["reason"]
    assert verify(world, document).json()["verdict"] == "revoked"

    # The published list has the licence's bit set, and is signed by the issuer.
    entry = next(e for e in document["credentialStatus"] if e["statusPurpose"] == "revocation")
    path = entry["statusListCredential"].split("127.0.0.1:8000", 1)[1]
    published = world.http.get(path)
    assert published.status_code == 200
    status_list = StatusList.from_credential(published.json())
    assert status_list.size >= 131_072 and status_list.get(int(entry["statusListIndex"]))
    assert status_list.count() == 1
    ring = world.deployment.licences.keys.ring()
    assert ring.verify(published.json()).verified

    with world.deployment.database.session() as session:
        actions = [
            row.action
            for row in session.scalars(
                select(AuditLogRecord).where(AuditLogRecord.target == identifier).order_by(AuditLogRecord.seq)
            )
        ]
        assert actions == ["licence.issued", "licence.revoke"]
        assert AuditLog().verify(session).ok


def test_tampered_or_foreign_signed_licences_are_forged_or_unknown(world: World) -> None:
    _, document = issued_card(world)
    tampered = copy.deepcopy(document)
    tampered["credentialSubject"]["licence"]["fields"]["姓名"] = "李四"
    answer = verify(world, tampered).json()
    assert answer["verdict"] == "forged" and "篡改" in answer["reason"]

    later = copy.deepcopy(document)
    later["validUntil"] = "2099-12-31T23:59:59+08:00"
    assert verify(world, later).json()["verdict"] == "forged"

    # Signed with another key under the issuer's own key id: the signature does not match.
    impostor = Ed25519Signer.generate(document["proof"]["verificationMethod"])
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    assert (
        verify(world, add_proof(unsigned, impostor, document["proof"]["created"])).json()["verdict"]
        == "forged"
    )

    # Signed by a key nobody published: unknown issuer.
    stranger = Ed25519Signer.generate("https://evil.example/issuers/x#key-1")
    answer = verify(world, add_proof(unsigned, stranger, document["proof"]["created"])).json()
    assert answer["verdict"] == "unknown_issuer" and "签发机关未知" in answer["reason"]


def test_malformed_input_is_refused_with_a_reason(world: World) -> None:
    _, document = issued_card(world)
    bad_json = world.http.post(
        "/api/v1/licences/verify", content=b'{"id": ', headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422 and "JSON" in bad_json.json()["error"]["message"]
    not_object = world.http.post("/api/v1/licences/verify", json=[1, 2])
    assert not_object.status_code == 422 and "对象" in not_object.text
    broken = copy.deepcopy(document)
    del broken["credentialSubject"]
    answer = verify(world, broken)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"][0]["field"] == "credentialSubject"
    assert "持证主体" in answer.json()["error"]["message"]
    one_off = world.http.get(f"/api/v1/licences/{document['id'][len('urn:gbt36904:') : -1]}X")
    assert one_off.status_code == 422 and "校验位" in one_off.json()["error"]["message"]
    unknown = str(parse_identifier(document["id"][len("urn:gbt36904:") :]))
    unknown = unknown.replace(".0000000001.", ".0000009999.")[:-2]
    from miaopi.licence import check_character

    body = "".join(unknown.split(".")[5:])
    missing = world.http.get(f"/api/v1/licences/{unknown}.{check_character(body)}")
    assert missing.status_code == 404 and "没有找到证照" in missing.json()["error"]["message"]
    assert world.http.get("/api/v1/licences/status/nonsense").status_code == 422
    assert world.http.get("/api/v1/licences/status/99999999-revocation-1").status_code == 404


def test_expired_licence_reads_expired(world: World) -> None:
    identifier, document = issued_card(world)
    world.deployment.licences.today = lambda: dt.date(2031, 11, 22)
    public = world.http.get(f"/api/v1/licences/{identifier}").json()
    assert public["verdict"] == "expired" and "2031-11-21" in public["reason"]
    assert verify(world, document).json()["verdict"] == "expired"
    world.deployment.licences.today = lambda: dt.date(2031, 11, 21)
    assert verify(world, document).json()["verdict"] == "valid"


def test_suspend_and_reinstate_by_the_issuing_department_only(world: World) -> None:
    identifier, document = issued_card(world)
    police = world.officer("police-1", "public_security")
    refused = world.http.post(
        f"/api/v1/licences/{identifier}/suspend", json={"reason": "核查"}, headers=police
    )
    assert refused.status_code == 403 and "本部门" in refused.json()["error"]["message"]
    applicant = world.http.post(
        f"/api/v1/licences/{identifier}/revoke", json={"reason": "x"}, headers=world.headers(ALICE)
    )
    assert applicant.status_code == 403
    assert world.http.post(f"/api/v1/licences/{identifier}/revoke", json={"reason": "x"}).status_code == 401
    civil = world.officer("civil-1", "civil_affairs")
    no_reason = world.http.post(f"/api/v1/licences/{identifier}/suspend", json={}, headers=civil)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert (
        world.http.post(
            f"/api/v1/licences/{identifier}/reinstate", json={"reason": "x"}, headers=civil
        ).status_code
        == 409
    )
    suspended = world.http.post(
        f"/api/v1/licences/{identifier}/suspend", json={"reason": "涉嫌冒领，核查中"}, headers=civil
    )
    assert suspended.status_code == 200 and suspended.json()["status_label"] == "已暂停使用"
    assert verify(world, document).json()["verdict"] == "suspended"
    reinstated = world.http.post(
        f"/api/v1/licences/{identifier}/reinstate", json={"reason": "核查无误"}, headers=civil
    )
    assert reinstated.status_code == 200
    assert verify(world, document).json()["verdict"] == "valid"
    world.http.post(f"/api/v1/licences/{identifier}/revoke", json={"reason": "冒领"}, headers=civil)
    again = world.http.post(f"/api/v1/licences/{identifier}/reinstate", json={"reason": "x"}, headers=civil)
    assert again.status_code == 409 and "吊销" in again.json()["error"]["message"]


def test_wallet_lists_only_the_holders_own_licences(world: World) -> None:
    identifier, _ = issued_card(world)
    mine = world.http.get("/api/v1/wallet/licences", headers=world.headers(ALICE))
    assert mine.status_code == 200
    assert [(item["identifier"], item["status_label"]) for item in mine.json()] == [(identifier, "有效")]
    assert mine.json()[0]["fields"]["姓名"] == "王芳"
    # Another subject sees none of it, and asking for it directly is "not found" (not "forbidden").
    assert world.http.get("/api/v1/wallet/licences", headers=world.headers(FRANK)).json() == []
    for suffix in ("", "/qr.png", "/qr.svg"):
        other = world.http.get(f"/api/v1/wallet/licences/{identifier}{suffix}", headers=world.headers(FRANK))
        assert other.status_code == 404, suffix
    # An enterprise the holder represents is another subject too.
    assert (
        world.http.get(f"/api/v1/wallet/licences/{identifier}", headers=world.headers(ACME)).status_code
        == 404
    )
    assert world.http.get("/api/v1/wallet/licences").status_code == 401
    officer = world.officer("civil-1", "civil_affairs")
    assert world.http.get("/api/v1/wallet/licences", headers=officer).status_code == 403

    download = world.http.get(f"/api/v1/wallet/licences/{identifier}", headers=world.headers(ALICE))
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content)["id"] == f"urn:gbt36904:{identifier}"
    png = world.http.get(f"/api/v1/wallet/licences/{identifier}/qr.png", headers=world.headers(ALICE))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = world.http.get(f"/api/v1/wallet/licences/{identifier}/qr.svg", headers=world.headers(ALICE))
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert world.http.get(f"/api/v1/licences/{identifier}/qr.png").content == png.content


def test_qr_code_links_to_the_verification_page(world: World) -> None:
    identifier, _ = issued_card(world)
    url = f"http://127.0.0.1:8000/api/v1/licences/{identifier}"
    assert world.deployment.licences.verification_url(identifier) == url
    # segno has no decoder: the served code must be the one segno builds for that URL.
    expected = segno.make_qr(url, error="m")
    buffer = io.BytesIO()
    expected.save(buffer, kind="png", scale=4, border=4)
    assert world.http.get(f"/api/v1/licences/{identifier}/qr.png").content == buffer.getvalue()
    assert world.http.get(url.removeprefix("http://127.0.0.1:8000")).json()["verdict"] == "valid"
    # A phone's browser gets a page: the verdict first, the holder masked.
    page = world.http.get(url.removeprefix("http://127.0.0.1:8000"), headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "证照真实有效" in page.text and "王*" in page.text and "王芳" not in page.text


def test_own_licence_satisfies_a_material_and_the_case_records_it(world: World) -> None:
    identifier, _ = issued_card(world)
    response = world.http.post(
        "/api/v1/applications",
        json={"item_code": BUS_ITEM, "applicant": {"id": ALICE}, "idempotency_key": "bus-1"},
        headers=world.headers(ALICE),
    )
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["status"] == "approved" and decision["materials_waived"] == 1
    material = decision["materials"][0]
    assert material["status"] == "licence" and material["trust"] == "A"
    assert material["licence_number"] == identifier and material["licence_source"] == "miaopi"
    with world.deployment.database.session() as session:
        uses = session.scalars(select(LicenceUse)).all()
        assert [
            (use.case_no, use.licence, use.type_name, use.source) for use in uses if use.type_name == CARD
        ] == [(decision["case_no"], identifier, CARD, "miaopi")]
    figures = {row["type_name"]: row for row in world.http.get("/api/v1/licences/stats").json()}
    assert figures[CARD] == {
        "type_name": CARD,
        "issued": 1,
        "valid": 1,
        "suspended": 0,
        "revoked": 0,
        "used_as_evidence": 1,
    }

    # Revoked, it no longer satisfies the material: the case goes to a person, missing the material.
    civil = world.officer("civil-1", "civil_affairs")
    world.http.post(f"/api/v1/licences/{identifier}/revoke", json={"reason": "注销"}, headers=civil)
    response = world.http.post(
        "/api/v1/applications",
        json={"item_code": BUS_ITEM, "applicant": {"id": ALICE}, "idempotency_key": "bus-2"},
        headers=world.headers(ALICE),
    )
    again = response.json()
    assert again["status"] == "review" and again["materials"][0]["status"] == "missing"


def test_manual_approval_issues_the_licence_in_the_review_transaction(world: World) -> None:
    decision = apply_for_card(world, FRANK)  # Shanghai hukou: to a person
    assert decision["status"] == "review" and decision["licence"] is None
    case_no = decision["case_no"]
    reviewer = world.officer("civil-1", "civil_affairs")
    assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    decided = world.http.post(
        f"/api/v1/review/cases/{case_no}/decision",
        json={"decision": "approve", "comment": "已核实在本市居住"},
        headers=reviewer,
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    wallet = world.http.get("/api/v1/wallet/licences", headers=world.headers(FRANK)).json()
    assert len(wallet) == 1 and wallet[0]["case_no"] == case_no
    assert wallet[0]["fields"] == {"姓名": "孙海", "领取方式": "邮寄"}
    assert world.http.get(f"/api/v1/licences/{wallet[0]['identifier']}").json()["verdict"] == "valid"
    with world.deployment.database.session() as session:
        row = session.get(IssuedLicence, wallet[0]["identifier"])
        assert row is not None and row.case_no == case_no
        case = session.get(Application, case_no)
        assert case is not None and case.status == "approved"
        issued = session.scalars(
            select(AuditLogRecord).where(AuditLogRecord.action == "licence.issued")
        ).one()
        assert issued.actor == "officer:civil-1"


def test_serials_and_status_indexes_are_unique_across_many_approvals(world: World) -> None:
    decisions = [apply_for_card(world, ALICE, key=f"many-{n}") for n in range(6)]
    identifiers = [decision["licence"] for decision in decisions]
    assert len(set(identifiers)) == 6
    with world.deployment.database.session() as session:
        rows = session.scalars(select(IssuedLicence)).all()
        assert sorted(row.serial for row in rows) == [1, 2, 3, 4, 5, 6]
        assert len({(row.list_no, row.status_index) for row in rows}) == 6
    # A repeated submission (same idempotency key) issues nothing more.
    apply_for_card(world, ALICE, key="many-0")
    with world.deployment.database.session() as session:
        assert len(session.scalars(select(IssuedLicence)).all()) == 6


def test_issuer_document_lists_its_keys(world: World) -> None:
    key_file = world.data_dir / "keys" / "licence-keys.json"  # created when the deployment opened
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list(json.loads(key_file.read_text(encoding="utf-8"))["issuers"]) == [ISSUER_CODE]
    issuer = world.http.get(f"/api/v1/licences/issuers/{ISSUER_CODE}")
    assert issuer.status_code == 200
    document = issuer.json()
    assert document["id"].endswith(f"/api/v1/licences/issuers/{ISSUER_CODE}")
    assert [method["type"] for method in document["verificationMethod"]] == ["Multikey"]
    assert world.http.get("/api/v1/licences/issuers/NOPE").status_code == 404


def test_deemed_approval_issues_the_licence(world: World) -> None:
    decision = apply_for_card(world, FRANK)
    assert decision["status"] == "review"
    with world.deployment.database.session() as session:
        said = world.deployment.alerts.deem_approved(
            session, decision["case_no"], dt.date(2026, 12, 31), dt.datetime.now(dt.UTC)
        )
    assert "视为准予延续" in said
    wallet = world.http.get("/api/v1/wallet/licences", headers=world.headers(FRANK)).json()
    assert [item["case_no"] for item in wallet] == [decision["case_no"]]
    with world.deployment.database.session() as session:
        issued = session.scalars(
            select(AuditLogRecord).where(AuditLogRecord.action == "licence.issued")
        ).one()
        assert issued.actor == "system:scheduler" and issued.target == wallet[0]["identifier"]


@pytest.fixture
def four_eyes_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data_dir = tmp_path / "data"
    write_licence_world(data_dir)
    item = data_dir / "catalog" / "items" / "elderly-card.yaml"
    item.write_text(item.read_text(encoding="utf-8") + "four_eyes: true\n", encoding="utf-8")
    deployment = Deployment.open(load_settings(data_dir, database_url), today=lambda: TODAY)
    with serving(create_app(deployment)) as http:
        yield World(deployment, http, data_dir)
    deployment.close()


def test_four_eyes_issues_only_on_the_confirming_decision(four_eyes_world: World) -> None:
    world = four_eyes_world
    case_no = apply_for_card(world, FRANK)["case_no"]
    first, second = world.officer("civil-1", "civil_affairs"), world.officer("civil-2", "civil_affairs")
    for reviewer in (first, second):
        assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
        decided = world.http.post(
            f"/api/v1/review/cases/{case_no}/decision",
            json={"decision": "approve", "comment": "同意"},
            headers=reviewer,
        )
        assert decided.status_code == 200
        issued = world.http.get("/api/v1/wallet/licences", headers=world.headers(FRANK)).json()
        assert len(issued) == (0 if reviewer is first else 1)
    assert decided.json()["status"] == "approved"


def reopen_and_decide(world: World, decision: str) -> tuple[str, httpx.Response]:
    identifier, _ = issued_card(world)
    case_no = world.http.get("/api/v1/wallet/licences", headers=world.headers(ALICE)).json()[0]["case_no"]
    reopened = world.http.post(f"/api/v1/applications/{case_no}/human-review", headers=world.headers(ALICE))
    assert reopened.status_code == 200, reopened.text
    assert world.http.get(f"/api/v1/licences/{identifier}").json()["verdict"] == "suspended"
    reviewer = world.officer("civil-1", "civil_affairs")
    assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    body = {"decision": decision, "comment": "复核", "legal_basis": "《深圳市老年人优待办法》第三条"}
    decided = world.http.post(f"/api/v1/review/cases/{case_no}/decision", json=body, headers=reviewer)
    assert decided.status_code == 200, decided.text
    return identifier, decided


def test_reopened_approval_keeps_its_licence_when_approved_again(world: World) -> None:
    identifier, _ = reopen_and_decide(world, "approve")
    assert world.http.get(f"/api/v1/licences/{identifier}").json()["verdict"] == "valid"
    wallet = world.http.get("/api/v1/wallet/licences", headers=world.headers(ALICE)).json()
    assert [item["identifier"] for item in wallet] == [identifier]  # no second licence


def test_reopened_approval_refused_revokes_its_licence(world: World) -> None:
    identifier, _ = reopen_and_decide(world, "reject")
    answer = world.http.get(f"/api/v1/licences/{identifier}").json()
    assert answer["verdict"] == "revoked"
    with world.deployment.database.session() as session:
        actions = [
            row.action
            for row in session.scalars(
                select(AuditLogRecord).where(AuditLogRecord.target == identifier).order_by(AuditLogRecord.seq)
            )
        ]
    assert actions == ["licence.issued", "licence.suspend", "licence.revoke"]
