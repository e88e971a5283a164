"""Adds the playground to a web app built by `bot.web.app.create_app` (only `hitlbot dev` does)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request

from bot.config import Settings
from bot.playground import actions, panes, slack_api
from bot.playground.kit import Playground, add_rooms, prepare


def install(app: FastAPI, playground: Playground) -> None:
    """Serve the page at `/`, its `/dev/*` routes and the built-in workspace's Web API."""
    app.state.playground = playground
    for router in (panes.router, actions.router, slack_api.router):
        app.include_router(router, dependencies=[Depends(_loopback_host)])


def _loopback_host(request: Request) -> None:
    """Refuse a `Host` other than the address dev serves on: a page on another site that
    resolves its name to 127.0.0.1 (DNS rebinding) must not act as a person here."""
    playground: Playground = request.app.state.playground
    port = urlsplit(playground.base_url).port
    allowed = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if request.headers.get("host", "") not in allowed:
        raise HTTPException(403, f"the playground answers only on {playground.base_url}")


def dev_app(settings: Settings, base_url: str) -> tuple[FastAPI, Playground, list[str]]:
    """The `hitlbot dev` app (web and worker) with the playground, serving at `base_url`.

    Changes `settings` to point at the built-ins; returns the banner's notes about them. The
    caller starts `playground.sink` (when there is one) before serving and stops it after.
    """
    from bot.runtime.wiring import load_agents
    from bot.web.app import create_app

    playground, notes = prepare(settings, base_url, load_agents(settings))
    app = create_app(settings, with_worker=True)
    install(app, playground)
    return app, playground, notes


def rebuild(settings: Settings, playground: Playground) -> FastAPI:
    """The app built again for `hitlbot dev --reload`, on the same playground (its workspace
    and mail stay): the agents found afresh and checked, a channel for each new one."""
    from bot.runtime.wiring import StartupError, check_configuration, load_agents
    from bot.web.app import create_app

    try:
        agents = load_agents(settings)
        check_configuration(settings, agents)
    except StartupError as exc:
        raise ValueError(str(exc)) from None
    add_rooms(playground, settings, agents)
    app = create_app(settings, with_worker=True)
    install(app, playground)
    return app
