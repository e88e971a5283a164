"""The offline model end to end: the real app, worker and Redis run deploy to done with it."""

from __future__ import annotations

import pytest

import bot.runtime.wiring
from bot.config import Settings
from bot.core.agent import Agent
from bot.core.timeline import timeline
from bot.runtime.discovery import shipped
from tests.conftest import app_client
from tests.helpers import tool_results, wait_for

AGENTS = shipped()


async def test_deploy_runs_to_done_with_the_offline_model(settings: Settings) -> None:
    offline = settings.model_copy(update={"model": "offline"})
    async with app_client(offline) as api:
        reply = await api.post(
            "/threads",
            json={"agent": "deploy", "message": "deploy api to production", "user": "ana"},
        )
        assert reply.status_code == 202, reply.text
        thread_id = reply.json()["thread_id"]

        question = (await wait_for(api, thread_id, "waiting_human"))["pending_request"]
        assert question["choices"] == ["1.4.2", "1.4.1", "1.4.0"]
        reply = await api.post(
            f"/threads/{thread_id}/responses",
            json={"request_id": question["request_id"], "user": "ana", "answer": "1.4.2"},
        )
        assert reply.status_code == 202, reply.text

        approval = (await wait_for(api, thread_id, "waiting_approval"))["pending_request"]
        assert approval["tool"]["args"] == {
            "service": "api",
            "version": "1.4.2",
            "environment": "production",
        }
        assert approval["tool"]["reason"].startswith("(offline model)")
        reply = await api.post(
            f"/threads/{thread_id}/responses",
            json={"request_id": approval["request_id"], "user": "ana", "approved": True},
        )
        assert reply.status_code == 202, reply.text

        view = await wait_for(api, thread_id, "done", "failed")
        assert view["status"] == "done", view
        assert tool_results(view, "deploy_service")[0]["result"]["status"] == "deployed"
        assert view["events"][-1]["message"] == "Deployed api 1.4.2 to production."
        assert view["model"] == "offline"
        assert "model=offline (rule-based stand-in, not Claude)" in timeline(view).splitlines()[0]


async def test_an_agent_without_offline_rules_gets_the_labelled_scripted_default(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = Agent(name="notes", description="d", prompt=AGENTS["deploy"].prompt, tools=())
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "notes": notes})
    async with app_client(settings.model_copy(update={"model": "offline"})) as api:
        reply = await api.post("/threads", json={"agent": "notes", "message": "hi"})
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, reply.json()["thread_id"], "done", "failed")
    assert view["status"] == "done", view
    assert "scripted default" in view["events"][-1]["message"]
