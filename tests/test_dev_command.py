"""`hitlbot dev` as a newcomer runs it: what the banner says, and a clean stop on any signal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.dev.embedded_redis import free_port
from bot.dev.server import redacted, redis_note, try_line

CLEARED = (
    "REDIS_URL",
    "ANTHROPIC_API_KEY",
    "HITLBOT_MODEL",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SMTP_HOST",
    "HITLBOT_API_TOKEN",
    "PORT",
)


def port_open(url: str) -> bool:
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.5):
        return True
    return False


@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
async def test_a_signal_stops_dev_and_its_private_redis(signum: int, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED} | {"PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "dev", "--port", str(port),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    banner: list[str] = []
    try:
        while not any(line.strip().startswith("Try:") for line in banner):
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, f"hitlbot dev exited early: {banner}"
            banner.append(line.decode())
        text = "".join(banner)
        redis_url = text.split("Redis: private server at ")[1].split()[0]
        assert "Model: OFFLINE" in text and "Slack: built-in workspace" in text
        assert "Email: built-in mail catcher" in text
        assert f"Try: HITLBOT_URL=http://127.0.0.1:{port} " in text and "/hitlbot launch" in text
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("hitlbot dev never became healthy")
        assert port_open(redis_url)

        proc.send_signal(signum)
        code = await asyncio.wait_for(proc.wait(), 30)
        assert code == 0  # a clean stop (SIGHUP is taken as SIGTERM): no `make: *** Error 143`
        assert not port_open(redis_url), "the private Redis outlived hitlbot dev"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_an_external_redis_is_named_and_a_used_one_warned_about(
    settings: Settings, redis_client: Redis
) -> None:
    with contextlib.ExitStack() as stack:
        line = redis_note(settings, stack)
        assert line.startswith(f"Redis: external, {settings.redis_url}") and "WARNING" not in line
        await redis_client.set(f"{settings.redis_prefix}:thread:x", "1")
        line = redis_note(settings, stack)
        assert f"WARNING: not empty, 1+ keys under {settings.redis_prefix}:*" in line
        gone = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
        assert "WARNING: not reachable" in redis_note(gone, stack)


def test_the_try_line_names_the_url_and_a_hitlbot_off_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.chdir(Path(sys.executable).parent.parent.parent)
    line = try_line("http://127.0.0.1:8000", 8000)
    assert line.startswith(f"{Path(sys.executable).parent.parent.name}/bin/hitlbot launch deploy")
    line = try_line("http://127.0.0.1:9000", 9000)
    assert line.startswith("HITLBOT_URL=http://127.0.0.1:9000 ")


def test_free_ports_asked_for_before_any_is_bound_all_differ() -> None:
    """The web server's port and its mail catcher's are both asked for before either binds;
    the kernel hands the same unbound port out twice now and then (the playground's server
    once found its port taken by its own catcher)."""
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


@pytest.mark.timeout(60)
async def test_a_taken_port_exits_at_once_saying_which_to_use(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED} | {"PYTHONUNBUFFERED": "1"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "dev", "--port", str(port),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 45)
    text = out.decode()
    assert proc.returncode == 1, (text, err.decode())
    assert f"port {port} is in use: PORT=8080 make dev" in text or "is in use: PORT=" in text
    # Nothing was started: no private Redis, no worker, no banner.
    assert "Redis:" not in text and "worker" not in err.decode()
    assert "Traceback" not in err.decode()


def test_the_banner_never_shows_a_password() -> None:
    assert redacted("Redis: external, redis://:s3cret@db:6379/0 (REDIS_URL)") == (
        "Redis: external, redis://:***@db:6379/0 (REDIS_URL)"
    )
    assert redacted("rediss://app:p%40ss@h/1 and https://u:x@y.example/") == (
        "rediss://app:***@h/1 and https://u:***@y.example/"
    )
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
