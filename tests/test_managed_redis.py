"""Managed Redis: TLS (`rediss://`, the CA from HITLBOT_REDIS_CA_CERT) and an ACL user, and
start-up errors that name the URL without its password."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.dev.embedded_redis import find_redis_server, free_port, private_redis
from bot.runtime.wiring import StartupError, runtime
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.connect import RedisUnreachable, connect, redacted
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


@pytest.fixture
def primary_and_replica(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private Redis and a replica of it, in sync: what a failover-aware endpoint fronts."""
    binary = find_redis_server()
    assert binary is not None
    with private_redis() as url:
        primary_port = url.rsplit(":", 1)[1].split("/")[0]
        port = free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--replicaof", "127.0.0.1", primary_port, "--dir", str(tmp_path)]
        replica = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while "master_link_status:up" not in _replication(port):
                assert time.monotonic() < deadline, "the replica did not sync"
                time.sleep(0.05)
            yield url, replica
        finally:
            os.kill(replica.pid, signal.SIGCONT)
            replica.kill()
            replica.wait(10)


def _replication(port: int) -> str:
    with contextlib.suppress(subprocess.SubprocessError, FileNotFoundError):
        done = subprocess.run(
            ["redis-cli", "-p", str(port), "info", "replication"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return done.stdout
    return ""


async def test_with_replicas_ack_a_lagging_replica_means_503_not_an_acknowledgement(
    primary_and_replica: tuple[str, subprocess.Popen[bytes]], settings: Settings
) -> None:
    url, replica = primary_and_replica
    acked = settings.model_copy(
        update={
            "redis_url": url,
            "redis_replicas_ack": 1,
            "redis_replicas_timeout_s": 0.3,
            "model": "offline",
            "anthropic_api_key": None,
        }
    )
    ask = {"agent": "deploy", "message": "deploy api 1.4.2 to production"}
    async with app_client(acked) as api:
        launched = await api.post("/threads", json=ask)  # through the intake script
        assert launched.status_code == 202, launched.text
        view = await wait_for(api, launched.json()["thread_id"], "waiting_approval")
        decision = {
            "request_id": view["pending_request"]["request_id"],
            "approved": True,
            "user": "bob",
        }
        os.kill(replica.pid, signal.SIGSTOP)  # connected, but confirms nothing
        try:
            refused = await api.post(f"/threads/{view['id']}/responses", json=decision)
            unsure = await api.post("/threads", json=ask)
        finally:
            os.kill(replica.pid, signal.SIGCONT)
        for reply in (refused, unsure):
            assert reply.status_code == 503, reply.text
            assert "replicas confirmed" in reply.json()["detail"]
        again = await api.post(f"/threads/{view['id']}/responses", json=decision)
        assert again.status_code == 409, again.text  # it was made: the retry is told so
        await wait_for(api, view["id"], "done")
