"""Real-name verification (实名核验), pluggable.

The development verifier checks the person against the population registry through the sharing
exchange (under the ``identity:verify`` purpose of the data bureau) and records a simulated face
check; a production deployment plugs in the provincial identity platform behind the same interface.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from miaopi.identity import SubjectKind, parse_citizen_id, parse_subject_id
from miaopi.sharing import SharingExchange


@dataclass(frozen=True)
class VerificationStep:
    name: str  # e.g. 身份信息核验, 人脸识别
    passed: bool
    detail: str
    at: dt.datetime


@dataclass(frozen=True)
class Verification:
    person: str
    passed: bool
    steps: tuple[VerificationStep, ...] = field(default=())

    @property
    def reason(self) -> str:
        failed = [step.detail for step in self.steps if not step.passed]
        return "；".join(failed) or "核验通过"


class RegistryLookup(Protocol):
    def person_alive(self, id_number: str) -> bool | None:
        """True if registered and alive, False if dead, None if unknown to the registry."""

    def legal_representative(self, credit_code: str) -> str | None: ...


class Verifier(Protocol):
    def verify_person(self, id_number: str) -> Verification: ...

    def may_act_for(self, person: str, subject: str) -> bool: ...


class DevelopmentVerifier:
    """Checks the registry and records a face check that always matches (no camera in development)."""

    def __init__(self, registry: RegistryLookup) -> None:
        self.registry = registry

    def verify_person(self, id_number: str) -> Verification:
        now = dt.datetime.now(dt.UTC)
        number = parse_citizen_id(id_number).number
        alive = self.registry.person_alive(number)
        if alive is None:
            step = VerificationStep("身份信息核验", False, "人口库中没有该公民身份号码", now)
            return Verification(number, False, (step,))
        if not alive:
            step = VerificationStep("身份信息核验", False, "人口库登记该人员已死亡", now)
            return Verification(number, False, (step,))
        steps = (
            VerificationStep("身份信息核验", True, "与人口库一致", now),
            VerificationStep("人脸识别", True, "开发环境模拟人脸比对：通过", now),
        )
        return Verification(number, True, steps)

    def may_act_for(self, person: str, subject: str) -> bool:
        kind, identifier, _ = parse_subject_id(subject)
        if kind is SubjectKind.PERSON:
            return identifier == person
        return self.registry.legal_representative(identifier) == person


VERIFY_DEPARTMENT = "data_bureau"
VERIFY_PURPOSE = "identity:verify"


class ExchangeRegistryLookup:
    """Registry answers read through the sharing exchange, logged like every other read."""

    def __init__(self, exchange: SharingExchange, person_registry: str, enterprise_registry: str) -> None:
        self.exchange = exchange
        self.person_registry = person_registry
        self.enterprise_registry = enterprise_registry

    def person_alive(self, id_number: str) -> bool | None:
        facts = self.exchange.read_subject(
            department=VERIFY_DEPARTMENT,
            purpose=VERIFY_PURPOSE,
            subject=id_number,
            requests={self.person_registry: ("death_date",)},
        )
        record = facts.one(self.person_registry)
        if record is None:
            return None
        return record.get("death_date") is None

    def legal_representative(self, credit_code: str) -> str | None:
        facts = self.exchange.read_subject(
            department=VERIFY_DEPARTMENT,
            purpose=VERIFY_PURPOSE,
            subject=credit_code,
            requests={self.enterprise_registry: ("legal_rep_id",)},
        )
        record = facts.one(self.enterprise_registry)
        if record is None:
            return None
        representative = record.get("legal_rep_id")
        return str(representative) if representative is not None else None
