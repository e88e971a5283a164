"""End to end over real sockets: the API, a worker, Redis, and the Anthropic stand-in."""

from __future__ import annotations

import asyncio
import json

import httpx
from redis.asyncio import Redis

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import Keys
from tests.helpers import tool_results, types, wait_for


async def launch(api: httpx.AsyncClient, message: str = "deploy api 1.4.2 to production") -> str:
    reply = await api.post("/threads", json={"agent": "deploy", "message": message, "user": "ana"})
    assert reply.status_code == 202, reply.text
    thread_id: str = reply.json()["thread_id"]
    return thread_id


async def test_question_then_approval_then_done(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub, settings: Settings, redis_client: Redis
) -> None:
    stub = anthropic_stub
    stub.reply_tool(
        "request_more_information", {"message": "Which version?", "choices": ["1.4.1", "1.4.2"]}
    )
    thread_id = await launch(api, "deploy api to production")

    view = await wait_for(api, thread_id, "waiting_human")
    pending = view["pending_request"]
    assert pending["kind"] == "question" and pending["choices"] == ["1.4.1", "1.4.2"]
    # The prefetched service list reached the model before its first call.
    first_context = stub.requests[0].context
    assert "<list_services_result>" in first_context and "- api" in first_context
    assert stub.requests[0].body["tool_choice"] == {
        "type": "any",
        "disable_parallel_tool_use": True,
    }

    stub.reply_tool(
        "deploy_service",
        {"service": "api", "version": "1.4.2", "environment": "production", "reason": "asked"},
    )
    reply = await api.post(
        f"/threads/{thread_id}/responses",
        json={"request_id": pending["request_id"], "user": "ana", "answer": "1.4.2"},
    )
    assert reply.status_code == 202, reply.text
    view = await wait_for(api, thread_id, "waiting_approval")
    approval = view["pending_request"]
    assert approval["tool"] == {
        "name": "deploy_service",
        "args": {"service": "api", "version": "1.4.2", "environment": "production"},
        "reason": "asked",
    }
    assert "<human_response>\nanswer: 1.4.2\n</human_response>" in stub.requests[1].context
    assert not tool_results(view, "deploy_service")  # nothing ran before the decision

    stub.reply_tool("done_for_now", {"message": "api 1.4.2 is live in production"})
    reply = await api.post(
        f"/threads/{thread_id}/responses",
        json={"request_id": approval["request_id"], "user": "bob", "approved": True},
    )
    assert reply.status_code == 202, reply.text
    view = await wait_for(api, thread_id, "done")
    assert view["pending_request"] is None
    [result] = tool_results(view, "deploy_service")
    assert result["result"]["status"] == "deployed"
    deploys = await redis_client.hgetall(Keys(settings.redis_prefix).agent("deploy", "deploys"))
    assert [json.loads(v)["call_id"] for v in deploys.values()] == [result["call_id"]]
    assert types(view)[-2:] == ["tool_call", "done"]
    assert len(stub.requests) == 3  # exactly one Messages request per model step


async def test_rejection_reaches_the_model(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    stub = anthropic_stub
    stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    thread_id = await launch(api)
    view = await wait_for(api, thread_id, "waiting_approval")
    stub.reply_tool("done_for_now", {"message": "Not deployed: rejected."})
    reply = await api.post(
        f"/threads/{thread_id}/responses",
        json={
            "request_id": view["pending_request"]["request_id"],
            "user": "bob",
            "approved": False,
            "comment": "freeze until Monday",
        },
    )
    assert reply.status_code == 202
    view = await wait_for(api, thread_id, "done")
    assert not tool_results(view, "deploy_service")
    context = stub.requests[-1].context
    assert (
        "<human_response>\napproved: false\ncomment: freeze until Monday\n</human_response>"
        in context
    )


async def test_staging_runs_without_approval(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "web", "version": "2.1.0", "environment": "staging"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "web 2.1.0 is on staging"})
    thread_id = await launch(api, "web 2.1.0 to staging")
    view = await wait_for(api, thread_id, "done")
    assert len(tool_results(view, "deploy_service")) == 1
    assert "human_request" not in types(view)


