"""The Slack stand-in's agent methods: status, title, suggested prompts, streaming, new blocks.

Each validates its arguments as Slack's reference pages describe them (required fields,
limits, allowed values) and answers Slack's error codes, so code that works against the
stand-in sends what Slack accepts. `METHODS` here is the whole Web API of the stand-in: the
workspace's methods (`slack_workspace.py`) and these, with `chat.postMessage`/`chat.update`
checking the agent blocks (`markdown`, `context_actions`) and clearing the status line as
Slack does when the app replies in the thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.jsondata import Json
from bot.standins import slack_workspace as base
from bot.standins.slack_agent_state import Stream
from bot.standins.slack_workspace import Message, MethodError, Workspace

MARKDOWN_MAX = 12_000
"""`markdown_text`, and all `markdown` blocks of one message together."""
BLOCKS_MAX = 50
"""Blocks in one message."""
LOADING_MESSAGES_MAX = 10
"""`loading_messages` of one status."""
PROMPTS_MAX = 4
"""Suggested prompts at once."""
CONTEXT_ACTIONS_MAX = 5
"""Elements of a `context_actions` block."""
BUTTON_TEXT_MAX = 75
"""A feedback button's text."""
VALUE_MAX = 2000
"""A feedback button's value."""
TASK_CHUNK_MAX = 256
"""A `task_update` or `plan_update` chunk's text."""
DISPLAY_MODES = ("timeline", "plan")
"""`task_display_mode` values."""
TASK_STATUSES = ("pending", "in_progress", "complete", "error")
"""A `task_update` chunk's `status` values."""


