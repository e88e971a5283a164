"""Block Kit builders, tested as plain dicts (no Slack, no sockets)."""

from __future__ import annotations

import json

from bot.core.events import Done, Failed, HumanRequest, HumanResponse, ToolCall, UserMessage
from bot.core.thread import ApiOrigin, EmailOrigin, SlackOrigin, Thread
from bot.slack.cards import (
    answered_question,
    approval_card,
    cut,
    decided_card,
    done_messages,
    failed_message,
    mention,
    question_message,
    reject_modal,
)
from tests.helpers import T0

SLACK = SlackOrigin(team="T1", channel="C1", thread_ts="1.000100", user="UASKER")


def _thread(
    args: dict[str, object], reason: str | None = "asked for it", origin: object = SLACK
) -> Thread:
    call = ToolCall(call_id="call_1", name="deploy_service", args=args, reason=reason, at=T0)
    request = HumanRequest(
        request_id="th_1.r1", kind="approval", message="needs approval", call_id="call_1", at=T0
    )
    return Thread(
        id="th_1",
        agent="deploy",
        origin=origin,  # type: ignore[arg-type]
        events=[UserMessage(text="go", at=T0), call, request],
        created_at=T0,
    )


def _request(thread: Thread) -> HumanRequest:
    request = thread.request("th_1.r1")
    assert request is not None
    return request


def test_approval_card() -> None:
    thread = _thread({"service": "api", "version": "1.4.2", "environment": "production"})
    card = approval_card(thread, _request(thread))
    assert card.text == "Approval needed: deploy wants to run deploy_service"
    assert card.blocks == [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Approval needed: deploy_service"},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Agent:* deploy\n*Tool:* `deploy_service`"},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*service*\napi"},
                {"type": "mrkdwn", "text": "*version*\n1.4.2"},
                {"type": "mrkdwn", "text": "*environment*\nproduction"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Why:* asked for it"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Asked by <@UASKER> · thread `th_1`"}],
        },
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Approve", "emoji": True},
                    "action_id": "approve",
                    "value": "th_1.r1",
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Reject", "emoji": True},
                    "action_id": "reject",
                    "value": "th_1.r1",
                    "style": "danger",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Edit", "emoji": True},
                    "action_id": "edit",
                    "value": "th_1.r1",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Cancel", "emoji": True},
                    "action_id": "cancel",
                    "value": "th_1.r1",
                },
            ],
        },
    ]


def test_card_text_from_the_model_cannot_ping_or_link() -> None:
    thread = _thread({"service": "<!channel> & <https://evil|click>"}, reason="<!here> now")
    text = json.dumps(approval_card(thread, _request(thread)).blocks)
    assert "<!channel>" not in text and "<!here>" not in text and "<https" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text
    assert "&lt;!here&gt; now" in text


def test_card_lays_out_many_and_nested_arguments() -> None:
    args: dict[str, object] = {f"arg{i}": i for i in range(12)}
    args["arg0"] = {"nested": [1, 2]}
    args["arg1"] = "x" * 5000
    args["arg2"] = None
    card = approval_card(_thread(args, reason=None), _request(_thread(args, reason=None)))
    fields = card.blocks[2]["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= 2000 for f in fields)
    assert fields[0]["text"].startswith("*arg0*\n```") and '"nested"' in fields[0]["text"]
    assert fields[1]["text"].endswith("…") and fields[2]["text"] == "*arg2*\n_none_"
    assert fields[3]["text"] == "*arg3*\n`3`"
    overflow = card.blocks[3]["text"]["text"]
    assert overflow.startswith("```") and '"arg10": 10' in overflow and '"arg11": 11' in overflow
    assert card.blocks[4]["text"]["text"] == "*Why:* needs approval"  # no reason: the request's


def test_card_of_a_thread_from_elsewhere_says_where_from() -> None:
    email = EmailOrigin(address="ann@example.com", mailbox="bot@example.com", subject="Refund")
    for origin, words in [
        (email, "From ann@example.com by email · thread `th_1`"),
        (ApiOrigin(user="ana"), "Launched through the API by ana · thread `th_1`"),
    ]:
        thread = _thread({"order_id": "42"}, origin=origin)
        context = approval_card(thread, _request(thread)).blocks[-2]
        assert context["elements"][0]["text"] == words


def test_decided_cards() -> None:
    thread = _thread({"service": "api"})
    request = _request(thread)
    approved = HumanResponse(request_id="th_1.r1", user="UBOSS", approved=True, at=T0)
    rejected = HumanResponse(
        request_id="th_1.r1", user="UBOSS", approved=False, comment="freeze <!channel>", at=T0
    )
    card = decided_card(thread, request, approved)
    assert not [b for b in card.blocks if b["type"] == "actions"]
    assert card.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": ":white_check_mark: Approved by <@UBOSS>"}],
    }
    card = decided_card(thread, request, rejected)
    assert (
        card.blocks[-1]["elements"][0]["text"]
        == ":x: Rejected by <@UBOSS>: freeze &lt;!channel&gt;"
    )
    assert card.text.endswith("Rejected by <@UBOSS>: freeze &lt;!channel&gt;")
    by_api = HumanResponse(request_id="th_1.r1", user="bob", approved=True, at=T0)
    assert (
        decided_card(thread, request, by_api)
        .blocks[-1]["elements"][0]["text"]
        .endswith("Approved by bob")
    )


