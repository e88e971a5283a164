"""Stopping a thread from Slack: the native Stop control (`agent_session_stopped`) and the
Cancel button on approval cards and questions.

Both go through `Service.cancel`, the one path every channel uses: decided in the core on the
version it commits on, so of a cancel and an approval clicked at once exactly one wins, and
the other is told. A late click on a cancelled card is refused in `decisions.card_for`.
"""

from __future__ import annotations

from typing import Literal

import structlog
from slack_bolt.async_app import AsyncApp

from bot.core.jsondata import Json
from bot.core.refusals import AlreadyAnswered, Forbidden, ServiceError, WasCancelled
from bot.slack.actions import on_click
from bot.slack.cards import CANCEL, mention
from bot.slack.decisions import NOT_OF_RECORD, UNKNOWN, thread_id_of
from bot.slack.deps import SlackDeps
from bot.slack.inbound import Click
from bot.slack.outbound import messages_of_record
from bot.store.intake import SlackLink

log = structlog.get_logger(__name__)

NO_THREAD = "There is nothing running here to stop."


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to Stop and to the Cancel buttons (before the actions' catch-all)."""

    on_click(app, CANCEL, slack, cancel_click)

    @app.event("agent_session_stopped")
    async def on_stop(body: Json, event: Json) -> None:
        user, channel = event.get("user"), event.get("channel")
        thread_ts = event.get("thread_ts")
        team = body.get("team_id") if isinstance(body.get("team_id"), str) else ""
        if not all(isinstance(v, str) and v for v in (user, channel, thread_ts)):
            return
        assert isinstance(user, str) and isinstance(channel, str) and isinstance(thread_ts, str)
        await stop(slack, str(team), channel, thread_ts, user)


async def stop(slack: SlackDeps, team: str, channel: str, thread_ts: str, user: str) -> None:
    """Slack's Stop under the agent's work in a thread: cancel the thread it is linked to."""
    thread_id = await slack.service.deps.intake.linked(SlackLink(team, channel, thread_ts))
    if thread_id is None:
        slack.tell(channel, user, NO_THREAD, thread_ts=thread_ts)
        return
    note = await _cancel(slack, thread_id, user, "slack_stop")
    if note is not None:
        slack.tell(channel, user, note, thread_ts=thread_ts)


async def cancel_click(slack: SlackDeps, click: Click) -> None:
    """The Cancel button: only on the request's message of record."""
    thread_id = thread_id_of(click.value)
    thread = await slack.store.get(thread_id) if thread_id else None
    if thread is None or thread.request(click.value) is None:
        _tell(slack, click, UNKNOWN)
        return
    shown = messages_of_record(thread, click.value)
    if not any(
        w.get("channel") == click.channel and w.get("ts") == click.message_ts for w in shown
    ):
        _tell(slack, click, NOT_OF_RECORD)
        return
    note = await _cancel(slack, thread.id, click.user, "slack_button")
    if note is not None:
        _tell(slack, click, note)


async def _cancel(
    slack: SlackDeps, thread_id: str, user: str, via: Literal["slack_stop", "slack_button"]
) -> str | None:
    """Cancel; what the person is told if it was refused (None: done, the thread says so)."""
    try:
        await slack.service.cancel(thread_id, user, via)
    except WasCancelled as exc:
        return f"Already cancelled by {mention(exc.cancel.user)}."
    except Forbidden as exc:
        names = ", ".join(mention(u) for u in sorted(exc.allowed))
        return f"Only {names} can stop this. Nothing was changed."
    except AlreadyAnswered as exc:
        return f"Already {exc.response.verdict} by {mention(exc.response.user)}."
    except ServiceError as exc:
        return f"Not stopped: {exc}."
    return None


def _tell(slack: SlackDeps, click: Click, text: str) -> None:
    slack.tell(click.channel, click.user, text, thread_ts=click.thread_ts)
