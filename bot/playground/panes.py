"""The page and its live panes, server-rendered with jinja2 and swapped in by a small script."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from bot.core.jsondata import Json
from bot.playground import blockkit, mailbox, threadview
from bot.playground.kit import DEPLOYS, PEOPLE, Person, Playground, person_sees
from bot.runtime.deps import Deps
from bot.standins.slack_signing import BOT_USER_ID
from bot.standins.slack_workspace import Ephemeral, Message, Workspace

HERE = Path(__file__).parent
_STATIC = {"playground.js": "text/javascript", "playground.css": "text/css"}
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    """The playground."""
    playground: Playground = request.app.state.playground
    html = _templates.get_template("page.html.j2").render(
        playground=playground, people=PEOPLE, rooms=playground.rooms
    )
    return HTMLResponse(html)


@router.get("/dev/static/{name}")
async def static(name: str) -> Response:
    """The page's script and style (no build step: plain files of the package)."""
    if name not in _STATIC:
        return JSONResponse({"detail": f"no static file {name}"}, status_code=404)
    return Response((HERE / "static" / name).read_bytes(), media_type=_STATIC[name])


@router.get("/dev/panes")
async def panes(
    request: Request,
    person: str = Query(PEOPLE[0].id, max_length=50),
    conversation: str = Query("", max_length=50),
    thread: str = Query("", max_length=100),
) -> JSONResponse:
    """Every pane as HTML for this person: the page swaps in those that changed."""
    playground: Playground = request.app.state.playground
    deps: Deps = request.app.state.deps
    who = playground.person(person)
    if who is None:
        return JSONResponse({"detail": f"no person {person}"}, status_code=400)
    if not conversation or not person_sees(playground, person, conversation):
        conversation = DEPLOYS.id
    modal = _modal(playground, person)
    threads, selected = await _threads(deps, thread)
    return JSONResponse(
        {
            "slack": _render("slack.html.j2", **_slack(playground, who, conversation)),
            "modal": modal,
            "mail": _render("mail.html.j2", conversations=mailbox.conversations(playground)),
            "threads": _render("threads.html.j2", threads=threads, selected=selected),
            "timeline": await _timeline(deps, selected),
        }
    )


def _render(name: str, **context: Any) -> str:
    return _templates.get_template(name).render(**context)


@dataclass(frozen=True)
class Shown:
    """A message as the page draws it, with its thread."""

    message: Message | Ephemeral
    """The message."""
    author: str
    """Who wrote it, by name."""
    body: Markup
    """Its blocks (or text) as HTML."""
    reactions: list[str]
    """The bot's reactions on it."""
    replies: list[Shown]
    """Its thread's replies (top-level messages only)."""
    ephemeral: bool
    """Shown to one person only."""
    edited: bool
    """Changed since it was posted (`chat.update`)."""
    status: str = ""
    """The bot's status line under its thread while it works ("is thinking…"), if set."""


def _slack(playground: Playground, who: Person, conversation: str) -> dict[str, Any]:
    workspace = playground.slack
    if workspace is None:
        return {"off": True}
    names = {
        uid: str(user["real_name"]).split()[0] for uid, user in (workspace.users or {}).items()
    }
    names |= {room.id: room.name for room in playground.rooms}

    def button(element: Json) -> Markup:
        return Markup('<button class="bk-button %s" data-click="%s">%s</button>') % (
            element.get("style", "default"),
            element.get("action_id", ""),
            blockkit.text_object(element.get("text"), names),
        )

    def shown(message: Message | Ephemeral) -> Shown:
        body = (
            blockkit.blocks(message.blocks, names, button)
            if message.blocks
            else blockkit.mrkdwn(message.text, names)
        )
        # An ephemeral's `user` is whom it is shown to; the bot wrote it.
        bot = isinstance(message, Ephemeral) or message.bot_id is not None
        author = "hitlbot" if bot else names.get(message.user, message.user)
        reactions = workspace.reactions.get((message.channel, message.ts), [])
        ephemeral = isinstance(message, Ephemeral)
        edited = isinstance(message, Message) and message.edited
        return Shown(message, author, body, list(reactions), [], ephemeral, edited)

    top: list[Shown] = []
    by_ts: dict[str, Shown] = {}  # each message's top-level message (itself, or its thread's)
    for message in workspace.messages:
        if message.channel != conversation:
            continue
        if message.thread_ts and message.thread_ts != message.ts and message.thread_ts in by_ts:
            by_ts[message.thread_ts].replies.append(shown(message))
            by_ts[message.ts] = by_ts[message.thread_ts]
        else:
            by_ts[message.ts] = shown(message)
            top.append(by_ts[message.ts])
    loose: list[Shown] = []
    for note in workspace.ephemerals:
        if note.channel != conversation or note.user != who.id:
            continue
        # Drawn where it was posted: in its thread (named by any message of it), else in the
        # channel at its time, never piled up at the bottom.
        where = by_ts[note.thread_ts].replies if note.thread_ts in by_ts else top
        where.append(shown(note))
        where.sort(key=lambda item: float(item.message.ts))
    return {
        "off": False,
        "person": who.id,
        "conversation": conversation,
        "rooms": playground.rooms,
        "dm": who.dm,
        "top": _with_status(workspace, conversation, top),
        "loose": loose,
        "bot": BOT_USER_ID,
        "names": names,
    }


def _with_status(workspace: Workspace, conversation: str, top: list[Shown]) -> list[Shown]:
    """The threads with the bot's status line where it is set (Stop is drawn beside it)."""
    statuses = workspace.agent.statuses
    return [
        dataclasses.replace(item, status=line[0])
        if (line := statuses.get((conversation, item.message.ts)))
        else item
        for item in top
    ]


def _modal(playground: Playground, person: str) -> dict[str, str] | None:
    workspace = playground.slack
    if workspace is None:
        return None
    for view_id, user in playground.view_users.items():
        view = workspace.views.get(view_id)
        if user == person and view is not None:
            names = {uid: str(u["real_name"]) for uid, u in (workspace.users or {}).items()}
            body = blockkit.blocks(view.get("blocks", []), names, lambda _: Markup(""))
            html = _render("modal.html.j2", view=view, body=body, names=names)
            return {"id": view_id, "html": html}
    return None


async def _threads(deps: Deps, wanted: str) -> tuple[list[Any], str | None]:
    found, _ = await deps.store.list(None, None, 30)
    ids = [summary.id for summary in found]
    return found, wanted if wanted in ids else (ids[0] if ids else None)


async def _timeline(deps: Deps, thread_id: str | None) -> str:
    if thread_id is None:
        return _render("timeline.html.j2", thread=None)
    thread = await deps.store.get(thread_id)
    if thread is None:
        return _render("timeline.html.j2", thread=None)
    agent = deps.agents.get(thread.agent)
    budget = deps.settings.context_token_budget
    return _render(
        "timeline.html.j2",
        thread=thread,
        model=deps.settings.model_label(),
        pending=thread.pending_request,
        rows=threadview.rows(
            thread,
            agent,
            budget,
            deps.mcp.known(agent) if agent else None,
            prompts=deps.prompts,
            cache=deps.context_cache,
        ),
        audit=await deps.store.audit(thread_id),
        now_context=threadview.now_context(thread, budget, deps.context_cache),
    )
