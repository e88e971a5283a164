"""Bad input: each case gets a clear 4xx and changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.web.surrogates import lone_surrogate
from tests.helpers import snapshot, wait_for


@pytest.fixture
async def waiting(api: httpx.AsyncClient, anthropic_stub: AnthropicStub) -> dict[str, str]:
    """A thread waiting for approval, and its request id."""
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    reply = await api.post("/threads", json={"agent": "deploy", "message": "ship api"})
    thread_id = reply.json()["thread_id"]
    view = await wait_for(api, thread_id, "waiting_approval")
    return {"thread_id": thread_id, "request_id": view["pending_request"]["request_id"]}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "detail"),
    [
        (
            "POST",
            "/threads",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            422,
            "JSON decode error",
        ),
        (
            "POST",
            "/threads",
            {"json": {"agent": "nope", "message": "hi"}},
            404,
            "unknown agent 'nope'",
        ),
        ("POST", "/threads", {"json": {"agent": "deploy"}}, 422, "Field required"),
        (
            "POST",
            "/threads",
            {"json": {"agent": "deploy", "message": ""}},
            422,
            "at least 1 character",
        ),
        (
            "POST",
            "/threads",
            {"json": {"agent": "deploy", "message": "x" * 20_001}},
            413,
            "limit is 20000",
        ),
        (
            "POST",
            "/threads",
            {"json": {"agent": "deploy", "message": "hi", "extra": 1}},
            422,
            "Extra inputs",
        ),
        (
            "POST",
            "/threads",
            {"content": b"x" * 1_000_001, "headers": {"Content-Type": "application/json"}},
            413,
            "over 1000000 bytes",
        ),
        ("GET", "/threads/th_unknown", {}, 404, "no thread 'th_unknown'"),
        ("GET", "/threads", {"params": {"status": "sleeping"}}, 422, "Input should be"),
        ("GET", "/threads", {"params": {"cursor": "garbage|x"}}, 400, "cursor"),
        # Python's float reads these; Redis does not (a 500 once).
        ("GET", "/threads", {"params": {"cursor": "nan|x"}}, 400, "cursor"),
        ("GET", "/threads", {"params": {"cursor": "1_0|x"}}, 400, "cursor"),
        ("GET", "/threads", {"params": {"cursor": " 1|x"}}, 400, "cursor"),
        ("GET", "/threads", {"params": {"cursor": "infinity|x"}}, 400, "cursor"),
        ("GET", "/threads", {"params": {"limit": 0}}, 422, "greater than or equal to 1"),
        (
            "POST",
            "/threads/th_unknown/responses",
            {"json": {"request_id": "r", "user": "u", "approved": True}},
            404,
            "no thread",
        ),
    ],
)
async def test_bad_requests(
    api: httpx.AsyncClient,
    redis_client: Redis,
    settings: Settings,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    detail: str,
) -> None:
    before = await snapshot(redis_client, settings)
    reply = await api.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert reply.status_code == status, reply.text
    assert detail in reply.text
    assert await snapshot(redis_client, settings) == before


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"request_id": "th_x.rnope", "user": "bob", "approved": True}, 404, "has no request"),
        ({"request_id": "", "user": "bob", "approved": True}, 422, "at least 1 character"),
        ({"request_id": "th_x.r1", "user": 5, "approved": True}, 422, "valid string"),
        ({"user": "bob", "answer": "yes please"}, 422, "approval: send approved true or false"),
        ({"user": "bob", "approved": "maybe"}, 422, "valid boolean"),
        ({"user": "", "approved": True}, 422, "at least 1 character"),
        ({"user": "bob", "approved": False, "comment": "x" * 20_001}, 413, "limit is 20000"),
    ],
)
async def test_bad_responses_change_nothing(
    api: httpx.AsyncClient,
    redis_client: Redis,
    settings: Settings,
    waiting: dict[str, str],
    body: dict[str, object],
    status: int,
    detail: str,
) -> None:
    body = {"request_id": waiting["request_id"], **body}
    before = await snapshot(redis_client, settings)
    reply = await api.post(f"/threads/{waiting['thread_id']}/responses", json=body)
    assert reply.status_code == status, reply.text
    assert detail in reply.text
    assert await snapshot(redis_client, settings) == before
    assert (await api.get(f"/threads/{waiting['thread_id']}")).json()[
        "status"
    ] == "waiting_approval"


async def test_question_answered_with_a_decision_is_refused(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "which service?"})
    thread_id = (await api.post("/threads", json={"agent": "deploy", "message": "ship"})).json()[
        "thread_id"
    ]
    view = await wait_for(api, thread_id, "waiting_human")
    body = {"request_id": view["pending_request"]["request_id"], "user": "bob", "approved": True}
    reply = await api.post(f"/threads/{thread_id}/responses", json=body)
    assert reply.status_code == 422
    assert "question: send a non-empty answer" in reply.json()["detail"]


async def test_answering_twice_is_409_with_who(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub, waiting: dict[str, str]
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    url = f"/threads/{waiting['thread_id']}/responses"
    first = await api.post(
        url, json={"request_id": waiting["request_id"], "user": "bob", "approved": False}
    )
    assert first.status_code == 202
    again = await api.post(
        url, json={"request_id": waiting["request_id"], "user": "eve", "approved": True}
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "already rejected by bob"}


async def test_message_while_waiting_for_approval_is_409(
    api: httpx.AsyncClient, waiting: dict[str, str]
) -> None:
    reply = await api.post(f"/threads/{waiting['thread_id']}/messages", json={"message": "hello?"})
    assert reply.status_code == 409
    assert "waiting for an approval decision" in reply.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic dGVzdC10b2tlbg=="},
        {"Authorization": "test-token"},
    ],
)
async def test_token_required(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url), headers=headers) as client:
        for method, path in [("GET", "/threads"), ("POST", "/threads"), ("GET", "/threads/x")]:
            reply = await client.request(method, path, json={"agent": "deploy", "message": "hi"})
            assert reply.status_code == 401, (method, path)
            assert reply.json()["detail"] == "missing or wrong bearer token"
        assert (await client.get("/threads")).headers["www-authenticate"] == "Bearer"


async def test_health_and_metrics_and_docs(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"ok": True, "redis": "ok"}
    metrics = await api.get("/metrics")
    assert "hitlbot_launches" in metrics.text
    assert "/threads/{thread_id}/responses" in (await api.get("/openapi.json")).text
    assert (await api.get("/docs")).status_code == 200


async def test_a_chunked_body_over_the_limit_is_refused(
    api: httpx.AsyncClient, redis_client: Redis, settings: Settings
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"agent": "deploy", "message": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    before = await snapshot(redis_client, settings)
    reply = await api.post(
        "/threads", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 413 and "over 1000000 bytes" in reply.text
    assert await snapshot(redis_client, settings) == before


LONE = "\ud800"
"""A lone surrogate: `json.dumps` spells it `"\\ud800"`, and `json.loads` reads it back into
a str UTF-8 cannot encode."""


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ({"agent": "deploy", "message": f"hi {LONE}"}, "application/json", 400),
        ({"agent": "deploy", "message": "hi", "x": LONE}, "application/json", 400),
        ({"agent": "deploy", "message": "hi", "user": "\udfff"}, "application/json", 400),
        ({LONE: 1}, "application/json; charset=utf-8", 400),
        # Without a Content-Type FastAPI does not read it as JSON: its own 422.
        ({"agent": "deploy", "message": "hi", "x": LONE}, None, 422),
    ],
)
async def test_a_lone_surrogate_is_refused_with_a_message(
    api: httpx.AsyncClient,
    redis_client: Redis,
    settings: Settings,
    body: dict[str, object],
    content_type: str | None,
    status: int,
) -> None:
    before = await snapshot(redis_client, settings)
    headers = {"Content-Type": content_type} if content_type else {}
    reply = await api.post("/threads", content=json.dumps(body).encode(), headers=headers)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]
    assert await snapshot(redis_client, settings) == before


async def test_a_lone_surrogate_in_an_answer_is_refused(
    api: httpx.AsyncClient, waiting: dict[str, str]
) -> None:
    answer = {"request_id": waiting["request_id"], "user": "bob"}
    args = {"service": LONE, "version": "1.4.2", "environment": "production"}
    for body in (
        {**answer, "approved": False, "comment": LONE},  # once a 500 from the commit
        {**answer, "approved": True, "args": args},
    ):
        reply = await api.post(
            f"/threads/{waiting['thread_id']}/responses",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert reply.status_code == 400, reply.text
        assert "not valid Unicode" in reply.json()["detail"]
    view = (await api.get(f"/threads/{waiting['thread_id']}")).json()
    assert view["status"] == "waiting_approval"


def test_only_lone_surrogates_count() -> None:
    assert lone_surrogate(b'{"a": "\\ud800"}')
    assert lone_surrogate(b'{"a": ["x", {"b": "\\uDFFF"}]}')
    assert lone_surrogate('{"a": "\ud800"}'.encode("utf-8", "surrogatepass"))  # raw bytes
    assert not lone_surrogate(b'{"a": "\\ud83d\\ude00"}')  # a pair: one character
    assert not lone_surrogate('{"a": "caf\u00e9 \U0001f600"}'.encode())
    assert not lone_surrogate(b'{"a": "\\ud800')  # not JSON: the route's to refuse


async def test_a_lone_surrogate_in_an_external_call_is_refused(
    api: httpx.AsyncClient, redis_client: Redis, settings: Settings
) -> None:
    """The HumanLayer route's `kwargs` are any JSON: nothing in the model would refuse it."""
    before = await snapshot(redis_client, settings)
    call = {"call_id": "c1", "spec": {"fn": "deploy", "kwargs": {"service": f"api{LONE}"}}}
    reply = await api.post(
        "/humanlayer/v1/function_calls",
        content=json.dumps(call).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 400, reply.text
    assert "not valid Unicode" in reply.json()["detail"]
    assert await snapshot(redis_client, settings) == before
