"""The web process: `create_app` builds the FastAPI app (`uvicorn --factory bot.web:create_app`),
with the API, Slack and email routes, health and metrics."""

from bot.web.app import create_app

__all__ = ["create_app"]
