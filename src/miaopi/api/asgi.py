"""ASGI entry point for running several worker processes (``miaopi serve --workers N``): each worker
opens the deployment named by ``MIAOPI_DATA_DIR`` / ``MIAOPI_DATABASE_URL`` itself."""

from __future__ import annotations

from fastapi import FastAPI

from miaopi.api.app import create_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment


def build() -> FastAPI:
    deployment = Deployment.open(load_settings())
    deployment.warm()
    return create_app(deployment)
