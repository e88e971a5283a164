"""Block Kit and mrkdwn as the page draws them: plain dicts in, HTML out."""

from __future__ import annotations

from markupsafe import Markup

from bot.core.events import HumanRequest, ToolCall
from bot.core.thread import SlackOrigin, Thread
from bot.playground.blockkit import blocks, markdown, mrkdwn
from bot.slack.answers import feedback_block
from bot.slack.cards import approval_card, escape, reject_modal
from tests.helpers import T0

NAMES = {"U0ANA": "Ana"}


def button(element: dict) -> Markup:  # type: ignore[type-arg]
    return Markup('<button class="%s">%s</button>') % (
        element.get("style"),
        element["text"]["text"],
    )


def test_mrkdwn_formats_and_escapes() -> None:
    html = mrkdwn("*Tool:* `deploy` _now_ ~old~ <@U0ANA> &lt;script&gt; :white_check_mark:", NAMES)
    assert html == (
        '<b>Tool:</b> <code>deploy</code> <i>now</i> <s>old</s> <span class="mention">@Ana</span> '
        "&lt;script&gt; ✅"
    )
    assert mrkdwn("```a *b* &lt;c&gt;```", NAMES) == "<pre>a *b* &lt;c&gt;</pre>"
    assert mrkdwn("<https://x.example/a?b=1&amp;c=2|docs> <javascript:alert(1)|x>", NAMES) == (
        '<a href="https://x.example/a?b=1&amp;c=2" rel="noreferrer">docs</a> x'
    )
    assert "<br>" in mrkdwn("one\ntwo", NAMES)


def test_the_approval_card_draws_every_block_and_both_buttons() -> None:
    call = ToolCall(
        call_id="c1", name="deploy_service", args={"service": "api"}, reason="asked", at=T0
    )
    request = HumanRequest(request_id="r1", kind="approval", message="ok?", call_id="c1", at=T0)
    origin = SlackOrigin(channel="C1", thread_ts="1.1", user="U0ANA")
    thread = Thread(id="th_1", agent="deploy", origin=origin, events=[call, request], created_at=T0)
    html = blocks(approval_card(thread, request).blocks, NAMES, button)
    assert '<div class="bk-header">Approval needed: deploy_service</div>' in html
    assert '<div class="bk-field"><b>service</b><br>api</div>' in html
    assert '<div class="bk-context">Asked by <span class="mention">@Ana</span>' in html
    assert '<button class="primary">Approve</button><button class="danger">Reject</button>' in html


def test_the_reject_modal_has_its_text_input() -> None:
    html = blocks(reject_modal("deploy_service", "meta")["blocks"], NAMES, button)
    assert '<textarea name="reason.reason" maxlength="2000" rows="3"></textarea>' in html
    assert "<span>Reason</span>" in html


def test_dividers_and_unknown_blocks_are_shown() -> None:
    html = blocks([{"type": "divider"}, {"type": "video", "title": "x"}], NAMES, button)
    assert html == (
        '<hr class="bk-divider"><div class="bk-unknown">[video block: not drawn by the '
        "playground]</div>"
    )


def test_markdown_and_feedback_buttons_are_drawn_safely() -> None:
    html = str(markdown(escape("**live** in `staging`\n\n<script>alert(1)</script> & more")))
    assert "<b>live</b>" in html and "<code>staging</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; more" in html
    assert html.count("<p>") == 2

    def clickable(element: dict[str, object]) -> Markup:
        return Markup('<button data-click="%s"></button>') % element["action_id"]

    drawn = str(blocks([feedback_block("th_1", "done:3")], {}, clickable))
    assert 'data-click="feedback+"' in drawn and 'data-click="feedback-"' in drawn
