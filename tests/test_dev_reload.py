"""`hitlbot dev --reload`: an agent's file changes, web and worker start again with it, and the
private Redis (its threads) and the page's state (the built-in workspace) survive."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.dev.embedded_redis import free_port
from tests.test_dev_command import CLEARED

HEADERS = {"Authorization": "Bearer dev"}


async def read_until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> None:
    while not any(text in line for line in seen):
        line = await asyncio.wait_for(stream.readline(), 60)
        assert line, f"hitlbot dev exited early: {seen}"
        seen.append(line.decode())


async def settled(client: httpx.AsyncClient, thread_id: str) -> dict[str, object]:
    params = {"wait": 20, "while_status": "running"}
    view: dict[str, object] = (await client.get(f"/threads/{thread_id}", params=params)).json()
    return view


@pytest.mark.timeout(150)
async def test_an_agent_change_restarts_web_and_worker_and_keeps_redis_and_the_page(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["new", "agent", "inventory", "--dir", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED} | {
        "PYTHONUNBUFFERED": "1",
        "HITLBOT_AGENT_PATHS": str(tmp_path / "a"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "dev", "--reload", "--port", str(port),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    url = f"http://127.0.0.1:{port}"
    try:
        await read_until(proc.stdout, "Reload: on changes under", seen)
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30) as client:
            for _ in range(300):
                if (await client.get("/healthz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            posted = await client.post(
                "/dev/slack/post",
                json={
                    "user": "U0BEN",
                    "channel": "C0INVENTORY",
                    "text": "@hitlbot add 10 of A-100",
                },
            )
            assert posted.json()["status"] == 200
            [summary] = (await client.get("/threads")).json()["threads"]
            view = await settled(client, summary["id"])
            assert view["status"] == "waiting_approval"

            rules = tmp_path / "a" / "inventory" / "offline.py"
            rules.write_text(
                rules.read_text().replace("Added {quantity}", "Now added {quantity}"),
                encoding="utf-8",
            )
            await read_until(proc.stdout, "reload: offline.py changed", seen)
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

            # The page's state survived: Ben's message and the card are still there.
            panes = await client.get(
                "/dev/panes", params={"person": "U0BEN", "conversation": "C0INVENTORY"}
            )
            assert "Approval needed: add_stock" in panes.json()["slack"]
            # So did Redis and its thread, which the new rules now finish.
            pending = (await client.get(f"/threads/{summary['id']}")).json()["pending_request"]
            decided = await client.post(
                f"/threads/{summary['id']}/responses",
                json={"request_id": pending["request_id"], "user": "U0MAYA", "approved": True},
            )
            assert decided.status_code == 202, decided.text
            view = await settled(client, summary["id"])
            done = [e for e in view["events"] if e["type"] == "done"]  # type: ignore[union-attr]
            assert done[-1]["message"] == "Now added 10 of A-100."
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
