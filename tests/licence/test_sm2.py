"""SM2 (国密) behind the Signer interface: known-answer tests of SM3 and SM2, the ``sm2-jcs-2026``
proof, refusal of a proof whose suite does not match the key's type, keys and rotation across
algorithms, and the platform without the optional ``gmssl``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from miaopi.cli import app
from miaopi.licence import (
    Ed25519Signer,
    HolderCodeType,
    Issuer,
    KeyRing,
    LicenceHolder,
    ProofStatus,
    StatusList,
    StatusPurpose,
    StatusReference,
    add_proof,
    build_credential,
    make_identifier,
    verify_licence,
    verify_proof,
)
from miaopi.licence import sm2 as sm2_module
from miaopi.licence.keys import KeyStore
from miaopi.licence.signing import (
    CRYPTOSUITE,
    SM2_CRYPTOSUITE,
    AlgorithmUnavailable,
    _sm3_gmssl,
    base58btc_decode,
    hash_data_sm3,
    sm3_digest,
    verification_key_from_multibase,
)
from miaopi.licence.sm2 import SM2Signer, SM2VerificationKey, compress, decompress, user_hash

pytest.importorskip("gmssl")

ISSUER = Issuer(
    "https://zw.example.gov.cn/api/v1/licences/issuers/11330105002500287C", "某局", "11330105002500287C"
)
KEY_ID = f"{ISSUER.id}#key-1"
REVOCATION = "https://zw.example.gov.cn/api/v1/licences/status/11330105002500287C-revocation-1"
SUSPENSION = "https://zw.example.gov.cn/api/v1/licences/status/11330105002500287C-suspension-1"
LISTS = {
    REVOCATION: StatusList(purpose=StatusPurpose.REVOCATION, issuer=ISSUER.id),
    SUSPENSION: StatusList(purpose=StatusPurpose.SUSPENSION, issuer=ISSUER.id),
}
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 22)

# GB/T 32918.5-2017 (GM/T 0003.5-2012) Annex A.2: SM2 signature on the recommended curve, user id
# 1234567812345678, message "message digest".
KAT_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
KAT_X = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
KAT_Y = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
KAT_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
KAT_Z = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
KAT_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
KAT_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
KAT_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"


def credential(serial: int = 1) -> dict[str, Any]:
    return build_credential(
        identifier=make_identifier("11100000000013338W009", ISSUER.code, f"{serial:010d}", 1),
        licence_type="FoodBusinessLicence",
        licence_name="食品经营许可证",
        issuer=ISSUER,
        holder=LicenceHolder("91330105MA2XXXXX0X", HolderCodeType.CREDIT_CODE, "杭州某某餐饮有限公司"),
        valid_from=dt.date(2026, 11, 22),
        valid_until=dt.date(2031, 11, 21),
        licence_fields={"经营场所": "杭州市拱墅区某某路 1 号"},
        status=[
            StatusReference(StatusPurpose.REVOCATION, serial, REVOCATION),
            StatusReference(StatusPurpose.SUSPENSION, serial, SUSPENSION),
        ],
    )


def unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


# ---- known answers ------------------------------------------------------------------------------


def test_sm3_abc_vector_from_openssl_and_from_gmssl() -> None:
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_digest(b"abc").hex() == expected
    assert _sm3_gmssl(b"abc").hex() == expected  # the fallback when OpenSSL lacks SM3
    long = b"abcd" * 16  # GB/T 32905 Annex A example 2
    assert sm3_digest(long).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert _sm3_gmssl(long) == sm3_digest(long)


def test_sm2_signature_known_answer_gbt_32918_5() -> None:
    signer = SM2Signer("kat#key-1", KAT_D)
    public = signer.public_key()
    assert (public.x, public.y) == (KAT_X, KAT_Y)
    assert user_hash(KAT_X, KAT_Y).hex().upper() == KAT_Z
    assert public.digest(b"message digest").hex().upper() == KAT_E
    signature = signer.sign(b"message digest", nonce=KAT_K)
    assert signature.hex().upper() == KAT_R + KAT_S
    assert public.verify(signature, b"message digest")
    assert not public.verify(signature, b"message digest!")
    # Verify-only key from the published point alone.
    assert SM2VerificationKey("kat#key-1", KAT_X, KAT_Y).verify(
        bytes.fromhex(KAT_R + KAT_S), b"message digest"
    )


def test_gmssl_reproduces_the_gbt_32918_2_annex_a_example_curve() -> None:
    """GB/T 32918.2 Annex A: the example 256-bit curve, ID ALICE123@YAHOO.COM — gmssl's arithmetic
    with our Z computation (SM3 from OpenSSL) gives the published r and s."""
    from gmssl import sm2

    table = {
        "p": "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3",
        "a": "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498",
        "b": "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A",
        "g": "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"
        "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2",
        "n": "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7",
    }
    public = (
        "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
        "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
    )
    crypt = sm2.CryptSM2(
        private_key="128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263",
        public_key="",
        ecc_table=table,
    )
    crypt.public_key = public
    user = b"ALICE123@YAHOO.COM"
    z = sm3_digest(
        (len(user) * 8).to_bytes(2, "big")
        + user
        + bytes.fromhex(table["a"] + table["b"] + table["g"] + public)
    )
    assert z.hex().upper() == "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    e = sm3_digest(z + b"message digest")
    assert e.hex().upper() == "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
    signature = crypt.sign(e, "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F")
    assert signature.upper() == (
        "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
        "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"
    )
    assert crypt.verify(signature, e)


# ---- keys ---------------------------------------------------------------------------------------


def test_sm2_multikey_round_trips_and_is_told_apart_from_ed25519() -> None:
    public = SM2Signer.generate(KEY_ID).public_key()
    encoded = public.public_key_multibase
    assert encoded.startswith("zEPJ")  # 0x86 0x24 = varint(sm2-pub 0x1206), then 33 bytes
    again = verification_key_from_multibase(KEY_ID, encoded)
    assert isinstance(again, SM2VerificationKey) and (again.x, again.y) == (public.x, public.y)
    ed = Ed25519Signer.generate(KEY_ID).public_key().public_key_multibase
    assert ed.startswith("z6Mk") and verification_key_from_multibase(KEY_ID, ed).algorithm == "Ed25519"
    assert public.verification_method()["type"] == "Multikey"
    # A point off the curve is refused, whatever its encoding.
    x, y = public.x, public.y
    assert decompress(compress(x, y)) == (x, y)
    with pytest.raises(ValueError, match="曲线"):
        SM2VerificationKey(KEY_ID, x, (y + 1) % sm2_module.P)
    with pytest.raises(ValueError, match="压缩点"):
        decompress(b"\x04" + bytes(32))
    with pytest.raises(ValueError, match="不支持的公钥类型"):
        verification_key_from_multibase(KEY_ID, "z" + "2" * 40)


def test_public_key_whose_x_starts_with_zero_four_is_not_mangled() -> None:
    """gmssl's constructor strips a leading "04" with str.lstrip; [11]G has x = 04b3cb…."""
    signer = SM2Signer(KEY_ID, 11)
    assert f"{signer.public_key().x:064x}".startswith("04")
    document = add_proof(credential(), signer, NOW)
    assert verify_proof(document, {KEY_ID: signer.public_key()}.get).verified


