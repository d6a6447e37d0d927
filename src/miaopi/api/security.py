"""Bearer-token authentication for API requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer

from miaopi.auth import AuthError, Principal
from miaopi.deployment import Deployment


class BearerPrincipal(HTTPBearer):
    """The signed-in principal, from ``Authorization: Bearer <token>``.

    One dependency that is also the OpenAPI security scheme: every request to an authenticated
    endpoint resolves it, so it reads the header itself instead of through a chain of dependencies.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                401,
                "需要登录：请在 Authorization 头中提供 Bearer 令牌",
                headers={"WWW-Authenticate": "Bearer"},
            )
        current: Deployment = request.app.state.deployment
        try:
            cached = current.accounts.cached(token)
            if cached is not None:
                return cached
            return await current.accounts.resolve_async(token)
        except AuthError as error:
            raise HTTPException(401, error.message, headers={"WWW-Authenticate": "Bearer"}) from None


principal = BearerPrincipal(
    scheme_name="HTTPBearer", description="登录后获得的令牌：Authorization: Bearer <token>"
)

CurrentPrincipal = Annotated[Principal, Depends(principal)]
