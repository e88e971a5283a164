"""`hitlbot record --feedback down`: every finished thread whose answer got that rating,
written as a replay case, so answers people marked bad become regression tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from bot.core.agent import Agent
from bot.core.feedback import Rating, rated
from bot.core.thread import Thread
from bot.evals.commands import CommandError, cases_dir, default_name, write_case
from bot.store.oneshot import Unreadable, settings_store
from bot.store.threads import ThreadStore

PAGE = 200
"""Threads read from the index per round trip."""


async def rated_threads(settings: Settings, rating: Rating, most: int) -> list[Thread]:
    """Finished threads (newest first, at most `most` looked at) rated `rating` by someone."""
    try:
        async with settings_store(settings, "threads") as store:
            return await _rated(store, rating, most)
    except Unreadable as exc:
        raise CommandError(str(exc)) from None


async def _rated(store: ThreadStore, rating: Rating, most: int) -> list[Thread]:
    found: list[Thread] = []
    cursor: str | None = None
    seen = 0
    while seen < most:
        page, cursor = await store.list("done", cursor, min(PAGE, most - seen))
        seen += len(page)
        for summary in page:
            thread = await store.get(summary.id)
            if thread is not None and rated(thread, rating):
                found.append(thread)
        if cursor is None or not page:
            break
    return found


async def record_rated(
    settings: Settings, agents: Mapping[str, Agent], rating: Rating, force: bool, most: int
) -> list[Path]:
    """Write a case for each thread rated `rating`; the paths written. A case named after
    the thread (its first message and the end of its id) that exists is left alone unless
    `force`."""
    written: list[Path] = []
    for thread in await rated_threads(settings, rating, most):
        agent = agents.get(thread.agent)
        if agent is None:
            continue  # an agent no longer shipped: nothing to replay it on
        name = f"{default_name(thread)[:60]}-{thread.id[-8:].lower()}".strip("-")
        if (cases_dir(agent) / f"{name}.yaml").exists() and not force:
            continue
        written.append(await write_case(settings, agents, thread, name, force))
    return written
