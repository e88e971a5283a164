"""LangGraph: an approval is a LangGraph interrupt, resolved by hitlbot.

Inside a graph (a node, or a tool run by `ToolNode`), `ask_approval` pauses the run with an
interrupt; `run_with_hitlbot` runs the graph (with a checkpointer), has each such interrupt
decided in hitlbot and resumes it with the decision. `approval_required` wraps a tool
function so it runs only once approved, with the approved (possibly edited) arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, interrupt

from bot.client.aio import AsyncHitlbot

MARK = "hitlbot"
"""Key that marks an interrupt's value as a hitlbot approval."""
R = TypeVar("R")


class Decided(TypedDict):
    """What an approval interrupt resumes with."""

    approved: bool
    comment: str | None
    kwargs: dict[str, Any]
    by: str | None


def ask_approval(fn: str, kwargs: dict[str, Any]) -> Decided:
    """Pause the graph until a human decides `fn(**kwargs)` (call inside a graph)."""
    decided: Decided = interrupt({MARK: "approval", "fn": fn, "kwargs": kwargs})
    return decided


def approval_required(fn: Callable[..., R]) -> Callable[..., R | str]:
    """`fn` runs only once approved, with the approved arguments; a rejection returns
    `"rejected by <who>: <why>"` for the model to read."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> R | str:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        decided = ask_approval(fn.__name__, dict(bound.arguments))
        if not decided["approved"]:
            return f"rejected by {decided['by']}: {decided['comment']}"
        return fn(**decided["kwargs"])

    return run


async def run_with_hitlbot(
    graph: Any, graph_input: Any, config: RunnableConfig, client: AsyncHitlbot, **ask: Any
) -> Any:
    """Run a compiled graph (with a checkpointer) to the end, every approval interrupt
    decided through hitlbot; returns the last `ainvoke` result."""
    result = await graph.ainvoke(graph_input, config)
    while True:
        state = await graph.aget_state(config)
        waiting = [
            item
            for item in state.interrupts
            if isinstance(item.value, dict) and item.value.get(MARK) == "approval"
        ]
        if not waiting:
            return result
        checkpoint = state.config.get("configurable", {}).get("checkpoint_id", "")
        resume: dict[str, Decided] = {}
        for item in waiting:
            decision = await client.approval(
                item.value["fn"], item.value["kwargs"], call_id=f"lg-{checkpoint}-{item.id}", **ask
            )
            resume[item.id] = Decided(
                approved=decision.approved,
                comment=decision.comment,
                kwargs=decision.kwargs,
                by=decision.by,
            )
        result = await graph.ainvoke(Command(resume=resume), config)
