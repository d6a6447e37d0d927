"""The HTTP API under ``/api/v1`` (FastAPI; OpenAPI at ``/api/v1/openapi.json``)."""

from miaopi.api.app import create_app

__all__ = ["create_app"]
