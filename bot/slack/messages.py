"""Messages from people (factor 11): a mention or a DM starts a thread; a reply continues it.

A Slack thread (team, channel, parent ts) maps to one hitlbot thread. Slack's retries of an
event (same `event_id`) and the second event of one message (a mention arrives both as
`app_mention` and as `message`) are dropped by claims shared by every web process, written
with the thread they protect (`bot/store/intake.py`): a message whose handling failed claimed
nothing, so Slack's retry of it counts.
"""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.core.events import HeldMessage, HumanResponse
from bot.core.jsondata import Json
from bot.core.policy import pickers
from bot.core.refusals import NO_CHOICE, NOT_FOR_YOU
from bot.core.thread import SlackOrigin, Thread
from bot.runtime.intake import Message, NewThread, start_or_continue
from bot.slack import inbound
from bot.slack.agentdm import set_title
from bot.slack.cards import escape, mention
from bot.slack.deps import SlackDeps
from bot.slack.inbound import Incoming
from bot.slack.outbound import show_response
from bot.store.intake import Claim, SlackLink

log = structlog.get_logger(__name__)

EMPTY = "What should I do? Mention me with a request, e.g. `deploy api 1.4.2 to staging`."


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to mentions and messages (channels, private channels, DMs)."""

    @app.event("app_mention")
    async def on_mention(body: Json, event: Json, context: AsyncBoltContext) -> None:
        await take(slack, body, event, context.bot_user_id)

    @app.event("message")
    async def on_message(body: Json, event: Json, context: AsyncBoltContext) -> None:
        await take(slack, body, event, context.bot_user_id)


async def take(slack: SlackDeps, body: Json, event: Json, bot_user_id: str | None) -> None:
    """Act on a person's message at most once, however often Slack delivers it.

    `start_or_continue` (`bot/runtime/intake.py`) claims it and starts or continues the Slack
    thread's hitlbot thread in one script: the first message of a Slack thread (the common
    case) in one round trip, a reply in a linked one in three (the link, the thread, the write).
    """
    message = inbound.incoming(body, event, bot_user_id)
    if message is None:
        return
    event_id = body["event_id"] if isinstance(body.get("event_id"), str) else None
    outcome = await start_or_continue(slack.service, _message(slack, message, event_id))
    if outcome.status == "started":
        _name(slack, message)
    elif outcome.status == "refused":
        if outcome.error is None:
            _tell(slack, message, EMPTY)
        elif outcome.thread_id is None:
            _tell(slack, message, f"I could not start on that: {outcome.error}.")
        else:
            _tell(slack, message, f"I did not take that message: {outcome.error}.")
    elif outcome.status == "continued" and outcome.thread is not None:
        last = outcome.thread.events[-1]
        if isinstance(last, HeldMessage):
            _tell(slack, message, _held_note(slack, outcome.thread, last))
        else:
            _show_answer(slack, outcome.thread)


def _message(slack: SlackDeps, message: Incoming, event_id: str | None) -> Message:
    """The message as `start_or_continue` takes it: a mention or a DM may start a thread."""
    origin = SlackOrigin(
        team=message.team or None,
        channel=message.channel,
        thread_ts=message.thread_ts,
        user=message.user,
    )
    claims = [Claim("slack-message", f"{message.team}:{message.channel}:{message.ts}")]
    if event_id:
        claims.insert(0, Claim("slack", event_id))
    conversation = (message.team, message.channel, message.thread_ts)

    def working(thread_id: str) -> tuple[str, list[bytes]]:
        # Marked with the step, so a reply the worker sends at once still clears it.
        if slack.show_working is None:
            return "", []
        marker = f"{message.channel} {message.ts}"
        job = slack.show_working.job(thread_id, message.channel, message.ts, message.thread_ts)
        return marker, [job]

    return Message(
        text=message.text,
        user=message.user,
        claims=claims,
        link=SlackLink(*conversation),
        start=NewThread(slack.routes.agent_for(message.channel), origin),
        opens=message.mentioned or message.direct,
        tag_of=":".join(conversation),
        answerers=slack.settings.slack_approver_ids(),
        working=working,
    )


def _name(slack: SlackDeps, message: Incoming) -> None:
    """A new thread in the agent DM is titled after its first message."""
    if message.direct:
        set_title(slack, message.channel, message.thread_ts, message.text)


def _held_note(slack: SlackDeps, thread: Thread, held: HeldMessage) -> str:
    """What the writer of a message that answered nothing is told (only they see it)."""
    pending = thread.pending_request
    if pending is not None and held.reason == NO_CHOICE:
        options = ", ".join(f"*{escape(choice)}*" for choice in pending.choices)
        return f"Pick one of the buttons, or reply with one of: {options}. I kept your note."
    if pending is not None and held.reason == NOT_FOR_YOU:
        allowed = pickers(pending, thread.starter, slack.settings.slack_approver_ids())
        names = ", ".join(mention(user) for user in sorted(allowed))
        return f"Only {names} can pick this; I kept your note."
    who = mention(thread.starter or "") if thread.starter else "the person who asked"
    return f"Only {who} or an approver can answer this; I kept your note."


def _show_answer(slack: SlackDeps, thread: Thread) -> None:
    """A reply that answered a question with buttons: the buttons go, the answer shows."""
    last = thread.events[-1]
    if isinstance(last, HumanResponse):
        request = thread.request(last.request_id)
        if request is not None and request.choices:
            update = show_response(slack.client, thread, last.request_id)
            slack.background.spawn(update, "chat.update")


def _tell(slack: SlackDeps, message: Incoming, text: str) -> None:
    thread_ts = message.thread_ts if message.thread_ts != message.ts else None
    slack.tell(message.channel, message.user, text, thread_ts=thread_ts)
