"""Logs: one pipeline for our events and the standard library's records, tracebacks without
local variables, URLs without what may be a credential."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from agents.deploy.agent import AGENT as DEPLOY
from bot.config import Settings
from bot.core.agent import Agent
from bot.core.decide import RunTool
from bot.core.events import Error, ToolCall, UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.core.tools import Tool, ToolContext
from bot.logs import configure
from bot.runtime.deps import Deps
from bot.runtime.step import step
from bot.store.agentstore import AgentRecordsStore
from bot.store.keys import Keys
from tests.helpers import T0

SECRET = "xoxb-SECRET-BOT-TOKEN"


@pytest.fixture
def logged() -> Iterator[Any]:
    """`logged(json)`: logs go to a buffer in that mode; the buffer is returned."""
    out = io.StringIO()

    def to_buffer(json: bool) -> io.StringIO:
        configure(json=json, stream=out)
        return out

    yield to_buffer
    configure(level="INFO", json=False)  # as the suite's conftest has it


class NoArgs(BaseModel):
    pass


async def explode(args: NoArgs, ctx: ToolContext) -> None:
    bot_token = SECRET  # what a tool holds: settings, a client, a password
    raise RuntimeError(f"upstream said no ({len(bot_token)})")


@pytest.mark.parametrize("json_mode", [False, True])
async def test_a_raising_tool_logs_its_traceback_without_locals(
    logged: Any, settings: Settings, json_mode: bool
) -> None:
    out = logged(json_mode)
    tool = Tool(name="explode", description="", args=NoArgs, run=explode)
    agent = Agent(name="x", description="", prompt=DEPLOY.prompt, tools=(tool,))
    # A tool step uses the settings, keys and agents only: the rest is left out.
    given: dict[str, Any] = {"settings": settings, "keys": Keys(), "agents": {"x": agent}}
    given["records"] = AgentRecordsStore(None, Keys())  # type: ignore[arg-type]  # not reached
    missing = dataclasses.MISSING
    required = [
        f.name
        for f in dataclasses.fields(Deps)
        if f.default is missing and f.default_factory is missing
    ]
    deps = Deps(**{name: given.get(name) for name in required})
    thread = Thread(
        id="th_l",
        agent="x",
        origin=ApiOrigin(),
        events=[UserMessage(text="go", at=T0)],
        created_at=T0,
    )
    call = ToolCall(call_id="call_1", name="explode", args={}, at=T0)
    [error] = await step(thread, agent, RunTool(call), deps)
    assert isinstance(error, Error) and "upstream said no" in error.message
    text = out.getvalue()
    assert "tool raised" in text and "RuntimeError: upstream said no (21)" in text
    assert SECRET not in text, text  # rich's tracebacks showed every local on a terminal
    if json_mode:
        [line] = [json.loads(line) for line in text.splitlines()]
        assert line["event"] == "tool raised" and "exc_info" not in line
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert "in explode\n    raise RuntimeError" in line["exception"]


def test_standard_library_records_are_rendered_like_ours(logged: Any) -> None:
    out = logged(True)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("httpx2").info(
        'HTTP Request: POST %s "HTTP/1.1 200 OK"',
        "https://mcp.example.com/v1/tok_SECRET/mcp?api_key=SECRET2",
    )
    try:
        raise ValueError("bad frame")
    except ValueError:
        logging.getLogger("taskiq.receiver").exception("task failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("uvicorn.error", "info"),
        ("httpx2", "info"),
        ("taskiq.receiver", "error"),
    ]
    assert lines[0]["event"] == "Started server process [42]" and "timestamp" in lines[0]
    assert lines[1]["event"] == 'HTTP Request: POST https://mcp.example.com/… "HTTP/1.1 200 OK"'
    assert "ValueError: bad frame" in lines[2]["exception"]


def test_console_mode_renders_standard_library_records_too(logged: Any) -> None:
    out = logged(False)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    text = out.getvalue()
    assert "warning" in text and "Invalid HTTP request received." in text
    assert "uvicorn.error" in text
    assert not text.lstrip().startswith("{")


def test_configuring_again_replaces_the_handler(logged: Any) -> None:
    logged(True)
    configure(json=True, stream=sys.stderr)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_hitlbot_logs", False)]
    assert len(ours) == 1
