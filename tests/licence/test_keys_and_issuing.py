"""Issuer keys in the data directory and their rotation; numbering, validity and status positions of
issued licences; issuing in the caller's transaction (all or nothing)."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from miaopi.approval.models import Application
from miaopi.audit import AuditLog
from miaopi.catalog.licence_types import LicenceField, LicenceType, LicenceValidity
from miaopi.cli import app
from miaopi.licence import parse_identifier, verify_licence
from miaopi.licence.issuing import (
    LIST_SIZE,
    LicenceIssuer,
    list_id,
    parse_list_id,
    request_for,
    status_position,
)
from miaopi.licence.keys import KeyStore
from miaopi.licence.models import IssuedLicence, LicenceCounter
from miaopi.licence.status import StatusList, StatusPurpose
from miaopi.store import Database

CARD = LicenceType(
    name="老年人优待证",
    code="114403000000101105009",
    credential_type="SeniorCitizenCard",
    subject="person",
    department="civil_affairs",
    issuer_name="市民政局",
    issuer_code="114403000000101105",
    validity=LicenceValidity(years=5),
    holder_name="person.name",
    fields=(LicenceField("姓名", "person.name"), LicenceField("出生日期", "person.birth_date")),
)
HOLDER = "110101194901010023"
TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


def request(case_no: str = "MP1", **values: object) -> object:
    return request_for(
        CARD,
        case_no=case_no,
        holder=HOLDER,
        values={"person.name": "王芳", "person.birth_date": dt.date(1949, 1, 1), **values},
        decided_on=TODAY,
        actor="system",
    )


def test_keys_are_created_private_and_rotation_keeps_old_licences_verifiable(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys" / "licence-keys.json", public_url="https://zw.example.gov.cn/")
    assert keys.ensure([CARD.issuer_code]) == [CARD.issuer_code]
    assert keys.ensure([CARD.issuer_code]) == []  # once only
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    first = keys.signer(CARD.issuer_code)
    assert first.key_id == f"https://zw.example.gov.cn/api/v1/licences/issuers/{CARD.issuer_code}#key-1"

    assert keys.rotate() == {CARD.issuer_code: "key-2"}
    stored = json.loads(keys.path.read_text(encoding="utf-8"))["issuers"][CARD.issuer_code]
    assert "private" not in stored[0] and "retired" in stored[0] and "private" in stored[1]
    second = keys.signer(CARD.issuer_code)
    assert second.key_id.endswith("#key-2")
    ring = keys.ring()
    assert set(ring.key_ids()) == {first.key_id, second.key_id}
    with pytest.raises(LookupError, match="NOPE"):
        keys.rotate(["NOPE"])
    # Another process (the CLI) rotating is seen by a running store without a restart.
    other = KeyStore(keys.path)
    other.rotate([CARD.issuer_code])
    assert keys.signer(CARD.issuer_code).key_id.endswith("#key-3")
    assert keys.public_url == "https://zw.example.gov.cn"


def test_the_public_url_is_fixed_when_the_keys_are_created(tmp_path: Path) -> None:
    KeyStore(tmp_path / "keys.json", public_url="https://first.example.gov.cn").ensure([CARD.issuer_code])
    later = KeyStore(tmp_path / "keys.json", public_url="https://second.example.gov.cn")
    issuer = later.issuer_id(CARD.issuer_code)
    assert issuer == f"https://first.example.gov.cn/api/v1/licences/issuers/{CARD.issuer_code}"
    assert later.signer(CARD.issuer_code).key_id.startswith(issuer + "#")
    assert later.status_list_url("x-revocation-1").startswith("https://first.example.gov.cn/")


def test_rotate_key_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["licence", "rotate-key", "--data-dir", str(tmp_path / "empty")])
    assert missing.exit_code == 2 and "miaopi init" in missing.output
    keys = KeyStore.in_data_dir(tmp_path / "data")
    keys.ensure([CARD.issuer_code])
    before = keys.path.read_text(encoding="utf-8")
    result = runner.invoke(app, ["licence", "rotate-key", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert f"签发机关 {CARD.issuer_code}：启用新密钥 key-2" in result.output
    private = json.loads(before)["issuers"][CARD.issuer_code][0]["private"]
    assert private not in result.output  # key material is never printed


def test_signed_with_an_earlier_key_still_verifies(tmp_path: Path, database: Database) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure([CARD.issuer_code])
    issuer = LicenceIssuer(keys)
    old, new = request("MP1"), request("MP2")
    with database.session() as session:
        _cases(session, ["MP1", "MP2"])
        issuer.issue(session, [old], NOW)  # type: ignore[list-item]
        keys.rotate()
        issuer.issue(session, [new], NOW)  # type: ignore[list-item]
    with database.session() as session:
        rows = {row.case_no: row for row in session.scalars(select(IssuedLicence))}
    assert rows["MP1"].key_id.endswith("#key-1") and rows["MP2"].key_id.endswith("#key-2")
    ring = keys.ring()
    for row in rows.values():
        lists = {
            entry["statusListCredential"]: StatusList(
                purpose=entry["statusPurpose"], issuer=row.document["issuer"]["id"]
            )
            for entry in row.document["credentialStatus"]
        }
        assert verify_licence(row.document, ring, lists, TODAY).valid


def test_numbers_validity_and_fields(tmp_path: Path, database: Database) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure([CARD.issuer_code])
    requests = [request(f"MP{n}") for n in range(3)]
    with database.session() as session:
        _cases(session, [f"MP{n}" for n in range(3)])
        records = LicenceIssuer(keys).issue(session, requests, NOW)  # type: ignore[arg-type]
        AuditLog().append_many(session, records)
    identifiers = [r.identifier for r in requests]  # type: ignore[attr-defined]
    assert [parse_identifier(i).serial for i in identifiers] == ["0000000001", "0000000002", "0000000003"]
    with database.session() as session:
        row = session.get(IssuedLicence, identifiers[0])
        assert row is not None
        assert (row.valid_from, row.valid_until) == (TODAY, dt.date(2031, 11, 21))
        assert row.document["credentialSubject"]["licence"]["fields"] == {
            "姓名": "王芳",
            "出生日期": "1949-01-01",
        }
        counters = {c.name: c.value for c in session.scalars(select(LicenceCounter))}
    assert counters == {f"serial:{CARD.code}.{CARD.issuer_code}": 3, f"status:{CARD.issuer_code}": 3}
    assert [record.action for record in records] == ["licence.issued"] * 3


def test_a_failed_transaction_issues_nothing_and_numbers_are_not_lost(
    tmp_path: Path, database: Database
) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure([CARD.issuer_code])
    with pytest.raises(RuntimeError), database.session() as session:
        _cases(session, ["MP1"])
        LicenceIssuer(keys).issue(session, [request("MP1")], NOW)  # type: ignore[list-item]
        raise RuntimeError("the approval could not be stored")
    with database.session() as session:
        assert session.scalars(select(IssuedLicence)).all() == []
        _cases(session, ["MP2"])
        again = request("MP2")
        LicenceIssuer(keys).issue(session, [again], NOW)  # type: ignore[list-item]
    assert parse_identifier(again.identifier).serial == "0000000001"  # type: ignore[attr-defined]


def test_validity_rules() -> None:
    months = LicenceType(**{**CARD.__dict__, "validity": LicenceValidity(months=1)})
    leap = request_for(
        months, case_no="x", holder=HOLDER, values={}, decided_on=dt.date(2028, 1, 31), actor="s"
    )
    assert leap.valid_until == dt.date(2028, 2, 28)  # to the day before 2028-02-29
    until = LicenceType(**{**CARD.__dict__, "validity": LicenceValidity(until_fact="person.expiry")})
    kept = request_for(
        until, case_no="x", holder=HOLDER, values={"person.expiry": "2029-06-30"}, decided_on=TODAY, actor="s"
    )
    assert kept.valid_until == dt.date(2029, 6, 30)
    unknown = request_for(until, case_no="x", holder=HOLDER, values={}, decided_on=TODAY, actor="s")
    assert unknown.valid_until is None and unknown.holder_name == "（登记名称缺失）"
    permanent = LicenceType(**{**CARD.__dict__, "validity": LicenceValidity(permanent=True)})
    assert (
        request_for(permanent, case_no="x", holder=HOLDER, values={}, decided_on=TODAY, actor="s").valid_until
        is None
    )


def test_status_positions_fill_each_list_without_collisions() -> None:
    indexes = {status_position(n)[1] for n in range(LIST_SIZE)}
    assert len(indexes) == LIST_SIZE and {status_position(n)[0] for n in range(LIST_SIZE)} == {1}
    assert status_position(LIST_SIZE)[0] == 2
    assert [status_position(n)[1] for n in range(3)] != [0, 1, 2]  # order of issue not revealed
    assert parse_list_id(list_id("ABC", StatusPurpose.SUSPENSION, 2)) == ("ABC", StatusPurpose.SUSPENSION, 2)
    with pytest.raises(ValueError, match="状态列表编号"):
        parse_list_id("ABC-other-1")


def _cases(session: object, numbers: list[str]) -> None:
    """Minimal approved cases for the licences to belong to."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    for case_no in numbers:
        session.add(
            Application(
                case_no=case_no,
                item_code="440300-MZ-0001",
                item_name="老年人优待证办理",
                department="civil_affairs",
                version_hash="sha256:x",
                version_from=TODAY,
                applicant=HOLDER,
                applicant_kind="person",
                submitted_by="test",
                idempotency_key=case_no,
                request_hash="x",
                status="approved",
                automatic_status="approved",
                machine_outcome="approved",
                reasons=[],
                explanation=[],
                facts={},
                form={},
                materials=[],
                materials_waived=0,
                commitments=[],
                human_review_requested=False,
                review_requested_on_submission=False,
                submitted_at=NOW,
                decision_date=TODAY,
                decision_micros=1,
                timings={},
            )
        )
    session.flush()
