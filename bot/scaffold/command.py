"""The `hitlbot new` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.scaffold.agent import ScaffoldError, next_steps, write_agent

new = typer.Typer(help="Write something new to start from.", no_args_is_help=True)


@new.command("agent")
def new_agent(
    name: str,
    dir: Annotated[Path, typer.Option(help="Folder of your agents (HITLBOT_AGENT_PATHS).")] = Path(
        "."
    ),
) -> None:
    """Write a working agent NAME under --dir: agent.py, prompt.md, offline rules, an eval
    case and a test; it runs in `hitlbot dev` at once."""
    root = dir.expanduser().resolve()
    try:
        written = write_agent(name, root)
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(next_steps(name, root, in_tree=False))
