"""``python -m miaopi`` runs the command line."""

from miaopi.cli import app

app()
