"""免申即享 offers: one offer per (policy, subject, period) from a screening, within the policy's
budget in a documented, deterministic order (the rest wait and are promoted in that order), sent
through the notification outbox, confirmed or declined by the subject, expired when unconfirmed;
confirmed offers become benefit records (payee, account, amount, period, policy version, evidence),
paid by the implementing department, listed masked in the public notice (公示), and counted."""

from miaopi.offers.periods import Period, PeriodError, parse_period, period_of
from miaopi.offers.service import (
    DEFAULT_CONFIRM_WITHIN,
    REMIND_DAYS,
    STATUS_LABELS,
    ConfirmIn,
    ExpiryRun,
    MakeResult,
    NotEligible,
    NoticeEntry,
    OfferBasis,
    OfferConflict,
    OfferError,
    OfferService,
    PaidIn,
    PolicyStats,
    payee_grants,
)

__all__ = [
    "DEFAULT_CONFIRM_WITHIN",
    "REMIND_DAYS",
    "STATUS_LABELS",
    "ConfirmIn",
    "ExpiryRun",
    "MakeResult",
    "NotEligible",
    "NoticeEntry",
    "OfferBasis",
    "OfferConflict",
    "OfferError",
    "OfferService",
    "PaidIn",
    "Period",
    "PeriodError",
    "PolicyStats",
    "parse_period",
    "payee_grants",
    "period_of",
]