async def test_concurrent_decisions_only_one_wins(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "done"})
    thread_id = await launch(api)
    view = await wait_for(api, thread_id, "waiting_approval")
    request_id = view["pending_request"]["request_id"]

    async def decide(user: str, approved: bool) -> httpx.Response:
        body = {"request_id": request_id, "user": user, "approved": approved}
        return await api.post(f"/threads/{thread_id}/responses", json=body)

    replies = await asyncio.gather(*(decide(f"u{i}", i % 2 == 0) for i in range(10)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [202] + [409] * 9
    winner = next(r for r in replies if r.status_code == 202)
    view = await wait_for(api, thread_id, "done")
    [response] = [e for e in view["events"] if e["type"] == "human_response"]
    verdict = "approved" if response["approved"] else "rejected"
    for reply in replies:
        if reply.status_code == 409:
            assert reply.json()["detail"] == f"already {verdict} by {response['user']}"
    assert winner.json()["thread_id"] == thread_id
    assert len(tool_results(view, "deploy_service")) == (1 if response["approved"] else 0)


async def test_three_errors_ask_a_human(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", {"service": "api"})  # missing arguments
    anthropic_stub.reply_tool("no_such_tool", {})
    anthropic_stub.reply_tool("list_versions", {"service": "nope"})  # runs, fails
    thread_id = await launch(api)
    view = await wait_for(api, thread_id, "waiting_human")
    errors = [e for e in view["events"] if e["type"] == "error"]
    assert [e["kind"] for e in errors] == ["validation", "unknown_tool", "tool"]
    assert "version: Field required" in errors[0]["message"]
    assert "unknown service 'nope'" in view["pending_request"]["message"]
    # Each error was shown to the model on the next step (factor 9).
    assert "<error>" in anthropic_stub.requests[1].context
    assert len(anthropic_stub.requests) == 3


async def test_model_outage_fails_the_thread_with_the_reason(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.fail(529, times=3)  # the first try and both scheduled retries
    thread_id = await launch(api)
    view = await wait_for(api, thread_id, "failed")
    assert "unavailable after retries" in view["error"] and "529" in view["error"]
    assert len(anthropic_stub.requests) == 3


async def test_model_recovers_within_retries(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.fail(429, times=2)
    anthropic_stub.reply_tool("done_for_now", {"message": "here"})
    thread_id = await launch(api, "what can you deploy?")
    view = await wait_for(api, thread_id, "done")
    assert view["events"][-1]["message"] == "here"


async def test_new_message_starts_the_next_turn(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "first"})
    thread_id = await launch(api, "hi")
    await wait_for(api, thread_id, "done")
    anthropic_stub.reply_tool("done_for_now", {"message": "second"})
    reply = await api.post(f"/threads/{thread_id}/messages", json={"message": "and now?"})
    assert reply.status_code == 202
    view = await wait_for(api, thread_id, "done")
    assert [e["message"] for e in view["events"] if e["type"] == "done"] == ["first", "second"]


async def test_listing_filters_by_status(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    done_id = await launch(api, "hi")
    await wait_for(api, done_id, "done")
    anthropic_stub.reply_tool("request_more_information", {"message": "which?"})
    waiting_id = await launch(api, "deploy something")
    await wait_for(api, waiting_id, "waiting_human")

    everything = (await api.get("/threads")).json()
    assert [t["id"] for t in everything["threads"]] == [waiting_id, done_id]
    waiting = (await api.get("/threads", params={"status": "waiting_human"})).json()
    assert [t["id"] for t in waiting["threads"]] == [waiting_id]
    page = (await api.get("/threads", params={"limit": 1})).json()
    assert [t["id"] for t in page["threads"]] == [waiting_id]
    rest = (await api.get("/threads", params={"limit": 1, "cursor": page["next_cursor"]})).json()
    assert [t["id"] for t in rest["threads"]] == [done_id]
