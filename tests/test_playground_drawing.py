"""The playground draws an ephemeral where it was posted; the page has a favicon; switching
"You are" keeps the channel (the script's rule, checked in the browser test)."""

from __future__ import annotations

from bot.playground.kit import BEN, DEPLOYS, MAILBOX, ROOMS, Playground, _workspace
from bot.playground.panes import _slack
from bot.standins.slack_workspace import Ephemeral, Message


def test_an_ephemeral_is_drawn_in_its_thread_or_at_its_time() -> None:
    # The page's state alone: no mail catcher, no server.
    playground = Playground(
        slack=_workspace(ROOMS),
        signing_secret=None,
        sink=None,
        inbound_secret=None,
        mailbox=MAILBOX,
        approvers=frozenset(),
        model="offline",
    )
    assert playground.slack is not None
    channel = DEPLOYS.id
    playground.slack.messages += [
        Message(channel, "100.000001", "ask", user=BEN.id, bot_id=None),
        Message(channel, "100.000002", "card", thread_ts="100.000001"),
        Message(channel, "100.000009", "later"),
    ]
    playground.slack.ephemerals += [
        # A refusal of a click on the card: Slack names the card's own ts as its thread.
        Ephemeral(channel, BEN.id, "100.000003", "refused", thread_ts="100.000002"),
        Ephemeral(channel, BEN.id, "100.000005", "in between"),
    ]
    view = _slack(playground, BEN, channel)
    assert [item.message.text for item in view["top"]] == ["ask", "in between", "later"]
    assert [item.message.text for item in view["top"][0].replies] == ["card", "refused"]
    assert view["loose"] == []


def test_the_page_has_a_favicon_and_keeps_the_channel_on_a_switch() -> None:
    from pathlib import Path

    import bot.playground

    here = Path(bot.playground.__file__).parent
    assert '<link rel="icon"' in (here / "templates" / "page.html.j2").read_text()
    script = (here / "static" / "playground.js").read_text()
    switch = script.split('personSelect.addEventListener("change"', 1)[1].split("});", 1)[0]
    assert 'state.conversation = "";' not in switch.replace(
        'if (state.conversation.startsWith("D")) state.conversation = "";', ""
    )


def test_a_channel_mention_shows_the_channel_s_name_not_its_id() -> None:
    from bot.playground.blockkit import mrkdwn

    names = {"C0APPROVALS": "approvals"}
    assert "#approvals" in mrkdwn("I asked for approval in <#C0APPROVALS>.", names)
    assert "#general" in mrkdwn("<#C0OTHER|general>", names)
