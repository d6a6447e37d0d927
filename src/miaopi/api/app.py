"""Application factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from miaopi import __version__
from miaopi.api.applications import READ_BODIES as APPLICATION_BODIES
from miaopi.api.applications import router as applications_router
from miaopi.api.applications import submission_lane
from miaopi.api.auth import router as auth_router
from miaopi.api.errors import BodyLimit, install_error_handlers
from miaopi.api.events import router as events_router
from miaopi.api.health import router as health_router
from miaopi.api.inbox import router as inbox_router
from miaopi.api.licences import router as licences_router
from miaopi.api.offers import router as offers_router
from miaopi.api.proactive import router as proactive_router
from miaopi.api.review import router as review_router
from miaopi.api.sharing import router as sharing_router
from miaopi.deployment import Deployment

API_PREFIX = "/api/v1"
SUBMISSIONS = f"{API_PREFIX}/applications"


class MiaopiApp(FastAPI):
    """The API, submissions taking their lane (``applications.submission_lane``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == SUBMISSIONS:
            scope["app"] = self  # as the framework sets it: the endpoint reads the deployment from it
            await submission_lane(scope, receive, send, super().__call__)
        else:
            await super().__call__(scope, receive, send)


def create_app(deployment: Deployment) -> FastAPI:
    app = MiaopiApp(
        title="秒批 Miaopi API",
        version=__version__,
        description="秒批：基于共享数据的智能审批、免申即享与无感审批平台。",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The interactive docs pages load scripts from a CDN; government intranets have none.
        docs_url=None,
        redoc_url=None,
    )
    app.state.deployment = deployment
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.include_router(health_router, prefix=API_PREFIX)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(applications_router, prefix=API_PREFIX)
    app.include_router(review_router, prefix=API_PREFIX)
    app.include_router(inbox_router, prefix=API_PREFIX)
    app.include_router(events_router, prefix=API_PREFIX)
    app.include_router(proactive_router, prefix=API_PREFIX)
    app.include_router(offers_router, prefix=API_PREFIX)
    app.include_router(sharing_router, prefix=API_PREFIX)
    app.include_router(licences_router, prefix=API_PREFIX)
    app.openapi = _with_read_bodies(app.openapi, APPLICATION_BODIES)  # type: ignore[method-assign]
    return app


def _with_read_bodies(
    openapi: Callable[[], dict[str, Any]], models: Sequence[type[BaseModel]]
) -> Callable[[], dict[str, Any]]:
    """FastAPI's document (built once, then cached by FastAPI), with the schemas of request bodies
    that their endpoints read themselves (so FastAPI does not see them) among its components."""
    added = False

    def document() -> dict[str, Any]:
        nonlocal added
        built = openapi()
        if not added:
            schemas = built.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, nested in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, nested)
                schemas[model.__name__] = schema
            added = True
        return built

    return document
