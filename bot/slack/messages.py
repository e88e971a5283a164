"""Messages from people (factor 11): a mention or a DM starts a thread; a reply continues it.

A Slack thread (team, channel, parent ts) maps to one hitlbot thread. Slack's retries of an
event (same `event_id`) and the second event of one message (a mention arrives both as
`app_mention` and as `message`) are dropped by `SET NX` claims shared by every web process;
a claim is given back when handling fails, so Slack's retry of a failed event counts.
"""

from __future__ import annotations

import asyncio

import structlog
from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.core.events import HeldMessage, HumanResponse
from bot.core.jsondata import Json
from bot.core.policy import pickers
from bot.core.thread import SlackOrigin, Thread
from bot.runtime.refusals import NO_CHOICE, NOT_FOR_YOU, NotFound, ServiceError
from bot.slack import inbound
from bot.slack.agentdm import set_title
from bot.slack.cards import escape, mention
from bot.slack.inbound import Incoming
from bot.slack.outbound import show_response
from bot.slack.resources import SlackDeps

log = structlog.get_logger(__name__)

JOIN_ATTEMPTS = 20
JOIN_WAIT_S = 0.05
"""How long a message waits for the thread another message of its Slack thread is launching."""

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

    One Redis round trip (`bot/slack/ingest.py`) claims it, looks its Slack thread up and, for
    the first message of a Slack thread (the common case), creates and queues the thread.
    A message in a linked Slack thread is then appended by `Service.post_message`.
    """
    message = inbound.incoming(body, event, bot_user_id)
    if message is None:
        return
    event_id = body["event_id"] if isinstance(body.get("event_id"), str) else None
    first = _first_thread(slack, message)
    # A script call that raised may or may not have run: its claims are kept, so a retry of a
    # message that was stored after all is not stored twice (one that never ran claimed nothing).
    taken = await slack.ingest.take(message, event_id, first)
    if taken.outcome == "started" and first is not None:
        slack.service.launched(first)  # stored and queued: nothing left to fail
        _name(slack, message)
        return
    try:
        if taken.outcome == "empty":
            _tell(slack, message, EMPTY)
        elif taken.outcome == "linked":
            assert taken.thread_id is not None
            if not await _continue(slack, message, taken.thread_id):
                await _start(slack, message, stale=taken.thread_id)
        elif taken.outcome == "refused":
            await _start(slack, message, stale=None)  # says why (unknown agent, too long)
    except BaseException:
        # Claimed by the script, then failed: give the claims back for Slack's retry.
        await slack.ingest.release(message, event_id)
        raise


def _first_thread(slack: SlackDeps, message: Incoming) -> Thread | None:
    """The thread this message starts if its Slack thread has none; None if it cannot start
    one here (empty text; an unknown agent or an over-long text: the slow path says why), or
    need not (channel talk that does not mention the bot starts nothing)."""
    if not message.text or not (message.mentioned or message.direct):
        return None
    origin = SlackOrigin(
        team=message.team or None,
        channel=message.channel,
        thread_ts=message.thread_ts,
        user=message.user,
    )
    try:
        return slack.service.new_thread(
            slack.routes.agent_for(message.channel),
            message.text,
            origin,
            message.user,
            thread_id=slack.ingest.thread_id(message, slack.service.deps.ids),
        )
    except ServiceError:
        return None


async def _start(slack: SlackDeps, message: Incoming, *, stale: str | None) -> None:
    """A new thread on the channel's agent, answering in this Slack thread.

    The link is claimed before the launch, atomically: of two first messages in one Slack
    thread (a mention and a quick reply, or two mentions), one starts the thread and the other
    joins it. `stale`: a thread the link may still name that is known to be gone.
    """
    if not message.text:
        _tell(slack, message, EMPTY)
        return
    thread_id = slack.service.new_thread_id()
    where = (message.team, message.channel, message.thread_ts)
    winner = await slack.state.claim_link(*where, thread_id, stale=stale)
    if winner != thread_id:
        await _join(slack, message, winner, thread_id)
        return
    origin = SlackOrigin(
        team=message.team or None,
        channel=message.channel,
        thread_ts=message.thread_ts,
        user=message.user,
    )
    agent = slack.routes.agent_for(message.channel)
    try:
        thread = await slack.service.launch(
            agent, message.text, origin, message.user, thread_id=thread_id
        )
    except ServiceError as exc:
        await slack.state.unlink(*where, thread_id)
        _tell(slack, message, f"I could not start on that: {exc}.")
        return
    except BaseException:
        await slack.state.unlink(*where, thread_id)
        raise
    await slack.working.mark(thread.id, message.channel, message.ts)
    _show_working(slack, thread.id, message)
    _name(slack, message)


def _name(slack: SlackDeps, message: Incoming) -> None:
    """A new thread in the agent DM is titled after its first message."""
    if message.direct:
        set_title(slack, message.channel, message.thread_ts, message.text)


async def _join(slack: SlackDeps, message: Incoming, winner: str, own_id: str) -> None:
    """Add the message to the thread another message of this Slack thread just started.

    Its launch is one round trip behind its link, so it may not be stored yet; should it never
    be (its web process died in between), the link is taken over and a thread started here.
    """
    for _ in range(JOIN_ATTEMPTS):
        if await _continue(slack, message, winner):
            return
        await asyncio.sleep(JOIN_WAIT_S)
    log.warning("linked Slack thread has no hitlbot thread; starting one", thread_id=winner)
    await _start(slack, message, stale=winner)


async def _continue(slack: SlackDeps, message: Incoming, thread_id: str) -> bool:
    """Answer the thread's question or start its next turn; False if the thread is gone."""
    if not message.text:
        return True
    # The marker goes first, so a reply the worker sends at once still clears the reaction.
    await slack.working.mark(thread_id, message.channel, message.ts)
    answerers = slack.settings.slack_approver_ids()
    try:
        thread = await slack.service.post_message(
            thread_id, message.text, message.user, answerers=answerers
        )
    except NotFound:
        await slack.working.unmark(thread_id, message.channel, message.ts)
        return False  # expired: the message starts a new thread here
    except ServiceError as exc:
        await slack.working.unmark(thread_id, message.channel, message.ts)
        _tell(slack, message, f"I did not take that message: {exc}.")
        return True
    # Kept as long as the thread is: a thread in use outlives the link's first TTL.
    await slack.state.link(message.team, message.channel, message.thread_ts, thread_id)
    last = thread.events[-1]
    if isinstance(last, HeldMessage):
        await slack.working.unmark(thread_id, message.channel, message.ts)
        _tell(slack, message, _held_note(slack, thread, last))
        return True
    _show_working(slack, thread_id, message)
    _show_answer(slack, thread)
    return True


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


def _show_working(slack: SlackDeps, thread_id: str, message: Incoming) -> None:
    if slack.show_working is not None:  # a worker adds it: no Slack call in this process
        queued = slack.show_working(thread_id, message.channel, message.ts, message.thread_ts)
        slack.background.spawn(queued, "queue the working reaction")
        return
    show = slack.working.show(thread_id, message.channel, message.ts, message.thread_ts)
    slack.background.spawn(show, "reactions.add")


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
