"""`hitlbot dev`: web and worker in one process, with whatever is missing built in.

A private Redis when `REDIS_URL` is unset, the offline model without `ANTHROPIC_API_KEY`,
the built-in Slack workspace without `SLACK_BOT_TOKEN`, the mail catcher without `SMTP_HOST`,
and the playground page at `/`. The private Redis goes with the process on Ctrl-C, SIGTERM
and SIGHUP alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from bot.config import Settings
from bot.dev.embedded_redis import private_redis
from bot.runtime.discovery import BUNDLED
from bot.store.connect import redacted as redacted_url
from bot.store.oneshot import count_keys

DEV_TOKEN = "dev"
"""The API token `hitlbot dev` uses when HITLBOT_API_TOKEN is unset (it listens on loopback)."""


def run(settings: Settings, port: int, echo: Callable[[str], None], reload: bool = False) -> None:
    """Serve until stopped; `echo` prints the banner. `reload`: web and worker start again
    when an agent's files change (`bot.dev.reload`)."""
    from bot.email.outbound import status as email_status
    from bot.playground.app import dev_app
    from bot.slack.app import status as slack_status

    base_url = f"http://127.0.0.1:{port}"
    listener = listen(port, echo)  # first: a taken port starts nothing at all
    _quiet_playground_logs()
    with contextlib.closing(listener), contextlib.ExitStack() as stack, _stopped_by_signals():
        notes = [redis_note(settings, stack)]
        if not settings.api_token:
            settings.api_token = DEV_TOKEN
            notes.append(f"API token: {DEV_TOKEN!r} (set HITLBOT_API_TOKEN to choose one)")
        if "api_trusted_decisions" not in settings.model_fields_set:
            # `hitlbot respond --approve` from this terminal decides as you; Slack still checks.
            settings.api_trusted_decisions = True
            notes.append(
                "API decisions: trusted (the token decides as anyone; "
                "HITLBOT_API_TRUSTED_DECISIONS=false checks approvers as web does)"
            )
        notes.append(_model(settings))
        application, playground, built_in = dev_app(settings, base_url)
        if playground.sink is not None:
            # The catcher serves from its own thread and loop; these loops only start it.
            asyncio.run(playground.sink.start())
            stack.callback(asyncio.run, playground.sink.stop())
        if playground.slack is None:
            notes.append("Slack: " + slack_status(settings, base_url))
        if not any(note.startswith("Email:") for note in built_in):
            notes.append("Email: " + email_status(settings))
        notes += built_in
        notes += policy_notes(settings)
        echo(f"hitlbot dev: web + worker on {base_url}")
        for note in notes:
            echo(f"  {redacted(note)}")
        echo(f"  Open {base_url}/ (the playground) and write: deploy api 1.4.2 to production")
        echo(f"  Try: {try_line(base_url, port)}  (API docs: {base_url}/docs)")
        if reload:
            _serve_reloading(settings, application, playground, listener, echo)
            return
        # On the socket bound above: nobody can take the port between the check and the serve.
        uvicorn.Server(uvicorn.Config(application, log_config=None)).run(sockets=[listener])


def _serve_reloading(
    settings: Settings,
    first: Any,
    playground: Any,
    listener: socket.socket,
    echo: Callable[[str], None],
) -> None:
    from bot.dev.reload import serve_reloading
    from bot.playground.app import rebuild

    built = [first]

    def build() -> Any:
        return built.pop() if built else rebuild(settings, playground)

    folders = [BUNDLED, *map(Path, settings.agent_roots())]
    asyncio.run(serve_reloading(build, listener, folders, echo))


def listen(port: int, echo: Callable[[str], None]) -> socket.socket:
    """The loopback socket `hitlbot dev` serves on; if the port is taken, say so and which
    to use instead, and exit at once (no Redis, no worker started)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        echo(f"port {port} is in use: PORT={_other_port(port)} make dev")
        raise SystemExit(1) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _other_port(taken: int) -> int:
    for candidate in (8080, 8081, 8088, 8888, 9000):
        if candidate == taken:
            continue
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", candidate))
            return candidate
    return taken + 1


_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")


def redacted(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`: each banner line passes
    through it, whichever setting's URL it names (`redacted_url` already did Redis's)."""
    return _PASSWORD.sub(r"\1***@", text)


