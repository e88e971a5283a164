"""The bodies of `hitlbot record` and `hitlbot eval`; `bot.cli` only declares their options."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.clock import SYSTEM
from bot.config import NotConfigured, Settings
from bot.core.agent import Agent
from bot.core.model import LLMFatal, LLMUnavailable, Model
from bot.core.thread import Thread
from bot.core.tools import BUILTINS
from bot.evals import case as cases
from bot.evals.case import Case, CaseError
from bot.evals.fetch import FetchError, thread_from_api
from bot.evals.record import NotRecordable, record
from bot.evals.replay import (
    CaseReport,
    ReplayError,
    check_against,
    describe,
    replay_live,
    replay_recorded,
)
from bot.mcp.client import McpUnavailable
from bot.mcp.hub import McpHub
from bot.store.oneshot import Unreadable, read_thread, where

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
SUFFIXES = (".yaml", ".yml", ".json")
"""Case files (JSON is YAML too)."""

Echo = Callable[[str], None]


class CommandError(Exception):
    """The command cannot run as asked (exit 2); the message says why."""


def cases_dir(agent: Agent) -> Path:
    """Where an agent's cases live: `cases/` beside its `prompt.md`."""
    return agent.prompt.parent / "cases"


def case_paths(agent: Agent, only: str | None) -> list[Path]:
    """The agent's case files, by name; only `only` when given (CommandError if missing)."""
    folder = cases_dir(agent)
    found = sorted(p for p in folder.glob("*") if p.suffix in SUFFIXES) if folder.is_dir() else []
    if only is None:
        return found
    chosen = [p for p in found if p.stem == only]
    if not chosen:
        known = ", ".join(p.stem for p in found) or "none"
        raise CommandError(f"agent {agent.name} has no case {only!r} in {folder} (cases: {known})")
    return chosen


def agent_named(agents: Mapping[str, Agent], name: str) -> Agent:
    """The agent, or CommandError naming the known ones."""
    agent = agents.get(name)
    if agent is None:
        raise CommandError(f"unknown agent {name!r}; known: {', '.join(sorted(agents))}")
    return agent


async def listed(agent: Agent) -> Agent:
    """The agent with its MCP servers' tools made its own, listed now as its worker lists
    them (the bundled stdio server is started for it; a URL is reached), so that a recorded
    or replayed step is rendered with every tool the step was shown. CommandError if a
    server cannot be listed."""
    if not agent.mcp:
        return agent
    hub = McpHub()
    try:
        tools = await hub.all_tools(agent)
    except McpUnavailable as exc:
        raise CommandError(
            f"agent {agent.name} takes tools from MCP servers and one could not be listed, so "
            f"its steps cannot be rendered as they were: {exc}"
        ) from None
    finally:
        await hub.aclose()
    builtin = {tool.name for tool in BUILTINS}
    own = tuple(tool for name, tool in tools.items() if name not in builtin)
    return dataclasses.replace(agent, tools=own, mcp=())


def default_name(thread: Thread) -> str:
    """A file name from the thread's first message (`deploy-api-1-4-2-to-production`)."""
    first = next((e for e in thread.events if e.type == "user_message"), None)
    text = getattr(first, "text", "") or thread.id
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or thread.id.lower()


async def record_thread(
    settings: Settings,
    agents: Mapping[str, Agent],
    thread_id: str,
    name: str | None,
    force: bool,
    api: tuple[str, str] | None = None,
) -> Path:
    """Read the thread from Redis (or through the API at `api`: url and token), write its
    case; the path written."""
    if api is None:
        thread = await _from_store(settings, thread_id)
    else:
        try:
            thread = await thread_from_api(*api, thread_id)
        except FetchError as exc:
            raise CommandError(str(exc)) from None
    return await write_case(settings, agents, thread, name, force)


async def write_case(
    settings: Settings, agents: Mapping[str, Agent], thread: Thread, name: str | None, force: bool
) -> Path:
    """Write the case of a loaded thread; the path written."""
    agent = await listed(agent_named(agents, thread.agent))
    name = name or default_name(thread)
    if not _NAME.match(name):
        raise CommandError(f"case name {name!r}: use lower-case letters, digits, - and _")
    path = cases_dir(agent) / f"{name}.yaml"
    if path.exists() and not force:
        raise CommandError(f"{path} exists; choose another --name, or --force to replace it")
    try:
        case = record(thread, agent, name, settings.context_token_budget, SYSTEM.now())
    except NotRecordable as exc:
        raise CommandError(str(exc)) from None
    cases.save(case, path)
    return path