def test_private_key_must_match_the_stored_public_key() -> None:
    one, other = SM2Signer.generate(KEY_ID), SM2Signer.generate(KEY_ID)
    mixed = SM2Signer.from_hex(KEY_ID, one.private_key_hex, other.public_key().public_key_multibase)
    with pytest.raises(ValueError, match="不匹配"):
        mixed.sign(b"x")
    with pytest.raises(ValueError, match="范围"):
        SM2Signer(KEY_ID, 0)
    with pytest.raises(ValueError, match="十六进制"):
        SM2Signer.from_hex(KEY_ID, "xyz")


# ---- sm2-jcs-2026 proofs ------------------------------------------------------------------------


def test_sm2_proof_signs_and_verifies_to_a_valid_licence() -> None:
    signer = SM2Signer.generate(KEY_ID)
    document = add_proof(credential(), signer, NOW)
    proof = document["proof"]
    assert proof["cryptosuite"] == SM2_CRYPTOSUITE and proof["type"] == "DataIntegrityProof"
    # The signature is SM2 over SM3(JCS(options)) ‖ SM3(JCS(document)).
    options = {key: value for key, value in proof.items() if key != "proofValue"}

    signature = base58btc_decode(proof["proofValue"][1:])
    assert len(signature) == 64
    assert signer.public_key().verify(signature, hash_data_sm3(options, unsecured(document)))
    ring = KeyRing()
    ring.add_signer(signer)
    assert ring.verify(document).verified
    verdict = verify_licence(document, ring, LISTS, TODAY)
    assert verdict.kind.value == "valid", verdict.reason


