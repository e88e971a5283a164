"""What a person does in the built-in workspace, sent to `/slack/events` exactly as Slack would.

Each request is built by the test kit (`bot.standins.slack_signing`), signed with the
workspace's secret and POSTed over HTTP to this very process, so the signature guard, Bolt,
the approver checks and the card updates all run as in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from bot.playground.blockkit import FEEDBACK_BUTTONS
from bot.playground.kit import Person, Playground, person_sees
from bot.standins import slack_signing
from bot.standins.slack_signing import BOT_USER_ID
from bot.standins.slack_workspace import Message, Workspace

_MENTION = re.compile(r"@hitlbot\b", re.IGNORECASE)


class Refused(Exception):
    """The person cannot do that here (unknown message, view or person): a 4xx."""


@dataclass(frozen=True)
class Sent:
    """What the app answered to the request(s) Slack would have sent."""

    status: int
    """HTTP status of the last request."""
    body: Any
    """Its body: JSON when it was JSON, else text."""


async def post_message(
    playground: Playground,
    http: httpx.AsyncClient,
    user: str,
    channel: str,
    text: str,
    thread_ts: str | None = None,
) -> Sent:
    """A person writes `text` in `channel` (in a thread when `thread_ts` is given).

    `@hitlbot` becomes the bot's mention; a mention in a channel arrives twice, as Slack
    sends it (`app_mention` and `message`), and the app takes it once.
    """
    workspace = _workspace(playground)
    _check_person(playground, user)
    if not person_sees(playground, user, channel):
        raise Refused(f"{user} is not in {channel}")
    if thread_ts is not None and workspace.find(channel, thread_ts) is None:
        raise Refused(f"no message {thread_ts} in {channel}")
    text = _MENTION.sub(f"<@{BOT_USER_ID}>", text.strip())
    if not text:
        raise Refused("write something first")
    message = Message(
        channel=channel,
        ts=workspace.next_ts(),
        text=text,
        thread_ts=thread_ts,
        user=user,
        bot_id=None,
        team=workspace.team_id,
    )
    workspace.messages.append(message)
    events = [slack_signing.message_event(user, text, channel, message.ts, thread_ts)]
    if not channel.startswith("D") and f"<@{BOT_USER_ID}>" in text:
        events.insert(
            0, slack_signing.app_mention_event(user, text, channel, message.ts, thread_ts)
        )
    sent = Sent(0, None)
    for event in events:
        request = slack_signing.event_callback(event, signing_secret=playground.signing_secret)
        sent = await _send(playground, http, request)
    return sent


async def stop(
    playground: Playground, http: httpx.AsyncClient, user: str, channel: str, thread_ts: str
) -> Sent:
    """A person presses Stop under the agent's work in a thread (`agent_session_stopped`)."""
    _check_person(playground, user)
    if not person_sees(playground, user, channel):
        raise Refused(f"{user} does not see {channel}")
    event = slack_signing.agent_session_stopped_event(user, channel, thread_ts)
    request = slack_signing.event_callback(event, signing_secret=playground.signing_secret)
    return await _send(playground, http, request)


async def click(
    playground: Playground,
    http: httpx.AsyncClient,
    user: str,
    channel: str,
    ts: str,
    action_id: str,
) -> Sent:
    """A person clicks the button `action_id` of a message; its value is the message's own."""
    workspace = _workspace(playground)
    person = _check_person(playground, user)
    found = workspace.find(channel, ts)
    if found is None or not person_sees(playground, user, channel):
        raise Refused(f"{user} sees no message {ts} in {channel}")
    message = found[1]
    button = _button(message, action_id)
    if button is None:
        raise Refused(f"the message has no button {action_id!r} (any more)")
    trigger_id = slack_signing.new_trigger_id()
    playground.trigger_users[trigger_id] = user
    action = {
        "action_id": button.get("action_id", action_id),
        "type": button.get("type"),
        "value": button.get("value", ""),
        "block_id": button["block_id"],
        "text": button.get("text", {"type": "plain_text", "text": action_id}),
        "style": button.get("style"),
    }
    request = slack_signing.block_actions(
        user,
        [{k: v for k, v in action.items() if v is not None}],
        channel_id=channel,
        message_ts=ts,
        message=message.payload(),
        trigger_id=trigger_id,
        response_url=f"{playground.base_url}/dev/slack/hooks/{channel}/{user}",
        user_name=person.name.split()[0].lower(),
        signing_secret=playground.signing_secret,
    )
    return await _send(playground, http, request)


