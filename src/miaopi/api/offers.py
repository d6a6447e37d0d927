"""免申即享 API: a subject's offers, confirm and decline; the department's benefits and payment; the
public notice (公示) and the figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from miaopi.api.dependencies import deployment
from miaopi.api.security import CurrentPrincipal
from miaopi.deployment import Deployment
from miaopi.identity import mask_identifier
from miaopi.identity.masking import mask_name
from miaopi.offers import STATUS_LABELS, ConfirmIn, OfferConflict, OfferError, PaidIn
from miaopi.offers.models import Benefit, Offer

router = APIRouter(tags=["免申即享"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]
PolicyId = Annotated[str, Query(min_length=1, max_length=64, description="政策编号")]
PeriodLabel = Annotated[str | None, Query(max_length=16, description="发放期，如 2026、2026-Q4、2026-11")]


class OfferOut(BaseModel):
    id: str
    policy_id: str
    policy_name: str
    period: str
    status: str
    status_label: str
    amount: float | None
    version_hash: str
    screened_on: dt.date
    explanation: list[dict[str, Any]]
    made_at: dt.datetime | None
    expires_on: dt.date | None

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        return cls(
            id=offer.id,
            policy_id=offer.policy_id,
            policy_name=offer.policy_name,
            period=offer.period,
            status=offer.status,
            status_label=STATUS_LABELS.get(offer.status, offer.status),
            amount=None if offer.amount_fen is None else offer.amount_fen / 100,
            version_hash=offer.version_hash,
            screened_on=offer.screened_on,
            explanation=list(offer.explanation),
            made_at=offer.made_at,
            expires_on=offer.expires_on,
        )


BenefitStatus = Literal["to_pay", "paid", "stopped"]
BENEFIT_LABELS = {"to_pay": "待支付", "paid": "已支付", "stopped": "已停发"}


class BenefitOut(BaseModel):
    """A benefit record; the payee's identifiers and account are shown masked only."""

    id: str
    offer_id: str
    policy_id: str
    period: str
    payee: str
    payee_name: str | None
    bank: str
    account: str
    amount: float
    version_hash: str
    status: BenefitStatus
    status_label: str
    confirmed_at: dt.datetime
    paid_at: dt.datetime | None
    payment_reference: str | None
    evidence: dict[str, Any]

    @classmethod
    def of(cls, benefit: Benefit) -> BenefitOut:
        return cls(
            id=benefit.id,
            offer_id=benefit.offer_id,
            policy_id=benefit.policy_id,
            period=benefit.period,
            payee=mask_identifier(benefit.payee),
            payee_name=mask_name(benefit.payee_name) if benefit.payee_name else None,
            bank=benefit.bank,
            account=mask_identifier(benefit.account),
            amount=benefit.amount_fen / 100,
            version_hash=benefit.version_hash,
            status=cast(BenefitStatus, benefit.status),
            status_label=BENEFIT_LABELS[benefit.status],
            confirmed_at=benefit.confirmed_at,
            paid_at=benefit.paid_at,
            payment_reference=benefit.payment_reference,
            evidence=dict(benefit.evidence),
        )


class NoticeOut(BaseModel):
    name: str
    subject: str
    amount: float
    period: str
    confirmed_on: dt.date


class StatsOut(BaseModel):
    policy_id: str
    policy_name: str
    period: str
    screened: int
    eligible: int
    offered: int
    open: int
    waiting: int
    confirmed: int
    declined: int
    expired: int
    withdrawn: int
    ended: int
    paid: int
    eligible_amount: float
    offered_amount: float
    confirmed_amount: float
    paid_amount: float
    budget: float | None
    budget_left: float | None


def _call(action: Any) -> Any:
    try:
        return action()
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except OfferConflict as error:
        raise HTTPException(409, str(error)) from None
    except OfferError as error:
        raise HTTPException(404 if str(error).startswith("没有政策") else 422, str(error)) from None


@router.get("/offers", response_model=list[OfferOut], summary="我的免申即享事项（本人）")
def my_offers(who: CurrentPrincipal, current: CurrentDeployment) -> list[OfferOut]:
    return [OfferOut.of(offer) for offer in _call(lambda: current.offers.offers_of(who))]


@router.get(
    "/offers/notice", response_model=list[NoticeOut], summary="公示：已确认享受的名单（姓名、证件号已脱敏）"
)
def notice(
    current: CurrentDeployment,
    policy: PolicyId,
    period: PeriodLabel = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[NoticeOut]:
    entries = _call(lambda: current.offers.notice(policy, period=period, limit=limit, offset=offset))
    return [
        NoticeOut(
            name=entry.name,
            subject=entry.subject,
            amount=float(entry.amount),
            period=entry.period,
            confirmed_on=entry.confirmed_on,
        )
        for entry in entries
    ]


@router.get(
    "/offers/stats", response_model=list[StatsOut], tags=["统计"], summary="免申即享统计（按政策、发放期）"
)
def stats(
    current: CurrentDeployment,
    policy: Annotated[str | None, Query(max_length=64)] = None,
    period: PeriodLabel = None,
) -> list[StatsOut]:
    return [
        StatsOut(
            **{
                **figures.__dict__,
                "eligible_amount": float(figures.eligible_amount),
                "offered_amount": float(figures.offered_amount),
                "confirmed_amount": float(figures.confirmed_amount),
                "paid_amount": float(figures.paid_amount),
                "budget": None if figures.budget is None else float(figures.budget),
                "budget_left": None if figures.budget_left is None else float(figures.budget_left),
            }
        )
        for figures in _call(lambda: current.offers.stats(policy, period))
    ]


@router.get("/offers/{offer_id}", response_model=OfferOut, summary="一项免申即享事项（本人）")
def one_offer(offer_id: str, who: CurrentPrincipal, current: CurrentDeployment) -> OfferOut:
    return OfferOut.of(_call(lambda: current.offers.offer_of(who, offer_id)))


@router.post(
    "/offers/{offer_id}/confirm", response_model=BenefitOut, summary="确认享受并提供收款账户（本人）"
)
def confirm(offer_id: str, body: ConfirmIn, who: CurrentPrincipal, current: CurrentDeployment) -> BenefitOut:
    return BenefitOut.of(_call(lambda: current.offers.confirm(who, offer_id, body)))


@router.post("/offers/{offer_id}/decline", response_model=OfferOut, summary="放弃享受（本人）")
def decline(offer_id: str, who: CurrentPrincipal, current: CurrentDeployment) -> OfferOut:
    return OfferOut.of(_call(lambda: current.offers.decline(who, offer_id)))


@router.get("/benefits", response_model=list[BenefitOut], summary="本部门的享受记录（待支付、已支付）")
def benefits(
    who: CurrentPrincipal,
    current: CurrentDeployment,
    status: Annotated[
        BenefitStatus | None, Query(description="to_pay 待支付 / paid 已支付 / stopped 已停发")
    ] = None,
    policy: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[BenefitOut]:
    found = _call(lambda: current.offers.benefits(who, status=status, policy_id=policy, limit=limit))
    return [BenefitOut.of(benefit) for benefit in found]


@router.post("/benefits/{benefit_id}/paid", response_model=BenefitOut, summary="登记已支付（实施部门）")
def paid(benefit_id: str, body: PaidIn, who: CurrentPrincipal, current: CurrentDeployment) -> BenefitOut:
    return BenefitOut.of(_call(lambda: current.offers.mark_paid(who, benefit_id, body)))
