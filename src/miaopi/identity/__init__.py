"""Identifiers that enter the system: citizen ID numbers and unified social credit codes.

Every boundary where an identifier arrives (API, CLI, data loading) validates it here; errors say
precisely what is wrong so an officer or applicant can fix it.
"""

from miaopi.identity.citizen_id import CitizenId, parse_citizen_id
from miaopi.identity.credit_code import CreditCode, parse_credit_code
from miaopi.identity.errors import IdentifierError
from miaopi.identity.masking import mask_identifier
from miaopi.identity.subject import SubjectKind, parse_subject_id

__all__ = [
    "CitizenId",
    "CreditCode",
    "IdentifierError",
    "SubjectKind",
    "mask_identifier",
    "parse_citizen_id",
    "parse_credit_code",
    "parse_subject_id",
]