def _text(args: Mapping[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise MethodError(error)
    return value


def _channel(ws: Workspace, args: Mapping[str, Any], name: str) -> str:
    channel = _text(args, name, "channel_not_found")
    if ws.channels is not None and channel not in ws.channels:
        raise MethodError("channel_not_found")
    return channel


def check_blocks(blocks: Any) -> list[Json] | None:
    """The blocks of a message, refused as Slack refuses them (`invalid_blocks`); only the
    agent blocks are checked field by field, the others by shape."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_MAX:
        raise MethodError("invalid_blocks")
    markdown = 0
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise MethodError("invalid_blocks")
        if block["type"] == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text:
                raise MethodError("invalid_blocks")
            markdown += len(text)
        elif block["type"] == "context_actions":
            _check_context_actions(block)
    if markdown > MARKDOWN_MAX:
        raise MethodError("invalid_blocks")
    return blocks


def _check_context_actions(block: Json) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ACTIONS_MAX:
        raise MethodError("invalid_blocks")
    for element in elements:
        if not isinstance(element, dict):
            raise MethodError("invalid_blocks")
        if element.get("type") == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                _check_feedback_button(element.get(side))
        elif element.get("type") != "icon_button":
            raise MethodError("invalid_blocks")


def _check_feedback_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise MethodError("invalid_blocks")
    text, value = button.get("text"), button.get("value")
    ok_text = (
        isinstance(text, dict)
        and text.get("type") == "plain_text"
        and isinstance(text.get("text"), str)
        and 0 < len(text["text"]) <= BUTTON_TEXT_MAX
    )
    if not ok_text or not isinstance(value, str) or not 0 < len(value) <= VALUE_MAX:
        raise MethodError("invalid_blocks")


def _clear_status(ws: Workspace, channel: str, thread_ts: str | None) -> None:
    """Slack clears a thread's status when the app posts in it."""
    if thread_ts and ws.agent.statuses.pop((channel, thread_ts), None) is not None:
        ws.agent.status_log.append((channel, thread_ts, ""))


def chat_post_message(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`chat.postMessage`, with the agent blocks checked and the thread's status cleared."""
    check_blocks(args.get("blocks"))
    answer = base.chat_post_message(ws, args)
    _clear_status(ws, answer["channel"], args.get("thread_ts") or None)
    return answer


def chat_update(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`chat.update`, with the agent blocks checked."""
    check_blocks(args.get("blocks"))
    return base.chat_update(ws, args)


def set_status(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`assistant.threads.setStatus`: `status` "" clears it."""
    channel = _channel(ws, args, "channel_id")
    thread_ts = _text(args, "thread_ts", "invalid_thread_ts")
    status = args.get("status")
    if not isinstance(status, str):
        raise MethodError("invalid_arguments")
    refused = ws.agent.status_refused.get(channel) or ws.agent.status_refused.get("*")
    if refused:
        raise MethodError(refused)
    loading = args.get("loading_messages") or []
    if not isinstance(loading, list) or len(loading) > LOADING_MESSAGES_MAX:
        raise MethodError("invalid_arguments")
    if not all(isinstance(line, str) and line for line in loading):
        raise MethodError("invalid_arguments")
    key = (channel, thread_ts)
    if status:
        ws.agent.statuses[key] = (status, list(loading))
    else:
        ws.agent.statuses.pop(key, None)
    ws.agent.status_log.append((channel, thread_ts, status))
    return {}


def set_title(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`assistant.threads.setTitle`."""
    channel = _channel(ws, args, "channel_id")
    thread_ts = _text(args, "thread_ts", "invalid_thread_ts")
    ws.agent.titles[(channel, thread_ts)] = _text(args, "title")
    return {}


def set_suggested_prompts(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`assistant.threads.setSuggestedPrompts`; without `thread_ts`, for the whole DM tab."""
    channel = _channel(ws, args, "channel_id")
    prompts = args.get("prompts")
    if not isinstance(prompts, list) or not 1 <= len(prompts) <= PROMPTS_MAX:
        raise MethodError("invalid_arguments")
    for prompt in prompts:
        if not isinstance(prompt, dict):
            raise MethodError("invalid_arguments")
        _text(prompt, "title")
        _text(prompt, "message")
    thread_ts = args.get("thread_ts") or ""
    ws.agent.prompts[(channel, str(thread_ts))] = [dict(p) for p in prompts]
    return {}


def start_stream(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`chat.startStream`: outside a DM the recipient (user and team) is required."""
    channel = _channel(ws, args, "channel")
    thread_ts = _text(args, "thread_ts", "invalid_thread_ts")
    if not channel.startswith("D"):
        _text(args, "recipient_user_id", "missing_recipient_user_id")
        _text(args, "recipient_team_id", "missing_recipient_team_id")
    mode = args.get("task_display_mode", "timeline")
    if mode not in DISPLAY_MODES:
        raise MethodError("invalid_arguments")
    message = Message(
        channel=channel,
        ts=ws.next_ts(),
        text="",
        thread_ts=thread_ts,
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        team=ws.team_id,
    )
    ws.messages.append(message)
    stream = Stream(channel=channel, ts=message.ts)
    ws.agent.streams[(channel, message.ts)] = stream
    _clear_status(ws, channel, thread_ts)
    _append(ws, stream, args)
    return {"channel": channel, "ts": message.ts}


def append_stream(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`chat.appendStream`: markdown text or chunks, to a stream still open."""
    stream = _open_stream(ws, args)
    if not args.get("markdown_text") and not args.get("chunks"):
        raise MethodError("invalid_arguments")
    _append(ws, stream, args)
    return {"channel": stream.channel, "ts": stream.ts}


def stop_stream(ws: Workspace, args: Mapping[str, Any]) -> Json:
    """`chat.stopStream`: the last text, and blocks shown under the streamed text."""
    stream = _open_stream(ws, args)
    blocks = check_blocks(args.get("blocks")) or []
    _append(ws, stream, args)
    stream.stopped = True
    found = ws.find(stream.channel, stream.ts)
    assert found is not None
    index, message = found
    streamed = [{"type": "markdown", "text": message.text}] if message.text else []
    ws.messages[index] = dataclasses.replace(message, blocks=[*streamed, *blocks])
    return {"channel": stream.channel, "ts": stream.ts, "message": ws.messages[index].payload()}


def _open_stream(ws: Workspace, args: Mapping[str, Any]) -> Stream:
    channel = _channel(ws, args, "channel")
    stream = ws.agent.streams.get((channel, _text(args, "ts", "message_not_found")))
    if stream is None:
        raise MethodError("message_not_found")
    if stream.stopped:
        raise MethodError("message_not_in_streaming_state")
    return stream


def _append(ws: Workspace, stream: Stream, args: Mapping[str, Any]) -> None:
    text = args.get("markdown_text") or ""
    if not isinstance(text, str) or len(text) > MARKDOWN_MAX:
        raise MethodError("invalid_arguments")
    chunks = args.get("chunks") or []
    if not isinstance(chunks, list):
        raise MethodError("invalid_chunks")
    for chunk in chunks:
        text += _chunk(stream, chunk)
    if not text:
        return
    stream.appends.append(text)
    found = ws.find(stream.channel, stream.ts)
    assert found is not None
    index, message = found
    ws.messages[index] = dataclasses.replace(message, text=message.text + text)


def _chunk(stream: Stream, chunk: Any) -> str:
    """A chunk's text; a task update is recorded on the stream."""
    if not isinstance(chunk, dict):
        raise MethodError("invalid_chunks")
    kind = chunk.get("type")
    if kind == "markdown_text":
        text = chunk.get("text")
        if not isinstance(text, str) or len(text) > MARKDOWN_MAX:
            raise MethodError("invalid_chunks")
        return text
    if kind == "task_update":
        task_id, title = chunk.get("id"), chunk.get("title")
        if not isinstance(task_id, str) or not task_id or not isinstance(title, str):
            raise MethodError("invalid_chunks")
        if chunk.get("status") not in TASK_STATUSES or len(title) > TASK_CHUNK_MAX:
            raise MethodError("invalid_chunks")
        stream.tasks[task_id] = str(chunk["status"])
        return ""
    if kind == "plan_update":
        title = chunk.get("title")
        if not isinstance(title, str) or len(title) > TASK_CHUNK_MAX:
            raise MethodError("invalid_chunks")
        return ""
    raise MethodError("invalid_chunks")


# The agent methods join the workspace's own table in place, so the one table is the stand-in's
# whole Web API (a test that adds a method to `slack_workspace.METHODS` adds it everywhere).
METHODS: dict[str, Callable[[Workspace, Mapping[str, Any]], Json]] = base.METHODS
METHODS.update(
    {
        "chat.postMessage": chat_post_message,
        "chat.update": chat_update,
        "assistant.threads.setStatus": set_status,
        "assistant.threads.setTitle": set_title,
        "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
        "chat.startStream": start_stream,
        "chat.appendStream": append_stream,
        "chat.stopStream": stop_stream,
    }
)
"""Every Web API method the stand-in implements; any other answers `unknown_method`."""
