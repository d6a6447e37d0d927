"""A running deployment: its settings, case store, shared data and catalogue, put together once.

``initialise`` turns an empty data directory into the embedded deployment (synthetic city, demo
catalogue, migrated SQLite store); ``Deployment.open`` wires an initialised one for serving.
"""

from miaopi.deployment.setup import Deployment, DeploymentError, ProgressCallback, initialise

__all__ = ["Deployment", "DeploymentError", "ProgressCallback", "initialise"]
