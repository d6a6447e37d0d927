"""Electronic licences (电子证照): GB/T 36904 identifiers, W3C Verifiable Credentials 2.0 signed with
Data Integrity ``eddsa-jcs-2022`` (or, optionally, Miaopi's own SM2 suite ``sm2-jcs-2026``:
:mod:`miaopi.licence.sm2`), W3C Bitstring Status Lists, verification verdicts and QR codes.

A pure library: no database and no HTTP. Issuing on approval, storage, endpoints and wallets are
integrated elsewhere.
"""

from miaopi.licence.credential import (
    HolderCodeType,
    Issuer,
    LicenceHolder,
    StatusReference,
    TrustLevel,
    build_credential,
    identifier_from_id,
    licence_id,
)
from miaopi.licence.identifier import (
    IdentifierError,
    LicenceIdentifier,
    check_character,
    make_identifier,
    parse_identifier,
)
from miaopi.licence.jcs import CanonicalisationError, canonicalize
from miaopi.licence.qr import qr_png, qr_svg, verification_url
from miaopi.licence.signing import (
    SM2_CRYPTOSUITE,
    AlgorithmUnavailable,
    Ed25519Signer,
    Ed25519VerificationKey,
    KeyRing,
    ProofStatus,
    Signer,
    VerificationKey,
    VerificationResult,
    add_proof,
    verify_proof,
)
from miaopi.licence.status import (
    IndexAllocator,
    StatusList,
    StatusListError,
    StatusPurpose,
    status_list_credential,
)
from miaopi.licence.verify import Verdict, VerdictKind, load_status_list, verify_licence

__all__ = [
    "SM2_CRYPTOSUITE",
    "AlgorithmUnavailable",
    "CanonicalisationError",
    "Ed25519Signer",
    "Ed25519VerificationKey",
    "HolderCodeType",
    "IdentifierError",
    "IndexAllocator",
    "Issuer",
    "KeyRing",
    "LicenceHolder",
    "LicenceIdentifier",
    "ProofStatus",
    "Signer",
    "StatusList",
    "StatusListError",
    "StatusPurpose",
    "StatusReference",
    "TrustLevel",
    "Verdict",
    "VerdictKind",
    "VerificationKey",
    "VerificationResult",
    "add_proof",
    "build_credential",
    "canonicalize",
    "check_character",
    "identifier_from_id",
    "licence_id",
    "load_status_list",
    "make_identifier",
    "parse_identifier",
    "qr_png",
    "qr_svg",
    "status_list_credential",
    "verification_url",
    "verify_licence",
    "verify_proof",
]
