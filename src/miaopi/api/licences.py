"""电子证照 API: public verification, status lists and issuer keys; revocation and suspension by the
issuing department; the holder's wallet; figures."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from miaopi.api.dependencies import deployment
from miaopi.api.errors import error_body
from miaopi.api.security import CurrentPrincipal
from miaopi.deployment import Deployment
from miaopi.licence.models import IssuedLicence
from miaopi.licence.qr import qr_png, qr_svg
from miaopi.licence.service import STATUS_LABELS, LicenceConflict, TypeFigures
from miaopi.licence.verify import Verdict, VerdictKind

router = APIRouter(tags=["电子证照"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]
Identifier = Annotated[str, Path(max_length=160, description="证照标识（GB/T 36904）")]


class VerdictOut(BaseModel):
    verdict: str = Field(
        description="valid / revoked / suspended / expired / not_yet_valid / forged / unknown_issuer …"
    )
    valid: bool
    reason: str
    identifier: str | None = None
    field: str | None = None
    verification_method: str | None = None

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictOut:
        return cls(
            verdict=verdict.kind.value,
            valid=verdict.valid,
            reason=verdict.reason,
            identifier=verdict.identifier,
            field=verdict.field,
            verification_method=verdict.verification_method,
        )


class PublicLicenceOut(BaseModel):
    """What anyone may see: no personal data."""

    identifier: str
    verdict: str
    valid: bool
    reason: str
    licence_name: str
    issuer: str | None
    issuer_code: str
    holder_name: str = Field(description="持证主体名称（已脱敏）")
    holder_code: str = Field(description="持证主体代码（已脱敏）")
    valid_from: str
    valid_until: str | None
    issued_at: str


class WalletLicenceOut(BaseModel):
    identifier: str
    licence_name: str
    issuer: str | None
    status: str
    status_label: str
    valid_from: str
    valid_until: str | None
    issued_at: str
    case_no: str
    fields: dict[str, Any]
    document_url: str
    qr_png_url: str
    qr_svg_url: str
    verification_url: str

    @classmethod
    def of(cls, row: IssuedLicence, verification_url: str) -> WalletLicenceOut:
        base = f"/api/v1/wallet/licences/{row.identifier}"
        subject = row.document.get("credentialSubject", {})
        return cls(
            identifier=row.identifier,
            licence_name=row.type_name,
            issuer=row.document.get("issuer", {}).get("name"),
            status=row.status,
            status_label=STATUS_LABELS.get(row.status, row.status),
            valid_from=row.valid_from.isoformat(),
            valid_until=row.valid_until.isoformat() if row.valid_until else None,
            issued_at=row.issued_at.isoformat(),
            case_no=row.case_no,
            fields=dict(subject.get("licence", {}).get("fields", {})),
            document_url=base,
            qr_png_url=f"{base}/qr.png",
            qr_svg_url=f"{base}/qr.svg",
            verification_url=verification_url,
        )


class StatusChangeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="理由（记入审计日志）")


class StatusChangeOut(BaseModel):
    identifier: str
    status: str
    status_label: str
    reason: str | None


class TypeFiguresOut(BaseModel):
    type_name: str
    issued: int
    valid: int
    suspended: int
    revoked: int
    used_as_evidence: int

    @classmethod
    def of(cls, figures: TypeFigures) -> TypeFiguresOut:
        return cls(**figures.__dict__)


def _call(action: Any) -> Any:
    try:
        return action()
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except LicenceConflict as error:
        raise HTTPException(409, str(error)) from None


# ---- public -------------------------------------------------------------------------------------


@router.get(
    "/licences/stats",
    response_model=list[TypeFiguresOut],
    tags=["统计"],
    summary="各类证照签发与用作材料的数量",
)
def stats(current: CurrentDeployment) -> list[TypeFiguresOut]:
    return [TypeFiguresOut.of(figures) for figures in current.licences.figures()]


@router.get(
    "/licences/status/{list_id}",
    summary="状态列表（W3C BitstringStatusListCredential，已签名）",
    responses={200: {"content": {"application/vc+ld+json": {}}}},
)
def status_list(list_id: Annotated[str, Path(max_length=120)], current: CurrentDeployment) -> Response:
    try:
        document = current.licences.status_list_document(list_id)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


@router.get("/licences/issuers/{issuer_code}", summary="签发机关的公钥（控制者文档，含轮换前的全部密钥）")
def issuer(issuer_code: Annotated[str, Path(max_length=40)], current: CurrentDeployment) -> dict[str, Any]:
    result: dict[str, Any] = _call(lambda: current.licences.issuer_document(issuer_code))
    return result


@router.post(
    "/licences/verify",
    response_model=VerdictOut,
    summary="核验证照：提交证照 JSON 文档，返回真实有效、已吊销、已暂停、已过期、伪造或签发机关未知",
    responses={422: {"description": "不是 JSON 对象，或证照格式错误（指出字段与原因）"}},
)
async def verify(
    document: Annotated[dict[str, Any], Body(description="证照（W3C 可验证凭证 JSON）")],
    current: CurrentDeployment,
) -> Response:
    verdict: Verdict = await run_in_threadpool(current.licences.verify_document, document)
    if verdict.kind is VerdictKind.MALFORMED:
        fields = [{"field": verdict.field or "$", "reason": verdict.reason}]
        return JSONResponse(status_code=422, content=error_body("invalid_licence", verdict.reason, fields))
    return JSONResponse(VerdictOut.of(verdict).model_dump())


@router.get(
    "/licences/{identifier}",
    response_model=PublicLicenceOut,
    summary="按证照标识核验（二维码指向此处；浏览器得到网页）；持证主体已脱敏",
)
def public_licence(identifier: Identifier, request: Request, current: CurrentDeployment) -> Any:
    row, verdict = _call(lambda: current.licences.verify_stored(identifier))
    view = PublicLicenceOut(**current.licences.public_view(row, verdict))
    if "text/html" in request.headers.get("accept", ""):  # a phone that scanned the QR code
        return HTMLResponse(_page(view))
    return view


def _page(view: PublicLicenceOut) -> str:
    """The verification page for people: the verdict first, then what the licence says (masked)."""
    colour = "#1a7f37" if view.valid else "#b42318"
    rows = [
        ("证照名称", view.licence_name),
        ("证照标识", view.identifier),
        ("签发机关", view.issuer or view.issuer_code),
        ("持证主体", f"{view.holder_name}（{view.holder_code}）"),
        ("有效期", f"{view.valid_from} 至 {view.valid_until or '长期'}"),
    ]
    table = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>电子证照核验</title>'
        "<style>body{font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em}"
        "th{text-align:left;padding-right:1em;color:#555}td,th{padding:.3em 0;vertical-align:top}</style>"
        f'</head><body><h1>电子证照核验</h1><p style="color:{colour};font-size:1.3em">'
        f"<strong>{escape(view.reason)}</strong></p><table>{table}</table></body></html>"
    )


def _qr(current: Deployment, row: IssuedLicence, kind: str) -> Response:
    base = current.licences.keys.verification_base()
    if kind == "png":
        return Response(qr_png(base, row.identifier), media_type="image/png")
    return Response(qr_svg(base, row.identifier), media_type="image/svg+xml")


@router.get("/licences/{identifier}/qr.png", summary="证照核验二维码（PNG）", response_class=Response)
def public_qr_png(identifier: Identifier, current: CurrentDeployment) -> Response:
    return _qr(current, _call(lambda: current.licences.find(identifier)), "png")


@router.get("/licences/{identifier}/qr.svg", summary="证照核验二维码（SVG）", response_class=Response)
def public_qr_svg(identifier: Identifier, current: CurrentDeployment) -> Response:
    return _qr(current, _call(lambda: current.licences.find(identifier)), "svg")


# ---- the issuing department ---------------------------------------------------------------------


def _change(current: Deployment, who: Any, identifier: str, action: str, reason: str) -> StatusChangeOut:
    row = _call(lambda: current.licences.change_status(who, identifier, action, reason))
    return StatusChangeOut(
        identifier=row.identifier,
        status=row.status,
        status_label=STATUS_LABELS[row.status],
        reason=row.status_reason,
    )


@router.post(
    "/licences/{identifier}/revoke", response_model=StatusChangeOut, summary="吊销（注销）证照：签发部门"
)
def revoke(
    identifier: Identifier, body: StatusChangeIn, who: CurrentPrincipal, current: CurrentDeployment
) -> StatusChangeOut:
    return _change(current, who, identifier, "revoke", body.reason)


@router.post(
    "/licences/{identifier}/suspend", response_model=StatusChangeOut, summary="暂停使用证照：签发部门"
)
def suspend(
    identifier: Identifier, body: StatusChangeIn, who: CurrentPrincipal, current: CurrentDeployment
) -> StatusChangeOut:
    return _change(current, who, identifier, "suspend", body.reason)


@router.post(
    "/licences/{identifier}/reinstate",
    response_model=StatusChangeOut,
    summary="恢复使用已暂停的证照：签发部门",
)
def reinstate(
    identifier: Identifier, body: StatusChangeIn, who: CurrentPrincipal, current: CurrentDeployment
) -> StatusChangeOut:
    return _change(current, who, identifier, "reinstate", body.reason)


# ---- the holder's wallet ------------------------------------------------------------------------


@router.get("/wallet/licences", response_model=list[WalletLicenceOut], summary="我的证照（卡包）")
def wallet(who: CurrentPrincipal, current: CurrentDeployment) -> list[WalletLicenceOut]:
    rows = _call(lambda: current.licences.wallet(who))
    return [WalletLicenceOut.of(row, current.licences.verification_url(row.identifier)) for row in rows]


@router.get("/wallet/licences/{identifier}", summary="下载我的证照（JSON 可验证凭证）")
def wallet_document(identifier: Identifier, who: CurrentPrincipal, current: CurrentDeployment) -> Response:
    row = _call(lambda: current.licences.own(who, identifier))
    return JSONResponse(
        row.document,
        media_type="application/vc+ld+json",
        headers={"Content-Disposition": f'attachment; filename="{row.identifier}.json"'},
    )


@router.get(
    "/wallet/licences/{identifier}/qr.png", summary="我的证照核验二维码（PNG）", response_class=Response
)
def wallet_qr_png(identifier: Identifier, who: CurrentPrincipal, current: CurrentDeployment) -> Response:
    return _qr(current, _call(lambda: current.licences.own(who, identifier)), "png")


@router.get(
    "/wallet/licences/{identifier}/qr.svg", summary="我的证照核验二维码（SVG）", response_class=Response
)
def wallet_qr_svg(identifier: Identifier, who: CurrentPrincipal, current: CurrentDeployment) -> Response:
    return _qr(current, _call(lambda: current.licences.own(who, identifier)), "svg")