async def submit_view(
    playground: Playground,
    http: httpx.AsyncClient,
    user: str,
    view_id: str,
    text: str = "",
    values: dict[str, str] | None = None,
) -> Sent:
    """A person submits an open modal: each input holds its own entry of `values` (keyed
    `block_id.action_id`, as the page names its fields), else `text`."""
    workspace = _workspace(playground)
    _check_person(playground, user)
    view = workspace.views.get(view_id)
    if view is None or playground.view_users.get(view_id) != user:
        raise Refused(f"no open modal {view_id} for {user}")
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        entry = (values or {}).get(f"{block['block_id']}.{element['action_id']}", text)
        state[block["block_id"]] = {element["action_id"]: _input_state(element, entry)}

    request = slack_signing.view_submission(
        user, view, values=state, signing_secret=playground.signing_secret
    )
    sent = await _send(playground, http, request)
    errors = isinstance(sent.body, dict) and sent.body.get("response_action") == "errors"
    if sent.status == 200 and not errors:
        playground.view_users.pop(view_id, None)  # Slack closes a modal acked without errors
    return sent


def _input_state(element: dict[str, Any], entry: str) -> dict[str, Any]:
    """An input's state as Slack sends it: a select's chosen option, a text input's value
    (None when left empty, as Slack does)."""
    if element.get("type") == "static_select":
        chosen = next((o for o in element.get("options", []) if o.get("value") == entry), None)
        return {"type": "static_select", "selected_option": chosen}
    return {"type": "plain_text_input", "value": entry or None}


def close_view(playground: Playground, user: str, view_id: str) -> None:
    """A person cancels a modal (the app asked for no `view_closed`, so Slack sends nothing)."""
    if playground.view_users.get(view_id) != user:
        raise Refused(f"no open modal {view_id} for {user}")
    del playground.view_users[view_id]


def _button(message: Message, action_id: str) -> dict[str, Any] | None:
    """The button `action_id` names: an actions block's, or one side of a feedback element
    (`feedback+` / `feedback-`, as the page draws them), as Slack puts it in the payload."""
    side = FEEDBACK_BUTTONS.get(action_id)
    for block in message.blocks:
        if side is not None and block.get("type") == "context_actions":
            for element in block.get("elements", []):
                if element.get("type") == "feedback_buttons" and element.get(side):
                    chosen = element[side]
                    return {
                        "block_id": block.get("block_id", "feedback"),
                        "type": "feedback_buttons",
                        "action_id": element.get("action_id", "feedback"),
                        "value": chosen.get("value", ""),
                        "text": chosen.get("text"),
                    }
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                found: dict[str, Any] = {"block_id": block.get("block_id", "actions")} | element
                return found
    return None


def _workspace(playground: Playground) -> Workspace:
    if playground.slack is None:
        raise Refused("the built-in Slack workspace is off (SLACK_BOT_TOKEN is set)")
    return playground.slack


def _check_person(playground: Playground, user: str) -> Person:
    person = playground.person(user)
    if person is None:
        raise Refused(f"no person {user} in the built-in workspace")
    return person


async def _send(
    playground: Playground, http: httpx.AsyncClient, request: slack_signing.Request
) -> Sent:
    body, headers = request
    reply = await http.post(f"{playground.base_url}/slack/events", content=body, headers=headers)
    try:
        data: Any = reply.json() if reply.content else None
    except ValueError:
        data = reply.text
    return Sent(reply.status_code, data)
