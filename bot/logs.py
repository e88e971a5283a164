"""structlog set-up: readable lines on a terminal, JSON lines otherwise, for every log record.

Our own events and the standard library's records (uvicorn, taskiq, httpx, the MCP SDK) go
through one pipeline to one stream, so a production log is one JSON format. Exceptions are
rendered as a plain traceback, never with local variables (a tool's locals may hold the bot
token, an API key, the SMTP password): on a terminal as text, in JSON as an `exception`
string. URLs are cut to their scheme and host, since a user, path or query may hold a
credential (an MCP server's hosted URL, a webhook's token).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from bot.mcp.source import redact


def configure(level: str = "INFO", json: bool | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging once per process (again replaces it)."""
    stream = stream or sys.stderr
    json = not stream.isatty() if json is None else json
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    # Before rendering: JSON gets the traceback as a string (`exc_info: true` once);
    # the console renderer formats `exc_info` itself, with the plain formatter.
    finish: list[Processor] = [structlog.processors.format_exc_info] if json else []
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    structlog.configure(
        processors=[*shared, *finish, _cut_urls, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *finish,
                _cut_urls,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _OURS, False) or _is_default(old):
            root.removeHandler(old)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level)


_OURS = "_hitlbot_logs"
"""Marks the root handler `configure` installed, so configuring again replaces it."""


def _is_default(handler: logging.Handler) -> bool:
    """A `logging.basicConfig` handler to stderr (ours once), not a test runner's capture."""
    return type(handler) is logging.StreamHandler and getattr(handler, "stream", None) in (
        sys.stderr,
        sys.__stderr__,
    )


def _cut_urls(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    """Every text of the event with its URLs cut to scheme and host."""
    for key, value in event.items():
        if isinstance(value, str) and "://" in value:
            event[key] = redact(value)
    return event
