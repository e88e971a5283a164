"""The CLI against a running app: launch, list, show, respond."""

from __future__ import annotations

import asyncio
import re

import httpx
from typer.testing import CliRunner

from bot.cli import app
from bot.standins.anthropic_stub import AnthropicStub


async def run(*args: str) -> tuple[int, str]:
    """Invoke the CLI in a thread (it is sync; the app under test runs on this loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_launch_pause_respond_done(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    conn = ["--url", str(api.base_url), "--token", "test-token"]
    anthropic_stub.reply_tool(
        "deploy_service",
        {"service": "api", "version": "1.4.2", "environment": "production", "reason": "asked"},
    )
    code, out = await run("launch", "deploy", "deploy api 1.4.2 to production", *conn)
    assert code == 0, out
    assert "status=waiting_approval" in out and "next: hitlbot respond th_" in out
    thread_id = re.search(r"^launched (th_\w+)$", out, re.M).group(1)  # type: ignore[union-attr]

    code, out = await run("threads", "--status", "waiting_approval", *conn)
    assert thread_id in out

    anthropic_stub.reply_tool("done_for_now", {"message": "api 1.4.2 is live"})
    code, out = await run("respond", thread_id, "--approve", "--user", "bob", *conn)
    assert code == 0, out
    assert "ok approved by bob" in out and "== api 1.4.2 is live" in out

    code, out = await run("show", thread_id, *conn)
    assert "status=done" in out and "<- deploy_service" in out


async def test_errors_are_plain_and_exit_nonzero(api: httpx.AsyncClient) -> None:
    code, out = await run("show", "th_nope", "--url", str(api.base_url), "--token", "test-token")
    assert code == 1 and "HTTP 404: no thread 'th_nope'" in out
    code, out = await run("threads", "--url", str(api.base_url), "--token", "wrong")
    assert code == 1 and "HTTP 401" in out
    code, out = await run("threads", "--url", "http://127.0.0.1:9", "--token", "x")
    assert code == 1 and "cannot reach hitlbot" in out


async def test_respond_on_a_finished_thread_says_its_status_and_what_to_run(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    conn = ["--url", str(api.base_url), "--token", "test-token"]
    anthropic_stub.reply_tool("done_for_now", {"message": "api and web"})
    code, out = await run("launch", "deploy", "what can you deploy?", *conn)
    assert code == 0 and "status=done" in out, out
    thread_id = re.search(r"^launched (th_\w+)$", out, re.M).group(1)  # type: ignore[union-attr]

    code, out = await run("respond", thread_id, "--approve", *conn)
    assert code == 1
    assert f"thread {thread_id} is done: nothing on it waits for an answer" in out
    assert f"hitlbot show {thread_id}" in out and f'hitlbot message {thread_id} "..."' in out

    # The command it suggests works: the thread takes its next turn.
    anthropic_stub.reply_tool("done_for_now", {"message": "still api and web"})
    code, out = await run("message", thread_id, "and now?", *conn)
    assert code == 0, out
    assert f"sent; {thread_id} resumes" in out and "== still api and web" in out


async def test_respond_on_a_failed_thread_says_why_it_failed(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    conn = ["--url", str(api.base_url), "--token", "test-token"]
    anthropic_stub.fail(400, message="bad schema")
    code, out = await run("launch", "deploy", "ship it", *conn)
    assert code == 1 and "status=failed" in out, out
    thread_id = re.search(r"^launched (th_\w+)$", out, re.M).group(1)  # type: ignore[union-attr]

    code, out = await run("respond", thread_id, "--answer", "1.4.2", *conn)
    assert code == 1
    assert f"thread {thread_id} failed (the Messages API rejected the request" in out
    assert f"hitlbot show {thread_id}" in out and f"hitlbot message {thread_id}" in out
