"""The agent DM (Slack's agent messaging experience): prompts when it opens, a title per thread.

Under the manifest's `features.agent_view`, opening the bot's DM (its Messages tab) sends
`app_home_opened` with `tab == "messages"`; the prompts are set for the whole tab (no
`thread_ts`). Apps still on the older assistant view get `assistant_thread_started` per thread
instead, and the prompts are set on that thread. Messages in the DM are ordinary `message.im`
events (`bot/slack/messages.py`): they start and continue threads as mentions do.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.core.agent import Agent
from bot.core.jsondata import Json
from bot.slack.cards import cut
from bot.slack.deps import SlackDeps

PROMPTS_TITLE = "Try one of these:"
"""The line above the suggested prompts."""
PROMPTS_MAX = 4
"""Slack shows at most four suggested prompts."""
TITLE_MAX = 80
"""A thread's title is its first message, cut to this length."""


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to the DM being opened (agent view) and an assistant thread starting (legacy)."""

    @app.event("app_home_opened")
    async def on_home_opened(event: Json) -> None:
        channel = event.get("channel")
        if event.get("tab") != "messages" or not isinstance(channel, str) or not channel:
            return  # the Home tab: hitlbot has none
        show_prompts(slack, channel, None)

    @app.event("assistant_thread_started")
    async def on_thread_started(event: Json) -> None:
        thread = event.get("assistant_thread")
        if not isinstance(thread, dict):
            return
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if isinstance(channel, str) and channel and isinstance(thread_ts, str) and thread_ts:
            show_prompts(slack, channel, thread_ts)


def prompts_of(agent: Agent | None) -> list[dict[str, str]]:
    """The agent's suggested prompts as Slack takes them (pure)."""
    if agent is None:
        return []
    return [
        {"title": cut(prompt.title, 75), "message": prompt.message}
        for prompt in agent.suggested_prompts[:PROMPTS_MAX]
    ]


def show_prompts(slack: SlackDeps, channel: str, thread_ts: str | None) -> None:
    """Set the DM's agent's prompts, after the ack; an agent with none sets nothing."""
    agent = slack.service.deps.agents.get(slack.routes.agent_for(channel))
    prompts = prompts_of(agent)
    if not prompts:
        return
    call = slack.client.assistant_threads_setSuggestedPrompts(
        channel_id=channel, thread_ts=thread_ts, title=PROMPTS_TITLE, prompts=prompts
    )
    slack.background.spawn(call, "assistant.threads.setSuggestedPrompts")


def set_title(slack: SlackDeps, channel: str, thread_ts: str, text: str) -> None:
    """Name a DM thread after its first message, after the ack."""
    title = cut(" ".join(text.split()), TITLE_MAX)
    call = slack.client.assistant_threads_setTitle(
        channel_id=channel, thread_ts=thread_ts, title=title
    )
    slack.background.spawn(call, "assistant.threads.setTitle")
