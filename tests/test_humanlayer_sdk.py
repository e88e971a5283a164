"""The published `humanlayer==0.7.9` SDK, unchanged, against `/humanlayer/v1` of the real app:
web and worker, real Redis, the Slack stand-in; people click as Slack would send it."""

from __future__ import annotations

import asyncio
import json

from humanlayer import (
    ContactChannel,
    FunctionCallSpec,
    FunctionCallStatus,
    HumanContactSpec,
    ResponseOption,
    SlackContactChannel,
)

from bot.standins import slack_signing as signing
from tests.conftest import APPROVER, APPROVER_2, ASKER, SLACK_SECRET, SlackDriver
from tests.helpers import wait_for
from tests.humanlayer_support import async_sdk, pending, sdk, until

OPS = ContactChannel(
    slack=SlackContactChannel(
        channel_or_user_id="COPS", context_about_channel_or_user="the ops team"
    )
)


async def test_require_approval_card_refusal_and_two_approvers_at_once(slack: SlackDriver) -> None:
    hl = sdk(slack, run_id="run-1")
    runs: list[tuple[str, str]] = []

    @hl.require_approval(contact_channel=OPS)
    def deploy(service: str, version: str) -> str:
        runs.append((service, version))
        return f"deployed {service} {version}"

    result = asyncio.create_task(asyncio.to_thread(deploy, service="api", version="1.4.2"))
    view, card = await pending(slack)
    assert view["agent"] == "external" and view["status"] == "waiting_approval"
    assert card.channel == "COPS"
    shown = json.dumps(card.blocks)
    assert "deploy" in shown and "*service*\\napi" in shown and "the ops team" in shown
    buttons = [b for b in card.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Cancel"]  # no Edit

    assert (await slack.click(card, "approve", user=ASKER)).status_code == 200
    await until(lambda: len(slack.stub.ephemerals) == 1)
    assert "can decide this" in slack.stub.ephemerals[0].text
    assert not result.done() and runs == []

    clicks = await asyncio.gather(
        slack.click(card, "approve", user=APPROVER), slack.click(card, "approve", user=APPROVER_2)
    )
    assert [c.status_code for c in clicks] == [200, 200]
    assert await asyncio.wait_for(result, 10) == "deployed api 1.4.2"
    assert runs == [("api", "1.4.2")]
    await until(lambda: slack.stub.message(card.channel, card.ts).edited)  # type: ignore[union-attr]
    updated = slack.stub.message(card.channel, card.ts)
    assert updated is not None and "Approved by" in json.dumps(updated.blocks)
    # The card shows the decision as soon as it is committed; the thread concludes just after.
    decided = await wait_for(slack.api, view["id"], "done")
    [decision] = [e for e in decided["events"] if e["type"] == "human_response"]
    assert decision["approved"] is True and decision["user"] in (APPROVER, APPROVER_2)


async def test_reject_through_the_modal_returns_the_reason(slack: SlackDriver) -> None:
    hl = sdk(slack)
    runs: list[str] = []

    @hl.require_approval()
    def drop_table(name: str) -> str:
        runs.append(name)
        return "dropped"

    result = asyncio.create_task(asyncio.to_thread(drop_table, name="users"))
    _, card = await pending(slack)
    assert card.channel == "CAPPROVALS"  # no channel named: SLACK_APPROVAL_CHANNEL
    assert (await slack.click(card, "reject", user=APPROVER)).status_code == 200
    await slack.stub.wait_for("views.open")
    [modal] = slack.stub.views.values()
    submit = await slack.send(
        signing.view_submission(
            APPROVER,
            modal,
            values=signing.plain_text_value("reason", "reason", "not on a Friday"),
            signing_secret=SLACK_SECRET,
        )
    )
    assert submit.status_code == 200
    said = await asyncio.wait_for(result, 10)
    assert said == "User denied drop_table with message: not on a Friday"
    assert runs == []


async def test_a_reject_option_button_and_its_name(slack: SlackDriver) -> None:
    hl = sdk(slack)
    freeze = ResponseOption(name="freeze", title="Code freeze", description="no deploys today")

    @hl.require_approval(reject_options=[freeze])
    def deploy(service: str) -> str:
        raise AssertionError("rejected: must not run")

    result = asyncio.create_task(asyncio.to_thread(deploy, service="api"))
    view, card = await pending(slack)
    buttons = [b for b in card.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Code freeze", "Cancel"]
    assert (await slack.click(card, "reject_option:0", user=APPROVER)).status_code == 200
    said = await asyncio.wait_for(result, 10)
    assert said == "User denied deploy with message: Code freeze: no deploys today"
    call_id = view["origin"]["call_id"]
    status = (await asyncio.to_thread(hl.get_function_call, call_id)).status
    assert status is not None and status.reject_option_name == "freeze"
    assert status.slack_message_ts == card.ts


async def test_allowed_responder_ids_decide_alone(slack: SlackDriver) -> None:
    hl = sdk(slack)
    only = ContactChannel(
        slack=SlackContactChannel(channel_or_user_id="COPS", allowed_responder_ids=["UOWNER"])
    )

    @hl.require_approval(contact_channel=only)
    def rotate_keys() -> str:
        return "rotated"

    result = asyncio.create_task(asyncio.to_thread(rotate_keys))
    _, card = await pending(slack)
    await slack.click(card, "approve", user=APPROVER)  # an approver, but not named
    await until(lambda: len(slack.stub.ephemerals) == 1)
    assert not result.done()
    await slack.click(card, "approve", user="UOWNER")  # named, though not in SLACK_APPROVERS
    assert await asyncio.wait_for(result, 10) == "rotated"


async def test_a_wrong_key_is_an_error_and_the_function_does_not_run(slack: SlackDriver) -> None:
    hl = sdk(slack, key="not-the-token")
    runs: list[int] = []

    @hl.require_approval()
    def pay(amount: int) -> str:
        runs.append(amount)
        return "paid"

    said = await asyncio.to_thread(pay, amount=5)
    assert said.startswith("Error fetching approval for pay:") and "401" in said
    assert runs == [] and await slack.threads() == []


async def test_one_call_id_posted_twice_is_one_call_and_one_card(slack: SlackDriver) -> None:
    hl = sdk(slack)
    spec = FunctionCallSpec(fn="restart", kwargs={"host": "db1"})
    first, again = await asyncio.gather(
        asyncio.to_thread(hl.create_function_call, spec, "call-same"),
        asyncio.to_thread(hl.create_function_call, spec, "call-same"),
    )
    assert first.call_id == again.call_id == "call-same"
    view, card = await pending(slack)
    assert len(await slack.threads()) == 1
    await asyncio.to_thread(hl.create_function_call, spec, "call-same")
    await slack.click(card, "approve", user=APPROVER)
    status = await asyncio.to_thread(hl.get_function_call, "call-same")
    assert status.status is not None and status.status.approved is True
    assert len(slack.stub.calls_to("chat.postMessage")) == 1


async def test_unknown_calls_404_and_sms_422(slack: SlackDriver) -> None:
    base = "/humanlayer/v1"
    assert (await slack.api.get(f"{base}/function_calls/nope")).status_code == 404
    assert (await slack.api.get(f"{base}/contact_requests/nope")).status_code == 404
    sms = {
        "call_id": "c-sms",
        "run_id": "r",
        "spec": {"msg": "hi", "channel": {"sms": {"phone_number": "+1555"}}},
    }
    reply = await slack.api.post(f"{base}/contact_requests", json=sms)
    assert reply.status_code == 422 and "SMS" in reply.json()["detail"]
    bare = await slack.api.get(f"{base}/function_calls/nope", headers={"Authorization": ""})
    assert bare.status_code == 401


async def test_respond_route_decides_as_the_key(slack: SlackDriver) -> None:
    hl = sdk(slack)
    call = await asyncio.to_thread(
        hl.create_function_call, FunctionCallSpec(fn="scale", kwargs={"n": 3}), "call-r"
    )
    _, card = await pending(slack)
    decided = await asyncio.to_thread(
        hl.respond_to_function_call, call.call_id, FunctionCallStatus(approved=True, comment="ok")
    )
    assert decided.status is not None and decided.status.approved is True
    await until(lambda: slack.stub.message(card.channel, card.ts).edited)  # type: ignore[union-attr]


async def test_async_sdk_require_approval(slack: SlackDriver) -> None:
    hl = async_sdk(slack)

    @hl.require_approval()
    async def ship(tag: str) -> str:
        return f"shipped {tag}"

    result = asyncio.create_task(ship(tag="v2"))
    _, card = await pending(slack)
    await slack.click(card, "approve", user=APPROVER)
    assert await asyncio.wait_for(result, 10) == "shipped v2"


async def test_human_as_tool_over_slack_takes_the_first_allowed_reply(slack: SlackDriver) -> None:
    hl = sdk(slack)
    ask = hl.human_as_tool(
        ContactChannel(
            slack=SlackContactChannel(channel_or_user_id="COPS", allowed_responder_ids=["UOWNER"])
        )
    )
    answer = asyncio.create_task(asyncio.to_thread(ask, "Which region?"))
    _, question = await pending(slack)
    assert question.channel == "COPS" and "Which region?" in question.text
    await slack.reply("us-east-1", question.ts, user=ASKER, channel="COPS")  # kept, not taken
    await slack.reply("eu-west-1", question.ts, user="UOWNER", channel="COPS")
    assert await asyncio.wait_for(answer, 10) == "eu-west-1"
    [thread] = await slack.threads()
    view = await slack.thread(thread["id"])
    assert [e["text"] for e in view["events"] if e["type"] == "held_message"] == ["us-east-1"]


async def test_a_user_id_is_a_direct_message(slack: SlackDriver) -> None:
    hl = sdk(slack)
    dm = ContactChannel(slack=SlackContactChannel(channel_or_user_id=APPROVER))
    call = await asyncio.to_thread(
        hl.create_function_call, FunctionCallSpec(fn="ping", kwargs={}, channel=dm), "call-dm"
    )
    _, card = await pending(slack)
    [posted] = slack.stub.calls_to("chat.postMessage")
    assert posted.args["channel"] == APPROVER and call.call_id == "call-dm"
    await slack.click(card, "approve", user=APPROVER)
    status = (await asyncio.to_thread(hl.get_function_call, "call-dm")).status
    assert status is not None and status.approved is True


async def test_response_options_are_buttons_for_the_allowed_responders(slack: SlackDriver) -> None:
    hl = sdk(slack)
    channel = ContactChannel(
        slack=SlackContactChannel(channel_or_user_id="COPS", allowed_responder_ids=["UOWNER"])
    )
    options = [ResponseOption(name="eu", title="Europe"), ResponseOption(name="us")]
    spec = HumanContactSpec(msg="Where?", channel=channel, response_options=options)
    await asyncio.to_thread(hl.create_human_contact, spec, "call-where")
    _, question = await pending(slack)
    buttons = [b for b in question.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Europe", "us"]
    await slack.click(question, "choice:0", user=ASKER)  # not named: refused
    await until(lambda: len(slack.stub.ephemerals) == 1)
    contact = await asyncio.to_thread(hl.get_human_contact, "call-where")
    assert contact.status is not None and contact.status.response is None
    await slack.click(question, "choice:1", user="UOWNER")
    for _ in range(200):
        contact = await asyncio.to_thread(hl.get_human_contact, "call-where")
        if contact.status is not None and contact.status.response is not None:
            break
        await asyncio.sleep(0.02)
    assert contact.status is not None
    assert (contact.status.response, contact.status.response_option_name) == ("us", "us")


async def test_an_interactive_response_option_opens_a_prefilled_modal(slack: SlackDriver) -> None:
    hl = sdk(slack)
    other = ResponseOption(
        name="other", title="Somewhere else", interactive=True, prompt_fill="Region: "
    )
    spec = HumanContactSpec(msg="Where?", response_options=[other])
    await asyncio.to_thread(hl.create_human_contact, spec, "call-other")
    _, question = await pending(slack)
    assert question.channel == "CAPPROVALS"
    await slack.click(question, "choice:0", user=ASKER)
    await slack.stub.wait_for("views.open")
    [modal] = slack.stub.views.values()
    [field] = [b for b in modal["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == "Region: "
    reply = await slack.send(
        signing.view_submission(
            ASKER,
            modal,
            values=signing.plain_text_value("reason", "reason", "Region: ap-south-1"),
            signing_secret=SLACK_SECRET,
        )
    )
    assert reply.status_code == 200
    contact = await asyncio.to_thread(hl.get_human_contact, "call-other")
    assert contact.status is not None
    assert (contact.status.response, contact.status.response_option_name) == (
        "Region: ap-south-1",
        "other",
    )


async def test_a_call_cancelled_in_hitlbot_is_denied_to_the_sdk(slack: SlackDriver) -> None:
    # HumanLayer's status has no "cancelled": without an answer the SDK would poll for ever.
    hl = sdk(slack)
    runs: list[str] = []

    @hl.require_approval(contact_channel=OPS)
    def restart(service: str) -> str:
        runs.append(service)
        return "restarted"

    result = asyncio.create_task(asyncio.to_thread(restart, service="api"))
    view, card = await pending(slack)
    cancel = await slack.api.post(f"/threads/{view['id']}/cancel", json={"reason": "wrong service"})
    assert cancel.status_code == 202, cancel.text
    said = await asyncio.wait_for(result, 10)
    assert "denied" in said and "Cancelled by operator: wrong service" in said
    assert runs == []
    call_id = (await slack.thread(view["id"]))["origin"]["call_id"]
    status = (await slack.api.get(f"/humanlayer/v1/function_calls/{call_id}")).json()["status"]
    assert status["approved"] is False and status["responded_at"] is not None
