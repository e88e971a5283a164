"""Reading Slack's payloads, routing, signatures and small records (pure, no sockets)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

import pytest

from bot.config import Settings
from bot.core.events import HumanRequest
from bot.slack.decisions import Refused, check_approver, thread_id_of
from bot.slack.http import signature_problem
from bot.slack.inbound import Incoming, click, incoming, malformed, strip_mention, submission
from bot.slack.routing import Routes
from bot.standins import slack_signing as signing
from bot.store.slackstate import ModalTicket
from tests.helpers import T0

BOT = "U0BOT"


def _body(event: dict[str, object]) -> dict[str, object]:
    return json.loads(signing.event_callback(event)[0])  # type: ignore[no-any-return]


def test_a_mention_in_a_channel() -> None:
    event = signing.app_mention_event("UASKER", "<@U0BOT>   deploy <@U9> api", "C1", ts="5.000001")
    assert incoming(_body(event), event, BOT) == Incoming(
        team="T0TEAM",
        channel="C1",
        ts="5.000001",
        thread_ts="5.000001",
        user="UASKER",
        text="deploy <@U9> api",
        direct=False,
        mentioned=True,
    )


def test_replies_dms_and_mentions_in_plain_messages() -> None:
    reply = signing.message_event("UASKER", "1.4.2", "C1", thread_ts="5.000001")
    found = incoming(_body(reply), reply, BOT)
    assert found is not None and found.thread_ts == "5.000001" and not found.mentioned
    dm = signing.message_event("UASKER", "hi", "D1")
    found = incoming(_body(dm), dm, BOT)
    assert found is not None and found.direct and found.thread_ts == dm["ts"]
    named = signing.message_event("UASKER", "hey <@U0BOT|hitlbot> go", "C1")
    found = incoming(_body(named), named, BOT)
    assert found is not None and found.mentioned and found.text == "hey go"
    for subtype in ("file_share", "thread_broadcast"):
        shared = signing.message_event("UASKER", "look", "C1", subtype=subtype)
        assert incoming(_body(shared), shared, BOT) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"bot_id": "B0BOT", "subtype": "bot_message"},
        {"bot_id": "B0OTHER"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"edited": {"user": "UASKER", "ts": "6.0"}},
        {"user": BOT},
        {"user": None},
        {"channel": 5},
    ],
)
def test_what_is_not_a_persons_new_message(changes: dict[str, object]) -> None:
    event = signing.message_event("UASKER", "<@U0BOT> deploy", "C1") | changes
    assert incoming(_body(event), event, BOT) is None


def test_strip_mention() -> None:
    assert strip_mention("<@U0BOT> deploy  api <@U0BOT>", BOT) == "deploy api"
    assert strip_mention("<@U0BOTX> hi", BOT) == "<@U0BOTX> hi"
    assert strip_mention("  hi  ", None) == "hi"


def _click_payload(**kwargs: object) -> dict[str, object]:
    body, _ = signing.block_actions(
        "UBOSS",
        [{"action_id": "approve", "value": "th_1.r1"}],
        channel_id="C1",
        message_ts="7.000001",
        message={"thread_ts": "5.000001"},
        **kwargs,  # type: ignore[arg-type]
    )
    payload: dict[str, object] = json.loads(parse_qs(body.decode())["payload"][0])
    return payload


def test_click() -> None:
    payload = _click_payload()
    actions = payload["actions"]
    assert isinstance(actions, list)
    found = click(payload, actions[0])
    assert found is not None
    assert (found.user, found.channel, found.message_ts) == ("UBOSS", "C1", "7.000001")
    assert (found.action_id, found.value, found.thread_ts) == ("approve", "th_1.r1", "5.000001")
    assert found.trigger_id
    ephemeral = _click_payload(container={"type": "message", "is_ephemeral": True})
    assert click(ephemeral, actions[0]) is None
    assert click(payload, {"action_id": "approve"}) is None  # no value
    assert click(payload | {"user": "UBOSS"}, actions[0]) is None  # not an object


def test_submission() -> None:
    view = {"id": "V1", "private_metadata": "{}"}
    values = signing.plain_text_value("reason", "reason", "  not today ")
    body, _ = signing.view_submission("UBOSS", view, values=values)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    found = submission(payload, payload["view"])
    assert found is not None and (found.user, found.reason) == ("UBOSS", "not today")
    assert submission(payload, payload["view"] | {"state": {"values": {}}}) is None


def test_malformed() -> None:
    event = json.dumps({"type": "event_callback", "event_id": "E1", "event": {"type": "message"}})
    assert malformed(event.encode(), "application/json") is None
    assert malformed(b'{"type": "url_verification", "challenge": "x"}', None) is None
    assert malformed(b"command=%2Fdeploy&text=api", "application/x-www-form-urlencoded") is None
    action = {"type": "block_actions", "user": {"id": "U1"}, "actions": []}
    assert malformed(urlencode({"payload": json.dumps(action)}).encode(), None) is None
    assert malformed(b"{", "application/json") == "the payload is not valid JSON"
    assert malformed(b'{"type": 1}', None) == "the payload has no type"
    assert malformed(b"\xff", None) == "the body is not UTF-8"
    bad_view = urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "U"}})})
    assert malformed(bad_view.encode(), None) == "the view_submission payload has no view"


def test_signature() -> None:
    body = b'{"type": "url_verification"}'
    headers = signing.sign("s3cret", body, 1_700_000_000)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert signature_problem("s3cret", body, timestamp, signature, now=1_700_000_100) is None
    assert signature_problem("s3cret", body, timestamp, signature, now=1_700_000_301) is not None
    assert signature_problem("other", body, timestamp, signature, now=1_700_000_000) is not None
    assert signature_problem("s3cret", body, None, signature, now=1_700_000_000) is not None


def test_routes() -> None:
    routes = Routes.parse(" C1=support , C2 = deploy;", "deploy")
    assert routes.agent_for("C1") == "support" and routes.agent_for("C9") == "deploy"
    routes.check({"deploy", "support"})
    with pytest.raises(ValueError, match="unknown agent"):
        Routes.parse("C1=nope", "deploy").check({"deploy"})
    with pytest.raises(ValueError, match="is not CHANNEL=agent"):
        Routes.parse("C1", "deploy")


def test_request_ids_and_modal_metadata() -> None:
    assert thread_id_of("th_0123abcd.r99ff") == "th_0123abcd"
    for bad in ("th_1", "th_1.r1.r2", "../x.r1", "", "th 1.r1"):
        assert thread_id_of(bad) is None
    ticket = ModalTicket(request_id="th_1.r1", user="UBOSS", nonce="n1", channel="C1", ts="1.0")
    assert ModalTicket.key_of(ticket.private_metadata()) == ("th_1.r1", "UBOSS", "n1")
    assert json.loads(ticket.private_metadata()).keys() == {"request_id", "user", "nonce"}
    for bad in ("", "[]", '{"request_id": "th_1.r1", "user": "U"}', '{"request_id": 1}'):
        assert ModalTicket.key_of(bad) is None


def test_who_may_decide() -> None:
    settings = Settings(_env_file=None, SLACK_APPROVERS="U0A1, U0A2 ,U0A3")
    request = HumanRequest(request_id="th_1.r1", kind="approval", message="m", at=T0)
    check_approver(settings, request, "U0A2")
    with pytest.raises(Refused, match="Only <@U0A1>, <@U0A2>, <@U0A3> can decide"):
        check_approver(settings, request, "U0A9")
    narrowed = request.model_copy(update={"approvers": ["U0A3", "U0A7"]})  # a tool's own list
    check_approver(settings, narrowed, "U0A3")
    with pytest.raises(Refused, match="Only <@U0A3> can decide"):
        check_approver(settings, narrowed, "U0A1")
    with pytest.raises(Refused, match="must set SLACK_APPROVERS"):
        check_approver(Settings(_env_file=None), request, "U0A1")
