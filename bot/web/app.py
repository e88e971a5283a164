"""The web process: an app factory for uvicorn (`uvicorn --factory bot.web:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.api import http as api
from bot.api import requests as requests_api
from bot.config import Settings
from bot.core.model import Model
from bot.core.refusals import ServiceError
from bot.email import http as email_routes
from bot.humanlayer import http as humanlayer_http
from bot.runtime.service import Service
from bot.runtime.wiring import runtime
from bot.runtime.worker import run_worker
from bot.slack import http as slack_http
from bot.slack.app import slack_app
from bot.slack.fastpath import MessageEvents
from bot.store.errors import STORE_ERRORS
from bot.store.replicas import NotReplicated
from bot.store.threads import StoreUnhealthy
from bot.tasks import stopped
from bot.web.bodylimit import BodyLimit
from bot.web.surrogates import SurrogateGuard

log = structlog.get_logger(__name__)

HEALTH_TIMEOUT_S = 1.0
"""How long `/healthz` waits for the store to answer."""
DOCS_ASSETS = "/docs/assets"
"""Where /docs and /redoc load their scripts and styles from: this process, never a CDN."""
MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted on any route (a mail route may set its own, lower, limit)."""


def create_app(
    settings: Settings | None = None, *, with_worker: bool = False, model: Model | None = None
) -> FastAPI:
    """The FastAPI app; `with_worker` also runs a worker in this process (`hitlbot dev`)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings, model=model) as (deps, broker):
            await broker.startup()
            app.state.deps = deps
            app.state.service = Service(deps)
            app.state.watch = deps.store.watch()
            worker = asyncio.create_task(run_worker(deps, broker)) if with_worker else None
            try:
                async with slack_app(app.state.service, broker) as slack:
                    app.state.slack = slack
                    yield
            finally:
                await app.state.watch.aclose()
                if worker is not None:
                    await stopped(worker, every=1.0)  # it stops its sweeper

    # FastAPIOffline: /docs and /redoc with Swagger UI and ReDoc served from the package's own
    # copies (FastAPI's default pages load them from a CDN, and are blank offline).
    app = FastAPIOffline(
        title="hitlbot",
        version="0.1.0",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        # Keep the token across reloads; no validator badge (an image from validator.swagger.io).
        swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
    )
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(requests_api.router)
    app.include_router(slack_http.router)
    app.include_router(email_routes.router(settings))
    app.include_router(humanlayer_http.router)
    # In front of the routing for Slack's message events, behind the body limit (added last,
    # so it runs first) and the server-error handler.
    app.add_middleware(MessageEvents)
    # Outside the Slack fast path too: a lone surrogate reaches no route.
    app.add_middleware(SurrogateGuard, limit=max(MAX_BODY_BYTES, settings.email_max_bytes))
    # Mail is bigger: /email/inbound enforces HITLBOT_EMAIL_MAX_BYTES itself.
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, exempt={email_routes.PATH})
    app.exception_handler(ServiceError)(_service_error)
    app.exception_handler(NotReplicated)(_not_replicated)
    # Redis down or failing over past the client's retries: say so, 503, not a bare 500.
    for error in STORE_ERRORS:
        app.exception_handler(error)(_store_unavailable)

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        """Liveness, with a round trip to the store (which names itself in the body)."""
        try:
            said = await request.app.state.deps.store.health(HEALTH_TIMEOUT_S)
        except StoreUnhealthy as exc:
            return JSONResponse({"ok": False, **exc.args[0]}, status_code=503)
        return JSONResponse({"ok": True, **said})

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        """Prometheus metrics of this process, and the requests waiting on a human."""
        try:  # bounded like the health probe: metrics are served even when Redis is away
            await asyncio.wait_for(requests_api.refresh_gauge(app.state.deps), HEALTH_TIMEOUT_S)
        except Exception as exc:
            log.warning("pending gauge not refreshed", error=str(exc) or type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


async def _not_replicated(request: Request, exc: Exception) -> JSONResponse:
    """HITLBOT_REDIS_REPLICAS_ACK not met in time: made, but not acknowledged; retry."""
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable", path=request.url.path, error=str(exc))
    detail = "the store is unavailable right now; try again"
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status if isinstance(exc, ServiceError) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)