def policy_notes(settings: Settings) -> list[str]:
    """Banner lines for agents refused because the policy names MCP tools their servers do
    not list (their servers are listed only when the policy names a tool the agent lacks)."""
    from bot.mcp.hub import McpHub
    from bot.runtime.wiring import StartupError, check_configuration, load_agents

    try:
        agents = load_agents(settings)
        policy = check_configuration(settings, agents)
    except StartupError:
        return []  # the app refuses to start, and says why

    async def check() -> list[str]:
        hub = McpHub(policy)
        try:
            return await hub.check_policy(agents)
        finally:
            await hub.aclose()

    return [f"Policy: {problem}" for problem in asyncio.run(check())]


def private_store(stack: contextlib.ExitStack) -> str:
    """Start a private store server (a throw-away `redis-server`), stopped when `stack`
    closes; its URL."""
    return stack.enter_context(private_redis())


def redis_note(settings: Settings, stack: contextlib.ExitStack) -> str:
    """Start the private Redis if none is set; the banner line saying which Redis is used."""
    if not settings.redis_url:
        settings.redis_url = private_store(stack)
        return f"Redis: private server at {settings.redis_url} (gone when you stop)"
    line = f"Redis: external, {redacted_url(settings.redis_url)} (REDIS_URL; threads there persist)"
    keys = _existing_keys(settings.redis_url, settings.redis_prefix)
    if keys is None:
        line += "; WARNING: not reachable now"
    elif keys:
        line += (
            f"; WARNING: not empty, {keys}+ keys under {settings.redis_prefix}:* "
            "(unset REDIS_URL for a private one)"
        )
    return line


def _existing_keys(url: str, prefix: str) -> int | None:
    """How many of our keys are there (counted up to 100), or None if Redis does not answer."""
    return count_keys(url, prefix)


def _model(settings: Settings) -> str:
    if settings.offline_model():
        return (
            "Model: OFFLINE - rules, not Claude: each agent's own offline.py, else a labelled "
            "scripted default (set ANTHROPIC_API_KEY to use Claude)"
        )
    if settings.model_provider != "anthropic":  # the cloud's own credentials
        return f"Model: {settings.model} on {settings.model_provider}"
    if settings.anthropic_api_key:
        return f"Model: {settings.model}"
    return (
        f"Model: MISSING - HITLBOT_MODEL={settings.model} needs ANTHROPIC_API_KEY; until then "
        "threads fail at their first model call (HITLBOT_MODEL=offline for the offline model)"
    )


def try_line(base_url: str, port: int) -> str:
    """The banner's example command: the right URL, and a path to `hitlbot` if off PATH."""
    command = "hitlbot" if shutil.which("hitlbot") else _local_command()
    env = "" if port == 8000 else f"HITLBOT_URL={base_url} "
    return f'{env}{command} launch deploy "deploy api 1.4.2 to production"'


def _local_command() -> str:
    """The path of this very `hitlbot`, relative when it is under the current directory."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path(".venv/bin/hitlbot")
    if script.name != "hitlbot":
        script = Path(sys.executable).parent / "hitlbot"
    with contextlib.suppress(ValueError):
        return str(script.resolve().relative_to(Path.cwd()))
    return str(script)


class _NotPlayground(logging.Filter):
    """Drops the access log lines of the page's polling and the built-in Slack API."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 3 and str(args[2]).startswith("/dev/"))


def _quiet_playground_logs() -> None:
    logging.getLogger("uvicorn.access").addFilter(_NotPlayground())
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command


class Stopped(SystemExit):
    """Raised by SIGTERM or SIGHUP, so every cleanup of `run` runs as on Ctrl-C."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop `hitlbot dev` cleanly, private Redis included.

    uvicorn takes SIGTERM over while it serves and shuts down gracefully, then raises the
    signal again once it has put back the handler it found: ours, which exits through the
    cleanups (the default one would kill the process and orphan the Redis). SIGHUP, which
    uvicorn does not handle, is turned into that SIGTERM.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(0)  # asked to stop, and stopped cleanly: no `make: *** Error 143`

    def hang_up(signum: int, frame: FrameType | None) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, stop),
        signal.SIGHUP: signal.signal(signal.SIGHUP, hang_up),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
