"""The state behind `SlackStub`: a fake workspace and its Web API methods.

Each method is a plain function from the workspace and a call's arguments to the fields of
Slack's answer, raising `MethodError` for Slack's `ok: false` errors, so the HTTP shell in
`slack_stub.py` only parses, authenticates, records and injects faults. Nothing here locks:
the shell calls every function while holding its lock.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.jsondata import Json
from bot.standins.slack_agent_state import AgentSurface
from bot.standins.slack_signing import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID


class MethodError(Exception):
    """A Slack API error, answered as HTTP 200 `{"ok": false, "error": code}` like Slack."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Message:
    """A message as people in the workspace see it now (after any `chat.update`)."""

    channel: str
    """Channel id it was posted to."""
    ts: str
    """Its timestamp, which is its id within the channel."""
    text: str
    """Its text (the fallback text when it has blocks)."""
    blocks: list[Json] = field(default_factory=list)
    """Its Block Kit blocks."""
    thread_ts: str | None = None
    """The thread's parent ts when it is a reply in a thread."""
    user: str = BOT_USER_ID
    """Who posted it: the bot, or a person for messages seeded with `add_message`."""
    bot_id: str | None = BOT_ID
    """Set for the bot's own messages, `None` for a person's."""
    edited: bool = False
    """True once `chat.update` changed it."""
    team: str = TEAM_ID
    """Workspace it belongs to."""

    def payload(self) -> Json:
        """The message object as Slack returns it (and puts it in interactivity payloads)."""
        out: Json = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
            "ts": self.ts,
            "team": self.team,
        }
        if self.bot_id is not None:
            out |= {"bot_id": self.bot_id, "app_id": APP_ID}
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only `user` can see (`chat.postEphemeral`)."""

    channel: str
    """Channel it was shown in."""
    user: str
    """The only person who sees it."""
    ts: str
    """The `message_ts` Slack answered with."""
    text: str
    """Its text."""
    blocks: list[Json] = field(default_factory=list)
    """Its Block Kit blocks."""
    thread_ts: str | None = None
    """Thread it was shown in, if any."""


@dataclass
class Workspace:
    """Everything the stub remembers; `users`/`channels` of `None` mean "any id exists"."""

    team_id: str = TEAM_ID
    """Workspace id `auth.test` reports."""
    bot_user_id: str = BOT_USER_ID
    """The bot's user id, author of every posted message."""
    bot_id: str = BOT_ID
    """The bot's bot id."""
    users: dict[str, Json] | None = None
    """`users.info` objects by user id."""
    channels: dict[str, Json] | None = None
    """`conversations.info` objects by channel id."""
    messages: list[Message] = field(default_factory=list)
    """Messages in posting order (updates replace in place)."""
    ephemerals: list[Ephemeral] = field(default_factory=list)
    """Ephemeral messages in posting order."""
    views: dict[str, Json] = field(default_factory=dict)
    """Open modals by view id."""
    reactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """The bot's reaction names by (channel, message ts)."""
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    """Members of user groups (`S…` ids), for `usergroups.users.list`."""
    agent: AgentSurface = field(default_factory=AgentSurface)
    """Statuses, titles, suggested prompts and streams (`bot/standins/slack_agent.py`)."""
    ts_start: int = 1_700_000_000
    """Seconds part of the first ts; fixed so tests see the same ts every run."""
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_ts(self) -> str:
        """A unique, increasing ts: 100 µs apart from `ts_start`, like `1700000000.000100`."""
        micros = self.ts_start * 1_000_000 + next(self._counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def find(self, channel: str, ts: str) -> tuple[int, Message] | None:
        """The message `ts` in `channel` and its index in `messages`, if known."""
        for index, message in enumerate(self.messages):
            if message.channel == channel and message.ts == ts:
                return index, message
        return None


def user_object(user_id: str, real_name: str, team_id: str = TEAM_ID) -> Json:
    """A `users.info` user with the profile fields apps read."""
    display = real_name.split()[0].lower() if real_name else user_id.lower()
    return {
        "id": user_id,
        "team_id": team_id,
        "name": display,
        "real_name": real_name,
        "is_bot": user_id == BOT_USER_ID,
        "deleted": False,
        "tz": "Europe/London",
        "profile": {"real_name": real_name, "display_name": display, "team": team_id},
    }


def channel_object(channel_id: str, name: str | None = None) -> Json:
    """A `conversations.info` channel; `D...` ids are DMs, `G...` private channels."""
    if channel_id.startswith("D"):
        return {"id": channel_id, "is_im": True, "is_channel": False, "user": "U0HUMAN"}
    return {
        "id": channel_id,
        "name": name or channel_id.lower(),
        "is_channel": True,
        "is_im": False,
        "is_private": channel_id.startswith("G"),
        "is_member": True,
        "is_archived": False,
    }


def _need(args: Mapping[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if not value or not isinstance(value, str):
        raise MethodError(error)
    return value


def _blocks(args: Mapping[str, Any]) -> list[Json] | None:
    blocks = args.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise MethodError("invalid_blocks")
    return blocks


def _channel(ws: Workspace, args: Mapping[str, Any], name: str = "channel") -> str:
    channel = _need(args, name, "channel_not_found")
    if ws.channels is not None and channel not in ws.channels:
        raise MethodError("channel_not_found")
    return channel


def auth_test(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Who the token belongs to."""
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "hitlbot test",
        "user": "hitlbot",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Post a message, in a thread when `thread_ts` is given."""
    channel = _channel(ws, args)
    blocks = _blocks(args)
    text = args.get("text") or ""
    if not text and not blocks and not args.get("attachments"):
        raise MethodError("no_text")
    message = Message(
        channel=channel,
        ts=ws.next_ts(),
        text=str(text),
        blocks=blocks or [],
        thread_ts=args.get("thread_ts") or None,
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        team=ws.team_id,
    )
    ws.messages.append(message)
    return {"channel": channel, "ts": message.ts, "message": message.payload()}


def chat_update(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Edit one of the bot's messages; fields left out keep their value, as on Slack."""
    found = ws.find(str(args.get("channel", "")), str(args.get("ts", "")))
    if found is None:
        raise MethodError("message_not_found")
    index, message = found
    if message.bot_id is None:
        raise MethodError("cant_update_message")
    blocks = _blocks(args)
    updated = dataclasses.replace(
        message,
        text=str(args["text"]) if "text" in args else message.text,
        blocks=message.blocks if blocks is None else blocks,
        edited=True,
    )
    ws.messages[index] = updated
    return {
        "channel": updated.channel,
        "ts": updated.ts,
        "text": updated.text,
        "message": updated.payload(),
    }


def chat_post_ephemeral(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Show a message to one person only."""
    channel = _channel(ws, args)
    user = _need(args, "user", "user_not_in_channel")
    blocks = _blocks(args)
    if not args.get("text") and not blocks:
        raise MethodError("no_text")
    ephemeral = Ephemeral(
        channel=channel,
        user=user,
        ts=ws.next_ts(),
        text=str(args.get("text") or ""),
        blocks=blocks or [],
        thread_ts=args.get("thread_ts") or None,
    )
    ws.ephemerals.append(ephemeral)
    return {"message_ts": ephemeral.ts}


def views_open(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Open a modal; any non-empty `trigger_id` is taken as fresh."""
    _need(args, "trigger_id")
    view = args.get("view")
    if not isinstance(view, dict):
        raise MethodError("invalid_arguments")
    view_id = f"V{len(ws.views) + 1:08d}"
    ws.views[view_id] = _stored_view(ws, view_id, view)
    return {"view": ws.views[view_id]}


def views_update(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Replace an open modal's content, found by `view_id` or `external_id`."""
    view = args.get("view")
    if not isinstance(view, dict):
        raise MethodError("invalid_arguments")
    view_id = args.get("view_id") or next(
        (vid for vid, v in ws.views.items() if v.get("external_id") == args.get("external_id")),
        None,
    )
    if not view_id or view_id not in ws.views:
        raise MethodError("not_found")
    if args.get("hash") and args["hash"] != ws.views[view_id]["hash"]:
        raise MethodError("hash_conflict")
    ws.views[view_id] = _stored_view(ws, view_id, view)
    return {"view": ws.views[view_id]}


def _stored_view(ws: Workspace, view_id: str, view: Json) -> Json:
    # Slack fills in the ids and a fresh hash; the state is empty until someone types.
    stored: Json = {"private_metadata": "", "callback_id": "", "external_id": ""} | view
    stored.update(
        state={"values": {}},
        id=view_id,
        team_id=ws.team_id,
        hash=ws.next_ts(),
        root_view_id=view_id,
        previous_view_id=None,
        app_id=APP_ID,
        bot_id=ws.bot_id,
    )
    return stored


def _reaction_target(ws: Workspace, args: Mapping[str, Any]) -> tuple[tuple[str, str], str]:
    channel = _channel(ws, args)
    timestamp = _need(args, "timestamp", "message_not_found")
    return (channel, timestamp), _need(args, "name", "invalid_name")


def reactions_add(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Add the bot's reaction. Any message may be reacted to, not only the stub's own,
    since the usual target is a person's message that reached the app as an event."""
    key, name = _reaction_target(ws, args)
    names = ws.reactions.setdefault(key, [])
    if name in names:
        raise MethodError("already_reacted")
    names.append(name)
    return {}


def reactions_remove(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """Remove the bot's reaction."""
    key, name = _reaction_target(ws, args)
    if name not in ws.reactions.get(key, []):
        raise MethodError("no_reaction")
    ws.reactions[key].remove(name)
    return {}


def users_info(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """A user's profile; any id exists unless a user table was configured."""
    user_id = _need(args, "user", "user_not_found")
    if ws.users is None:
        return {"user": user_object(user_id, f"User {user_id}", ws.team_id)}
    if user_id not in ws.users:
        raise MethodError("user_not_found")
    return {"user": ws.users[user_id]}


def usergroups_users_list(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """The members of a user group."""
    group = _need(args, "usergroup", "no_such_subteam")
    if group not in ws.usergroups:
        raise MethodError("no_such_subteam")
    return {"users": list(ws.usergroups[group])}


def conversations_info(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """A channel's description; any id exists unless a channel table was configured."""
    channel = _channel(ws, args)
    if ws.channels is None:
        return {"channel": channel_object(channel)}
    return {"channel": ws.channels[channel]}


def conversations_replies(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """A thread's parent and replies, oldest first, among the messages the stub knows."""
    channel = _channel(ws, args)
    root = _need(args, "ts", "thread_not_found")
    thread = [m for m in ws.messages if m.channel == channel and root in (m.ts, m.thread_ts)]
    if not thread:
        raise MethodError("thread_not_found")
    thread.sort(key=lambda m: float(m.ts))
    payloads = [m.payload() for m in thread]
    if thread[0].ts == root:
        payloads[0] |= {"thread_ts": root, "reply_count": len(thread) - 1}
    return {"messages": payloads, "has_more": False, "response_metadata": {"next_cursor": ""}}


def chat_get_permalink(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """A link to a message."""
    channel = _channel(ws, args)
    ts = _need(args, "message_ts", "message_not_found")
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"channel": channel, "permalink": link}


METHODS: dict[str, Callable[[Workspace, Mapping[str, Any]], Json]] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.update": views_update,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "conversations.info": conversations_info,
    "conversations.replies": conversations_replies,
}
"""Every Web API method the stub implements; any other answers `unknown_method`."""
