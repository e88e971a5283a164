"""The live things a step or a request handler uses, in one small object passed in."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SYSTEM, Clock
from bot.config import Settings
from bot.core.context import ContextCache
from bot.core.events import Event, RequestSent
from bot.core.model import Model
from bot.core.policy import Policy
from bot.core.thread import Thread
from bot.mcp.hub import McpHub
from bot.runtime.prompts import PromptFiles
from bot.slack.groups import GroupMembers
from bot.store.agentstore import AgentRecordsStore
from bot.store.claims import Claims
from bot.store.intake import Intake
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.mailindex import MessageIndex
from bot.store.slackstate import SlackState
from bot.store.sweeps import Sweeps
from bot.store.threads import ThreadStore

if TYPE_CHECKING:
    from bot.core.agent import Agent


class Enqueue(Protocol):
    """Puts a step job for a thread on the work queue."""

    async def __call__(self, thread_id: str, *, attempt: int = 0, not_before: float = 0.0) -> None:
        """Queue `thread_id` to be advanced by a worker, no earlier than `not_before`."""
        ...


class Channel(Protocol):
    """Sends a thread's outbound events (questions, approval cards, answers) to its humans."""

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Send `event`; return where it went (stamped `now`), recorded so it is never sent
        twice."""
        ...


class NoCards:
    """Decisions with no Slack to show them on: recorded as shown, so they are not retried."""

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Nothing to update; the delivery is recorded all the same."""
        return RequestSent(ref=ref, channel="slack", at=now)


def new_id(prefix: str) -> str:
    """The default id generator: a prefix and 16 random hex digits."""
    return f"{prefix}{secrets.token_hex(8)}"


@dataclass
class Deps:
    """Everything with a connection or a clock in it."""

    settings: Settings
    keys: Keys
    store: ThreadStore
    intake: Intake
    """Every human's message starts or continues a thread through it, exactly once."""
    claims: Claims
    """Inbound items taken once (a Mailgun token), safe under a retried call."""
    records: AgentRecordsStore
    """The agents' own records, per tool call."""
    sweeps: Sweeps
    """The sweeper's queued and deadline marks."""
    slack_state: SlackState
    """Slack's records beside the threads: modals, working markers."""
    mail_index: MessageIndex
    """Message-ID -> thread, for mail received and sent."""
    leases: Leases
    model: Model
    enqueue: Enqueue
    http: httpx.AsyncClient
    agents: Mapping[str, Agent]
    channels: dict[str, Channel] = field(default_factory=dict)
    """Delivery by origin kind; an origin with no channel (the API) needs no delivery."""
    decisions: Channel = field(default_factory=NoCards)
    """Where a decision is shown once committed: every Slack card of its request, whichever
    channel the thread came by (`bot.slack.outbound.CardUpdates` when Slack is on)."""
    policy: Policy = field(default_factory=Policy)
    """The operator's approval rules (`HITLBOT_POLICY`), over the agents' own."""
    groups: GroupMembers = field(default_factory=lambda: GroupMembers(None))
    """Members of Slack user groups named as approvers, read with a short cache."""
    slack: AsyncWebClient | None = None
    """The process's one Slack Web API client, when `SLACK_BOT_TOKEN` is set."""
    mcp: McpHub = field(default_factory=McpHub)
    """Connections to the agents' MCP servers, opened by the first step that needs them."""
    clock: Clock = SYSTEM
    """Every wall-clock time a step or a handler reads (`clock.now()`, `clock.time()`)."""
    ids: Callable[[str], str] = new_id
    prompts: PromptFiles = field(default_factory=PromptFiles)
    """The agents' prompt files, read again when they change."""
    context_cache: ContextCache = field(default_factory=ContextCache)
    """What rendering a step's context keeps between steps (one per process)."""
