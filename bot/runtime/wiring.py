"""Builds the live dependencies from settings, and closes them; nothing connects at import time."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Mapping

import httpx

from bot import telemetry
from bot.api.outbound import ApiChannel
from bot.clock import SYSTEM, Clock
from bot.config import Settings
from bot.core.agent import Agent
from bot.core.context import ContextCache
from bot.core.external import EXTERNAL
from bot.core.model import Model
from bot.core.policy import Policy
from bot.email.outbound import EmailChannel
from bot.humanlayer.outbound import external_channel
from bot.llm.claude import MissingCredentials
from bot.llm.offline.model import OfflineModel
from bot.llm.offline.script import ScriptError, load_script
from bot.llm.providers import claude
from bot.mcp.hub import McpHub
from bot.policyfile import PolicyError, load_policy
from bot.runtime.deps import Deps
from bot.runtime.discovery import AgentError, Found, bundled, find
from bot.runtime.prompts import PromptFiles
from bot.slack.client import close_client, slack_client
from bot.slack.groups import GroupMembers
from bot.slack.outbound import ApprovalChannel, CardUpdates, SlackChannel
from bot.store.agentstore import AgentRecordsStore
from bot.store.claims import Claims
from bot.store.codec import ThreadCache
from bot.store.connect import RedisUnreachable, connect
from bot.store.connect import reconnecting as reconnecting  # re-exported: tests use them
from bot.store.connect import redis_client as redis_client
from bot.store.intake import Intake
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.mailindex import MessageIndex
from bot.store.queue import Kicker, StepBroker
from bot.store.replicas import Replicas
from bot.store.slackstate import SlackState
from bot.store.sweeps import Sweeps
from bot.store.threads import ThreadStore


def freeze_heap() -> None:
    """Leave what the process has built by now (modules, schemas, clients) out of every later
    garbage collection. A full collection walks every object alive; with the startup heap in
    it, one took ~150 ms of a worker's loop here, and it grew with the threads held in memory.
    For a server process's start only (tests build runtimes again and again).
    """
    gc.collect()
    gc.freeze()


def model_from(settings: Settings, agents: Mapping[str, Agent] | None = None) -> Model:
    """One Anthropic client for the process; the offline model when chosen (or no key is set
    and no model named), playing every agent found; else a stand-in that says the key is
    missing."""
    if settings.offline_model():
        found = load_found(settings)
        try:
            script = load_script(settings.offline_script) if settings.offline_script else None
        except ScriptError as exc:
            raise StartupError(str(exc)) from None
        return OfflineModel(found.rules, found.agents if agents is None else agents, script)
    if settings.model_provider == "anthropic" and not settings.anthropic_api_key:
        return MissingCredentials()
    return claude(settings)


def load_found(settings: Settings | None = None) -> Found:
    """The agents (and their offline rules) in the bundled package's folders and in the
    folders of `HITLBOT_AGENT_PATHS` (`bot.runtime.discovery`), found again at each start, so
    a folder added since is there; StartupError naming the file if one is wrong."""
    roots = (settings or Settings()).agent_roots()
    try:
        return find(bundled(), roots)
    except AgentError as exc:
        raise StartupError(str(exc)) from None


def load_agents(settings: Settings | None = None) -> Mapping[str, Agent]:
    """The agents `load_found` finds, by name."""
    return load_found(settings).agents


class StartupError(Exception):
    """The configuration cannot work (a bad policy or data file); the message says where."""


def check_configuration(settings: Settings, agents: Mapping[str, Agent]) -> Policy:
    """Run the agents' own checks and load the policy file; StartupError if any is invalid."""
    for agent in agents.values():
        if agent.check is not None:
            try:
                agent.check()
            except ValueError as exc:
                raise StartupError(f"agent {agent.name}: {exc}") from None
    try:
        return load_policy(settings.policy_file, {**agents, EXTERNAL.name: EXTERNAL})
    except PolicyError as exc:
        raise StartupError(str(exc)) from None


def _approvals(deps: Deps) -> ApprovalChannel | None:
    """Where approvals of email threads go: SLACK_APPROVAL_CHANNEL, when Slack is on."""
    channel = deps.settings.slack_approval_channel
    if deps.slack is None or not channel:
        return None
    return ApprovalChannel(deps.slack, channel, deps.settings.slack_approver_ids())


@contextlib.asynccontextmanager
async def runtime(
    settings: Settings, *, model: Model | None = None, clock: Clock = SYSTEM
) -> AsyncIterator[tuple[Deps, StepBroker]]:
    """Deps and the queue broker for one process, every time read from `clock`; closed on
    exit."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (hitlbot dev starts a private Redis for you)")
    telemetry.configure()  # on when OTEL_EXPORTER_OTLP_ENDPOINT is set (the `otel` extra)
    agents = load_agents(settings)
    policy = check_configuration(settings, agents)
    chosen = model or model_from(settings, agents)
    try:
        connection = await connect(settings)
    except RedisUnreachable as exc:
        raise StartupError(str(exc)) from None
    redis, broker = connection.redis, connection.broker
    keys = Keys(settings.redis_prefix)
    cache = ThreadCache()  # one per process: the store and the leases load tails through it
    http = httpx.AsyncClient(timeout=10)
    replicas = Replicas(redis, settings.redis_replicas_ack, settings.redis_replicas_timeout_s)
    store = ThreadStore(redis, keys, settings.thread_ttl_s, cache, replicas, clock)
    deps = Deps(
        settings=settings,
        keys=keys,
        store=store,
        intake=Intake(redis, keys, store, broker, link_ttl_s=settings.thread_ttl_s),
        claims=Claims(redis, keys),
        records=AgentRecordsStore(redis, keys),
        sweeps=Sweeps(redis, keys),
        slack_state=SlackState(redis, keys, settings.thread_ttl_s),
        mail_index=MessageIndex(redis, keys, settings.thread_ttl_s),
        leases=Leases(
            redis, keys, settings.step_lease_s, fence_ttl_s=settings.thread_ttl_s, cache=cache
        ),
        model=chosen,
        enqueue=Kicker(broker),
        http=http,
        agents=agents,
        policy=policy,
        slack=slack_client(settings),
        mcp=McpHub(policy),  # it refuses an agent whose policy names tools its servers lack
        clock=clock,
        prompts=PromptFiles(),
        context_cache=ContextCache(),  # one per process: a step renders only its new events
    )
    deps.groups = GroupMembers(deps.slack)
    if deps.slack is not None:
        deps.channels["slack"] = SlackChannel.from_deps(deps)
        deps.decisions = CardUpdates(deps.slack)
    approvals = _approvals(deps)
    # Always on: without SMTP_HOST its sends fail loudly (recorded on the thread), never silently.
    deps.channels["email"] = EmailChannel.from_deps(deps, approvals=approvals)
    if approvals is not None:
        deps.channels["api"] = ApiChannel(approvals)
    deps.channels["external"] = external_channel(deps)
    try:
        yield deps, broker
    finally:
        await deps.model.aclose()
        await deps.mcp.aclose()
        await http.aclose()
        if deps.slack is not None:
            await close_client(deps.slack)
        await connection.aclose()
