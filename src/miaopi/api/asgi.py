"""ASGI entry point for running several worker processes (``miaopi serve --workers N``): each worker
opens the deployment named by ``MIAOPI_DATA_DIR`` / ``MIAOPI_DATABASE_URL`` itself, and sends its
decided cases to the server's writer process when it runs one (``approval.writer_process``)."""

from __future__ import annotations

from fastapi import FastAPI

from miaopi.api.app import create_app
from miaopi.approval.writer_process import client_from_environment
from miaopi.config import load_settings
from miaopi.deployment import Deployment


def build() -> FastAPI:
    deployment = Deployment.open(load_settings())
    deployment.approval.writer.remote = client_from_environment()
    deployment.warm()
    return create_app(deployment)