def test_question_with_and_without_choices() -> None:
    long_choice = "y" * 100
    request = HumanRequest(
        request_id="th_1.r2",
        kind="question",
        message="Which **version**?",
        choices=["1.4.1", long_choice],
        at=T0,
    )
    message = question_message(request)
    # Standard Markdown in a `markdown` block: **bold** stays as written.
    assert message.blocks[0] == {"type": "markdown", "text": "Which **version**?"}
    buttons = message.blocks[1]["elements"]
    assert [b["action_id"] for b in buttons] == ["choice:0", "choice:1"]
    assert {b["value"] for b in buttons} == {"th_1.r2"}
    assert len(buttons[1]["text"]["text"]) == 75
    assert message.blocks[2]["elements"][0]["text"] == "Pick one, or reply in this thread."

    plain = question_message(request.model_copy(update={"choices": []}))
    assert [b["type"] for b in plain.blocks] == ["markdown", "context", "actions"]
    assert plain.blocks[-1]["elements"][0]["action_id"] == "cancel"  # stops the whole thread

    answer = HumanResponse(request_id="th_1.r2", user="UASKER", answer="1.4.1", at=T0)
    answered = answered_question(request, answer)
    assert [b["type"] for b in answered.blocks] == ["markdown", "context"]
    assert answered.blocks[-1]["elements"][0]["text"] == "<@UASKER> answered: 1.4.1"


def test_long_answers_are_split_and_cut() -> None:
    paragraph = ("word " * 100 + "\n\n") * 50  # ~25 000 characters
    parts = done_messages(Done(message=paragraph, at=T0))
    assert len(parts) == 3
    for part in parts:
        [block] = part.blocks
        assert block["type"] == "markdown" and len(block["text"]) <= 12_000
        assert part.text == cut(block["text"], 3000)  # the plain-text fallback
    # Split at paragraph boundaries: nothing lost, no word cut.
    joined = " ".join(part.blocks[0]["text"] for part in parts)
    assert joined.split() == paragraph.split()
    huge = done_messages(Done(message="z" * 100_000, at=T0))
    assert len(huge) == 5 and huge[-1].blocks[0]["text"].endswith("_(cut: too long for Slack)_")
    assert all(len(p.blocks[0]["text"]) <= 12_000 for p in huge)
    assert done_messages(Done(message="", at=T0))[0].blocks[0]["text"] == "_(no message)_"
    escaped = done_messages(Done(message="ping <!channel> & <https://x|y>", at=T0))[0]
    assert escaped.blocks[0]["text"] == "ping &lt;!channel&gt; &amp; &lt;https://x|y&gt;"


def test_failure_notice() -> None:
    message = failed_message(Failed(reason="the model is unavailable after retries: 529", at=T0))
    assert message.text == ":warning: I had to stop: the model is unavailable after retries: 529"
    assert message.blocks[-1]["elements"][0]["text"] == "Write in this thread to try again."


def test_reject_modal() -> None:
    modal = reject_modal("deploy_service", '{"nonce": "n"}')
    assert (
        modal["callback_id"] == "hitlbot_reject" and modal["private_metadata"] == '{"nonce": "n"}'
    )
    assert modal["title"]["text"] == "Reject" and modal["submit"]["text"] == "Reject"
    [_, reason] = modal["blocks"]
    assert (reason["type"], reason["block_id"], reason["element"]["action_id"]) == (
        "input",
        "reason",
        "reason",
    )
    assert reason["element"]["multiline"] and reason["element"]["max_length"] == 2000


def test_mention() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>" and mention("W0123ABC") == "<@W0123ABC>"
    assert mention("bob") == "bob" and mention("<!channel>") == "&lt;!channel&gt;"
