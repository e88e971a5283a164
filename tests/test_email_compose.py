"""The email channel's pure parts as plain data: outbound mail, routing, forms, signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.core.events import (
    Done,
    Error,
    Failed,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    RequestSent,
    UserMessage,
)
from bot.core.thread import ApiOrigin, EmailOrigin, Thread, undelivered
from bot.email import parse_rfc822
from bot.email.compose import (
    FAILED_NOTICE,
    body_text,
    build_message,
    conversation_ids,
    html_body,
    minted_message_id,
    reply_subject,
    reply_to_thread,
    trimmed_references,
)
from bot.email.http import secret_matches
from bot.email.inbound.form import parse_form
from bot.email.inbound.mailgun import BadSignature, check_signature, sign
from bot.email.ingest import Outcome, model_text
from bot.email.message import EmailParseError
from bot.email.outbound import EmailChannel, status
from bot.email.routing import (
    Hold,
    Resume,
    Route,
    candidate_ids,
    disposition,
    parse_routes,
    recipients,
    reply_mailbox,
    route,
)
from bot.store.keys import Keys
from bot.store.mailindex import MessageIndex
from tests.helpers import T0

ORIGIN = EmailOrigin(address="ana@example.com", mailbox="support@shop.example", subject="Dent")
ASK = HumanRequest(
    request_id="t.r1", kind="question", message="Which order?", choices=["A", "B"], at=T0
)


def thread(*events: object, origin: object = ORIGIN) -> Thread:
    return Thread(id="t", agent="support", origin=origin, events=list(events), created_at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Dented machine", "Re: Dented machine"),
        ("Re: Dented machine", "Re: Dented machine"),
        ("RE: re:  Re[2]: AW: Dented", "Re: Dented"),
        ("Fwd: Dented", "Re: Fwd: Dented"),
        ("", "Re: your message"),
        ("Re:", "Re: your message"),
        ("Rebate request", "Re: Rebate request"),
    ],
)
def test_reply_subject_never_stacks_re(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected
    assert reply_subject(expected) == expected


def test_message_ids_are_on_our_domain_and_stable_per_event() -> None:
    one = minted_message_id("th_1", "th_1.r1", "shop.example")
    assert one.startswith("<hitlbot.") and one.endswith("@shop.example>")
    assert one == minted_message_id("th_1", "th_1.r1", "shop.example")  # a retry: same id
    assert one != minted_message_id("th_1", "done:4", "shop.example")
    assert one != minted_message_id("th_2", "th_1.r1", "shop.example")


def test_conversation_is_every_mail_in_order_without_other_channels() -> None:
    events = [
        UserMessage(text="hi", ref="<a@x>", at=T0),
        ASK,
        RequestSent(ref="t.r1", channel="email", coordinates={"message_id": "<b@bot>"}, at=T0),
        HumanResponse(request_id="t.r1", user="ana", answer="A", ref="<c@x>", at=T0),
        HeldMessage(text="spam", sender="m@evil", reason="other sender", ref="<evil@x>", at=T0),
        RequestSent(ref="t.r2", channel="slack", coordinates={"channel": "C", "ts": "1.2"}, at=T0),
        HumanResponse(request_id="t.r2", user="U1", approved=True, ref="1.3", at=T0),
        Done(message="ok", at=T0),
    ]
    assert conversation_ids(thread(*events)) == ["<a@x>", "<b@bot>", "<c@x>"]


def test_references_keep_the_root_and_the_latest() -> None:
    ids = [f"<{i}@x>" for i in range(30)]
    kept = trimmed_references(ids, limit=5)
    assert kept == ["<0@x>", "<26@x>", "<27@x>", "<28@x>", "<29@x>"]
    assert trimmed_references(ids[:3], limit=5) == ids[:3]


def test_reply_continues_the_conversation() -> None:
    events = [
        UserMessage(text="hi", ref="<a@x>", at=T0),
        ASK,
        RequestSent(ref="t.r1", channel="email", coordinates={"message_id": "<b@bot>"}, at=T0),
        HumanResponse(request_id="t.r1", user="ana", answer="A", ref="<c@x>", at=T0),
        Done(message="Refunded.", at=T0),
    ]
    out = reply_to_thread(
        thread(*events),
        "ana@example.com",
        "support@shop.example",
        "Dent",
        "done:4",
        events[-1],
        domain="shop.example",
    )
    assert (out.in_reply_to, out.references) == ("<c@x>", ["<a@x>", "<b@bot>", "<c@x>"])
    assert out.subject == "Re: Dent" and out.text == "Refunded."
    msg = build_message(out, date=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert msg["Message-ID"] == minted_message_id("t", "done:4", "shop.example")
    assert msg["References"] == "<a@x> <b@bot> <c@x>"
    assert msg["In-Reply-To"] == "<c@x>" and msg["Auto-Submitted"] == "auto-replied"
    assert msg["Date"] == "Tue, 24 Nov 2026 09:00:00 +0000"
    assert msg["X-Hitlbot-Thread"] == "t"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_bodies_of_each_outbound_event() -> None:
    question = body_text(ASK)
    assert question.startswith("Which order?") and "- A\n- B" in question
    assert body_text(Done(message=" ok ", at=T0)) == "ok"
    assert body_text(Failed(reason="the model is unavailable: 529", at=T0)) == FAILED_NOTICE
    with pytest.raises(TypeError):
        body_text(UserMessage(text="x", at=T0))


def test_html_body_escapes_and_keeps_paragraphs() -> None:
    html = html_body("Hi <b>&\n\nline 1\nline 2")
    assert "<p>Hi &lt;b&gt;&amp;</p>" in html and "<p>line 1<br>\nline 2</p>" in html


def test_routes_parse_and_pick_by_base_address() -> None:
    routes = parse_routes(" Support@Shop.example=support, ops+x@shop.example=deploy ,")
    assert routes == {"support@shop.example": "support", "ops@shop.example": "deploy"}
    assert route(["Ops+urgent@SHOP.example"], routes, "support") == Route(
        "deploy", "ops@shop.example"
    )
    assert route(["nobody@else.example"], routes, "support") == Route("support", None)
    for bad in ("support@shop.example", "=support", "nope=support", "a@b.c="):
        with pytest.raises(ValueError, match="HITLBOT_EMAIL_ROUTES"):
            parse_routes(bad)


def test_reply_mailbox_prefers_the_route_then_email_from() -> None:
    assert reply_mailbox(Route("s", "a@x.example"), [], "bot@x.example") == "a@x.example"
    assert reply_mailbox(Route("s", None), ["c+t@x.example"], "Bot@X.example") == "bot@x.example"
    assert reply_mailbox(Route("s", None), ["c+t@x.example"], None) == "c@x.example"


RAW = (
    "From: Ana <ana@example.com>\r\nTo: support@shop.example\r\nCc: b@x.example\r\n"
    "Message-ID: <m2@x>\r\nIn-Reply-To: <b@bot>\r\nReferences: <a@x> <b@bot> <c@x>\r\n"
    "Subject: Re: Dent\r\n\r\nIt is A1001.\r\n\r\nOn Mon, Ana wrote:\r\n> Which order?\r\n"
)


def test_candidates_and_recipients_of_a_reply() -> None:
    parsed = parse_rfc822(RAW.encode(), max_bytes=10_000)
    assert candidate_ids(parsed) == ["<b@bot>", "<c@x>", "<a@x>"]
    assert recipients(parsed) == ["support@shop.example", "b@x.example"]


def test_disposition_only_the_threads_human_resumes() -> None:
    parsed = parse_rfc822(RAW.encode(), max_bytes=10_000)
    assert disposition(parsed, thread(UserMessage(text="x", at=T0), ASK)) == Resume()
    other = ORIGIN.model_copy(update={"address": "bob@example.com"})
    verdict = disposition(parsed, thread(UserMessage(text="x", at=T0), origin=other))
    assert isinstance(verdict, Hold) and "ana@example.com, not from" in verdict.reason
    approval = HumanRequest(request_id="t.r2", kind="approval", message="refund", at=T0)
    verdict = disposition(parsed, thread(UserMessage(text="x", at=T0), approval))
    assert isinstance(verdict, Hold) and "approval" in verdict.reason
    auto = parse_rfc822(
        RAW.replace("Subject", "Auto-Submitted: auto-replied\r\nSubject").encode(), max_bytes=10_000
    )
    assert isinstance(disposition(auto, thread(UserMessage(text="x", at=T0))), Hold)
    assert isinstance(disposition(parsed, thread(origin=ApiOrigin())), Hold)


def test_model_text_reads_a_reply_without_its_quote_and_caps_it() -> None:
    parsed = parse_rfc822(RAW.encode(), max_bytes=10_000)
    assert model_text(parsed, first=False, limit=1000) == "It is A1001."
    first = model_text(parsed, first=True, limit=1000)
    assert first.startswith("Subject: Re: Dent\n\nIt is A1001.") and "> Which order?" in first
    capped = model_text(parsed, first=True, limit=120)
    assert len(capped) <= 120 and "[... truncated:" in capped


def test_outcome_body() -> None:
    assert Outcome("resumed", "t").body() == {"thread_id": "t", "status": "resumed"}
    assert Outcome("held", "t", "why").body() == {
        "thread_id": "t",
        "status": "held",
        "reason": "why",
    }


def test_multipart_form_keeps_raw_bytes_and_decodes_fields_by_charset() -> None:
    raw = b"From: a@x\r\nSubject: caf\xe9\r\n\r\nbody \xff\r\n"
    body = (
        b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\n' + raw + b"\r\n"
        b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\ncaf\xe9\r\n'
        b'--B\r\nContent-Disposition: form-data; name="charsets"\r\n\r\n{"text": "latin-1"}\r\n'
        b'--B\r\nContent-Disposition: form-data; name="attachment1"; filename="a.pdf"\r\n'
        b"\r\n%PDF\r\n"
        b"--B--\r\n"
    )
    fields = parse_form("multipart/form-data; boundary=B", body)
    assert fields["email"].encode("utf-8", "surrogateescape") == raw
    assert fields["text"] == "caf\xe9" and "attachment1" not in fields


def test_urlencoded_form_and_bad_forms() -> None:
    fields = parse_form("application/x-www-form-urlencoded", b"a=1&body-mime=From%3A%20x%0A%FF")
    assert fields["a"] == "1"
    assert fields["body-mime"].encode("utf-8", "surrogateescape") == b"From: x\n\xff"
    for content_type, body in [("multipart/form-data", b"x"), ("text/plain", b"x")]:
        with pytest.raises(EmailParseError):
            parse_form(content_type, body)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer   s3cret ", True),
        ("Basic " + base64.b64encode(b"postmark:s3cret").decode(), True),
        ("Basic " + base64.b64encode(b"s3cret:").decode(), False),
        ("Basic !!!", False),
        ("Bearer s3cre", False),
        ("s3cret", False),
        (None, False),
    ],
)
def test_secret_matches(header: str | None, ok: bool) -> None:
    assert secret_matches(header, "s3cret") is ok
    assert secret_matches(header, "") is False


def test_mailgun_signature() -> None:
    fields = {"timestamp": "1000", "token": "tok", "signature": sign("k", "1000", "tok")}
    assert check_signature(fields, "k", now=1100) == "tok"
    for changed, now, match in [
        ({"signature": "0" * 64}, 1000, "does not match"),
        ({}, 1000 + 301, "stale"),
        ({"timestamp": "nan", "signature": sign("k", "nan", "tok")}, 1000, "stale"),
        ({"token": ""}, 1000, "no Mailgun signature"),
    ]:
        with pytest.raises(BadSignature, match=match):
            check_signature({**fields, **changed}, "k", now=now)


def test_delivery_error_counts_as_handled() -> None:
    error = Error(kind="delivery", message="550", ref="t.r1", at=T0)
    assert undelivered([ASK]) == [("t.r1", ASK)]
    assert undelivered([ASK, error]) == []
    assert undelivered([ASK, Error(kind="delivery", message="x", at=T0)]) == [("t.r1", ASK)]


def test_made_up_message_ids_stay_out_of_the_conversation() -> None:
    no_id = parse_rfc822(b"From: a@x.example\r\n\r\nhello\r\n", max_bytes=1000)
    assert no_id.message_id_synthesized
    events = [UserMessage(text="hello", ref=no_id.message_id, at=T0)]
    assert conversation_ids(thread(*events)) == []


def test_dev_status_line_says_what_is_missing() -> None:
    off = Settings(_env_file=None)
    assert status(off) == (
        "inbound off (EMAIL_INBOUND_SECRET unset); "
        "outbound off (SMTP_HOST unset: replies are recorded as delivery errors)"
    )
    on = off.model_copy(
        update={"email_inbound_secret": "s", "smtp_host": "relay", "email_from": "b@x.example"}
    )
    assert status(on) == "inbound on POST /email/inbound; outbound via relay:587 from b@x.example"


class Approvals:
    """A stand-in for the Slack approval channel (no socket involved)."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def deliver(self, thread: Thread, ref: str, event: object, now: datetime) -> RequestSent:
        self.delivered.append(ref)
        return RequestSent(
            ref=ref, channel="slack", coordinates={"channel": "CA", "ts": "1.2"}, at=now
        )


async def test_email_channel_hands_approvals_to_its_approvals_channel() -> None:
    approval = HumanRequest(request_id="t.r2", kind="approval", message="refund 49", at=T0)
    approvals = Approvals()
    index = MessageIndex(None, Keys(), 60)  # type: ignore[arg-type]  # unused for approvals
    channel = EmailChannel(None, index, "b@x.example", approvals=approvals)
    sent = await channel.deliver(
        thread(UserMessage(text="x", at=T0), approval), "t.r2", approval, T0
    )
    assert sent.channel == "slack" and approvals.delivered == ["t.r2"]
    alone = EmailChannel(None, index, "b@x.example")
    sent = await alone.deliver(thread(UserMessage(text="x", at=T0), approval), "t.r2", approval, T0)
    assert (sent.channel, sent.coordinates) == ("api", {})
    assert sent.at == T0
