"""A commit that Redis ran, retried because its reply was lost, is answered as done, not 409."""

from __future__ import annotations

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import types, wait_for
from tests.tcp_proxy import CuttingProxy


async def test_a_retried_decision_is_answered_2xx(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with CuttingProxy(settings.redis_url or "").running() as proxy:
        async with app_client(settings.model_copy(update={"redis_url": proxy.url})) as api:
            reply = await api.post("/threads", json={"agent": "deploy", "message": "ship it"})
            thread_id = reply.json()["thread_id"]
            view = await wait_for(api, thread_id, "waiting_approval")
            # The decision's commit reaches Redis and runs; its reply is lost with the
            # connection, so the client retries the very same commit.
            proxy.cut_reply_to(b"human_response")
            request_id = view["pending_request"]["request_id"]
            decision = {"request_id": request_id, "approved": True, "user": "ana"}
            answered = await api.post(f"/threads/{thread_id}/responses", json=decision)
            assert proxy.cut.is_set()
            assert answered.status_code == 202, answered.text
            view = await wait_for(api, thread_id, "done")
    assert types(view).count("human_response") == 1
    assert types(view).count("tool_result") == 2  # the prefetch, and the deploy once
