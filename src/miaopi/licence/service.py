"""Licences in the deployment: issuing for approved cases, public verification, status lists,
revocation and suspension by the issuing department, the holder's wallet, licences as evidence, and
figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application
from miaopi.audit import AuditLog
from miaopi.auth import Principal
from miaopi.catalog import Catalog
from miaopi.identity.masking import mask_identifier, mask_name
from miaopi.licence.credential import BEIJING
from miaopi.licence.identifier import parse_identifier
from miaopi.licence.issuing import LicenceIssuer, LicenceRequest, list_id, parse_list_id, request_for
from miaopi.licence.keys import KeyStore
from miaopi.licence.models import IssuedLicence, LicenceUse
from miaopi.licence.signing import add_proof
from miaopi.licence.status import StatusList, StatusPurpose, status_list_credential
from miaopi.licence.verify import Verdict, verify_licence
from miaopi.store import Database

__all__ = ["LicenceConflict", "LicenceService", "StatusChange", "TypeFigures"]

STATUS_LABELS = {"valid": "有效", "suspended": "已暂停使用", "revoked": "已吊销（注销）"}
STATUS_TTL_MS = 5 * 60 * 1000  # verifiers may cache a status list for five minutes


class LicenceConflict(ValueError):
    """The licence is not in a state that allows the change (e.g. reinstating a revoked licence)."""


@dataclass(frozen=True)
class StatusChange:
    action: str  # revoke | suspend | reinstate
    target: str  # the status it leads to
    allowed_from: tuple[str, ...]
    label: str


CHANGES = {
    "revoke": StatusChange("revoke", "revoked", ("valid", "suspended"), "吊销（注销）"),
    "suspend": StatusChange("suspend", "suspended", ("valid",), "暂停使用"),
    "reinstate": StatusChange("reinstate", "valid", ("suspended",), "恢复使用"),
}


@dataclass(frozen=True)
class TypeFigures:
    type_name: str
    issued: int
    valid: int
    suspended: int
    revoked: int
    used_as_evidence: int


def china_now_date() -> dt.date:
    return dt.datetime.now(BEIJING).date()


class LicenceService:
    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        keys: KeyStore,
        audit: AuditLog,
        today: Callable[[], dt.date] = china_now_date,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.keys = keys
        self.issuer = LicenceIssuer(keys)
        self.audit = audit
        self.today = today
        keys.ensure(licence_type.issuer_code for licence_type in catalog.licence_types.values())

    # ---- issuing ----------------------------------------------------------------------------------

    def issue(self, session: Session, requests: Sequence[LicenceRequest], at: dt.datetime) -> None:
        """Issue in the caller's transaction and append the audit entries there too (used by the
        review queue: manual, four-eyes and deemed approvals)."""
        self.audit.append_many(session, self.issuer.issue(session, requests, at))

    def request_for_case(self, case: Application, actor: str, decided_on: dt.date) -> LicenceRequest | None:
        """The licence a case closed as approved issues (None when its item yields none)."""
        item = self.catalog.items.get(case.item_code)
        licence_type = self.catalog.result_type(item) if item is not None else None
        if licence_type is None:
            return None
        values = {name: entry.get("value") for name, entry in case.facts.items()}
        return request_for(
            licence_type,
            case_no=case.case_no,
            holder=case.applicant,
            values=values,
            decided_on=decided_on,
            actor=actor,
        )

    def issue_for_case(self, session: Session, case: Application, actor: str, at: dt.datetime) -> str | None:
        """A case closed by a person (or deemed approved), in its transaction: an approval issues its
        licence. A case that already had one (its automatic approval was reopened at the applicant's
        request, suspending it) keeps it when approved again — reinstated — and loses it when refused."""
        existing = list(
            session.scalars(
                select(IssuedLicence)
                .where(IssuedLicence.case_no == case.case_no, IssuedLicence.status != "revoked")
                .with_for_update()
            )
        )
        if existing:
            action = "reinstate" if case.status == "approved" else "revoke"
            reason = "人工审核后准予许可" if case.status == "approved" else "人工审核后不予许可"
            for row in existing:
                if row.status in CHANGES[action].allowed_from:
                    self._set_status(session, row, CHANGES[action], reason, actor, at)
            return existing[0].identifier
        if case.status != "approved":
            return None
        request = self.request_for_case(case, actor, self.today())  # the deployment's day, as the pipeline's
        if request is None:
            return None
        self.issue(session, [request], at)
        return request.identifier

    def reopened(self, session: Session, case_no: str, actor: str, at: dt.datetime) -> None:
        """The applicant refused the automatic approval (PIPL Art. 24): the case's licence is suspended
        until a person decides (reinstated on approval, revoked on refusal)."""
        rows = session.scalars(
            select(IssuedLicence)
            .where(IssuedLicence.case_no == case_no, IssuedLicence.status == "valid")
            .with_for_update()
        )
        for row in rows:
            self._set_status(session, row, CHANGES["suspend"], "申请人要求人工审核，待重新决定", actor, at)

    # ---- licences as evidence ----------------------------------------------------------------------

    def held(self, holder: str, type_names: Iterable[str], on: dt.date) -> list[dict[str, Any]]:
        """The holder's own valid licences of these types, shaped like the shared licence library's
        records (``licence_number`` is the identifier)."""
        names = [name for name in type_names if name in self.catalog.licence_types]
        if not names:
            return []
        with self.database.session() as session:
            rows = session.execute(
                select(
                    IssuedLicence.identifier,
                    IssuedLicence.type_name,
                    IssuedLicence.valid_from,
                    IssuedLicence.valid_until,
                ).where(
                    IssuedLicence.holder == holder,
                    IssuedLicence.type_name.in_(names),
                    IssuedLicence.status == "valid",
                    IssuedLicence.valid_from <= on,
                )
            ).all()
        return [
            {
                "licence_type_name": type_name,
                "licence_number": identifier,
                "valid_from": valid_from,
                "valid_to": valid_until,
                "status": "有效",
                "source": "miaopi",
                "trust": "A",
            }
            for identifier, type_name, valid_from, valid_until in rows
            if valid_until is None or on <= valid_until
        ]

    # ---- lookup and verification -------------------------------------------------------------------

    def find(self, identifier: str) -> IssuedLicence:
        canonical = str(parse_identifier(identifier))
        with self.database.session() as session:
            row = session.get(IssuedLicence, canonical)
        if row is None:
            raise LookupError(f"没有找到证照 {canonical}（本平台未签发该证照）")
        return row

    def verify_document(self, document: Any) -> Verdict:
        """The verdict on a presented credential, against every key ever published and the current
        status lists of this deployment."""
        return verify_licence(document, self.keys.ring(), self._status_lists(document), self.today())

    def verify_stored(self, identifier: str) -> tuple[IssuedLicence, Verdict]:
        row = self.find(identifier)
        return row, self.verify_document(row.document)

    def _status_lists(self, document: Any) -> dict[str, StatusList]:
        entries = document.get("credentialStatus") if isinstance(document, Mapping) else None
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            return {}
        prefix = urlsplit(self.keys.status_list_url("x")).path.removesuffix("x")
        own = self.keys.public_url
        lists: dict[str, StatusList] = {}
        for entry in entries:
            url = entry.get("statusListCredential") if isinstance(entry, Mapping) else None
            if not isinstance(url, str) or not url.startswith(own) or url in lists:
                continue
            path = urlsplit(url).path
            if not path.startswith(prefix):
                continue
            try:
                lists[url] = self.status_list(path.removeprefix(prefix))
            except (ValueError, LookupError):
                continue
        return lists

    def status_list(self, identifier: str) -> StatusList:
        """The current list ``<issuer code>-<purpose>-<n>``, from the licences' statuses."""
        issuer_code, purpose, list_no = parse_list_id(identifier)
        if issuer_code not in self.keys.issuers():
            raise LookupError(f"没有签发机关代码为 {issuer_code} 的状态列表")
        flagged = "revoked" if purpose is StatusPurpose.REVOCATION else "suspended"
        status_list = StatusList(purpose=purpose, issuer=self.keys.issuer_id(issuer_code))
        with self.database.session() as session:
            indexes = session.scalars(
                select(IssuedLicence.status_index).where(
                    IssuedLicence.issuer_code == issuer_code,
                    IssuedLicence.list_no == list_no,
                    IssuedLicence.status == flagged,
                )
            ).all()
        for index in indexes:
            status_list.set(index)
        return status_list

    def status_list_document(self, identifier: str) -> dict[str, Any]:
        """The signed BitstringStatusListCredential published at the list's URL."""
        status_list = self.status_list(identifier)
        issuer_code, purpose, list_no = parse_list_id(identifier)
        name = next(
            (t.issuer_name for t in self.catalog.licence_types.values() if t.issuer_code == issuer_code), None
        )
        issuer: dict[str, str] = {"id": self.keys.issuer_id(issuer_code), "issuerCode": issuer_code}
        if name:
            issuer["name"] = name
        now = dt.datetime.now(dt.UTC)
        document = status_list_credential(
            self.keys.status_list_url(list_id(issuer_code, purpose, list_no)),
            issuer,
            status_list,
            now,
            ttl_ms=STATUS_TTL_MS,
        )
        return add_proof(document, self.keys.signer(issuer_code), now)

    def issuer_document(self, issuer_code: str) -> dict[str, Any]:
        """The issuer's controller document: every public key it ever signed with."""
        if issuer_code not in self.keys.issuers():
            raise LookupError(f"没有签发机关代码为 {issuer_code} 的签发机关")
        return self.keys.ring().controller_document(self.keys.issuer_id(issuer_code))

    def public_view(self, row: IssuedLicence, verdict: Verdict) -> dict[str, Any]:
        """What anyone may see of a licence: no personal data (holder masked, fields left out)."""
        subject = row.document.get("credentialSubject", {})
        return {
            "identifier": row.identifier,
            "verdict": verdict.kind.value,
            "valid": verdict.valid,
            "reason": verdict.reason,
            "licence_name": row.type_name,
            "issuer": row.document.get("issuer", {}).get("name"),
            "issuer_code": row.issuer_code,
            "holder_name": mask_name(str(subject.get("holderName", ""))),
            "holder_code": mask_identifier(row.holder),
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
            "issued_at": row.issued_at.isoformat(),
        }

    def verification_url(self, identifier: str) -> str:
        return f"{self.keys.verification_base()}/{identifier}"

    # ---- revocation and suspension ------------------------------------------------------------------

    def change_status(self, principal: Principal, identifier: str, action: str, reason: str) -> IssuedLicence:
        """Revoke, suspend or reinstate — by an officer of the issuing department, audit-logged; the
        licence's bit in the status list follows its status."""
        change = CHANGES[action]
        if principal.kind != "officer" or principal.department is None:
            raise PermissionError("只有签发部门的工作人员可以吊销、暂停或恢复证照")
        canonical = str(parse_identifier(identifier))
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            row = session.scalars(
                select(IssuedLicence).where(IssuedLicence.identifier == canonical).with_for_update()
            ).first()
            if row is None:
                raise LookupError(f"没有找到证照 {canonical}")
            if row.department != principal.department:
                raise PermissionError(f"证照 {canonical} 不是本部门签发的，不能{change.label}")
            if row.status not in change.allowed_from:
                raise LicenceConflict(
                    f"证照 {canonical} 当前状态为“{STATUS_LABELS[row.status]}”，不能{change.label}"
                )
            self._set_status(session, row, change, reason, principal.actor, now)
            session.flush()
            return row

    def _set_status(
        self,
        session: Session,
        row: IssuedLicence,
        change: StatusChange,
        reason: str,
        actor: str,
        at: dt.datetime,
    ) -> None:
        """Change a licence's status (its bit in the status list follows) with its audit entry."""
        previous = row.status
        row.status = change.target
        row.status_reason = reason
        row.status_changed_at = at
        row.status_changed_by = actor
        self.audit.append(
            session,
            actor=actor,
            action=f"licence.{change.action}",
            target=row.identifier,
            outcome=change.target,
            details={"previous": previous, "reason": reason},
            at=at,
        )

    # ---- wallet ---------------------------------------------------------------------------------

    def wallet(self, principal: Principal) -> list[IssuedLicence]:
        """The authenticated holder's own licences, newest first."""
        holder = self._holder(principal)
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(IssuedLicence)
                    .where(IssuedLicence.holder == holder)
                    .order_by(IssuedLicence.issued_at.desc(), IssuedLicence.identifier)
                )
            )

    def own(self, principal: Principal, identifier: str) -> IssuedLicence:
        """One of the holder's own licences; another subject's is answered as not found."""
        holder = self._holder(principal)
        try:
            row = self.find(identifier)
        except LookupError:
            row = None
        if row is None or row.holder != holder:
            raise LookupError(f"您的卡包中没有证照 {identifier}")
        return row

    @staticmethod
    def _holder(principal: Principal) -> str:
        if principal.kind != "applicant" or principal.subject_id is None:
            raise PermissionError("只有申请人（持证主体）账号有证照卡包")
        return principal.subject_id

    # ---- figures ----------------------------------------------------------------------------------

    def figures(self) -> list[TypeFigures]:
        """Per licence type: issued (and by status) and used as evidence, counted in the database."""
        with self.database.session() as session:
            issued = session.execute(
                select(IssuedLicence.type_name, IssuedLicence.status, func.count()).group_by(
                    IssuedLicence.type_name, IssuedLicence.status
                )
            ).all()
            used = dict(
                session.execute(
                    select(LicenceUse.type_name, func.count()).group_by(LicenceUse.type_name)
                ).all()
            )
        counts: dict[str, dict[str, int]] = {}
        for type_name, status, count in issued:
            counts.setdefault(type_name, {})[status] = int(count)
        names = sorted(set(self.catalog.licence_types) | set(counts) | set(used))
        return [
            TypeFigures(
                type_name=name,
                issued=sum(counts.get(name, {}).values()),
                valid=counts.get(name, {}).get("valid", 0),
                suspended=counts.get(name, {}).get("suspended", 0),
                revoked=counts.get(name, {}).get("revoked", 0),
                used_as_evidence=int(used.get(name, 0)),
            )
            for name in names
        ]
