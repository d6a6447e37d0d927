"""Request-scoped access to the deployment."""

from __future__ import annotations

from fastapi import Request

from miaopi.deployment import Deployment


async def deployment(request: Request) -> Deployment:
    found: Deployment = request.app.state.deployment
    return found
