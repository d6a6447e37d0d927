"""An issuer switched to SM2 (国密) over real HTTP, on SQLite and PostgreSQL: the running server signs
its next licences with ``sm2-jcs-2026``; the public endpoints answer valid for them and for the
Ed25519 licences issued before the switch; tampering, a foreign key or a proof whose suite does not
match the key's type reads forged; the status list and the issuer document follow the new key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from miaopi.licence import Ed25519Signer, KeyRing, add_proof, load_status_list
from miaopi.licence.keys import KeyStore
from miaopi.licence.sm2 import SM2Signer
from tests.approval.conftest import World
from tests.approval.world import ALICE
from tests.licence.test_licence_api import apply_for_card, verify
from tests.licence.world import ISSUER_CODE

pytest.importorskip("gmssl")


def wallet_document(world: World, identifier: str) -> dict[str, Any]:
    document: dict[str, Any] = world.http.get(
        f"/api/v1/wallet/licences/{identifier}", headers=world.headers(ALICE)
    ).json()
    return document


def test_issuer_switched_to_sm2_issues_licences_that_verify_next_to_older_ed25519_ones(world: World) -> None:
    before = apply_for_card(world, ALICE, key="before-switch")["licence"]
    old = wallet_document(world, before)
    assert old["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    # What `miaopi licence rotate-key --algorithm sm2 --issuer …` does, while the server runs.
    KeyStore.in_data_dir(world.data_dir).rotate([ISSUER_CODE], algorithm="sm2")

    after = apply_for_card(world, ALICE, key="after-switch")["licence"]
    new = wallet_document(world, after)
    proof = new["proof"]
    assert proof["cryptosuite"] == "sm2-jcs-2026" and proof["verificationMethod"].endswith("#key-2")

    for identifier, document in ((before, old), (after, new)):
        answer = verify(world, document).json()
        assert answer["verdict"] == "valid", answer
        page = world.http.get(f"/api/v1/licences/{identifier}").json()
        assert page["verdict"] == "valid" and page["reason"] == "证照真实有效"

    # Tampered → forged; another SM2 key under the issuer's key id → forged.
    tampered = copy.deepcopy(new)
    tampered["credentialSubject"]["licence"]["fields"]["姓名"] = "李四"
    answer = verify(world, tampered).json()
    assert answer["verdict"] == "forged" and "篡改" in answer["reason"]
    unsigned = {key: value for key, value in new.items() if key != "proof"}
    impostor = SM2Signer.generate(proof["verificationMethod"])
    assert verify(world, add_proof(unsigned, impostor, proof["created"])).json()["verdict"] == "forged"

    # An Ed25519 proof naming the issuer's SM2 key, and an SM2 proof naming its old Ed25519 key.
    ed_on_sm2 = add_proof(unsigned, Ed25519Signer.generate(proof["verificationMethod"]), proof["created"])
    answer = verify(world, ed_on_sm2).json()
    assert answer["verdict"] == "forged" and "签名套件" in answer["reason"]
    old_unsigned = {key: value for key, value in old.items() if key != "proof"}
    sm2_on_ed = add_proof(old_unsigned, impostor, old["proof"]["created"], old["proof"]["verificationMethod"])
    answer = verify(world, sm2_on_ed).json()
    assert answer["verdict"] == "forged" and "签名套件" in answer["reason"]

    # The issuer document lists both keys; the status list is now signed with SM2 and checks out
    # against that document alone (as an outside verifier would do).
    issuer = world.http.get(f"/api/v1/licences/issuers/{ISSUER_CODE}").json()
    methods = issuer["verificationMethod"]
    assert [method["publicKeyMultibase"][:4] for method in methods] == ["z6Mk", "zEPJ"]
    outside = KeyRing()
    outside.trust_controller_document(issuer)
    entry = next(e for e in new["credentialStatus"] if e["statusPurpose"] == "revocation")
    published = world.http.get(entry["statusListCredential"].split("127.0.0.1:8000", 1)[1]).json()
    assert published["proof"]["cryptosuite"] == "sm2-jcs-2026"
    assert load_status_list(published, outside).get(int(entry["statusListIndex"])) is False

    # Revoking the SM2 licence shows.
    officer = world.officer("civil-1", "civil_affairs")
    revoked = world.http.post(f"/api/v1/licences/{after}/revoke", json={"reason": "核查"}, headers=officer)
    assert revoked.status_code == 200
    assert verify(world, new).json()["verdict"] == "revoked"
    assert verify(world, old).json()["verdict"] == "valid"
