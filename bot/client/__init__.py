"""hitlbot's own small client: ask for an approval or an answer from any Python agent.

    from bot.client import Hitlbot, requires_approval

    hitlbot = Hitlbot("https://hitlbot.example.com", token)
    decision = hitlbot.approval("deploy", {"service": "api"}, channel="C0OPS")

It talks to `/humanlayer/v1` with hitlbot's extensions (the arguments' JSON schema, so an
approver may edit them; who decided), long-polling rather than polling every 3 s.
"""

from bot.client.aio import AsyncHitlbot
from bot.client.decorator import Rejected, requires_approval
from bot.client.models import Answer, Decision, Option
from bot.client.sync import Hitlbot

__all__ = [
    "Answer",
    "AsyncHitlbot",
    "Decision",
    "Hitlbot",
    "Option",
    "Rejected",
    "requires_approval",
]
