"""秒批 end to end over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import threading
from typing import Any

import pytest
from sqlalchemy import select, text, update

from miaopi.api import create_app
from miaopi.api.applications import DecisionOut
from miaopi.approval import ApplicationIn, replay
from miaopi.approval.models import Application, CaseEvidence, Upload
from miaopi.approval.pipeline import new_case_no
from miaopi.audit import AuditLog
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.sharing.models import AccessCount, AccessLogEntry
from tests.approval.conftest import World
from tests.approval.world import ACME, ALICE, CAROL, DAVE, EVE, FRANK, GHOST, ITEM
from tests.livehttp import serving


def uploaded(filename: str, content_type: str, content: bytes) -> dict[str, Any]:
    """The item's photo material, sent as a file."""
    return {
        "name": "近期照片",
        "file": {
            "filename": filename,
            "content_type": content_type,
            "content_base64": base64.b64encode(content).decode(),
        },
    }


PHOTO = uploaded("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")


def body(applicant: str, key: str, **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "item_code": ITEM,
        "applicant": {"id": applicant},
        "form": {"phone": "13800000000"},
        "materials": [PHOTO],
        "idempotency_key": key,
    }
    document.update(overrides)
    return document


def submit(world: World, applicant: str, key: str = "k1", **overrides: Any) -> dict[str, Any]:
    response = world.http.post(
        "/api/v1/applications", json=body(applicant, key, **overrides), headers=world.headers(applicant)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_case_numbers_are_unguessable_and_in_order_of_arrival() -> None:
    """MP + the day + the second of the day (China time) and its millisecond + 40 random bits: cases
    stored together sit together in the case-number indexes, and nobody can guess another's number."""
    day = dt.date(2026, 11, 23)
    at = dt.datetime(2026, 11, 22, 16, 30, 5, 123456, tzinfo=dt.UTC)  # 00:30:05.123 on the 23rd in China
    numbers = [new_case_no(day, at) for _ in range(1000)]
    assert all(re.fullmatch(r"MP2026112301805123[0-9A-F]{10}", number) for number in numbers), numbers[0]
    assert len(set(numbers)) == 1000
    # Later in the same second: after every number of the millisecond before.
    later = new_case_no(day, at + dt.timedelta(milliseconds=1))
    assert later.startswith("MP2026112301805124") and later > max(numbers)
    next_second = new_case_no(day, at.replace(microsecond=0) + dt.timedelta(seconds=1))
    assert next_second.startswith("MP2026112301806000") and next_second > later
    assert len(later) <= 32  # the case-number columns


def test_approved_instantly_with_explanation_evidence_and_audit(world: World) -> None:
    decision = submit(world, ALICE)
    assert decision["status"] == "approved" and decision["status_label"] == "准予许可（自动）"
    assert decision["reasons"] == []
    assert [(rule["rule"], rule["result"]) for rule in decision["explanation"]] == [
        ("age", "pass"),
        ("hukou", "pass"),
    ]
    assert decision["explanation"][0]["legal_basis"] == "《深圳市老年人优待办法》第二条"
    assert decision["explanation"][0]["facts"]["person.age"] == 77
    statuses = {material["name"]: material["status"] for material in decision["materials"]}
    assert statuses == {"身份证明": "shared", "居民户口簿": "licence", "近期照片": "uploaded"}
    assert decision["materials_waived"] == 2
    assert decision["promised_deadline"] == "2026-11-27" and decision["statutory_deadline"] == "2026-12-18"
    assert "human-review" in decision["human_review"]
    case_no = decision["case_no"]
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        assert case is not None and case.version_hash.startswith("sha256:")
        facts = case.facts
        assert facts["person.birth_date"] == {"kind": "binding", "value": "1949-01-01"}
        assert facts["person.serious_dishonesty"] == {"kind": "aggregate", "value": False}
        assert facts["person.age"] == {"kind": "derived", "value": 77}
        evidence = session.scalars(select(CaseEvidence).where(CaseEvidence.case_no == case_no)).all()
        assert {row.resource for row in evidence} == {
            "population.person",
            "credit.dishonest_person",
            "licence.person_licence",
        }
        assert all(row.content_hash.startswith("sha256:") for row in evidence)
        assert case.explanation == decision["explanation"]  # every rule's result, message and legal basis
        reads = session.scalars(select(AccessLogEntry).where(AccessLogEntry.case_no == case_no)).all()
        assert {row.resource for row in reads} == {
            "population.person",
            "credit.dishonest_person",
            "licence.person_licence",
        }
        assert all(row.department == "civil_affairs" and row.purpose == f"item:{ITEM}" for row in reads)
        verdict = AuditLog().verify(session)
        assert verdict.ok and verdict.checked == 1
    assert world.http.get("/api/v1/sharing/access-counts").json() == {
        "total": 3,
        "by_resource": {"population.person": 1, "credit.dishonest_person": 1, "licence.person_licence": 1},
        "by_department": {"civil_affairs": 3},
    }


def test_a_deadline_in_a_year_the_calendar_lacks_is_left_open_and_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """In late December every statutory deadline runs into a year chinesecalendar does not know yet:
    each case is still decided with its deadline left open, /health names the missing year, and the
    log says so once (with the count of cases), not once per application."""
    december = Deployment.open(
        load_settings(world.data_dir, world.deployment.database.url), today=lambda: dt.date(2026, 12, 21)
    )
    try:
        with serving(create_app(december)) as http, caplog.at_level(logging.ERROR, "miaopi.deployment"):
            for key in ("dec-1", "dec-2", "dec-3"):
                response = http.post(
                    "/api/v1/applications", json=body(ALICE, key), headers=world.headers(ALICE)
                )
                assert response.status_code == 201, response.text
                assert response.json()["status"] == "approved"
                assert response.json()["statutory_deadline"] is None
            health = http.get("/api/v1/health").json()
    finally:
        december.close()
    said = [record.getMessage() for record in caplog.records if "working calendar" in record.getMessage()]
    assert len(said) == 1 and "不知道 2027 年的节假日安排" in said[0], said
    assert said[0].endswith("(cases left without a deadline so far: 1)")
    assert health["status"] == "degraded"
    missing = (
        said[0].removeprefix("working calendar: ").removesuffix(" (cases left without a deadline so far: 1)")
    )
    assert [problem for problem in health["problems"] if "2027" in problem] == [missing]


@pytest.mark.parametrize(
    ("applicant", "status", "reason"),
    [
        (CAROL, "rejected", "failed_reject_rule"),
        (DAVE, "review", "credit_gate"),
        (EVE, "review", "unknown_fact"),
        (FRANK, "review", "failed_review_rule"),
    ],
)
def test_outcomes_and_reasons(world: World, applicant: str, status: str, reason: str) -> None:
    decision = submit(world, applicant)
    assert decision["status"] == status
    assert reason in [item["code"] for item in decision["reasons"]]
    if reason == "unknown_fact":
        (unknown,) = [item for item in decision["reasons"] if item["code"] == "unknown_fact"]
        assert unknown["facts"] == ["person.hukou_city"]
        hukou = next(rule for rule in decision["explanation"] if rule["rule"] == "hukou")
        assert hukou["result"] == "unknown" and "person.hukou_city" in hukou["message"]


def test_a_held_licence_must_be_valid_and_missing_materials_send_to_review(world: World) -> None:
    decision = submit(world, CAROL, materials=[])  # CAROL's household register expired in 2020
    statuses = {material["name"]: material["status"] for material in decision["materials"]}
    assert statuses["居民户口簿"] == "missing" and statuses["近期照片"] == "missing"
    (missing,) = [reason for reason in decision["reasons"] if reason["code"] == "materials_missing"] or [None]
    assert decision["status"] == "rejected" or missing is not None


def test_commitment_replaces_a_material(world: World) -> None:
    decision = submit(world, ALICE, materials=[], commitments=["近期照片"])
    assert decision["status"] == "approved"
    assert {m["name"]: m["status"] for m in decision["materials"]}["近期照片"] == "committed"


def test_referencing_a_licence_not_held_is_refused(world: World) -> None:
    response = world.http.post(
        "/api/v1/applications",
        json=body(ALICE, "k9", materials=[PHOTO, {"name": "居民户口簿", "licence_number": "HK-0002"}]),
        headers=world.headers(ALICE),
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "materials[1].licence_number"


def test_applicant_may_ask_for_a_human_review_at_submission_or_after(world: World) -> None:
    asked = submit(world, ALICE, request_human_review=True)
    assert asked["status"] == "review" and [r["code"] for r in asked["reasons"]] == ["applicant_request"]
    approved = submit(world, ALICE, key="k2")
    assert approved["status"] == "approved"
    response = world.http.post(
        f"/api/v1/applications/{approved['case_no']}/human-review", headers=world.headers(ALICE)
    )
    assert response.status_code == 200 and response.json()["status"] == "review"
    progress = world.http.get(f"/api/v1/progress/{approved['case_no']}").json()
    assert [step["step"] for step in progress["steps"]][-1] == "review_requested"
    with world.deployment.database.session() as session:
        verdict = AuditLog().verify(session)
        assert verdict.ok and verdict.checked == 3
        assert replay(session, world.deployment.catalog, approved["case_no"]).identical


def test_idempotency_same_body_same_case_different_body_conflict(world: World) -> None:
    first = world.http.post("/api/v1/applications", json=body(ALICE, "same"), headers=world.headers(ALICE))
    again = world.http.post("/api/v1/applications", json=body(ALICE, "same"), headers=world.headers(ALICE))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["case_no"] == first.json()["case_no"]
    changed = world.http.post(
        "/api/v1/applications",
        json=body(ALICE, "same", form={"phone": "13900000000"}),
        headers=world.headers(ALICE),
    )
    assert changed.status_code == 409
    assert "幂等键" in changed.json()["error"]["message"]


def test_concurrent_duplicates_make_one_case(world: World) -> None:
    headers = world.headers(ALICE)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        response = world.http.post("/api/v1/applications", json=body(ALICE, "race"), headers=headers)
        with lock:
            results.append((response.status_code, response.json().get("case_no", response.text)))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({case_no for _, case_no in results}) == 1, results
    assert sorted(status for status, _ in results) == [200] * 5 + [201] or all(
        s in (200, 201) for s, _ in results
    )
    with world.deployment.database.session() as session:
        assert session.scalar(select(text("count(*)")).select_from(Application)) == 1
        assert AuditLog().verify(session).checked == 1


def test_applicants_see_only_their_own_cases_and_officers_their_department(world: World) -> None:
    case_no = submit(world, ALICE)["case_no"]
    assert world.http.get(f"/api/v1/applications/{case_no}", headers=world.headers(ALICE)).status_code == 200
    other = world.http.get(f"/api/v1/applications/{case_no}", headers=world.headers(CAROL))
    assert other.status_code == 404 and case_no in other.json()["error"]["message"]
    assert (
        world.http.post(
            f"/api/v1/applications/{case_no}/human-review", headers=world.headers(CAROL)
        ).status_code
        == 404
    )
    assert world.http.get("/api/v1/applications", headers=world.headers(CAROL)).json() == []
    assert [
        c["case_no"] for c in world.http.get("/api/v1/applications", headers=world.headers(ALICE)).json()
    ] == [case_no]
    civil = world.officer("civil-reviewer", "civil_affairs")
    police = world.officer("police-reviewer", "public_security")
    assert world.http.get(f"/api/v1/applications/{case_no}", headers=civil).status_code == 200
    assert world.http.get(f"/api/v1/applications/{case_no}", headers=police).status_code == 404
    assert world.http.get("/api/v1/applications", headers=police).json() == []
    assert world.http.get(f"/api/v1/applications/{case_no}").status_code == 401
    assert (
        world.http.get(
            f"/api/v1/applications/{case_no}", headers={"Authorization": "Bearer forged"}
        ).status_code
        == 401
    )
    submitted_by_officer = world.http.post("/api/v1/applications", json=body(ALICE, "o"), headers=civil)
    assert submitted_by_officer.status_code == 403


def test_one_applicant_cannot_apply_for_another(world: World) -> None:
    response = world.http.post("/api/v1/applications", json=body(ALICE, "x"), headers=world.headers(CAROL))
    assert response.status_code == 403 and "本人" in response.json()["error"]["message"]


def test_a_legal_representative_may_act_for_the_enterprise_only(world: World) -> None:
    document = body(ACME, "e")
    document["applicant"]["acting_person"] = CAROL  # CAROL is not ACME's legal representative
    response = world.http.post("/api/v1/applications", json=document, headers=world.headers(CAROL))
    assert response.status_code == 403 and "法定代表人" in response.json()["error"]["message"]
    document["applicant"]["acting_person"] = (
        ALICE  # ALICE is; the item is for people, so: 422 on applicant.id
    )
    response = world.http.post("/api/v1/applications", json=document, headers=world.headers(ALICE))
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "applicant.id"


def test_public_progress_masks_personal_data(world: World) -> None:
    decision = submit(world, ALICE)
    response = world.http.get(f"/api/v1/progress/{decision['case_no']}")
    assert response.status_code == 200
    progress = response.json()
    assert progress["applicant"] == ALICE[:4] + "*" * 10 + ALICE[-4:]
    assert progress["promised_deadline"] == "2026-11-27"
    assert [step["label"] for step in progress["steps"]] == ["提交申请", "受理", "作出决定"]
    text_of_page = json.dumps(progress, ensure_ascii=False)
    assert ALICE not in text_of_page and "王芳" not in text_of_page and "1949" not in text_of_page
    assert world.http.get("/api/v1/progress/MP20261122NOPE").status_code == 404


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda b: b["applicant"].update(id="440304194901010021"), "applicant.id", "校验码"),
        (lambda b: b["applicant"].update(id="12345"), "applicant.id", "18位"),
        (lambda b: b.update(item_code="NO-SUCH-ITEM"), "item_code", "没有编码"),
        (lambda b: b["form"].update(phone=12), "form.phone", "文本"),
        (lambda b: b["form"].pop("phone"), "form.phone", "必填"),
        (lambda b: b["form"].update(colour="红"), "form.colour", "没有该表单字段"),
        (lambda b: b["form"].update(delivery="飞鸽"), "form.delivery", "以下之一"),
        (lambda b: b.update(surprise=1), "surprise", "不允许"),
        (lambda b: b.update(materials="photo"), "materials", "数组"),
        (lambda b: b.update(idempotency_key="has space"), "idempotency_key", ""),
        (
            lambda b: b.update(
                materials=[{"name": "近期照片", "file": {"filename": "a", "content_base64": "@@@"}}]
            ),
            "materials[0].file.content_base64",
            "Base64",
        ),
        (lambda b: b.update(commitments=["不存在的材料"]), "commitments[0]", "没有材料"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    world: World, mutate: Any, field: str, fragment: str
) -> None:
    document = body(ALICE, "bad")
    mutate(document)
    response = world.http.post("/api/v1/applications", json=document, headers=world.headers(ALICE))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    fields = [item["field"] for item in error.get("fields", [])]
    assert field in fields or field in error["message"], error
    assert fragment in json.dumps(error, ensure_ascii=False)
    with world.deployment.database.session() as session:
        assert session.scalar(select(text("count(*)")).select_from(Application)) == 0
        assert session.scalar(select(text("count(*)")).select_from(AccessLogEntry)) == 0
        assert session.scalar(select(text("count(*)")).select_from(AccessCount)) == 0


def test_malformed_json_and_oversized_bodies(world: World) -> None:
    headers = {**world.headers(ALICE), "Content-Type": "application/json"}
    broken = world.http.post("/api/v1/applications", content=b'{"item_code": ', headers=headers)
    assert broken.status_code == 422 and "JSON" in broken.json()["error"]["message"]
    huge = world.http.post("/api/v1/applications", content=b"x" * (9 * 1024 * 1024), headers=headers)
    assert huge.status_code == 413 and "过大" in huge.json()["error"]["message"]
    # Who is asking is checked before what they ask: no login, or a forged token, is a 401 whatever
    # the body, and says nothing about it.
    for anonymous in ({}, {"Authorization": "Bearer forged"}):
        refused = world.http.post("/api/v1/applications", content=b'{"item_code": ', headers=anonymous)
        assert refused.status_code == 401 and "JSON" not in refused.text, refused.text


def test_unknown_subject_is_decided_on_no_data_not_crashed(world: World) -> None:
    decision = submit(world, GHOST)
    assert decision["status"] == "review"


def test_replay_is_identical_and_notices_tampered_evidence(world: World) -> None:
    case_no = submit(world, ALICE)["case_no"]
    with world.deployment.database.session() as session:
        assert replay(session, world.deployment.catalog, case_no).identical
    with world.deployment.database.session() as session:
        row = session.scalars(
            select(CaseEvidence).where(
                CaseEvidence.case_no == case_no, CaseEvidence.resource == "population.person"
            )
        ).one()
        session.execute(
            update(CaseEvidence)
            .where(CaseEvidence.id == row.id)
            .values(records=[{"birth_date": "2001-01-01", "hukou_city": "440300"}])
        )
    with world.deployment.database.session() as session:
        result = replay(session, world.deployment.catalog, case_no)
    assert not result.identical
    text_of = "\n".join(result.differences)
    assert "存证被修改" in text_of and "结论：原为 approved，重放为 rejected" in text_of


def test_stats_per_item(world: World) -> None:
    submit(world, ALICE)
    submit(world, CAROL)
    submit(world, EVE)
    (figures,) = world.http.get("/api/v1/stats").json()
    assert figures["item_code"] == ITEM and figures["applications"] == 3
    assert figures["approved_automatically"] == 1 and figures["rejected_automatically"] == 1
    assert figures["sent_to_review"] == 1 and figures["automatic_approval_rate"] == pytest.approx(
        1 / 3, abs=1e-3
    )
    assert figures["statutory_limit"] == "20个工作日" and figures["materials_waived"] >= 2
    assert figures["visits_saved"] == 2
    with world.deployment.database.session() as session:
        micros = sorted(
            session.scalars(
                select(Application.decision_micros).where(Application.automatic_status != "review")
            ).all()
        )
    assert figures["median_decision_ms"] == pytest.approx(sum(micros) / 2 / 1000, abs=0.001)


def test_the_submit_answer_is_the_documented_model_byte_for_byte(world: World) -> None:
    """The hottest endpoint serialises without building its response model: same bytes, dates and
    times included (UTC as Z), for an approval, a refusal and a case sent to review."""
    for applicant, key in ((ALICE, "bytes-1"), (CAROL, "bytes-2"), (EVE, "bytes-3")):
        response = world.http.post(
            "/api/v1/applications", json=body(applicant, key), headers=world.headers(applicant)
        )
        assert response.status_code == 201
        answer = response.content
        assert DecisionOut.model_validate_json(answer).model_dump_json().encode() == answer


def test_the_request_hash_is_unchanged_for_keys_stored_before() -> None:
    """Idempotency keys stored earlier were hashed with json.dumps: the hash must not change."""
    application = ApplicationIn.model_validate(
        body(
            ALICE,
            "hash-1",
            form={"phone": "13800000000", "备注": "“引号”\n换行", "份数": 2, "比例": 0.1, "急": True},
        )
    )
    canonical = json.dumps(
        application.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert application.request_hash() == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_an_uploaded_material_is_stored_with_its_case_and_only_those_who_may_see_it_download_it(
    world: World,
) -> None:
    decision = submit(world, ALICE)
    (photo,) = [material for material in decision["materials"] if material["status"] == "uploaded"]
    content = b"\xff\xd8jpeg"
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    assert photo == {
        "name": "近期照片",
        "required": True,
        "status": "uploaded",
        "trust": "C",
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(content),
        "content_hash": digest,
    }
    with world.deployment.database.session() as session:  # committed with the case
        assert session.get(Upload, digest).content == content  # type: ignore[union-attr]
    assert not (world.data_dir / "uploads").exists()
    url = f"/api/v1/applications/{decision['case_no']}/uploads/{digest}"
    civil = world.officer("civil-reader", "civil_affairs")
    for headers in (world.headers(ALICE), civil):
        download = world.http.get(url, headers=headers)
        assert download.status_code == 200 and download.content == content
        assert download.headers["content-type"] == "image/jpeg"
        assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''photo.jpg"
        assert download.headers["x-content-type-options"] == "nosniff"
    police = world.officer("police-reader", "public_security")
    for headers in (world.headers(EVE), police):  # another applicant, another department
        assert world.http.get(url, headers=headers).status_code == 404
    assert world.http.get(url).status_code == 401
    other = "sha256:" + hashlib.sha256(b"not this case's").hexdigest()
    missing = world.http.get(
        f"/api/v1/applications/{decision['case_no']}/uploads/{other}", headers=world.headers(ALICE)
    )
    assert missing.status_code == 404 and "没有内容摘要为" in missing.json()["error"]["message"]
    malformed = world.http.get(
        f"/api/v1/applications/{decision['case_no']}/uploads/photo.jpg", headers=world.headers(ALICE)
    )
    assert malformed.status_code == 422


def test_an_upload_of_a_type_not_shown_in_browsers_downloads_as_bytes(world: World) -> None:
    decision = submit(world, ALICE, materials=[uploaded("照片.html", "text/html", b"<script>x</script>")])
    (upload,) = [material for material in decision["materials"] if material["status"] == "uploaded"]
    download = world.http.get(
        f"/api/v1/applications/{decision['case_no']}/uploads/{upload['content_hash']}",
        headers=world.headers(ALICE),
    )
    assert download.status_code == 200 and download.content == b"<script>x</script>"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''%E7%85%A7%E7%89%87.html"
