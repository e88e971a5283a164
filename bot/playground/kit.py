"""What `hitlbot dev` adds when credentials are missing: who is in the built-in workspace, the
mail catcher, and the settings that point the real clients at them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.standins.slack_signing import BOT_USER_ID
from bot.standins.slack_workspace import Workspace, channel_object, user_object
from bot.standins.smtp_sink import SmtpSink

API_PATH = "/dev/slack/api/"
"""Where the built-in workspace's Web API is served (`SLACK_API_URL` points here)."""
BOT_TOKEN = "xoxb-playground"
"""The bot token of the built-in workspace."""
MAILBOX = "support@shop.example"
"""The bot's address when `EMAIL_FROM` is unset."""
CUSTOMER = "ana@example.com"
"""The customer the mail composer writes as by default (she placed order A1001)."""


@dataclass(frozen=True)
class Person:
    """Someone in the built-in workspace."""

    id: str
    """Slack user id."""
    name: str
    """Real name."""
    dm: str
    """Their direct-message channel with the bot."""


@dataclass(frozen=True)
class Room:
    """A channel of the built-in workspace."""

    id: str
    """Channel id."""
    name: str
    """Channel name, without `#`."""
    hint: str = ""
    """What to try there, shown above its messages."""
    agent: str | None = None
    """The agent the channel is routed to (`HITLBOT_SLACK_ROUTES`); None: the default."""


BEN = Person("U0BEN", "Ben Okafor", "D0BEN")
"""Asks for deploys; not an approver (the page starts as him)."""
MAYA = Person("U0MAYA", "Maya Chen", "D0MAYA")
"""The approver (`SLACK_APPROVERS` defaults to her). Nobody approves their own thread's calls
unless a policy says so, so she approves what Ben asks, not what she asks herself. (Ana, of
order A1001, is a customer who writes by mail.)"""
PEOPLE = (BEN, MAYA)
"""Everyone in the built-in workspace, as the page lists them."""
DEPLOYS = Room("C0DEPLOYS", "deploys")
"""Where the page opens: mention @hitlbot here."""
APPROVALS = Room("C0APPROVALS", "approvals")
"""Receives the approval cards of mail and API threads (`SLACK_APPROVAL_CHANNEL`)."""
ONCALL = Room(
    "C0ONCALL",
    "oncall",
    hint="Try <b>@hitlbot page the on-call for payments</b>: the oncall agent, its tools "
    "from the bundled incidents MCP server.",
    agent="oncall",
)
"""Routed to the `oncall` agent."""
ROOMS = (DEPLOYS, ONCALL, APPROVALS)
"""The built-in workspace's own channels; `rooms_for` adds one per agent without one."""


def rooms_for(agents: Iterable[str], default_agent: str) -> tuple[Room, ...]:
    """The built-in channels, and a channel named for each other agent (your own ones too),
    routed to it: `#inventory` talks to `inventory`."""
    have = {room.agent for room in ROOMS if room.agent} | {default_agent}
    taken = {room.id for room in ROOMS} | {room.name for room in ROOMS}
    extra = []
    for agent in sorted(set(agents) - have):
        name = re.sub(r"[^a-z0-9_-]", "-", agent.lower())[:80]
        room_id = "C0" + re.sub(r"[^A-Z0-9]", "", agent.upper())[:9]
        while room_id in taken or name in taken:
            room_id, name = room_id + "X", name + "-agent"
        taken |= {room_id, name}
        hint = f"Routed to your <b>{agent}</b> agent: mention @hitlbot here."
        extra.append(Room(room_id, name, hint=hint, agent=agent))
    return (*ROOMS[:-1], *extra, ROOMS[-1])


def merged_routes(operator: str, rooms: Iterable[Room]) -> str:
    """`HITLBOT_SLACK_ROUTES` as the operator set it, with each room's route for a channel
    the operator's routes do not name: choosing routes loses no built-in one."""
    named = {part.split("=", 1)[0].strip() for part in operator.split(",") if "=" in part}
    built_in = [f"{room.id}={room.agent}" for room in rooms if room.agent and room.id not in named]
    return ",".join(part for part in (operator.strip(" ,"), *built_in) if part)


