"""What the Slack stand-in remembers of the agent surface: statuses, titles, prompts, streams."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Stream:
    """A message being streamed (`chat.startStream` until `chat.stopStream`)."""

    channel: str
    """Where it is."""
    ts: str
    """Its ts, as `chat.startStream` answered."""
    appends: list[str] = field(default_factory=list)
    """Each piece of text as it arrived (the start's text first, if any)."""
    tasks: dict[str, str] = field(default_factory=dict)
    """Task updates by task id: their latest status."""
    stopped: bool = False
    """True once `chat.stopStream` ended it."""


@dataclass
class AgentSurface:
    """The agent features of the fake workspace."""

    statuses: dict[tuple[str, str], tuple[str, list[str]]] = field(default_factory=dict)
    """The status line by (channel, thread ts): its text and loading messages; none: cleared."""
    status_log: list[tuple[str, str, str]] = field(default_factory=list)
    """Every status set, in order, as (channel, thread ts, status); "" is a clear."""
    titles: dict[tuple[str, str], str] = field(default_factory=dict)
    """Thread titles by (channel, thread ts)."""
    prompts: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    """Suggested prompts by (channel, thread ts); thread ts "" for a whole DM tab."""
    streams: dict[tuple[str, str], Stream] = field(default_factory=dict)
    """Streamed messages by (channel, ts)."""
    status_refused: dict[str, str] = field(default_factory=dict)
    """Channels where `assistant.threads.setStatus` is refused, with the error ("*": all),
    as in a workspace where the app lacks the scope for them."""
