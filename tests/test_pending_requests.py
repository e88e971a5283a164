"""The operator's view of what waits: `GET /requests?status=pending`, `hitlbot pending`, and the
`hitlbot_pending_requests` gauge of `/metrics`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.api.requests import seconds
from bot.cli import app
from bot.config import Settings
from tests.conftest import app_client
from tests.helpers import wait_for

POLICY = """
[deploy.deploy_service]
approvers = ["U0SRE1", "U0SRE2", "U0ANA"]
quorum = 2
remind_after = "10m"
expire_after = "2h"
"""


@pytest.fixture
def offline(settings: Settings, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return settings.model_copy(update={"model": "offline", "policy_file": str(policy)})


async def test_a_pending_approval_is_listed_with_its_deciders_votes_and_deadline(
    offline: Settings,
) -> None:
    async with app_client(offline) as api:
        launched = await api.post(
            "/threads",
            json={"agent": "deploy", "message": "deploy api 1.4.2 to production", "user": "U0ANA"},
        )
        thread_id = launched.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        request_id = view["pending_request"]["request_id"]
        voted = await api.post(
            f"/threads/{thread_id}/responses",
            json={"request_id": request_id, "user": "U0SRE1", "approved": True},
        )
        assert voted.status_code == 202, voted.text
        question = await api.post("/threads", json={"agent": "deploy", "message": "deploy"})
        asked = await wait_for(api, question.json()["thread_id"], "waiting_human")

        listing = (await api.get("/requests", params={"status": "pending"})).json()
        only_deploy = (await api.get("/requests", params={"agent": "support"})).json()
        old = (await api.get("/requests", params={"older_than": "1h"})).json()
        bad = await api.get("/requests", params={"older_than": "soon"})
        other = await api.get("/requests", params={"status": "done"})
        metrics = (await api.get("/metrics")).text

    assert listing["count"] == 2
    approval = next(e for e in listing["requests"] if e["thread_id"] == thread_id)
    assert approval["agent"] == "deploy" and approval["kind"] == "approval"
    assert approval["tool"] == {
        "name": "deploy_service",
        "args": {"service": "api", "version": "1.4.2", "environment": "production"},
    }
    # The requester may not approve their own deploy; one of two votes is in.
    assert approval["deciders"] == {"users": ["U0SRE1", "U0SRE2"], "groups": []}
    assert approval["votes"] == [{"user": "U0SRE1", "approved": True}]
    assert approval["quorum"] == 2
    assert approval["next_deadline"]["step"] == "remind"
    assert approval["requested_at"] and approval["age_s"] >= 0
    waiting = next(e for e in listing["requests"] if e["thread_id"] == asked["id"])
    assert waiting["kind"] == "question" and waiting["question"].startswith("Which service")
    assert only_deploy["requests"] == [] and old["requests"] == []
    assert bad.status_code == 400 and "older_than='soon'" in bad.json()["detail"]
    assert other.status_code == 422
    assert 'hitlbot_pending_requests{age="lt_5m",agent="deploy",kind="approval"} 1.0' in metrics
    assert 'hitlbot_pending_requests{age="lt_5m",agent="deploy",kind="question"} 1.0' in metrics
    assert 'hitlbot_pending_requests{age="gte_1d",agent="support",kind="approval"} 0.0' in metrics


async def test_hitlbot_pending_prints_what_waits(offline: Settings) -> None:
    async with app_client(offline) as api:
        launched = await api.post(
            "/threads", json={"agent": "deploy", "message": "deploy web 2.1.0 to production"}
        )
        await wait_for(api, launched.json()["thread_id"], "waiting_approval")
        url = str(api.base_url)
        result = await _invoke(["pending", "--url", url, "--token", "test-token"])
    assert result.exit_code == 0, result.output
    assert "deploy  approve deploy_service(service='web'" in result.output
    assert "by: U0ANA, U0SRE1, U0SRE2  votes 0/2  next: remind at" in result.output
    assert result.output.rstrip().endswith("1 pending")


async def _invoke(args: list[str]) -> Result:
    """The command, run off the event loop (it calls the app this loop serves)."""
    return await asyncio.to_thread(CliRunner().invoke, app, args)


@pytest.mark.parametrize(
    ("text", "value"),
    [("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0)],
)
def test_durations(text: str, value: float) -> None:
    assert seconds(text) == value