def test_tampered_sm2_licence_is_forged_and_wrong_key_is_forged() -> None:
    signer = SM2Signer.generate(KEY_ID)
    ring = KeyRing()
    ring.add_signer(signer)
    document = add_proof(credential(), signer, NOW)
    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["holderName"] = "李四"
    result = ring.verify(tampered)
    assert result.status is ProofStatus.INVALID_SIGNATURE
    assert verify_licence(tampered, ring, LISTS, TODAY).kind.value == "forged"
    # Signed by another SM2 key under the issuer's key id.
    impostor = SM2Signer.generate(KEY_ID)
    forged = add_proof(unsecured(document), impostor, NOW)
    assert verify_licence(forged, ring, LISTS, TODAY).kind.value == "forged"
    # A flipped proof value.
    flipped = json.loads(json.dumps(document))
    flipped["proof"]["proofValue"] = add_proof(credential(2), signer, NOW)["proof"]["proofValue"]
    assert verify_licence(flipped, ring, LISTS, TODAY).kind.value == "forged"


def test_suite_must_match_the_key_type_both_ways() -> None:
    ed = Ed25519Signer.generate(KEY_ID)
    sm = SM2Signer.generate(KEY_ID)
    ed_ring, sm_ring = KeyRing(), KeyRing()
    ed_ring.add_signer(ed)
    sm_ring.add_signer(sm)

    # An sm2-jcs-2026 proof naming an Ed25519 key: forged, whatever the bytes.
    sm2_signed = add_proof(credential(), sm, NOW)
    result = ed_ring.verify(sm2_signed)
    assert result.status is ProofStatus.KEY_MISMATCH and "Ed25519" in result.reason
    verdict = verify_licence(sm2_signed, ed_ring, LISTS, TODAY)
    assert verdict.kind.value == "forged" and "签名套件" in verdict.reason

    # An eddsa-jcs-2022 proof naming an SM2 key: forged.
    ed_signed = add_proof(credential(), ed, NOW)
    result = sm_ring.verify(ed_signed)
    assert result.status is ProofStatus.KEY_MISMATCH and "SM2" in result.reason
    assert verify_licence(ed_signed, sm_ring, LISTS, TODAY).kind.value == "forged"

    # Relabelling a valid proof's suite does not make it verify under the other algorithm.
    relabelled = json.loads(json.dumps(ed_signed))
    relabelled["proof"]["cryptosuite"] = SM2_CRYPTOSUITE
    assert verify_licence(relabelled, ed_ring, LISTS, TODAY).kind.value == "forged"
    relabelled = json.loads(json.dumps(sm2_signed))
    relabelled["proof"]["cryptosuite"] = CRYPTOSUITE
    assert verify_licence(relabelled, sm_ring, LISTS, TODAY).kind.value == "forged"

    # An unknown suite is malformed, naming the field.
    other = json.loads(json.dumps(sm2_signed))
    other["proof"]["cryptosuite"] = "ecdsa-jcs-2019"
    verdict = verify_licence(other, sm_ring, LISTS, TODAY)
    assert verdict.kind.value == "malformed" and verdict.field == "proof.cryptosuite"


def test_controller_document_with_sm2_and_ed25519_keys_is_trusted() -> None:
    ring = KeyRing()
    ed = Ed25519Signer.generate(f"{ISSUER.id}#key-1")
    sm = SM2Signer.generate(f"{ISSUER.id}#key-2")
    ring.add_signer(ed, current=False)
    ring.add_signer(sm)
    published = ring.controller_document(ISSUER.id)
    other = KeyRing()
    assert other.trust_controller_document(published) == [ed.key_id, sm.key_id]
    assert verify_licence(add_proof(credential(), sm, NOW), other, LISTS, TODAY).valid
    assert verify_licence(add_proof(credential(), ed, NOW), other, LISTS, TODAY).valid


# ---- keys in the data directory -----------------------------------------------------------------