async def _from_store(settings: Settings, thread_id: str) -> Thread:
    """The thread from the store (REDIS_URL); CommandError saying why not."""
    try:
        thread = await read_thread(settings, thread_id)
    except Unreadable as exc:
        raise CommandError(f"{exc}{NO_URL_HINT if exc.unset else ''}") from None
    if thread is None:
        raise CommandError(f"no thread {thread_id!r} in {where(settings, prefix=True)}")
    return thread


NO_URL_HINT = " (for `hitlbot dev`'s private Redis, the URL on its `Redis:` line)"


def load_cases(agent: Agent, only: str | None) -> list[tuple[Path, Case]]:
    """Every case of the agent, read and checked (CommandError at the first bad one)."""
    loaded = []
    for path in case_paths(agent, only):
        try:
            case = cases.load(path)
            check_against(case, agent, path)
        except (CaseError, ReplayError) as exc:
            raise CommandError(str(exc)) from None
        loaded.append((path, case))
    return loaded


def live_model(settings: Settings) -> Model:
    """The model `--live` asks: Claude through the adapter (a key is needed), or the offline
    model when `HITLBOT_MODEL=offline` says so."""
    from bot.runtime.wiring import model_from

    if settings.model != "offline" and not settings.anthropic_api_key:
        raise CommandError(
            "--live asks the model: set ANTHROPIC_API_KEY (or HITLBOT_MODEL=offline to replay "
            "against the offline model); without --live the recorded replies are used"
        )
    return model_from(settings)


def run_eval(
    settings: Settings,
    agents: Mapping[str, Agent],
    agent_name: str,
    only: str | None,
    live: bool,
    accept: bool,
    echo: Echo,
) -> int:
    """Replay the cases; print the report; 1 on any regression, else 0."""
    if live and accept:
        raise CommandError("--accept re-records requests in recorded mode; run it without --live")
    agent = agent_named(agents, agent_name)
    if agent.mcp and case_paths(agent, only):
        agent = asyncio.run(listed(agent))
    loaded = load_cases(agent, only)
    if not loaded:
        echo(f"agent {agent.name}: no cases in {cases_dir(agent)} (record some: hitlbot record ID)")
        return 0
    if live:
        model = live_model(settings)
        echo(f"agent {agent.name}, live against {settings.model_label()}")
        reports = asyncio.run(_live(loaded, agent, model))
    else:
        echo(f"agent {agent.name}, recorded replies")
        reports = [replay_recorded(case, agent, path, accept) for path, case in loaded]
    echo(describe(reports, live))
    _after(reports, agent, echo)
    return 1 if any(report.regressions for report in reports) else 0


def _after(reports: list[CaseReport], agent: Agent, echo: Echo) -> None:
    """Save what `--accept` re-recorded; say what to do about what failed."""
    accepted = [r for r in reports if any(step.verdict == "accepted" for step in r.steps)]
    for report in accepted:
        cases.save(report.case, report.path)
    if accepted:
        echo(f"re-recorded: {', '.join(report.path.name for report in accepted)}")
    verdicts = {step.verdict for report in reports for step in report.steps}
    if "changed" in verdicts:
        echo(
            f"next: see how the model takes the new requests (hitlbot eval {agent.name} --live), "
            f"then re-record them (hitlbot eval {agent.name} --accept)"
        )
    if "invalid" in verdicts:
        echo("next: a recorded call no longer validates: record that case again from a new thread")


async def _live(loaded: list[tuple[Path, Case]], agent: Agent, model: Model) -> list[CaseReport]:
    try:
        return [await replay_live(case, agent, path, model) for path, case in loaded]
    except (LLMUnavailable, LLMFatal, NotConfigured) as exc:
        raise CommandError(f"the model could not be asked: {exc}") from None
    finally:
        await model.aclose()
