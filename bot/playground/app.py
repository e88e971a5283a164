"""Adds the playground to a web app built by `bot.web.create_app` (only `hitlbot dev` does)."""

from __future__ import annotations

from fastapi import FastAPI

from bot.config import Settings
from bot.playground import actions, panes, slack_api
from bot.playground.kit import Playground, prepare


def install(app: FastAPI, playground: Playground) -> None:
    """Serve the page at `/`, its `/dev/*` routes and the built-in workspace's Web API."""
    app.state.playground = playground
    app.include_router(panes.router)
    app.include_router(actions.router)
    app.include_router(slack_api.router)


def dev_app(settings: Settings, base_url: str) -> tuple[FastAPI, Playground, list[str]]:
    """The `hitlbot dev` app (web and worker) with the playground, serving at `base_url`.

    Changes `settings` to point at the built-ins; returns the banner's notes about them. The
    caller starts `playground.sink` (when there is one) before serving and stops it after.
    """
    from bot.web import create_app

    playground, notes = prepare(settings, base_url)
    app = create_app(settings, with_worker=True)
    install(app, playground)
    return app, playground, notes
