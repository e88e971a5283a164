"""The built-in workspace's Web API, served by the web app at `/dev/slack/api/{method}`.

The bot's real slack-sdk client calls it over HTTP, as it would call slack.com; the methods
are the test kit's (`bot.standins.slack_workspace`, `bot.standins.slack_agent`). The asyncio
loop is the only thread that touches the workspace, so no lock is needed.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.playground.kit import BOT_TOKEN, Playground
from bot.standins.slack_agent import METHODS
from bot.standins.slack_workspace import Ephemeral, MethodError, Workspace

router = APIRouter(include_in_schema=False)

_JSON_ARGS = ("blocks", "view", "attachments", "metadata", "prompts", "loading_messages", "chunks")


@router.api_route("/dev/slack/api/{method}", methods=["GET", "POST"])
async def web_api(method: str, request: Request) -> JSONResponse:
    """One Web API call, answered as Slack answers (HTTP 200, `ok` true or false)."""
    call = await _call(request, bad_json_status=200)
    if isinstance(call, JSONResponse):
        return call
    playground, workspace, args, token = call
    handler = METHODS.get(method)
    if handler is None:
        return JSONResponse({"ok": False, "error": "unknown_method", "req_method": method})
    if token != BOT_TOKEN:
        return JSONResponse({"ok": False, "error": "invalid_auth" if token else "not_authed"})
    try:
        answer: dict[str, Any] = {"ok": True} | handler(workspace, args)
    except MethodError as exc:
        return JSONResponse({"ok": False, "error": exc.code})
    if method == "views.open":
        # A modal opens for whoever clicked: the page shows it to that person only.
        user = playground.trigger_users.pop(str(args.get("trigger_id")), None)
        if user is not None:
            playground.view_users[answer["view"]["id"]] = user
    return JSONResponse(answer)


async def _call(
    request: Request, *, bad_json_status: int
) -> tuple[Playground, Workspace, dict[str, Any], str | None] | JSONResponse:
    """The playground, its workspace, the call's arguments and token; or the refusal: 404
    where no workspace is served, `invalid_json` (with `bad_json_status`) for a bad body."""
    playground: Playground = request.app.state.playground
    if playground.slack is None:
        return JSONResponse({"ok": False, "error": "not_served"}, status_code=404)
    try:
        args, token = await _read_args(request)
    except ValueError:
        return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=bad_json_status)
    return playground, playground.slack, args, token


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """Query, form or JSON body merged; JSON-in-form arguments decoded; the token."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("JSON body is not an object")
        args |= data
    elif body:
        # slack-sdk sends forms url-encoded, never multipart (no file uploads here).
        args |= dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        for name in _JSON_ARGS:
            if isinstance(args.get(name), str):
                try:
                    args[name] = json.loads(args[name])
                except ValueError:
                    pass  # left as sent: the method answers invalid_blocks / invalid_arguments
    token = args.pop("token", None)
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return args, token if isinstance(token, str) else None


@router.post("/dev/slack/hooks/{channel}/{user}")
async def response_url(channel: str, user: str, request: Request) -> JSONResponse:
    """A click's `response_url`: a message to the person who clicked, shown to them only."""
    call = await _call(request, bad_json_status=400)
    if isinstance(call, JSONResponse):
        return call
    _, workspace, args, _ = call
    blocks = args.get("blocks")
    note = Ephemeral(
        channel=channel,
        user=user,
        ts=workspace.next_ts(),
        text=str(args.get("text") or ""),
        blocks=blocks if isinstance(blocks, list) else [],
        thread_ts=args.get("thread_ts") or None,
    )
    workspace.ephemerals.append(note)
    return JSONResponse({"ok": True})
