"""eddsa-jcs-2022 against the W3C test vector (w3c/vc-di-eddsa TestVectors), plus key rotation."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from miaopi.licence.signing import (
    Ed25519Signer,
    Ed25519VerificationKey,
    KeyRing,
    ProofStatus,
    add_proof,
    base58btc_decode,
    base58btc_encode,
    verify_proof,
)

VECTOR_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "vc-eddsa-jcs-2022"
_CANDIDATES = [VECTOR_DIR, Path("/work/shared/reference/vc-eddsa-jcs-2022")]

# The W3C vector, inlined so the test does not depend on shared/ being present (it is compared
# with the shared/ copy below when that copy exists).
KEY_PAIR = {
    "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "privateKeyMultibase": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
}
SIGNED: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "proofPurpose": "assertionMethod",
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4",
    },
}
METHOD = SIGNED["proof"]["verificationMethod"]


def test_inlined_vector_matches_shared_copy() -> None:
    for directory in _CANDIDATES:
        if (directory / "signedJCS.json").exists():
            assert json.loads((directory / "signedJCS.json").read_text()) == SIGNED
            assert json.loads((directory / "keyPair.json").read_text()) == KEY_PAIR
            return
    pytest.skip("shared/reference/vc-eddsa-jcs-2022 not present; the inlined copy is used")


@pytest.fixture
def vector_signer() -> Ed25519Signer:
    return Ed25519Signer.from_multibase(METHOD, KEY_PAIR["privateKeyMultibase"])


def _resolver(signer: Ed25519Signer) -> Any:
    return lambda method: signer.public_key() if method == signer.key_id else None


def test_vector_key_pair_decodes(vector_signer: Ed25519Signer) -> None:
    assert vector_signer.public_key().public_key_multibase == KEY_PAIR["publicKeyMultibase"]
    assert vector_signer.private_key_multibase == KEY_PAIR["privateKeyMultibase"]


def test_signing_reproduces_the_vector_proof_value(vector_signer: Ed25519Signer) -> None:
    unsigned = {key: value for key, value in SIGNED.items() if key != "proof"}
    proof = SIGNED["proof"]
    signed = add_proof(
        unsigned, vector_signer, proof["created"], verification_method=proof["verificationMethod"]
    )
    assert signed["proof"]["proofValue"] == proof["proofValue"]
    assert signed == SIGNED
    assert "proof" not in unsigned  # input untouched


def test_vector_verifies(vector_signer: Ed25519Signer) -> None:
    result = verify_proof(SIGNED, _resolver(vector_signer))
    assert result.verified and result.status is ProofStatus.VERIFIED
    # with the public key alone, as a verifier has it
    public = Ed25519VerificationKey.from_multibase(METHOD, KEY_PAIR["publicKeyMultibase"])
    assert verify_proof(SIGNED, lambda method: public if method == METHOD else None).verified


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [path for key, item in value.items() for path in _paths(item, (*prefix, key))]
    if isinstance(value, list):
        return [path for index, item in enumerate(value) for path in _paths(item, (*prefix, index))]
    return [prefix]


@pytest.mark.parametrize(
    "path", [p for p in _paths(SIGNED) if p != ("proof", "proofValue")], ids=lambda p: ".".join(map(str, p))
)
def test_tampering_any_field_breaks_the_signature(
    path: tuple[Any, ...], vector_signer: Ed25519Signer
) -> None:
    tampered = copy.deepcopy(SIGNED)
    target = tampered
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = target[path[-1]] + "x"
    result = verify_proof(tampered, _resolver(vector_signer))
    assert not result.verified
    assert result.status in {ProofStatus.INVALID_SIGNATURE, ProofStatus.MALFORMED, ProofStatus.UNKNOWN_KEY}


def test_tampering_subject_is_invalid_signature(vector_signer: Ed25519Signer) -> None:
    for key in SIGNED["credentialSubject"]:
        tampered = copy.deepcopy(SIGNED)
        tampered["credentialSubject"][key] = "The School of Forgeries"
        result = verify_proof(tampered, _resolver(vector_signer))
        assert result.status is ProofStatus.INVALID_SIGNATURE
        assert "篡改" in result.reason
    added = copy.deepcopy(SIGNED)
    added["credentialSubject"]["degree"] = "PhD"
    assert verify_proof(added, _resolver(vector_signer)).status is ProofStatus.INVALID_SIGNATURE


def test_malformed_proofs(vector_signer: Ed25519Signer) -> None:
    resolve = _resolver(vector_signer)
    cases: list[tuple[str, Any]] = [
        ("proof", None),
        ("proof.cryptosuite", "eddsa-rdfc-2022"),
        ("proof.proofValue", "u" + SIGNED["proof"]["proofValue"][1:]),
        ("proof.proofValue", "z0OIl"),
        ("proof.proofValue", "z" + base58btc_encode(b"\1" * 63)),
        ("proof.@context", ["https://www.w3.org/ns/credentials/examples/v2"]),
    ]
    for field, value in cases:
        document = copy.deepcopy(SIGNED)
        if field == "proof":
            del document["proof"]
        else:
            document["proof"][field.split(".", 1)[1]] = value
        result = verify_proof(document, resolve)
        assert result.status is ProofStatus.MALFORMED, field
        assert result.field == field


def test_base58_round_trip_with_leading_zeros() -> None:
    for data in [b"", b"\0", b"\0\0\1", bytes(range(64)), b"\xff" * 32]:
        assert base58btc_decode(base58btc_encode(data)) == data
    assert base58btc_encode(b"hello world") == "StV1DL6CwTryKyV"


def test_public_key_multibase_header_is_checked() -> None:
    bad = "z" + base58btc_encode(b"\xec\x01" + b"\1" * 32)
    with pytest.raises(ValueError, match="multicodec"):
        Ed25519VerificationKey.from_multibase("https://x#k", bad)


ISSUER = "https://zwfw.example.gov.cn/issuers/330100-scjg"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_key_ring_rotation() -> None:
    ring = KeyRing()
    old = Ed25519Signer.generate(f"{ISSUER}#key-2025")
    ring.add_signer(old)
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": ISSUER, "n": "一"}
    signed_old = ring.sign(document, NOW)
    assert signed_old["proof"]["verificationMethod"] == old.key_id

    new = Ed25519Signer.generate(f"{ISSUER}#key-2026")
    ring.add_signer(new)  # rotation: new key signs from now on
    signed_new = ring.sign(document, NOW)
    assert signed_new["proof"]["verificationMethod"] == new.key_id
    assert ring.verify(signed_old).verified  # old licences still verify
    assert ring.verify(signed_new).verified
    assert ring.controller_of(new.key_id) == ISSUER


def test_key_ring_verify_only_keys_and_unknown_issuer() -> None:
    signer = Ed25519Signer.generate(f"{ISSUER}#key-1")
    signed = add_proof({"issuer": ISSUER}, signer, NOW)
    ring = KeyRing()
    result = ring.verify(signed)
    assert result.status is ProofStatus.UNKNOWN_KEY and "未知" in result.reason
    with pytest.raises(LookupError):
        _ = ring.current
    ring.publish(
        Ed25519VerificationKey.from_multibase(signer.key_id, signer.public_key().public_key_multibase)
    )
    assert ring.verify(signed).verified
    assert ring.key_ids() == [signer.key_id]


def test_other_key_with_same_id_is_invalid() -> None:
    genuine = Ed25519Signer.generate(f"{ISSUER}#key-1")
    impostor = Ed25519Signer.generate(f"{ISSUER}#key-1")
    ring = KeyRing()
    ring.add_signer(genuine)
    forged = add_proof({"issuer": ISSUER}, impostor, NOW)
    assert ring.verify(forged).status is ProofStatus.INVALID_SIGNATURE


def test_created_must_be_aware() -> None:
    signer = Ed25519Signer.generate("https://x#k")
    with pytest.raises(ValueError, match="时区"):
        add_proof({}, signer, datetime(2026, 1, 1))
    assert add_proof({}, signer, NOW)["proof"]["created"] == "2026-11-22T10:00:00Z"


def test_document_already_signed_is_refused(vector_signer: Ed25519Signer) -> None:
    with pytest.raises(ValueError, match="已带有签名"):
        add_proof(SIGNED, vector_signer, "2023-02-24T23:36:38Z")


def test_controller_document_publishes_every_key_and_loads_elsewhere() -> None:
    issuer_ring = KeyRing()
    first = Ed25519Signer.generate(f"{ISSUER}#key-2025")
    second = Ed25519Signer.generate(f"{ISSUER}#key-2026")
    issuer_ring.add_signer(first)
    issuer_ring.add_signer(second)
    issuer_ring.add_signer(Ed25519Signer.generate("https://other.example/issuer#k"), current=False)
    document = issuer_ring.controller_document(ISSUER)
    assert document["id"] == ISSUER
    assert [m["id"] for m in document["verificationMethod"]] == [first.key_id, second.key_id]
    assert document["assertionMethod"] == [first.key_id, second.key_id]
    assert document["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")

    verifier_ring = KeyRing()
    assert verifier_ring.trust_controller_document(json.loads(json.dumps(document))) == [
        first.key_id,
        second.key_id,
    ]
    signed = add_proof({"issuer": ISSUER}, first, NOW)
    assert verifier_ring.verify(signed).verified


def test_controller_document_with_foreign_key_is_refused() -> None:
    signer = Ed25519Signer.generate("https://evil.example/issuer#k")
    document = {"id": ISSUER, "verificationMethod": [signer.verification_method()]}
    with pytest.raises(ValueError, match="不属于"):
        KeyRing().trust_controller_document(document)
