"""The email channel's parsing layer: raw MIME, Postmark and SendGrid in, ParsedEmail out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.email import (
    EmailParseError,
    EmailTooLarge,
    ParsedEmail,
    address_domain,
    normalize_message_id,
    parse_postmark,
    parse_rfc822,
    parse_sendgrid_form,
    split_plus_address,
)
from bot.email.headers import MAX_REFERENCES, is_auto_submitted, message_ids, parse_date
from bot.email.inbound.htmltext import html_to_text
from bot.email.inbound.reply import extract_reply

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
MAX = 1_000_000


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, **kwargs: Any) -> ParsedEmail:
    return parse_rfc822(raw(name), max_bytes=kwargs.pop("max_bytes", MAX), **kwargs)


def postmark() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "postmark_reply.json").read_text())
    return data


# --- reply styles ---------------------------------------------------------------------

REPLIES = {
    "gmail_reply.eml": "Yes, please go ahead with the refund for order 1234.\n"
    "But keep the shipping fee \u2013 it was already used.",
    "outlook_reply.eml": "Please refund the full amount, including shipping.\n"
    "The customer has waited long enough.",
    "outlook_original_message.eml": "No, do not refund yet - wait for the return to arrive.\n"
    "Then refund it in full.",
    "apple_mail_reply.eml": "Sounds good, ship it today.\nUse the express courier.",
}


@pytest.mark.parametrize(("name", "expected"), REPLIES.items())
def test_reply_text_is_exactly_the_new_text(name: str, expected: str) -> None:
    mail = parse(name)
    assert mail.reply_text == expected
    assert mail.text.startswith(expected)
    assert "wrote:" in mail.text or "Original Message" in mail.text or "Sent:" in mail.text


@pytest.mark.parametrize("name", [n for n in REPLIES if n != "outlook_original_message.eml"])
def test_html_part_of_each_reply_style_strips_to_the_same_text(name: str) -> None:
    mail = parse(name)
    assert mail.html is not None
    assert extract_reply(html_to_text(mail.html)) == REPLIES[name]


def test_gmail_reply_threading_and_addresses() -> None:
    mail = parse("gmail_reply.eml")
    assert mail.message_id == "<CAKx1pQ0=dF7+Wd3b8mXc9Y2Lq@mail.gmail.com>"
    assert not mail.message_id_synthesized
    assert mail.in_reply_to == "<req-1.9f2c41@hitlbot.example.com>"
    assert mail.references == [
        "<thread-root.9f2c41@hitlbot.example.com>",
        "<req-1.9f2c41@hitlbot.example.com>",
    ]
    assert (mail.sender, mail.sender_name) == ("alice.martin@gmail.com", "Alice Martin")
    assert mail.to == ["support+t-9f2c41@example.com"]
    assert mail.cc == ["bob@example.org"]
    assert mail.subject == "Re: Approval needed: refund order 1234"
    assert mail.date == datetime(2026, 11, 3, 9, 7, 2, tzinfo=UTC)
    assert mail.date.utcoffset() == timedelta(hours=1)
    assert not mail.auto_submitted
    assert mail.attachments == []


def test_folded_headers_of_outlook_are_read() -> None:
    mail = parse("outlook_reply.eml")
    assert mail.message_id.startswith("<DM6PR11MB1234A5B6C7D8E9F0")
    assert len(mail.references) == 2
    assert mail.sender == "bob.smith@contoso.example"


SAME = None
"""Expected reply equals the input."""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("On Mon, 2 Nov 2026, S <s@x.y> wrote:\n> Shall I?", "", id="quote-only"),
        pytest.param("Yes do it.\n\n> Shall I refund?\n> Please answer", "Yes do it.", id="bare"),
        pytest.param("> Shall I refund?\nYes.\n> And email?\nNo.", SAME, id="inline"),
        pytest.param(
            "Do these:\n- refund 1234\n- email them\nThen close.\n\nOn Mon, X <x@y.z> wrote:\n> ?",
            "Do these:\n- refund 1234\n- email them\nThen close.",
            id="bullets",
        ),
        pytest.param("Hi,\nThanks, that works. Also refund 1234.\nCheers", SAME, id="thanks"),
        pytest.param("Hi\nWarning: the mail server is down, retry.\nBye", SAME, id="warning"),
        pytest.param("Approve.\n--\nAlice\nCEO", "Approve.", id="sig-dashes"),
        pytest.param("Thanks,", SAME, id="sign-off-only"),
        pytest.param("Looks good.\n\nSent from my iPhone", "Looks good.", id="sent-from"),
        pytest.param(
            "Ok.\n\nOn 3 Nov 2026, at 10:02, Support <s@x.y> wrote:\n\n> Ship?", "Ok.", id="apple"
        ),
        pytest.param(
            "Approve it.\n\nOn Tue, 3 Nov 2026 at 10:02, Support Team Of Example <\n"
            "support@example.com> wrote:\n> ?",
            "Approve it.",
            id="wrapped-attribution",
        ),
        pytest.param(
            "FYI\n\n---------- Forwarded message ---------\nFrom: X <x@y.z>\nDate: Tue\n"
            "Subject: a\nTo: b\n\nbody",
            "FYI",
            id="forward",
        ),
    ],
)
def test_reply_extraction_edge_cases(text: str, expected: str | None) -> None:
    assert extract_reply(text) == (text if expected is SAME else expected)


def test_reply_patterns_stay_fast_on_hostile_text() -> None:
    # The library's own patterns take 10-25 s on these; the cap keeps them linear.
    for text in ("On " * 6000, "\n" * 20_000, ("On " * 100 + "\n") * 66):
        mail = parse_rfc822(f"From: a@b.c\n\nhi\n{text}".encode(), max_bytes=MAX)
        assert mail.reply_text.startswith("hi")


# --- bodies and charsets ----------------------------------------------------------------


def test_html_only_mail_is_converted_to_readable_text() -> None:
    mail = parse("html_only.eml")
    assert mail.text == (
        "Hello team,\n\nPlease update my delivery address to:\n12 Rue de l'\u00c9glise\n"
        "75004 Paris\n\n- Order 1234\n- Order 5678 & 9012\nPhone: +33 1 23 45 67 89\n\n"
        "See my tracking page for details.\n\nThanks,\nErin"
    )
    assert mail.reply_text.endswith("See my tracking page for details.")
    assert mail.html is not None and "trackOpen" in mail.html
    assert "trackOpen" not in mail.text and "font-family" not in mail.text


def test_html_to_text_rules() -> None:
    html = (
        "<p>a&nbsp;&amp;&lt;b&gt;</p><script>x()</script><style>p{}</style>"
        "<div>one<br>two</div><a href='https://x.example'>link text</a>"
        "<blockquote>q1<blockquote>q2</blockquote></blockquote><pre>  keep\n   this</pre>"
    )
    assert html_to_text(html) == (
        "a &<b>\n\none\ntwo\nlink text\n\n> q1\n>\n> > q2\n\n  keep\n   this"
    )


@pytest.mark.parametrize(
    "html",
    ["<a " * 20_000, "<!-- a>" * 20_000, "<![CDATA[x>" * 20_000, "<![foo]>x", "<![" * 100],
)
def test_html_that_breaks_or_stalls_htmlparser_is_handled(html: str) -> None:
    html_to_text(html)  # must neither raise nor take the quadratic path (pytest timeout)


@pytest.mark.parametrize(
    ("name", "sender_name", "subject", "text"),
    [
        (
            "latin1_quoted_printable.eml",
            "Fran\u00e7ois M\u00fcller",
            "R\u00e9union d\u00e9plac\u00e9e \u00e0 jeudi",
            "Bonjour,\n\nLa r\u00e9union est d\u00e9plac\u00e9e \u00e0 jeudi. \u00c7a vous"
            " convient ?\nMerci d'avance, \u00e0 bient\u00f4t.\n\nFran\u00e7ois M\u00fcller",
        ),
        (
            "windows1252_base64.eml",
            "Jean Dupont",
            "Remboursement approuv\u00e9 \u2013 commande 1234",
            "Merci pour la mise \u00e0 jour.\nLe remboursement de 49,90 \u20ac est approuv\u00e9"
            " \u2014 \u00ab parfait \u00bb \u2018comme convenu\u2019.\n\nCordialement,\nJean",
        ),
        (
            "shift_jis_base64.eml",
            "\u5c71\u7530 \u592a\u90ce",
            "\u8fd4\u91d1\u306e\u627f\u8a8d",
            "\u5c71\u7530\u3067\u3059\u3002\n\u8fd4\u91d1\u3092\u627f\u8a8d\u3057\u307e\u3059"
            "\u3002\u3088\u308d\u3057\u304f\u304a\u9858\u3044\u3057\u307e\u3059\u3002",
        ),
        (
            "unknown_charset.eml",
            None,
            "Broken charset",
            "Caf\u00e9 and cr\u00e8me br\u00fbl\u00e9e.",
        ),
    ],
)
def test_charsets_and_transfer_encodings(
    name: str, sender_name: str | None, subject: str, text: str
) -> None:
    mail = parse(name)
    assert (mail.sender_name, mail.subject, mail.text) == (sender_name, subject, text)


def test_undecodable_bytes_become_replacement_characters() -> None:
    data = b"From: a@b.c\nSubject: caf\xff\nContent-Type: text/plain; charset=utf-8\n\nbad \xff\xfe"
    mail = parse_rfc822(data, max_bytes=MAX)
    assert mail.text == "bad \ufffd\ufffd"
    assert "\ufffd" in mail.subject
    mail.model_dump_json()  # no stray surrogates left to break serialization


def test_attachments_are_listed_without_content() -> None:
    mail = parse("attachment.eml")
    assert mail.text == "Here are the invoice and a photo of the damaged parcel."
    assert [a.model_dump() for a in mail.attachments] == [
        {"filename": "facture_\u00e9t\u00e9.pdf", "content_type": "application/pdf", "size": 77},
        {"filename": "parcel.png", "content_type": "image/png", "size": 67},
    ]
    assert "JVBER" not in mail.model_dump_json()


# --- bounds and failures ------------------------------------------------------------------


def test_headers_only_mail_is_refused() -> None:
    with pytest.raises(EmailParseError, match="neither a text nor an HTML body"):
        parse("headers_only.eml")


def test_mail_without_from_is_refused() -> None:
    with pytest.raises(EmailParseError, match="no usable From address"):
        parse("no_from.eml")


def test_oversized_mail_is_refused_before_parsing() -> None:
    data = raw("gmail_reply.eml")
    assert parse_rfc822(data, max_bytes=len(data)).sender == "alice.martin@gmail.com"
    with pytest.raises(EmailTooLarge, match=f"{len(data) + 1} bytes"):
        parse_rfc822(data + b"x", max_bytes=len(data))
    assert issubclass(EmailTooLarge, EmailParseError)
    assert issubclass(EmailParseError, ValueError)


def test_absurdly_nested_mime_is_refused_not_crashed() -> None:
    nest = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(3000)
    )
    with pytest.raises(EmailParseError, match="unreadable message"):
        parse_rfc822(f"From: a@b.c\n{nest}\nhello\n".encode(), max_bytes=MAX)


def test_long_text_is_capped_with_a_marker() -> None:
    body = "word " * 10_000
    mail = parse_rfc822(f"From: a@b.c\n\n{body}".encode(), max_bytes=MAX, max_text_chars=1000)
    assert mail.text_truncated
    assert mail.text.startswith(body.strip()[:1000])
    assert mail.text.endswith("[... truncated: 48999 more characters]")
    assert len(mail.reply_text) < 1100
    assert not parse("gmail_reply.eml").text_truncated


def test_missing_message_id_is_synthesized_stably() -> None:
    first, again = parse("no_message_id.eml"), parse("no_message_id.eml")
    assert first.message_id_synthesized
    assert first.message_id == again.message_id  # a provider retry dedupes
    assert first.message_id.endswith("@synthesized.hitlbot.invalid>")
    other = parse_rfc822(raw("no_message_id.eml") + b"P.S.\n", max_bytes=MAX)
    assert other.message_id != first.message_id


def test_auto_reply_is_flagged() -> None:
    assert parse("auto_reply.eml").auto_submitted


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        ({}, False),
        ({"auto-submitted": "no"}, False),
        ({"auto-submitted": "No "}, False),
        ({"auto-submitted": "auto-replied"}, True),
        ({"auto-submitted": "auto-generated; owner-email=x@y.z"}, True),
        ({"precedence": "bulk"}, True),
        ({"precedence": "junk"}, True),
        ({"precedence": "List"}, True),
        ({"precedence": "first-class"}, False),
        ({"x-autoreply": "yes"}, True),
        ({"x-autorespond": ""}, True),
        ({"return-path": "<>"}, True),
        ({"return-path": "<a@b.c>"}, False),
        ({"content-type": "multipart/report; report-type=delivery-status"}, True),
    ],
)
def test_auto_submitted_markers(headers: dict[str, str], auto: bool) -> None:
    assert is_auto_submitted(headers) is auto


# --- threading helpers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "<abc@example.com>"),
        ("  <abc@example.com>  (added by relay)", "<abc@example.com>"),
        ("abc@example.com", "<abc@example.com>"),
        ("<a@b> <c@d>", "<a@b>"),
        ("", None),
        (None, None),
        ("<>", None),
        ("two words", None),
        ("<" + "a" * 999 + ">", None),
    ],
)
def test_normalize_message_id(value: str | None, expected: str | None) -> None:
    assert normalize_message_id(value) == expected


def test_references_keep_order_and_the_thread_root() -> None:
    assert message_ids("<a@x>\n <b@x>,<c@x> (comment)") == ["<a@x>", "<b@x>", "<c@x>"]
    assert message_ids("a@x b@x") == ["<a@x>", "<b@x>"]
    many = " ".join(f"<{i}@x>" for i in range(500))
    capped = message_ids(many)
    assert len(capped) == MAX_REFERENCES
    assert capped[0] == "<0@x>" and capped[-1] == "<499@x>"


def test_address_helpers() -> None:
    assert address_domain("Support@Example.COM") == "example.com"
    assert address_domain("not an address") is None
    assert split_plus_address("support+abc@example.com") == ("support", "abc", "example.com")
    assert split_plus_address("Support+T-1@Example.com") == ("support", "t-1", "example.com")
    assert split_plus_address("support@example.com") == ("support", None, "example.com")
    assert split_plus_address("support+@example.com") == ("support", None, "example.com")
    assert split_plus_address("a+b+c@x.y") == ("a", "b+c", "x.y")
    assert split_plus_address("+abc@example.com") is None
    assert split_plus_address("nobody") is None


def test_dates() -> None:
    assert parse_date("Tue, 3 Nov 2026 10:02:00 -0000") == datetime(2026, 11, 3, 10, 2, tzinfo=UTC)
    colon = parse_date("Fri, 1 Aug 2014 16:45:32 -04:00")
    assert colon is not None and colon.utcoffset() == timedelta(hours=-4)
    assert parse_date("yesterday") is None
    assert parse_date(None) is None


# --- Postmark -----------------------------------------------------------------------------


def test_postmark_payload() -> None:
    mail = parse_postmark(postmark(), max_bytes=MAX)
    assert mail.message_id == "<CAKx1pQ0=dF7+Wd3b8mXc9Y2Lq@mail.gmail.com>"  # not the UUID
    assert mail.in_reply_to == "<req-1.9f2c41@hitlbot.example.com>"
    assert mail.references[-1] == "<req-1.9f2c41@hitlbot.example.com>"
    assert (mail.sender, mail.sender_name) == ("alice.martin@gmail.com", "Alice Martin")
    assert mail.reply_to == "alice.replies@example.com"
    assert mail.to == ["support+t-9f2c41@inbound.example.com"]
    assert mail.cc == ["bob@example.org"]
    assert mail.envelope_to == ["support+t-9f2c41@inbound.example.com"]
    assert mail.date == datetime(2026, 11, 3, 10, 7, 2, tzinfo=timezone(timedelta(hours=1)))
    assert mail.reply_text == "Yes, please go ahead with the refund for order 1234.\n" + (
        "But keep the shipping fee."
    )
    assert mail.attachments[0].model_dump() == {
        "filename": "receipt.pdf",
        "content_type": "application/pdf",
        "size": 14,
    }
    assert not mail.auto_submitted


def test_postmark_without_rfc_message_id_gets_a_stable_one() -> None:
    payload = postmark()
    payload["Headers"] = [h for h in payload["Headers"] if h["Name"] != "Message-ID"]
    first, again = parse_postmark(payload, max_bytes=MAX), parse_postmark(payload, max_bytes=MAX)
    assert first.message_id_synthesized and first.message_id == again.message_id


def test_postmark_html_only_and_auto_reply() -> None:
    payload = postmark() | {"TextBody": "", "HtmlBody": "<p>Out of office</p>"}
    payload["Headers"].append({"Name": "Auto-Submitted", "Value": "auto-replied"})
    mail = parse_postmark(payload, max_bytes=MAX)
    assert (mail.text, mail.auto_submitted) == ("Out of office", True)


def test_postmark_size_limit_counts_attachments() -> None:
    payload = postmark()
    payload["Attachments"][0]["ContentLength"] = 5_000_000
    with pytest.raises(EmailTooLarge):
        parse_postmark(payload, max_bytes=MAX)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"FromFull": "alice@example.com"}, "FromFull"),
        ({"Headers": "Message-ID: <a@b>"}, "Headers"),
        ({"Headers": [{"Name": "Message-ID"}]}, "Headers.0.Value"),
        ({"Attachments": [{"Name": "a", "ContentLength": -1}]}, "ContentLength"),
        ({"TextBody": 5}, "TextBody"),
        ({"ToFull": [{"Name": "no email"}]}, "ToFull.0.Email"),
        ({"FromFull": None, "From": None}, "no usable From"),
        ({"FromFull": {"Email": "not-an-address"}}, "no usable From"),
        ({"TextBody": None, "HtmlBody": " "}, "headers only"),
    ],
)
def test_malformed_postmark_payloads(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(EmailParseError, match=reason):
        parse_postmark(postmark() | change, max_bytes=MAX)


@pytest.mark.parametrize("payload", [[], "text", None, 42, {"FromFull": {"Email": ["x"]}}])
def test_postmark_payload_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(EmailParseError, match="malformed Postmark payload"):
        parse_postmark(payload, max_bytes=MAX)


# --- SendGrid -----------------------------------------------------------------------------

ENVELOPE = json.dumps({"to": ["Support+t-9f2c41@example.com"], "from": "alice.martin@gmail.com"})


def sendgrid_raw(**extra: str) -> dict[str, str]:
    mime = raw("gmail_reply.eml").decode()
    return {"email": mime, "envelope": ENVELOPE, "SPF": "pass", "charsets": "{}"} | extra


def test_sendgrid_raw_mode_matches_the_mime_parse_plus_envelope() -> None:
    mail = parse_sendgrid_form(sendgrid_raw(), max_bytes=MAX)
    direct = parse("gmail_reply.eml")
    assert mail.model_dump(exclude={"envelope_from", "envelope_to"}) == direct.model_dump(
        exclude={"envelope_from", "envelope_to"}
    )
    assert mail.envelope_from == "alice.martin@gmail.com"
    assert mail.envelope_to == ["support+t-9f2c41@example.com"]


def test_sendgrid_raw_mode_with_8bit_mime() -> None:
    mime = "From: a@b.c\nContent-Type: text/plain; charset=utf-8\n\nd\u00e9j\u00e0 vu"
    assert parse_sendgrid_form({"email": mime}, max_bytes=MAX).text == "d\u00e9j\u00e0 vu"


def test_sendgrid_non_raw_mode() -> None:
    fields = {
        "from": "Alice Martin <Alice.Martin@gmail.com>",
        "to": "support+t-9f2c41@example.com",
        "subject": "Re: Approval needed",
        "text": "Approved.\n\nOn Tue, 3 Nov 2026 at 10:02, Support <s@example.com> wrote:\n> ?",
        "html": "<p>Approved.</p>",
        "headers": "Message-ID: <m1@mail.gmail.com>\nIn-Reply-To: <req-1@hitlbot.example.com>\n"
        "References: <root@hitlbot.example.com>\n <req-1@hitlbot.example.com>\n"
        "Date: Tue, 3 Nov 2026 10:07:02 +0100\n",
        "attachment-info": json.dumps(
            {"attachment1": {"filename": "a.pdf", "type": "application/pdf"}}
        ),
        "envelope": ENVELOPE,
    }
    mail = parse_sendgrid_form(fields, max_bytes=MAX)
    assert (mail.message_id, mail.in_reply_to) == (
        "<m1@mail.gmail.com>",
        "<req-1@hitlbot.example.com>",
    )
    assert mail.references == ["<root@hitlbot.example.com>", "<req-1@hitlbot.example.com>"]
    assert (mail.sender, mail.reply_text, mail.subject) == (
        "alice.martin@gmail.com",
        "Approved.",
        "Re: Approval needed",
    )
    assert mail.attachments[0].filename == "a.pdf" and mail.attachments[0].size is None
    assert mail.date is not None and mail.envelope_from == "alice.martin@gmail.com"


@pytest.mark.parametrize(
    ("fields", "error", "reason"),
    [
        (sendgrid_raw(envelope="{not json"), EmailParseError, "SendGrid envelope: not JSON"),
        (sendgrid_raw(envelope='{"to": "one@x.y"}'), EmailParseError, "SendGrid envelope: to"),
        (sendgrid_raw(envelope="[]"), EmailParseError, "malformed SendGrid envelope"),
        ({"email": b"From: a@b.c\n\nx"}, EmailParseError, "'email' is not text"),
        ({"email": "Subject: no sender\n\nx"}, EmailParseError, "no usable From"),
        ({"email": "From: a@b.c\n\n" + "x" * MAX}, EmailTooLarge, "over the"),
        ({"from": "a@b.c", "text": "x" * (MAX + 1)}, EmailTooLarge, "over the"),
        ({"from": "a@b.c"}, EmailParseError, "headers only"),
        ({"text": "hello"}, EmailParseError, "no usable From"),
        (
            {"from": "a@b.c", "text": "x", "attachment-info": "[1]"},
            EmailParseError,
            "attachment-info",
        ),
    ],
)
def test_malformed_sendgrid_forms(
    fields: dict[str, Any], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        parse_sendgrid_form(fields, max_bytes=MAX)


# --- only EmailParseError, whatever comes in ---------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "Return-Path",
        "MIME-Version",
    ]
) | st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1)
HEADER_TOKENS = st.sampled_from(
    list("<>@,;:\"()[]\\. =?*'")
    + [
        "=?utf-8?q?",
        "=?x?b?",
        "?=",
        "a",
        "b@c.d",
        "\n ",
        "\t",
        "\x00",
        "\u00e9",
        "utf-8''",
        "multipart/mixed; boundary=b",
        "text/html",
        "base64",
        "--b\n",
        "\udcff",
    ]
)
HEADER_VALUES = st.lists(HEADER_TOKENS, max_size=20).map("".join) | st.text(max_size=60)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def accepted_or_refused(parse_call: Any) -> None:
    """Success must give a serializable ParsedEmail; failure only EmailParseError."""
    try:
        mail = parse_call()
    except EmailParseError as exc:
        assert str(exc)
        return
    assert isinstance(mail, ParsedEmail)
    mail.model_dump_json()


@PROPERTY
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    accepted_or_refused(lambda: parse_rfc822(data, max_bytes=1500))


@PROPERTY
@given(
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8),
    HEADER_VALUES,
    st.binary(max_size=200),
)
def test_arbitrary_headers_raise_only_parse_errors(
    headers: list[tuple[str, str]], body: str, tail: bytes
) -> None:
    text = "From: A <a@example.com>\n" + "".join(f"{n}: {v}\n" for n, v in headers)
    data = (text + "\n--b\nContent-Type: text/plain\n\n" + body).encode("utf-8", "surrogatepass")
    accepted_or_refused(lambda: parse_rfc822(data + tail, max_bytes=MAX))


@PROPERTY
@given(st.dictionaries(st.text(max_size=12), JSONISH, max_size=6) | JSONISH)
def test_arbitrary_json_raises_only_parse_errors_from_postmark(payload: Any) -> None:
    accepted_or_refused(lambda: parse_postmark(payload, max_bytes=MAX))


POSTMARK_KEYS = st.sampled_from(list(postmark()))


@PROPERTY
@given(st.dictionaries(POSTMARK_KEYS, JSONISH | HEADER_VALUES, max_size=4))
def test_damaged_postmark_payloads_raise_only_parse_errors(changes: dict[str, Any]) -> None:
    accepted_or_refused(lambda: parse_postmark(postmark() | changes, max_bytes=MAX))


SENDGRID_KEYS = st.sampled_from(
    [
        "email",
        "envelope",
        "from",
        "to",
        "cc",
        "subject",
        "text",
        "html",
        "headers",
        "attachment-info",
    ]
)


@PROPERTY
@given(
    st.dictionaries(SENDGRID_KEYS, HEADER_VALUES | JSONISH.map(json.dumps) | JSONISH, max_size=6)
)
def test_arbitrary_sendgrid_forms_raise_only_parse_errors(fields: dict[str, Any]) -> None:
    accepted_or_refused(lambda: parse_sendgrid_form(fields, max_bytes=MAX))
