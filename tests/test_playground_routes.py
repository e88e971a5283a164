"""The playground's routes over HTTP: only in dev, real signed requests, clear 4xx on bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import Settings
from bot.standins.slack_workspace import Message
from tests.conftest import app_client
from tests.playground_support import Running, running_playground

DEV_ROUTES = [
    ("GET", "/"),
    ("GET", "/dev/panes"),
    ("GET", "/dev/static/playground.js"),
    ("POST", "/dev/slack/api/auth.test"),
    ("POST", "/dev/slack/post"),
    ("POST", "/dev/slack/click"),
    ("POST", "/dev/mail/send"),
]


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Running]:
    async with running_playground(settings) as running:
        yield running


async def test_the_dev_routes_do_not_exist_in_web(settings: Settings) -> None:
    async with app_client(settings, with_worker=False) as web:
        for method, path in DEV_ROUTES:
            reply = await web.request(method, path)
            assert reply.status_code == 404, (method, path, reply.text)


async def test_the_dev_routes_exist_in_dev(running: Running) -> None:
    page = await running.http.get("/")
    assert page.status_code == 200 and "offline model" in page.text
    script = await running.http.get("/dev/static/playground.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )


async def posted(running: Running, text: str, timeout: float = 15) -> Message:
    """Wait until the bot posted a message containing `text` in the built-in workspace."""
    assert running.playground.slack is not None
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in running.playground.slack.messages:
            if message.bot_id and text in str(message.blocks) + message.text:
                return message
        assert asyncio.get_running_loop().time() < deadline, f"no message with {text!r}"
        await asyncio.sleep(0.02)


async def test_a_click_is_a_signed_request_that_the_real_guard_checks(running: Running) -> None:
    reply = await running.http.post(
        "/dev/slack/post",
        json={"user": "U0BEN", "channel": "C0DEPLOYS", "text": "@hitlbot deploy api 1.4.2 to prod"},
    )
    assert reply.json() == {"status": 200, "body": None}
    card = await posted(running, "Approval needed")
    click = {"user": "U0MAYA", "channel": "C0DEPLOYS", "ts": card.ts, "action_id": "approve"}

    # Signed with another secret, the very same click is refused by /slack/events' guard.
    secret, running.playground.signing_secret = running.playground.signing_secret, "wrong"
    reply = await running.http.post("/dev/slack/click", json=click)
    assert reply.json()["status"] == 401
    assert "X-Slack-Signature does not match" in reply.json()["body"]["detail"]
    threads = (await running.http.get("/threads")).json()["threads"]
    assert threads[0]["status"] == "waiting_approval"

    running.playground.signing_secret = secret
    reply = await running.http.post("/dev/slack/click", json=click)
    assert reply.json()["status"] == 200
    await posted(running, "Deployed api 1.4.2 to production.")


async def test_bad_input_gets_a_clear_4xx(running: Running) -> None:
    cases = [
        ("/dev/slack/post", {"user": "U0NOBODY", "channel": "D0MAYA", "text": "hi"}, "no person"),
        ("/dev/slack/post", {"user": "U0BEN", "channel": "D0MAYA", "text": "hi"}, "not in"),
        ("/dev/slack/post", {"user": "U0MAYA", "channel": "C0DEPLOYS", "text": " "}, "write"),
        (
            "/dev/slack/click",
            {"user": "U0MAYA", "channel": "D0MAYA", "ts": "1.2", "action_id": "x"},
            "no message",
        ),
        ("/dev/slack/submit", {"user": "U0MAYA", "view_id": "V404"}, "no open modal"),
        ("/dev/mail/send", {"sender": "nobody", "text": "hi"}, "not an email address"),
        ("/dev/mail/reply", {"message_id": "<nope@x>", "text": "hi"}, "no mail"),
    ]
    for path, body, detail in cases:
        reply = await running.http.post(path, json=body)
        assert reply.status_code == 400, (path, reply.text)
        assert detail in reply.json()["detail"], (path, reply.text)
    reply = await running.http.post(
        "/dev/slack/post", content=b"{", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422
    reply = await running.http.get("/dev/panes", params={"person": "U0NOBODY"})
    assert reply.status_code == 400
    reply = await running.http.get("/dev/static/..%2Fkit.py")
    assert reply.status_code == 404
    # Another site's name resolved to 127.0.0.1 (DNS rebinding) gets nothing.
    reply = await running.http.get("/", headers={"Host": "evil.example"})
    assert reply.status_code == 403


async def test_the_built_in_web_api_wants_the_bot_token(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.url) as client:
        reply = await client.post("/dev/slack/api/auth.test")
        assert reply.json() == {"ok": False, "error": "not_authed"}
        reply = await client.post(
            "/dev/slack/api/auth.test", headers={"Authorization": "Bearer xoxb-other"}
        )
        assert reply.json() == {"ok": False, "error": "invalid_auth"}
        reply = await client.post(
            "/dev/slack/api/chat.postMessage",
            data={"token": "xoxb-playground", "channel": "C0DEPLOYS", "text": "hi"},
        )
        assert reply.json()["ok"] is True and reply.json()["message"]["text"] == "hi"


async def test_feedback_stop_and_the_status_line_in_the_playground(running: Running) -> None:
    workspace = running.playground.slack
    assert workspace is not None
    staging = {
        "user": "U0BEN",
        "channel": "C0DEPLOYS",
        "text": "@hitlbot deploy api 1.4.2 to staging",
    }
    assert (await running.http.post("/dev/slack/post", json=staging)).json()["status"] == 200
    answer = await posted(running, "staging")
    panes = (await running.http.get("/dev/panes", params={"person": "U0BEN"})).json()["slack"]
    assert 'data-click="feedback+"' in panes and 'data-click="feedback-"' in panes
    assert "bk-markdown" in panes
    down = {"user": "U0BEN", "channel": "C0DEPLOYS", "ts": answer.ts, "action_id": "feedback-"}
    assert (await running.http.post("/dev/slack/click", json=down)).json()["status"] == 200
    [thread] = (await running.http.get("/threads")).json()["threads"]
    view = (await running.http.get(f"/threads/{thread['id']}")).json()
    assert [(e["user"], e["rating"]) for e in view["events"] if e["type"] == "feedback"] == [
        ("U0BEN", "down")
    ]

    # The status line is drawn under its thread, with Stop beside it.
    workspace.agent.statuses[("C0DEPLOYS", answer.thread_ts or "")] = ("is thinking…", [])
    panes = (await running.http.get("/dev/panes", params={"person": "U0BEN"})).json()["slack"]
    assert "hitlbot is thinking…" in panes and "data-stop=" in panes
    workspace.agent.statuses.clear()

    production = staging | {"text": "@hitlbot deploy api 1.4.2 to prod"}
    assert (await running.http.post("/dev/slack/post", json=production)).json()["status"] == 200
    card = await posted(running, "Approval needed")
    mention_ts = card.thread_ts or card.ts
    stop = {"user": "U0BEN", "channel": "C0DEPLOYS", "thread_ts": mention_ts}
    assert (await running.http.post("/dev/slack/stop", json=stop)).json()["status"] == 200
    await posted(running, "Stopped by")
    threads = (await running.http.get("/threads", params={"status": "cancelled"})).json()
    assert len(threads["threads"]) == 1
