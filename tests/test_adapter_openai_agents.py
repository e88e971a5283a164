"""The OpenAI Agents SDK adapter: a `needs_approval` tool decided in Slack through hitlbot (the
SDK's own `ScriptedModel`), the agent run in a process outside hitlbot's source folder."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.conftest import APPROVER, SlackDriver
from tests.humanlayer_support import pending

SCRIPT = Path(__file__).with_name("openai_agents_run.py")


async def test_a_needs_approval_tool_runs_once_approved(slack: SlackDriver, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        str(slack.api.base_url),
        cwd=tmp_path,  # not the repo: `import agents` is the SDK there
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        view, card = await pending(slack, timeout=30)
        assert card.channel == "COPS"
        assert view["pending_request"]["tool"]["args"] == {"service": "api"}
        await slack.click(card, "approve", user=APPROVER)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()[-2000:]
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"output": "ok", "runs": ["api"]}
