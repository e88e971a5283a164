"""The Slack test kit: the Web API stub, driven by the official clients, and signed requests."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.standins import slack_signing as signing
from bot.standins.slack_stub import SlackStub

SECRET = "test-signing-secret"
FAST = FixedValueRetryIntervalCalculator(fixed_internal=0.01)
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy* api?"}}]


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub() as slack:
        yield slack


@pytest.fixture
def client(stub: SlackStub) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=stub.api_url)


async def _error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


async def _post(url: str, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as res:
        return res.status, dict(res.headers), await res.json()


# -- Web API methods, through the official AsyncWebClient -------------------------------


async def test_api_url_is_a_base_url(stub: SlackStub) -> None:
    assert stub.api_url.startswith("http://127.0.0.1:")
    assert stub.api_url.endswith("/api/")


async def test_auth_test(stub: SlackStub, client: AsyncWebClient) -> None:
    res = await client.auth_test()
    assert res["ok"] is True
    assert (res["user_id"], res["bot_id"], res["team_id"]) == ("U0BOT", "B0BOT", "T0TEAM")
    assert res["url"] and res["team"] and res["user"]
    (call,) = stub.calls_to("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"


async def test_post_message_then_update(stub: SlackStub, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="C1", text="Deploy api?", blocks=BLOCKS)
    reply = await client.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    assert first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100"
    assert float(reply["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert (first["message"]["user"], first["message"]["bot_id"]) == ("U0BOT", "B0BOT")
    assert reply["message"]["thread_ts"] == first["ts"]

    updated = await client.chat_update(channel="C1", ts=first["ts"], text="Approved", blocks=[])
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", first["ts"], "Approved")
    card = stub.message("C1", first["ts"])
    assert card is not None and card.text == "Approved" and card.blocks == [] and card.edited
    assert [m.text for m in stub.messages] == ["Approved", "in thread"]
    assert stub.calls_to("chat.postMessage")[0].args["blocks"] == BLOCKS


async def test_post_message_errors(client: AsyncWebClient) -> None:
    assert await _error_of(client.chat_postMessage(channel="", text="x")) == "channel_not_found"
    # Raw call: the client itself warns (an error here) about a message without text.
    empty = client.api_call("chat.postMessage", json={"channel": "C1"})
    assert await _error_of(empty) == "no_text"


async def test_update_of_unknown_message(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="hi")
    unknown = client.chat_update(channel="C1", ts="1.000001", text="x")
    assert await _error_of(unknown) == "message_not_found"
    other_channel = client.chat_update(channel="C2", ts=posted["ts"], text="x")
    assert await _error_of(other_channel) == "message_not_found"


async def test_update_of_a_persons_message(stub: SlackStub, client: AsyncWebClient) -> None:
    theirs = stub.add_message("C1", "hello", user="U1")
    mine = client.chat_update(channel="C1", ts=theirs.ts, text="x")
    assert await _error_of(mine) == "cant_update_message"


async def test_post_ephemeral(stub: SlackStub, client: AsyncWebClient) -> None:
    res = await client.chat_postEphemeral(channel="C1", user="U2", text="Only approvers")
    assert res["message_ts"]
    (shown,) = stub.ephemerals
    assert (shown.channel, shown.user, shown.text) == ("C1", "U2", "Only approvers")
    assert stub.messages == []
    assert await _error_of(client.chat_postEphemeral(channel="C1", user="", text="x")) == (
        "user_not_in_channel"
    )


async def test_views_open_and_update(stub: SlackStub, client: AsyncWebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "reject",
        "private_metadata": "req_1",
        "title": {"type": "plain_text", "text": "Reject"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    view = opened["view"]
    assert view["id"] and view["callback_id"] == "reject" and view["private_metadata"] == "req_1"
    assert stub.views[view["id"]]["title"]["text"] == "Reject"

    new = modal | {"title": {"type": "plain_text", "text": "Rejected"}}
    updated = await client.views_update(view_id=view["id"], view=new, hash=view["hash"])
    assert updated["view"]["id"] == view["id"]
    assert stub.views[view["id"]]["title"]["text"] == "Rejected"

    stale = client.views_update(view_id=view["id"], view=new, hash=view["hash"])
    assert await _error_of(stale) == "hash_conflict"
    assert await _error_of(client.views_update(view_id="V404", view=new)) == "not_found"
    assert await _error_of(client.views_open(trigger_id="", view=modal)) == "invalid_arguments"


async def test_reactions(stub: SlackStub, client: AsyncWebClient) -> None:
    # A person's message, known to the app only from an event: Slack lets the bot react.
    await client.reactions_add(channel="C1", timestamp="1.000001", name="eyes")
    assert stub.reactions("C1", "1.000001") == ["eyes"]
    again = client.reactions_add(channel="C1", timestamp="1.000001", name="eyes")
    assert await _error_of(again) == "already_reacted"
    await client.reactions_remove(channel="C1", timestamp="1.000001", name="eyes")
    assert stub.reactions("C1", "1.000001") == []
    gone = client.reactions_remove(channel="C1", timestamp="1.000001", name="eyes")
    assert await _error_of(gone) == "no_reaction"


async def test_users_info_any_user(client: AsyncWebClient) -> None:
    res = await client.users_info(user="U123")
    assert res["user"]["id"] == "U123"
    assert res["user"]["profile"]["real_name"] and res["user"]["profile"]["display_name"]


async def test_users_info_with_a_user_table() -> None:
    async with SlackStub(users={"U1": "Ada Lovelace"}) as stub:
        client = AsyncWebClient(token="xoxb-test", base_url=stub.api_url)
        profile = (await client.users_info(user="U1"))["user"]["profile"]
        assert (profile["real_name"], profile["display_name"]) == ("Ada Lovelace", "ada")
        assert await _error_of(client.users_info(user="U2")) == "user_not_found"


async def test_conversations_info(client: AsyncWebClient) -> None:
    channel = (await client.conversations_info(channel="C1"))["channel"]
    assert channel["id"] == "C1" and channel["is_channel"]
    dm = (await client.conversations_info(channel="D1"))["channel"]
    assert dm["is_im"]


async def test_conversations_info_with_a_channel_table() -> None:
    async with SlackStub(channels={"C1": "deploys"}) as stub:
        client = AsyncWebClient(token="xoxb-test", base_url=stub.api_url)
        assert (await client.conversations_info(channel="C1"))["channel"]["name"] == "deploys"
        assert await _error_of(client.conversations_info(channel="C9")) == "channel_not_found"
        assert await _error_of(client.chat_postMessage(channel="C9", text="x")) == (
            "channel_not_found"
        )


async def test_conversations_replies(stub: SlackStub, client: AsyncWebClient) -> None:
    root = stub.add_message("C1", "<@U0BOT> deploy api", user="U1")
    await client.chat_postMessage(channel="C1", text="Which version?", thread_ts=root.ts)
    await client.chat_postMessage(channel="C1", text="elsewhere")
    stub.add_message("C1", "1.2.3", user="U1", thread_ts=root.ts)

    res = await client.conversations_replies(channel="C1", ts=root.ts)
    assert [m["text"] for m in res["messages"]] == [
        "<@U0BOT> deploy api",
        "Which version?",
        "1.2.3",
    ]
    assert res["messages"][0]["reply_count"] == 2
    assert "bot_id" not in res["messages"][0] and res["messages"][1]["bot_id"] == "B0BOT"
    assert await _error_of(client.conversations_replies(channel="C1", ts="9.9")) == (
        "thread_not_found"
    )


async def test_get_permalink(client: AsyncWebClient) -> None:
    res = await client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert res["permalink"].endswith("/archives/C1/p1700000000000100")


async def test_unknown_method(stub: SlackStub, client: AsyncWebClient) -> None:
    assert await _error_of(client.api_call("files.nonsense")) == "unknown_method"
    assert stub.calls_to("files.nonsense")


# -- authentication ----------------------------------------------------------------------


async def test_not_authed_without_a_token(stub: SlackStub) -> None:
    status, _, body = await _post(stub.api_url + "chat.postMessage", json={"channel": "C1"})
    assert (status, body) == (200, {"ok": False, "error": "not_authed"})
    # As on Slack, a JSON body cannot authenticate itself with a `token` field.
    _, _, body = await _post(stub.api_url + "auth.test", json={"token": "xoxb-test"})
    assert body["error"] == "not_authed"


async def test_invalid_auth(stub: SlackStub) -> None:
    client = AsyncWebClient(token="xoxp-user-token", base_url=stub.api_url)
    assert await _error_of(client.auth_test()) == "invalid_auth"
    assert stub.messages == []


async def test_accepted_tokens_can_be_set() -> None:
    async with SlackStub(tokens={"xoxb-right"}) as stub:
        wrong = AsyncWebClient(token="xoxb-wrong", base_url=stub.api_url)
        assert await _error_of(wrong.auth_test()) == "invalid_auth"
        right = AsyncWebClient(token="xoxb-right", base_url=stub.api_url)
        assert (await right.auth_test())["ok"]


async def test_form_encoded_call(stub: SlackStub) -> None:
    form = {"token": "xoxb-form", "channel": "C1", "text": "hi", "blocks": json.dumps(BLOCKS)}
    status, _, body = await _post(stub.api_url + "chat.postMessage", data=form)
    assert status == 200 and body["ok"] and body["message"]["blocks"] == BLOCKS
    (call,) = stub.calls_to("chat.postMessage")
    assert call.token == "xoxb-form"
    assert call.args == {"channel": "C1", "text": "hi", "blocks": BLOCKS}
    assert stub.messages[0].blocks == BLOCKS


async def test_form_encoded_call_through_the_client(stub: SlackStub) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=stub.api_url)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Why?"}, "blocks": []}
    res = await client.api_call(
        "views.open", data={"trigger_id": "1.2.3", "view": json.dumps(modal)}
    )
    assert res["view"]["title"]["text"] == "Why?"
    assert stub.calls_to("views.open")[0].args["view"] == modal


# -- fault injection -----------------------------------------------------------------------


async def test_rate_limit_then_success_with_the_sdk_retry_handler(stub: SlackStub) -> None:
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=stub.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    stub.fail("chat.postMessage", status=429, retry_after=0)
    res = await client.chat_postMessage(channel="C1", text="hi")
    assert res["ok"]
    assert len(stub.calls_to("chat.postMessage")) == 2
    assert [m.text for m in stub.messages] == ["hi"]


async def test_rate_limit_answer_is_slacks(stub: SlackStub) -> None:
    stub.fail("chat.postMessage", times=2)
    for _ in range(2):
        status, headers, body = await _post(
            stub.api_url + "chat.postMessage",
            json={"channel": "C1", "text": "x"},
            headers={"Authorization": "Bearer xoxb-test"},
        )
        assert (status, headers["Retry-After"], body["error"]) == (429, "1", "ratelimited")
    status, _, body = await _post(
        stub.api_url + "chat.postMessage",
        json={"channel": "C1", "text": "x"},
        headers={"Authorization": "Bearer xoxb-test"},
    )
    assert status == 200 and body["ok"]


async def test_server_error_then_success(stub: SlackStub) -> None:
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=stub.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=FAST)],
    )
    stub.fail("chat.update", status=503, times=2)
    posted = await client.chat_postMessage(channel="C1", text="hi")
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C1", ts=posted["ts"], text="x")
    assert info.value.response.status_code == 503
    assert len(stub.calls_to("chat.update")) == 2


async def test_scripted_api_error(stub: SlackStub, client: AsyncWebClient) -> None:
    stub.fail("*", error="channel_not_found")
    assert await _error_of(client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_reset(stub: SlackStub, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="hi")
    stub.fail("auth.test")
    stub.reset()
    assert stub.calls == [] and stub.messages == []
    assert (await client.auth_test())["ok"]


async def test_wait_for(stub: SlackStub, client: AsyncWebClient) -> None:
    with pytest.raises(TimeoutError):
        await stub.wait_for("chat.postMessage", timeout=0.05)
    await client.chat_postMessage(channel="C1", text="hi")
    (call,) = await stub.wait_for("chat.postMessage")
    assert call.args["text"] == "hi"


# -- run_in_thread, for sync code or code in another process ----------------------------


def test_run_in_thread_with_the_sync_client() -> None:
    with SlackStub().run_in_thread() as stub:
        client = WebClient(token="xoxb-test", base_url=stub.api_url)
        posted = client.chat_postMessage(channel="C1", text="hi")
        client.chat_update(channel="C1", ts=posted["ts"], text="bye")
        assert client.users_info(user="U1")["user"]["id"] == "U1"
        stub.fail("auth.test", error="account_inactive")
        with pytest.raises(SlackApiError) as info:
            client.auth_test()
        assert info.value.response["error"] == "account_inactive"
        assert [m.text for m in stub.messages] == ["bye"]
        assert [c.method for c in stub.calls] == [
            "chat.postMessage",
            "chat.update",
            "users.info",
            "auth.test",
        ]
    assert len(stub.calls) == 4  # still readable after stopping


# -- signed requests ------------------------------------------------------------------------


def test_signature_is_accepted_by_slack_sdk() -> None:
    body, headers = signing.event_callback(
        signing.app_mention_event("U1", "<@U0BOT> hi", "C1"), signing_secret=SECRET
    )
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)


def test_tampered_body_is_rejected() -> None:
    body, headers = signing.url_verification("abc", signing_secret=SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier(SECRET).is_valid_request(body.replace(b"abc", b"abd"), headers)


def test_stale_timestamp_is_rejected() -> None:
    stale = int(time.time()) - 10 * 60
    body, headers = signing.url_verification("abc", signing_secret=SECRET, timestamp=stale)
    assert headers["X-Slack-Request-Timestamp"] == str(stale)
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_sign_matches_slacks_documented_example() -> None:
    # The worked example in Slack's "Verifying requests from Slack" guide.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F"
        b"96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = signing.sign(secret, body, 1531420618)
    assert headers["X-Slack-Signature"] == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_event_callback_shape() -> None:
    event = signing.message_event("U1", "hello", "D1", thread_ts="1.000001")
    body, headers = signing.event_callback(event, event_id="Ev1", retry_num=2)
    payload = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    assert "X-Slack-Signature" not in headers
    assert payload["type"] == "event_callback" and payload["event_id"] == "Ev1"
    assert (payload["team_id"], payload["api_app_id"]) == ("T0TEAM", "A0APP")
    assert payload["event"]["channel_type"] == "im" and payload["event"]["thread_ts"] == "1.000001"
    first, first_headers = signing.event_callback(event)
    assert "X-Slack-Retry-Num" not in first_headers
    assert json.loads(first)["event_id"] != "Ev1"


def test_block_actions_shape() -> None:
    body, headers = signing.block_actions(
        "U1",
        [{"action_id": "approve", "value": "req_1"}],
        channel_id="C1",
        message_ts="1.000001",
        message={"text": "Deploy?", "blocks": BLOCKS},
    )
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U1", "username": "u1", "name": "u1", "team_id": "T0TEAM"}
    assert payload["container"]["channel_id"] == "C1"
    assert payload["container"]["message_ts"] == "1.000001"
    assert payload["channel"]["id"] == "C1" and payload["team"]["id"] == "T0TEAM"
    assert payload["message"]["ts"] == "1.000001" and payload["message"]["blocks"] == BLOCKS
    (action,) = payload["actions"]
    assert action["action_id"] == "approve" and action["value"] == "req_1"
    assert action["type"] == "button" and action["block_id"] and action["action_ts"]
    assert payload["trigger_id"] and payload["response_url"] and payload["api_app_id"]


# -- Bolt accepts what the builders send, and talks to the stub ----------------------------


async def test_bolt_round_trip(stub: SlackStub) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=stub.api_url)
    # Listeners finish before dispatch returns, so the asserts below do not race them.
    app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)
    seen: dict[str, Any] = {}

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await say(text="Deploy?", blocks=BLOCKS, thread_ts=event["ts"])

    @app.action("reject")
    async def on_reject(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await app.client.views_open(trigger_id=body["trigger_id"], view=_reject_modal())
        await respond(text="Opening…", replace_original=False)

    @app.view("reject_reason")
    async def on_reason(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen["reason"] = view["state"]["values"]["reason"]["text"]["value"]

    mention = signing.app_mention_event("U1", "<@U0BOT> deploy", "C1")
    res = await _dispatch(app, *signing.event_callback(mention, signing_secret=SECRET))
    assert res.status == 200
    card = (await stub.wait_for("chat.postMessage"))[0]
    assert card.args["thread_ts"] == mention["ts"]

    (posted,) = stub.messages
    click = signing.block_actions(
        "U1",
        [{"action_id": "reject", "value": "req_1"}],
        channel_id="C1",
        message_ts=posted.ts,
        message=posted.payload(),
        response_url=stub.response_url,
        signing_secret=SECRET,
    )
    assert (await _dispatch(app, *click)).status == 200
    await stub.wait_for("response_url")
    (view,) = stub.views.values()

    values = signing.plain_text_value("reason", "text", "not today")
    submit = signing.view_submission("U1", view, values=values, signing_secret=SECRET)
    assert (await _dispatch(app, *submit)).status == 200
    assert seen["reason"] == "not today"

    unsigned = signing.view_submission("U1", view, values=values)
    assert (await _dispatch(app, *unsigned)).status == 401


def _reject_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "reject_reason",
        "title": {"type": "plain_text", "text": "Reject"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }


async def _dispatch(app: AsyncApp, body: bytes, headers: dict[str, str]) -> Any:
    request = AsyncBoltRequest(body=body.decode(), headers={k: [v] for k, v in headers.items()})
    return await app.async_dispatch(request)
