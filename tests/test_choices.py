"""Choice questions (`request_choice`) as plain data: what names a choice, who may pick, and
how the question reads in Slack and by mail."""

from __future__ import annotations

import json

from bot.core.events import HumanRequest, HumanResponse
from bot.core.policy import match_choice, pick_refusal, pickers
from bot.email.compose import body_text
from bot.slack.cards import answered_question, question_message
from tests.helpers import T0

CHOICE = HumanRequest(
    request_id="th_1.r1",
    kind="question",
    message="Which incident?",
    choices=["INC-101: cards failing", "INC-102: refunds slow"],
    only_choices=True,
    at=T0,
)


def test_an_answer_names_a_choice_by_its_words_or_its_number() -> None:
    assert match_choice(CHOICE, "  inc-102:   refunds SLOW. ") == "INC-102: refunds slow"
    assert match_choice(CHOICE, "2") == "INC-102: refunds slow"
    assert match_choice(CHOICE, "#1") == "INC-101: cards failing"
    assert match_choice(CHOICE, "3") is None
    assert match_choice(CHOICE, "0") is None
    assert match_choice(CHOICE, "the slow one") is None


def test_who_may_pick() -> None:
    approvers = frozenset({"UAPPROVER"})
    assert pickers(CHOICE, "UASKER", approvers) == {"UASKER", "UAPPROVER"}
    assert pick_refusal(CHOICE, "UASKER", "UASKER", approvers) is None
    assert pick_refusal(CHOICE, "UAPPROVER", "UASKER", approvers) is None
    assert pick_refusal(CHOICE, "UOTHER", "UASKER", approvers) is not None
    narrowed = CHOICE.model_copy(update={"answerers": ["ULEAD"]})
    assert pick_refusal(narrowed, "UASKER", "UASKER", approvers) is not None
    assert pick_refusal(narrowed, "ULEAD", "UASKER", approvers) is None
    free = CHOICE.model_copy(update={"only_choices": False})
    assert pick_refusal(free, "UOTHER", "UASKER", approvers) is None  # anyone's, as replies


def test_the_question_in_slack_and_once_picked() -> None:
    message = question_message(CHOICE)
    [actions, stop] = [b for b in message.blocks if b["type"] == "actions"]
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("choice:0", "th_1.r1"),
        ("choice:1", "th_1.r1"),
    ]
    assert [b["action_id"] for b in stop["elements"]] == ["cancel"]
    assert "or reply" not in json.dumps(message.blocks)
    response = HumanResponse(
        request_id="th_1.r1", user="UASKER", answer="INC-101: cards failing", at=T0
    )
    picked = answered_question(CHOICE, response)
    assert not [b for b in picked.blocks if b["type"] == "actions"]
    assert "<@UASKER> picked: INC-101: cards failing" in json.dumps(picked.blocks)


def test_by_mail_the_choices_are_numbered() -> None:
    text = body_text(CHOICE)
    assert "1. INC-101: cards failing\n2. INC-102: refunds slow" in text
    assert "its words or its number" in text
