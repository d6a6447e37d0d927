"""One shape for every error the API returns: a code, a Chinese message, and the fields at fault.

No stack trace or internal detail ever reaches a client; unexpected errors are logged with a
reference the client can quote.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from miaopi.approval import ApprovalConflict, IntakeError, NotAllowed
from miaopi.identity import IdentifierError
from miaopi.sharing import AccessRefused

log = logging.getLogger("miaopi.api")

REASONS = {
    "missing": "缺少必填字段",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "dict_type": "应为对象",
    "list_type": "应为数组",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "too_long": "条目过多",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "不是合法的 JSON",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "greater_than_equal": "过小",
    "less_than_equal": "过大",
    "value_error": "取值无效",
}


def error_body(code: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body",)]
    return ".".join(parts) or "body"


async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
    fields = []
    for problem in error.errors():
        kind = str(problem.get("type", ""))
        reason = REASONS.get(kind, "取值无效")
        context = problem.get("ctx") or {}
        if kind == "value_error" and context.get("error") is not None:
            reason = str(context["error"])
        fields.append(
            {"field": _field_name(problem.get("loc", ())), "reason": reason, "detail": problem.get("msg")}
        )
    summary = "；".join(f"{item['field']}：{item['reason']}" for item in fields[:5])
    return JSONResponse(status_code=422, content=error_body("invalid_input", f"输入有误：{summary}", fields))


async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    messages = {404: "未找到", 405: "不支持该请求方法", 401: "需要登录", 403: "无权访问"}
    message = (
        error.detail
        if isinstance(error.detail, str) and error.detail
        else messages.get(error.status_code, "请求无效")
    )
    if error.detail == "Not Found":
        message = "未找到"
    return JSONResponse(
        status_code=error.status_code,
        content=error_body(f"http_{error.status_code}", message),
        headers=error.headers,
    )


async def _identifier(_request: Request, error: IdentifierError) -> JSONResponse:
    return JSONResponse(status_code=422, content=error_body("invalid_identifier", error.message))


async def _refused(_request: Request, error: AccessRefused) -> JSONResponse:
    return JSONResponse(status_code=403, content=error_body("access_refused", error.message))


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error, reference %s: %s", reference, type(error).__name__)
    return JSONResponse(
        status_code=500,
        content=error_body("internal_error", f"服务器内部错误，请联系运维并提供编号 {reference}"),
    )


MAX_BODY_BYTES = 8 * 1024 * 1024


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware refusing bodies over ``MAX_BODY_BYTES``: by their declared length before
    reading, and while reading for chunked uploads — 413 with a clear message, nothing processed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            status_code=413,
            content=error_body("body_too_large", f"请求体过大：最多 {self.limit // 1024 // 1024} MB"),
        )
        await response(scope, receive, send)


async def _intake(_request: Request, error: IntakeError) -> JSONResponse:
    return JSONResponse(
        status_code=error.status,
        content=error_body(
            "invalid_input",
            f"输入有误：{error.field}：{error.reason}",
            [{"field": error.field, "reason": error.reason}],
        ),
    )


async def _conflict(_request: Request, error: ApprovalConflict) -> JSONResponse:
    return JSONResponse(status_code=409, content=error_body("idempotency_conflict", str(error)))


async def _not_allowed(_request: Request, error: NotAllowed) -> JSONResponse:
    return JSONResponse(status_code=403, content=error_body("forbidden", error.message))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IntakeError, _intake)  # type: ignore[arg-type]
    app.add_exception_handler(ApprovalConflict, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(NotAllowed, _not_allowed)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(IdentifierError, _identifier)  # type: ignore[arg-type]
    app.add_exception_handler(AccessRefused, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