@dataclass
class Playground:
    """The live state of the playground, shared by its routes."""

    slack: Workspace | None
    """The built-in Slack workspace; None when `SLACK_BOT_TOKEN` names a real one."""
    signing_secret: str | None
    """The built-in workspace's signing secret (random per run)."""
    sink: SmtpSink | None
    """The mail catcher; None when `SMTP_HOST` names a real relay."""
    inbound_secret: str | None
    """`EMAIL_INBOUND_SECRET`, to POST composed mail to `/email/inbound`."""
    mailbox: str
    """The bot's address (`EMAIL_FROM`)."""
    approvers: frozenset[str]
    """`SLACK_APPROVERS`, to label people on the page."""
    model: str
    """The model that plays the agents, as the page shows it."""
    rooms: tuple[Room, ...] = ROOMS
    """The channels of the built-in workspace: the built-in ones and one per other agent."""
    base_url: str = ""
    """Where this process serves (set once the port is known)."""
    mail_log: list[tuple[str, bytes]] = field(default_factory=list)
    """Every mail in order: ("in", raw) sent to the bot from the page, ("out", raw) caught."""
    view_users: dict[str, str] = field(default_factory=dict)
    """Open modals (view id) and whom they were opened for."""
    trigger_users: dict[str, str] = field(default_factory=dict)
    """Trigger ids of clicks sent from the page, and who clicked."""

    def mail(self) -> list[tuple[str, bytes]]:
        """The mail log, with what the catcher received since the last look appended."""
        caught = sum(1 for direction, _ in self.mail_log if direction == "out")
        if self.sink is not None:
            # The catcher appends from its own thread; a snapshot of the list is safe to read.
            for received in list(self.sink.received)[caught:]:
                self.mail_log.append(("out", received.raw))
        return self.mail_log

    def person(self, user_id: str) -> Person | None:
        """A person of the built-in workspace by id."""
        return next((person for person in PEOPLE if person.id == user_id), None)


def prepare(
    settings: Settings, base_url: str, agents: Iterable[str] = ()
) -> tuple[Playground, list[str]]:
    """Fill in what is missing with the built-ins (changing `settings`); the banner's notes.

    Call before the app starts; start `playground.sink` (if any) and stop it afterwards.
    """
    notes: list[str] = []
    rooms = rooms_for(agents, settings.slack_default_agent)
    workspace: Workspace | None = None
    secret: str | None = None
    if not settings.slack_bot_token:
        workspace = _workspace(rooms)
        secret = secrets.token_hex(16)
        settings.slack_bot_token = BOT_TOKEN
        settings.slack_signing_secret = secret
        settings.slack_app_token = None
        settings.slack_api_url = base_url + API_PATH
        settings.slack_approvers = settings.slack_approvers or MAYA.id
        settings.slack_approval_channel = settings.slack_approval_channel or APPROVALS.id
        settings.slack_routes = merged_routes(settings.slack_routes, rooms)
        notes.append(
            f"Slack: built-in workspace on the page ({base_url}/), Web API at {API_PATH} "
            "(set SLACK_BOT_TOKEN for a real one)"
        )
    sink: SmtpSink | None = None
    if not settings.smtp_host:
        sink = SmtpSink()
        settings.smtp_host, settings.smtp_port = sink.host, sink.port
        settings.smtp_starttls = settings.smtp_tls = False
        settings.smtp_username = settings.smtp_password = None
        notes.append(
            f"Email: built-in mail catcher on {sink.host}:{sink.port}, outbox on the page "
            "(set SMTP_HOST for a real relay)"
        )
    settings.email_from = settings.email_from or MAILBOX
    settings.email_inbound_secret = settings.email_inbound_secret or secrets.token_hex(16)
    playground = Playground(
        slack=workspace,
        signing_secret=secret,
        sink=sink,
        inbound_secret=settings.email_inbound_secret,
        mailbox=settings.email_from,
        approvers=settings.slack_approver_ids(),
        model=settings.model_label(),
        rooms=rooms,
        base_url=base_url,
    )
    return playground, notes


def add_rooms(playground: Playground, settings: Settings, agents: Iterable[str]) -> None:
    """After a reload: a channel (and its route) for each agent that has none yet; what the
    page holds stays."""
    rooms = rooms_for(agents, settings.slack_default_agent)
    known = {room.id for room in playground.rooms}
    playground.rooms = tuple(dict.fromkeys((*playground.rooms, *rooms)))
    if playground.slack is not None and playground.slack.channels is not None:
        for room in rooms:
            if room.id not in known:
                playground.slack.channels[room.id] = channel_object(room.id, room.name)
        settings.slack_routes = merged_routes(settings.slack_routes, rooms)


def _workspace(rooms: Iterable[Room]) -> Workspace:
    users = {p.id: user_object(p.id, p.name) for p in PEOPLE}
    users[BOT_USER_ID] = user_object(BOT_USER_ID, "hitlbot")
    channels = {room.id: channel_object(room.id, room.name) for room in rooms}
    for person in PEOPLE:
        channels[person.dm] = channel_object(person.dm) | {"user": person.id}
    return Workspace(users=users, channels=channels)


def person_sees(playground: Playground, user: str, channel: str) -> bool:
    """Whether `user` is in `channel`: every channel, and their own DM with the bot."""
    if any(room.id == channel for room in playground.rooms):
        return True
    person = playground.person(user)
    return person is not None and person.dm == channel
