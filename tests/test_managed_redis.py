"""Managed Redis: TLS (`rediss://`, the CA from HITLBOT_REDIS_CA_CERT) and an ACL user, and
start-up errors that name the URL without its password."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.dev.embedded_redis import find_redis_server, free_port
from bot.runtime.wiring import StartupError, runtime
from bot.store.connect import RedisUnreachable, connect, redacted
from bot.testing.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import wait_for
from tests.mail_tls import self_signed

PASSWORD = "s3cret-Pass"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A redis-server on TLS only, with a self-signed certificate and the ACL user `hitlbot`
    (the default user off); yields its URL without credentials and the CA file."""
    binary = find_redis_server()
    assert binary is not None
    cert, key = self_signed(tmp_path)
    port = free_port()
    args = [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    args += ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    args += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    args += ["--user", "default", "off", "--user", "hitlbot", "on", f">{PASSWORD}", "~*", "&*"]
    args += ["+@all", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, "redis-server with TLS did not start"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield f"rediss://127.0.0.1:{port}/0", cert
    finally:
        proc.kill()
        proc.wait(10)


def test_a_url_is_named_without_its_password() -> None:
    assert redacted("rediss://app:hunter2@redis.example:6380/0") == (
        "rediss://app:***@redis.example:6380/0"
    )
    assert redacted("redis://:hunter2@[::1]:6379") == "redis://:***@[::1]:6379"
    assert redacted("redis://localhost:6379/0") == "redis://localhost:6379/0"


async def test_tls_and_an_acl_user_run_a_thread(
    tls_redis: tuple[str, Path], settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    url, ca = tls_redis
    managed = settings.model_copy(
        update={
            "redis_url": url.replace("rediss://", f"rediss://hitlbot:{PASSWORD}@"),
            "redis_ca_cert": str(ca),
        }
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "hello over TLS"})
    async with app_client(managed) as api:
        reply = await api.post("/threads", json={"agent": "deploy", "message": "hi"})
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, reply.json()["thread_id"], "done")
        assert view["events"][-1]["message"] == "hello over TLS"
        assert (await api.get("/healthz")).json() == {"ok": True, "redis": "ok"}


@pytest.mark.parametrize(
    ("user", "with_ca", "reason"),
    [
        ("hitlbot:wrong-Pass", True, "invalid username-password pair"),
        (f"hitlbot:{PASSWORD}", False, "certificate verify failed"),
    ],
)
async def test_a_refusal_at_start_names_the_url_but_not_the_password(
    tls_redis: tuple[str, Path], settings: Settings, user: str, with_ca: bool, reason: str
) -> None:
    url, ca = tls_redis
    given = url.replace("rediss://", f"rediss://{user}@")
    bad = settings.model_copy(
        update={"redis_url": given, "redis_ca_cert": str(ca) if with_ca else None}
    )
    with pytest.raises(RedisUnreachable) as refused:
        await connect(bad)
    message = str(refused.value)
    assert redacted(given) in message and reason in message, message
    assert user.split(":")[1] not in message
    with pytest.raises(StartupError) as at_start:  # what `hitlbot web` / `worker` print
        async with runtime(bad):
            pass
    assert str(at_start.value) == message
