"""The HTTP API (FastAPI): read targets, statuses, observations and alerts; upload spreadsheets."""

from chitieu.api.main import create_app

__all__ = ["create_app"]
