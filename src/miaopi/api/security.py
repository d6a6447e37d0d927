"""Bearer-token authentication for API requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from miaopi.api.dependencies import deployment
from miaopi.auth import AuthError, Principal
from miaopi.deployment import Deployment

bearer = HTTPBearer(auto_error=False, description="登录后获得的令牌：Authorization: Bearer <token>")


async def principal(
    current: Annotated[Deployment, Depends(deployment)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "需要登录：请在 Authorization 头中提供 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        cached = current.accounts.cached(credentials.credentials)
        if cached is not None:
            return cached
        return await run_in_threadpool(current.accounts.resolve, credentials.credentials)
    except AuthError as error:
        raise HTTPException(401, error.message, headers={"WWW-Authenticate": "Bearer"}) from None


CurrentPrincipal = Annotated[Principal, Depends(principal)]