def test_rotation_to_sm2_keeps_ed25519_licences_verifiable(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json", public_url="https://zw.example.gov.cn")
    keys.ensure([ISSUER.code, "OTHER"])
    first = keys.signer(ISSUER.code)
    assert first.algorithm == "Ed25519"
    old = add_proof(credential(1), first, NOW)

    assert keys.rotate([ISSUER.code], algorithm="sm2") == {ISSUER.code: "key-2"}
    stored = json.loads(keys.path.read_text(encoding="utf-8"))
    key = stored["issuers"][ISSUER.code][1]
    assert key["algorithm"] == "SM2" and key["public"].startswith("zEPJ") and len(key["private"]) == 64
    assert "default_algorithm" not in stored  # one issuer switched, not the deployment
    second = keys.signer(ISSUER.code)
    assert second.algorithm == "SM2" and keys.algorithm("OTHER") == "Ed25519"
    new = add_proof(credential(2), second, NOW)
    assert new["proof"]["cryptosuite"] == SM2_CRYPTOSUITE

    # A fresh process reads the file: both the old Ed25519 and the new SM2 licences verify.
    ring = KeyStore(keys.path).ring()
    assert verify_licence(old, ring, LISTS, TODAY).valid
    assert verify_licence(new, ring, LISTS, TODAY).valid

    # A rotation without an algorithm keeps the issuer's; switching back is explicit.
    keys.rotate([ISSUER.code])
    assert keys.algorithm(ISSUER.code) == "SM2"
    keys.rotate([ISSUER.code], algorithm="ed25519")
    assert keys.algorithm(ISSUER.code) == "Ed25519"
    ring = keys.ring()
    assert verify_licence(old, ring, LISTS, TODAY).valid and verify_licence(new, ring, LISTS, TODAY).valid
    with pytest.raises(ValueError, match="不支持的签名算法"):
        keys.rotate(algorithm="rsa")


def test_rotating_every_issuer_sets_the_default_for_new_issuers(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure(["A1"])
    keys.rotate(algorithm="SM2")
    assert json.loads(keys.path.read_text(encoding="utf-8"))["default_algorithm"] == "SM2"
    assert keys.ensure(["B2"]) == ["B2"]
    assert keys.algorithm("A1") == "SM2" and keys.algorithm("B2") == "SM2"


def test_rotate_key_command_with_algorithm(tmp_path: Path) -> None:
    runner = CliRunner()
    keys = KeyStore.in_data_dir(tmp_path / "data")
    keys.ensure([ISSUER.code])
    data = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(
        app, ["licence", "rotate-key", "--algorithm", "sm2", "--issuer", ISSUER.code, *data]
    )
    assert result.exit_code == 0, result.output
    assert f"签发机关 {ISSUER.code}：启用新密钥 key-2（SM2" in result.output
    private = json.loads(keys.path.read_text(encoding="utf-8"))["issuers"][ISSUER.code][1]["private"]
    assert private not in result.output
    bad = runner.invoke(app, ["licence", "rotate-key", "--algorithm", "rsa", *data])
    assert bad.exit_code == 2 and "不支持的签名算法" in bad.output


# ---- without gmssl ------------------------------------------------------------------------------


def _no_gmssl() -> Any:
    raise AlgorithmUnavailable(
        "未安装国密算法库 gmssl，无法使用 SM2 签名（国密）：请安装 pip install 'miaopi[sm]'"
    )


def test_without_gmssl_ed25519_works_and_sm2_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = SM2Signer.generate(KEY_ID)
    sm2_signed = add_proof(credential(), sm, NOW)
    keys = KeyStore.in_data_dir(tmp_path / "data")
    keys.ensure([ISSUER.code])
    keys.rotate([ISSUER.code], algorithm="sm2")
    monkeypatch.setattr(sm2_module, "_gmssl_sm2", _no_gmssl)

    # Ed25519 is untouched.
    ed = Ed25519Signer.generate(KEY_ID)
    ring = KeyRing()
    ring.add_signer(ed)
    assert verify_licence(add_proof(credential(), ed, NOW), ring, LISTS, TODAY).valid

    # Verifying an SM2 licence: not valid, and says why (never "forged" for a genuine licence).
    sm_ring = KeyRing()
    sm_ring.publish(SM2VerificationKey(KEY_ID, sm.public_key().x, sm.public_key().y))
    verdict = verify_licence(sm2_signed, sm_ring, LISTS, TODAY)
    assert verdict.kind.value == "status_unavailable" and "gmssl" in verdict.reason

    # Choosing SM2: a clear Chinese error, nothing written.
    before = keys.path.read_text(encoding="utf-8")
    with pytest.raises(AlgorithmUnavailable, match="miaopi\\[sm\\]"):
        keys.rotate(algorithm="sm2")
    result = CliRunner().invoke(
        app, ["licence", "rotate-key", "--algorithm", "sm2", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 2 and "gmssl" in result.output
    assert keys.path.read_text(encoding="utf-8") == before
    # A deployment whose issuer signs with SM2 refuses to start without it (ensure runs at start).
    with pytest.raises(AlgorithmUnavailable, match=ISSUER.code):
        KeyStore.in_data_dir(tmp_path / "data").ensure([ISSUER.code])
