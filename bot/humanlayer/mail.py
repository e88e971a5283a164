"""External contacts by mail: the question sent to the caller's address (placeholder)."""

from __future__ import annotations

from bot.core.events import HumanRequest, RequestSent
from bot.core.thread import Thread
from bot.humanlayer.models import Escalation
from bot.runtime.delivery import DeliveryFailed
from bot.runtime.deps import Deps
from bot.runtime.refusals import Invalid


async def send_request(deps: Deps, thread: Thread, request: HumanRequest) -> RequestSent:
    """Mail the contact's question."""
    raise DeliveryFailed("contacts by email are not supported yet")


async def escalate(deps: Deps, thread: Thread, escalation: Escalation) -> None:
    """Mail the question again to the escalation's recipients."""
    raise Invalid("escalating by email is not supported yet")
