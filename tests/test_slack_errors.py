"""Bad input at `/slack/events`: each is refused clearly and changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import httpx

from bot.core.jsondata import Json
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_workspace import Ephemeral, Message
from tests.conftest import APPROVER, APPROVER_2, ASKER, SLACK_SECRET, SlackDriver
from tests.helpers import tool_results, wait_for

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


async def test_url_verification_is_answered(slack: SlackDriver) -> None:
    reply = await slack.send(signing.url_verification("ch4llenge", signing_secret=SLACK_SECRET))
    assert reply.status_code == 200 and reply.json() == {"challenge": "ch4llenge"}


async def test_unsigned_badly_signed_and_stale_requests_are_refused(slack: SlackDriver) -> None:
    event = signing.app_mention_event(ASKER, "<@U0BOT> deploy api", "CDEPLOY")
    unsigned = signing.event_callback(event)
    wrong = signing.event_callback(event, signing_secret="not-the-secret")
    stale = signing.event_callback(
        event, signing_secret=SLACK_SECRET, timestamp=int(time.time()) - 6 * 60
    )
    body, headers = signing.event_callback(event, signing_secret=SLACK_SECRET)
    tampered = (body.replace(b"deploy api", b"deploy web"), headers)
    garbled = (body, headers | {"X-Slack-Request-Timestamp": "soon"})
    expected = {
        "missing X-Slack-Signature": unsigned,
        "does not match": wrong,
        "more than 5 minutes": stale,
        "does not match the body": tampered,
        "not a Unix time": garbled,
    }
    for words, request in expected.items():
        reply = await slack.send(request)
        assert reply.status_code == 401, (words, reply.text)
        assert words in reply.json()["detail"]
    await _nothing_happened(slack)


async def test_malformed_bodies_get_a_400_not_a_500(slack: SlackDriver) -> None:
    def signed(body: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
        headers = {"Content-Type": content_type} | signing.sign(SLACK_SECRET, body)
        return body, headers

    form = "application/x-www-form-urlencoded"
    event = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}
    cases = {
        "not valid JSON": signed(b'{"type": "event_callback", ', "application/json"),
        "not a JSON object": signed(b"[1, 2]", "application/json"),
        "payload is not valid JSON": signed(urlencode({"payload": "{nope"}).encode(), form),
        "payload is not a JSON object": signed(urlencode({"payload": '"x"'}).encode(), form),
        "no payload field": signed(b"payloads=1", form),
        "not UTF-8": signed(b"payload=\xff\xfe", form),
        "has no event": signed(json.dumps({"type": "event_callback"}).encode(), "application/json"),
        "wrong type": signed(
            json.dumps(event | {"event": {"type": "message", "text": ["x"]}}).encode(),
            "application/json",
        ),
        "no actions": signed(
            urlencode(
                {"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})}
            ).encode(),
            form,
        ),
        "empty": signed(b"", "application/json"),
    }
    for words, request in cases.items():
        reply = await slack.send(request)
        assert reply.status_code == 400, (words, reply.text)
        assert words in reply.json()["detail"], (words, reply.text)
    await _nothing_happened(slack)


async def test_without_slack_configured_the_route_says_so(api: httpx.AsyncClient) -> None:
    body, headers = signing.url_verification("x", signing_secret=SLACK_SECRET)
    reply = await api.post("/slack/events", content=body, headers=headers)
    assert reply.status_code == 503 and "SLACK_SIGNING_SECRET" in reply.json()["detail"]


async def test_messages_the_bot_must_ignore(slack: SlackDriver) -> None:
    own = signing.message_event(
        "U0BOT", "Which version?", "CDEPLOY", bot_id="B0BOT", subtype="bot_message"
    )
    edit = signing.message_event(ASKER, "<@U0BOT> deploy", "CDEPLOY", subtype="message_changed")
    deleted = signing.message_event(ASKER, "", "CDEPLOY", subtype="message_deleted")
    chatter = signing.message_event(ASKER, "lunch?", "CDEPLOY")
    other_bot = signing.message_event("U0OTHER", "<@U0BOT> deploy", "CDEPLOY", bot_id="B0OTHER")
    edited_mention = signing.app_mention_event(ASKER, "<@U0BOT> deploy api", "CDEPLOY")
    edited_mention["edited"] = {"user": ASKER, "ts": signing.new_ts()}
    reaction = {"type": "reaction_added", "user": ASKER, "reaction": "eyes", "event_ts": "1.0"}
    for event in (own, edit, deleted, chatter, other_bot, edited_mention, reaction):
        assert (await slack.event(event)).status_code == 200
    await _nothing_happened(slack)


async def test_a_bare_mention_gets_a_hint(slack: SlackDriver) -> None:
    await slack.mention("")
    [note] = await _ephemerals(slack, 1)
    assert note.user == ASKER and "What should I do?" in note.text
    assert await slack.threads() == []


async def test_a_reply_while_waiting_for_approval_is_refused(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    mention = await slack.mention("deploy api 1.4.2 to production")
    view, _ = await slack.pending()
    await slack.reply("please hurry", mention["ts"])
    [note] = await _ephemerals(slack, 1)
    assert note.user == ASKER and "waiting for an approval decision" in note.text
    assert note.thread_ts == mention["ts"]
    assert (await slack.thread(view["id"]))["version"] == view["version"]


async def test_clicks_that_do_not_count(slack: SlackDriver, anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    await slack.mention("deploy api 1.4.2 to production")
    view, card = await slack.pending()
    request_id = view["pending_request"]["request_id"]
    elsewhere = slack.stub.add_message("CDEPLOY", "a message with a copied button", user=ASKER)
    forged_card = Message(**{**card.__dict__, "ts": elsewhere.ts})

    await slack.click(card, "approve", value="th_0000000000000000.r0000")  # unknown thread
    await slack.click(card, "approve", value=f"{view['id']}.rnothere")  # unknown request
    await slack.click(card, "approve", value="../../etc/passwd")  # not a request id at all
    await slack.click(card, "choice:0", value=request_id)  # a question's button on a card
    await slack.click(forged_card, "approve", value=request_id)  # not the card of record
    await slack.click(card, "reject", user=ASKER)  # not an approver: no modal either
    notes = [n.text for n in await _ephemerals(slack, 6)]
    assert notes.count("I don't know this request (it may have expired). Nothing was changed.") == 4
    assert "This is not the message of record for this request. Nothing was changed." in notes
    assert any("can decide this" in n for n in notes)
    assert not slack.stub.calls_to("views.open") and not slack.stub.calls_to("chat.update")
    after = await slack.thread(view["id"])
    assert (after["version"], after["status"]) == (view["version"], "waiting_approval")


async def test_a_click_on_a_decided_card(slack: SlackDriver, anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "deployed"})
    await slack.mention("deploy api 1.4.2 to production")
    view, card = await slack.pending()
    await slack.click(card, "approve", user=APPROVER)
    await wait_for(slack.api, view["id"], "done")
    done = await _settled(slack, view["id"])

    await slack.click(card, "approve", user=APPROVER_2)  # e.g. from a client that lagged
    await slack.click(card, "reject", user=APPROVER_2)
    notes = [n.text for n in await _ephemerals(slack, 2)]
    assert notes == [f"Already approved by <@{APPROVER}>."] * 2
    after = await slack.thread(view["id"])
    assert after["version"] == done["version"]
    assert len(tool_results(after, "deploy_service")) == 1
    assert not slack.stub.calls_to("views.open")


async def test_reject_modal_submissions_that_do_not_count(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    await slack.mention("deploy api 1.4.2 to production")
    view, card = await slack.pending()
    await slack.click(card, "reject", user=APPROVER)
    [opened] = await slack.stub.wait_for("views.open")
    [modal] = slack.stub.views.values()
    reason = signing.plain_text_value("reason", "reason", "not today")

    async def submit(user: str, modal: Json, value: Json = reason) -> Json:
        request = signing.view_submission(user, modal, values=value, signing_secret=SLACK_SECRET)
        reply = await slack.send(request)
        assert reply.status_code == 200, reply.text
        answer: Json = reply.json()
        return answer

    metadata = json.loads(str(modal["private_metadata"]))
    forged_nonce = modal | {"private_metadata": json.dumps(metadata | {"nonce": "f" * 24})}
    forged_user = modal | {"private_metadata": json.dumps(metadata | {"user": APPROVER_2})}
    other_request = modal | {
        "private_metadata": json.dumps(metadata | {"request_id": f"{view['id']}.rother"})
    }
    expired = "This form is no longer valid; click Reject on the card again."
    refusals = [
        (await submit(APPROVER_2, modal), expired),  # someone else submits the view
        (await submit(APPROVER_2, forged_user), expired),  # ... claiming it was opened for them
        (await submit(APPROVER, forged_nonce), expired),
        (await submit(APPROVER, other_request), expired),
        (await submit(APPROVER, modal | {"private_metadata": "{"}), expired),
        (
            await submit(APPROVER, modal, signing.plain_text_value("reason", "reason", "  ")),
            "say why",
        ),
    ]
    for answer, words in refusals:
        assert answer["response_action"] == "errors", answer
        assert words in answer["errors"]["reason"]
    after = await slack.thread(view["id"])
    assert (after["version"], after["status"]) == (view["version"], "waiting_approval")
    assert not slack.stub.calls_to("chat.update")


async def _ephemerals(slack: SlackDriver, count: int) -> list[Ephemeral]:
    await slack.stub.wait_for("chat.postEphemeral", count)
    await asyncio.sleep(0.05)  # none beyond `count` may follow
    notes = slack.stub.ephemerals
    assert len(notes) == count, [n.text for n in notes]
    return notes


async def _settled(slack: SlackDriver, thread_id: str) -> Json:
    """The thread once its last outbound message is delivered and recorded."""
    for _ in range(500):
        view = await slack.thread(thread_id)
        if view["events"][-1]["type"] == "request_sent":
            return view
        await asyncio.sleep(0.02)
    raise AssertionError("the answer was never recorded as sent")


async def _nothing_happened(slack: SlackDriver) -> None:
    await asyncio.sleep(0.1)
    assert await slack.threads() == []
    assert [c.method for c in slack.stub.calls if c.method != "auth.test"] == []
