"""A message refused as it would start a thread is claimed only if the channel says so
(`Message.keep_refused`): a mail refused so leaves nothing in Redis (once, a claim key under
a thread id never used, kept a day), and its relay's retry, once the cause is gone, starts the
thread like a first delivery."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.config import Settings
from bot.core.refusals import NotFound
from bot.core.thread import EmailOrigin
from bot.runtime.intake import Message, NewThread, start_or_continue
from bot.runtime.service import Service
from bot.runtime.wiring import runtime
from bot.store.intake import Claim, MailLink

ORIGIN = EmailOrigin(address="ana@example.org", mailbox="bot@example.org", subject="ship")
MESSAGE_ID = "<m1@example.org>"


def mail(agent: str, *, keep_refused: bool) -> Message:
    """A first mail, as email's intake hands it over, starting a thread of `agent`."""
    return Message(
        text="ship it",
        user="ana@example.org",
        ref=MESSAGE_ID,
        claims=[Claim("email", MESSAGE_ID)],
        link=MailLink(MESSAGE_ID),
        start=NewThread(agent, ORIGIN),
        tag_of=MESSAGE_ID,
        keep_refused=keep_refused,
    )


async def test_a_start_refused_unclaimed_writes_nothing_and_is_taken_when_delivered_again(
    settings: Settings, redis_client: Redis
) -> None:
    async with runtime(settings) as (deps, _):
        service = Service(deps)
        refused = await start_or_continue(service, mail("nobody", keep_refused=False))
        assert refused.status == "refused" and isinstance(refused.error, NotFound)
        assert [key async for key in redis_client.scan_iter(f"{settings.redis_prefix}:*")] == []
        again = await start_or_continue(service, mail("deploy", keep_refused=False))
        assert again.status == "started" and again.thread is not None
        assert again.thread.agent == "deploy"


async def test_a_start_refused_and_kept_is_seen_when_delivered_again(
    settings: Settings,
) -> None:
    """Slack keeps a refused first message: Slack's retry of it is not refused again (nor
    its writer told twice); once the cause is gone, a new delivery starts the thread."""
    async with runtime(settings) as (deps, _):
        service = Service(deps)
        refused = await start_or_continue(service, mail("nobody", keep_refused=True))
        assert refused.status == "refused"
        retried = await start_or_continue(service, mail("nobody", keep_refused=True))
        assert retried.status == "seen"
        fixed = await start_or_continue(service, mail("deploy", keep_refused=True))
        assert fixed.status == "started"
