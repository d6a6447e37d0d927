"""Who may do what: accounts, passwords (scrypt), bearer tokens, real-name verification."""

from miaopi.auth.service import Accounts, AuthError, Principal
from miaopi.auth.verification import (
    VERIFY_DEPARTMENT,
    VERIFY_PURPOSE,
    DevelopmentVerifier,
    ExchangeRegistryLookup,
    Verification,
    Verifier,
)

__all__ = [
    "VERIFY_DEPARTMENT",
    "VERIFY_PURPOSE",
    "Accounts",
    "AuthError",
    "DevelopmentVerifier",
    "ExchangeRegistryLookup",
    "Principal",
    "Verification",
    "Verifier",
]
