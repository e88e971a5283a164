"""The `hitlbot record` and `hitlbot eval` commands: finished threads saved as replay cases,
and an agent's cases replayed against its current prompt and tools."""

from __future__ import annotations

import asyncio
from typing import Annotated, NoReturn

import typer

from bot.config import Settings
from bot.dev.server import DEV_TOKEN

Token = Annotated[str, typer.Option(envvar="HITLBOT_API_TOKEN", help="API bearer token.")]


def register(app: typer.Typer) -> None:
    """Add `record` and `eval` to the `hitlbot` command."""
    app.command()(record)
    app.command(name="eval")(eval_)


def record(
    thread_id: Annotated[str | None, typer.Argument(help="The thread to record.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Case name (default: from the first message).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a case of that name.")] = False,
    url: Annotated[
        str | None, typer.Option(envvar="HITLBOT_URL", help="Read it through this API.")
    ] = None,
    token: Token = DEV_TOKEN,
    feedback: Annotated[
        str | None,
        typer.Option(help="Instead of one thread: every finished thread rated up or down."),
    ] = None,
    most: Annotated[int, typer.Option(help="With --feedback: threads looked at.")] = 1000,
) -> None:
    """Save a finished thread as a replay case (AGENT/cases/NAME.yaml): read through the API
    when HITLBOT_URL is set (no Redis credentials needed), else from REDIS_URL."""
    from bot.evals.commands import CommandError, record_thread
    from bot.runtime.wiring import StartupError, load_agents

    if (thread_id is None) == (feedback is None):
        _stop("give a thread id, or --feedback up|down (not both)")
    api = (url, token) if url else None
    try:
        if feedback is not None:
            _record_rated(feedback, force, most)
            return
        assert thread_id is not None
        path = asyncio.run(record_thread(Settings(), load_agents(), thread_id, name, force, api))
    except (CommandError, StartupError) as exc:
        _stop(str(exc))
    typer.echo(f"recorded {thread_id} as {path}")


def _record_rated(rating: str, force: bool, most: int) -> None:
    from bot.evals.feedback import record_rated
    from bot.runtime.wiring import load_agents

    if rating not in ("up", "down"):
        _stop(f"--feedback is up or down, not {rating!r}")
    paths = asyncio.run(
        record_rated(Settings(), load_agents(), "up" if rating == "up" else "down", force, most)
    )
    for path in paths:
        typer.echo(f"recorded {path}")
    typer.echo(f"{len(paths)} thread(s) rated {rating} recorded")


def eval_(
    agent: str,
    case: Annotated[str | None, typer.Option(help="Only this case (its file name).")] = None,
    live: Annotated[
        bool, typer.Option(help="Ask the model (ANTHROPIC_API_KEY) instead of the recordings.")
    ] = False,
    accept: Annotated[
        bool, typer.Option(help="Re-record requests that changed (recorded mode).")
    ] = False,
) -> None:
    """Replay AGENT's cases against the current prompt and tools; exit 1 on a regression."""
    from bot.evals.commands import CommandError, run_eval
    from bot.runtime.wiring import StartupError, load_agents

    try:
        code = run_eval(Settings(), load_agents(), agent, case, live, accept, typer.echo)
    except (CommandError, StartupError) as exc:
        _stop(str(exc))
    raise typer.Exit(code)


def _stop(message: str) -> NoReturn:
    """The command cannot run as asked (exit 2, as for a bad configuration)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
