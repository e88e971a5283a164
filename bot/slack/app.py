"""The Bolt app of the web process, and everything Slack needs while the process runs.

One `AsyncApp` serves both the Request URL (`POST /slack/events`, see `http`) and Socket Mode,
so every listener is shared. Listeners run before the response (`process_before_response`):
they only claim, commit and enqueue, which is fast and makes the work durable before the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import structlog
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackClientError

from bot.config import Settings
from bot.humanlayer import options
from bot.runtime.service import Service
from bot.slack import actions, agentdm, cancel, feedback, messages, modals
from bot.slack.background import Background
from bot.slack.deps import SlackDeps
from bot.slack.routing import Routes
from bot.slack.socket import SocketMode
from bot.slack.status import Status
from bot.slack.working import Working
from bot.slack.working_job import ShowWorking
from bot.store.queue import StepBroker
from bot.tasks import stopped

log = structlog.get_logger(__name__)


@dataclass
class SlackApp:
    """The running Slack side of a web process."""

    bolt: AsyncApp
    """The Bolt app with every listener."""
    deps: SlackDeps
    """What the listeners use."""
    signing_secret: str | None
    """Set when the Request URL is served (HTTP mode)."""
    handler: AsyncSlackRequestHandler
    """Bolt's FastAPI adapter over `bolt`."""
    bot_user_id: str | None = None
    """The bot's user id (`auth.test`, asked in the background from the start until Slack
    answers); message events skip Bolt once it is known, and go through Bolt before."""


class _NoTokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused since we hand it our
    client (which holds that very token); the notice only confuses an operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOG = logging.getLogger("hitlbot.slack")
_BOLT_LOG.addFilter(_NoTokenNotice())


def build_bolt(slack: SlackDeps, signing_secret: str | None) -> AsyncApp:
    """The Bolt app over our one client; `signing_secret` None serves Socket Mode only."""
    app = AsyncApp(
        client=slack.client,
        signing_secret=signing_secret or "",
        # Socket Mode requests carry no signature; HTTP ones are checked in `http`, then here.
        request_verification_enabled=bool(signing_secret),
        process_before_response=True,
        logger=_BOLT_LOG,
        name="hitlbot",
    )
    messages.register(app, slack)
    feedback.register(app, slack)  # these two before the actions' catch-all
    cancel.register(app, slack)
    actions.register(app, slack)
    modals.register(app, slack)
    options.register(app, slack)  # external questions' interactive options
    agentdm.register(app, slack)

    @app.event(re.compile(".*"))
    async def on_other_event(ack: AsyncAck) -> None:
        # Events we do not act on are still acknowledged; Slack retries any other answer.
        await ack()

    return app


@contextlib.asynccontextmanager
async def slack_app(service: Service, broker: StepBroker) -> AsyncIterator[SlackApp | None]:
    """The Slack side for the web process, or None when Slack is not configured.

    Starts Socket Mode when `SLACK_APP_TOKEN` is set; on exit stops it and waits for the
    Slack calls still running after their ack. Message events are stored and their jobs put
    on `broker`'s stream in one script; working reactions are added by the workers.
    """
    deps = service.deps
    settings = deps.settings
    if deps.slack is None or not (settings.slack_signing_secret or settings.slack_app_token):
        yield None
        return
    routes = Routes.parse(settings.slack_routes, settings.slack_default_agent)
    routes.check(deps.agents)
    state = deps.slack_state
    background = Background()
    slack = SlackDeps(
        service=service,
        client=deps.slack,
        state=state,
        working=Working(
            deps.slack,
            state,
            settings.slack_working_reaction,
            Status(deps.slack, enabled=settings.slack_status),
        ),
        background=background,
        routes=routes,
        show_working=ShowWorking(broker) if settings.slack_working_reaction.strip(":") else None,
    )
    bolt = build_bolt(slack, settings.slack_signing_secret)
    if not settings.slack_approver_ids():
        log.warning("SLACK_APPROVERS is empty: nobody can approve in Slack")
    socket = SocketMode(bolt, settings.slack_app_token) if settings.slack_app_token else None
    if socket is not None:
        await socket.start()
    app = SlackApp(
        bolt=bolt,
        deps=slack,
        signing_secret=settings.slack_signing_secret,
        handler=AsyncSlackRequestHandler(bolt),
    )
    # Not awaited before serving: under `hitlbot dev` the Slack Web API is this very process,
    # which does not listen yet, and a Slack that is down at start must not turn the fast
    # path off for the life of the process.
    learner = asyncio.create_task(learn_bot_user_id(app)) if app.signing_secret else None
    try:
        yield app
    finally:
        if learner is not None:
            await stopped(learner)
        if socket is not None:
            await socket.stop()
        await background.drain()


async def learn_bot_user_id(
    app: SlackApp,
    *,
    first_delay: float = 0.25,
    max_delay: float = 60.0,
    quiet_for: float = 10.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Ask `auth.test` until Slack answers, first after `first_delay` seconds, then backing
    off to `max_delay`, and set `app.bot_user_id`. Failures are logged at debug for
    `quiet_for` seconds, then as a warning, once. The first ask waits: under `hitlbot dev` the
    Web API is this process, whose port opens only once the start is complete."""
    delay, waited, warned = first_delay, 0.0, False
    while True:
        await sleep(delay)
        waited += delay
        delay = min(delay * 2, max_delay)
        try:
            reply = await app.deps.client.auth_test()
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            if waited >= quiet_for and not warned:
                log.warning(
                    "auth.test fails; Slack events go through Bolt until it answers", error=str(exc)
                )
                warned = True
            else:
                log.debug("auth.test failed; will ask again", error=str(exc), delay=delay)
        else:
            user_id = reply.get("user_id")
            app.bot_user_id = user_id if isinstance(user_id, str) and user_id else None
            if warned:
                log.info("auth.test answers; message events skip Bolt from now on")
            return


def status(settings: Settings, base_url: str) -> str:
    """One line for `hitlbot dev`: whether Slack is on, how it reaches us, what is missing."""
    if not settings.slack_bot_token:
        return "off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; see the README's Slack section)"
    if settings.slack_app_token:
        line = "on, over Socket Mode (SLACK_APP_TOKEN)"
    elif settings.slack_signing_secret:
        line = f"on, Request URL {base_url}/slack/events (Slack must reach it: use a tunnel)"
    else:
        return "answers only: set SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) to receive messages"
    if not settings.slack_approver_ids():
        line += "; nobody can approve until SLACK_APPROVERS is set"
    return line
