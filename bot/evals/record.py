"""`hitlbot record`: a finished thread as a case, each model step's request rebuilt exactly.

The request is not stored when the step runs: rendering is pure and a step stamps its events
with the time it rendered its prompt at, so the events before a step, at that time, under the
worker's context budget, give back what it sent (`bot.core.rebuild`; a test checks it against the
requests the Anthropic stand-in received).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.agent import Agent
from bot.core.events import Error, Event, ToolCall, ToolResult
from bot.core.model import REASON_FIELD
from bot.core.rebuild import ModelStepAt, model_steps
from bot.core.thread import Thread
from bot.evals.case import Case, Reply, Request, Step, digest
from bot.llm.claude import request_params


class NotRecordable(Exception):
    """The thread cannot be a case yet; the message says why and what to do."""


def recordable(thread: Thread) -> None:
    """NotRecordable unless the thread is finished (status `done`)."""
    status = thread.status
    if status == "done":
        return
    why = {
        "running": "it is still running: record it once the agent has answered",
        "waiting_human": (
            "it waits for an answer to its question: answer it "
            f'(hitlbot respond {thread.id} --answer "..."), then record it once it is done'
        ),
        "waiting_approval": (
            f"it waits for an approval: decide it (hitlbot respond {thread.id} --approve), "
            "then record it once it is done"
        ),
        "failed": (
            "it failed, so its last step is an outage or a broken agent, not behaviour to keep: "
            f"see hitlbot show {thread.id}"
        ),
    }[status]
    raise NotRecordable(f"thread {thread.id} is {status}, not done: {why}")


def record(thread: Thread, agent: Agent, name: str, budget: int, now: datetime) -> Case:
    """The case of a finished thread (NotRecordable if it is not)."""
    recordable(thread)
    steps = model_steps(thread, agent, budget, prompt=agent.prompt.read_text(encoding="utf-8"))
    if not steps:
        raise NotRecordable(f"thread {thread.id} has no model step to replay")
    toolsets: dict[str, list[dict[str, Any]]] = {}
    recorded = [_step(thread.events, step, toolsets) for step in steps]
    return Case(
        agent=agent.name,
        name=name,
        thread_id=thread.id,
        recorded_at=now,
        origin=thread.origin,
        context_tokens=budget,
        events=thread.events,
        toolsets=toolsets,
        steps=recorded,
    )


def request_of(step: ModelStepAt, toolsets: dict[str, list[dict[str, Any]]]) -> Request:
    """The step's request as the adapter sends it, its tool set filed under its digest."""
    params = request_params(
        system=step.input.system, context=step.input.context, tools=step.input.tools
    )
    tools = params.pop("tools")
    key = digest(tools)
    toolsets.setdefault(key, tools)
    return Request(**params, tools=key)


def _step(
    events: list[Event], step: ModelStepAt, toolsets: dict[str, list[dict[str, Any]]]
) -> Step:
    first = events[step.index]
    if not isinstance(first, ToolCall):
        return Step(index=step.index, request=request_of(step, toolsets), reply=None)
    args = dict(first.args)
    if first.reason is not None and REASON_FIELD not in args:
        args[REASON_FIELD] = first.reason
    return Step(
        index=step.index,
        request=request_of(step, toolsets),
        reply=Reply(tool=first.name, args=args),
        result=_result(events, first.call_id),
    )


def _result(events: list[Event], call_id: str) -> Any:
    for event in events:
        if isinstance(event, ToolResult) and event.call_id == call_id:
            return event.result
        if isinstance(event, Error) and event.call_id == call_id:
            return {"error": event.message}
    return None
