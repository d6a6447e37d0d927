"""What a catalogue holds: service items (事项), benefit policies (免申即享), their versions and rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from miaopi.catalog.facts import Fact
from miaopi.rules import Expression


class OnFail(StrEnum):
    REJECT = "reject"  # failing means the application is refused (if the item lets the machine refuse)
    REVIEW = "review"  # failing sends the case to a person


class MaterialSource(StrEnum):
    APPLICANT = "applicant"  # 申请人自备
    ISSUED = "issued"  # 政府部门核发 (a licence already held satisfies it)
    SHARED = "shared"  # 共享获取


@dataclass(frozen=True)
class LegalBasis:
    document: str
    article: str | None = None

    def __str__(self) -> str:
        return f"《{self.document}》{self.article or ''}"


@dataclass(frozen=True)
class TimeLimit:
    value: int
    unit: str  # 工作日 | 自然日 | 即办

    def __str__(self) -> str:
        return "即办" if self.unit == "即办" else f"{self.value}个{self.unit}"


@dataclass(frozen=True)
class Rule:
    id: str
    expression: Expression
    legal_basis: LegalBasis
    pass_message: str
    fail_message: str
    on_fail: OnFail
    line: int = 0


@dataclass(frozen=True)
class Material:
    name: str
    required: bool
    source: MaterialSource
    licence_type: str | None = None  # for ISSUED: the licence type that satisfies it
    min_trust_level: str | None = None  # A–D


@dataclass(frozen=True)
class FormField:
    fact: Fact
    required: bool
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Version:
    """One version of an item's or policy's rules, in force from ``effective_from`` (inclusive) to
    ``effective_to`` (inclusive, or open-ended)."""

    effective_from: dt.date
    effective_to: dt.date | None
    rules: tuple[Rule, ...]
    content_hash: str
    amount: Expression | None = None
    line: int = 0

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class Case:
    """A test case beside the rules: facts in, expected outcome (and amount) out."""

    name: str
    decision_date: dt.date
    facts: dict[str, Any]
    expect_outcome: str
    expect_amount: float | None = None
    expect_unknown: tuple[str, ...] = ()
    expect_failed: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Versioned:
    versions: tuple[Version, ...]

    def version_on(self, on: dt.date) -> Version | None:
        return next((version for version in self.versions if version.in_force(on)), None)


@dataclass(frozen=True)
class DeemedApproval:
    """行政许可法 §50: a renewal still undecided when the old licence expires is deemed approved.
    ``expiry_fact`` is the date fact (read by the item's rules, so every case stores it) holding the
    old licence's last valid day."""

    expiry_fact: str


@dataclass(frozen=True)
class Item(Versioned):
    code: str
    name: str
    item_type: str
    department: str
    subject: str  # person | enterprise
    legal_basis: tuple[LegalBasis, ...]
    statutory_limit: TimeLimit
    promised_limit: TimeLimit
    case_type: str  # 即办件 | 承诺件
    auto_approve: bool
    auto_reject: bool
    materials: tuple[Material, ...]
    form: tuple[FormField, ...]
    result_licence_type: str | None
    result_name: str | None
    cases: tuple[Case, ...] = field(default=())
    notes: str | None = None
    file: str = ""
    four_eyes: bool = False  # high-value item: a second reviewer must confirm a manual decision
    deemed_approval: DeemedApproval | None = None  # a renewal: 行政许可法 §50 applies
    reminder_days: int | None = None  # remind reviewers N working days before the deadline (None: default)

    @property
    def purpose(self) -> str:
        return f"item:{self.code}"


@dataclass(frozen=True)
class PriorityKey:
    """One key of a policy's budget order (``priority_order``): a numeric expression, ascending or
    descending; ties after every key are broken by the SHA-256 of the subject id (see docs/offers.md)."""

    expression: Expression
    descending: bool = False


@dataclass(frozen=True)
class Policy(Versioned):
    id: str
    name: str
    department: str
    subject: str
    legal_basis: tuple[LegalBasis, ...]
    screen: Expression | None  # who is screened at all (e.g. insured employers still in business)
    period: str  # year | quarter | month
    budget: float | None
    priority: str | None  # documented order when the budget runs out
    cases: tuple[Case, ...] = field(default=())
    notes: str | None = None
    file: str = ""
    priority_order: tuple[PriorityKey, ...] = ()  # the same order, as expressions (offers apply it)
    confirm_within: TimeLimit | None = None  # how long an offer waits for confirmation (default 30 自然日)

    @property
    def purpose(self) -> str:
        return f"policy:{self.id}"


@dataclass(frozen=True)
class Trigger:
    """无感审批: an event, and a condition over the subject's facts and the event's fields, that
    prepares a case for an item (or a benefit offer for a policy) pre-filled from shared data."""

    id: str
    name: str
    events: tuple[str, ...]  # event type codes (miaopi.events.types)
    subject: str
    department: str  # the target's department: it reads the facts and pushes the case
    condition: Expression
    target_kind: str  # item | policy
    target: str  # item code or policy id
    form: tuple[tuple[str, Expression], ...]  # item form field → its value, computed from facts
    replaces_licence: str | None  # the held licence type the result replaces (revoked, courier exchange)
    respond_days: int  # natural days the subject has to confirm before the case expires
    remind_every_days: int
    cases: tuple[Case, ...] = field(default=())
    notes: str | None = None
    file: str = ""

    @property
    def purpose(self) -> str:
        return f"trigger:{self.id}"
