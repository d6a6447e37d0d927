"""Audit: an append-only, hash-chained record of every state change (等保2.0 audit records).

``AuditLog.append`` writes an entry in the caller's transaction; ``AuditLog.verify`` walks the chain
and names the first changed, deleted or inserted entry; ``miaopi audit verify`` does so from the CLI.
"""

from miaopi.audit.chain import (
    AuditEntry,
    AuditError,
    AuditLog,
    AuditRecord,
    CheckedRecord,
    VerifyResult,
    canonical_details,
    check_record,
    compute_hash,
)
from miaopi.audit.models import GENESIS_HASH

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "AuditRecord",
    "CheckedRecord",
    "VerifyResult",
    "canonical_details",
    "check_record",
    "compute_hash",
]
