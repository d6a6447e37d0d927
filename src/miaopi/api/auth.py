"""Sign-in for officers and applicants with a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from miaopi.api.dependencies import deployment
from miaopi.auth import AuthError
from miaopi.deployment import Deployment

router = APIRouter(prefix="/auth", tags=["登录"])


class SignIn(BaseModel):
    login: str = Field(
        min_length=1, max_length=64, description="账号：工作人员用户名，或公民身份号码 / 统一社会信用代码"
    )
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"


@router.post("/token", response_model=TokenOut, summary="登录，获取令牌")
def sign_in(body: SignIn, current: Annotated[Deployment, Depends(deployment)]) -> TokenOut:
    try:
        return TokenOut(token=current.accounts.sign_in(body.login, body.password))
    except AuthError as error:
        raise HTTPException(401, error.message) from None
