"""Connections to Redis, built in one place: one Redis or a Redis Cluster, plain or TLS.

`REDIS_URL` names one Redis, or any node of a Redis Cluster (Valkey's too); with
`HITLBOT_REDIS_CLUSTER=auto` the server is asked at start (`INFO cluster`) which it is. A
cluster gets redis-py's asyncio `RedisCluster` (it follows MOVED, and a failover, by itself)
and the queue `ClusterStepBroker`; one Redis gets the sized, blocking pool as before. The
ACL user and password ride in the URL (`rediss://user:password@host:port`); `rediss://` adds
TLS, with the CA and client certificate files of the settings. No message or log line shows
the password: `redacted` is what names a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.config import Settings
from bot.store.queue import StepBroker, build_broker

PROBE_TIMEOUT_S = 5.0
"""How long the start-up question to Redis may take."""

RedisClient = Redis | RedisCluster
"""What the store, the leases and the channels are given: either client has the commands,
scripts and pipelines they use."""


class RedisUnreachable(Exception):
    """Redis could not be reached or refused us at start; the message names the URL (without
    its password) and why."""


def redacted(url: str) -> str:
    """`url` with its password replaced by `***` (the user name stays: it helps, and is no
    secret)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _scrubbed(message: str, url: str) -> str:
    password = urlsplit(url).password
    return message.replace(password, "***") if password else message


def reconnecting() -> dict[str, Any]:
    """Connection options that ride out a Redis restart or a failover: retries with backoff
    (about 7 s)."""
    return {
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=8),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def tls_options(settings: Settings, url: str) -> dict[str, Any]:
    """redis-py's TLS options from the settings, for a `rediss://` URL (none otherwise)."""
    if urlsplit(url).scheme != "rediss":
        return {}
    options: dict[str, Any] = {}
    if settings.redis_ca_cert:
        options["ssl_ca_certs"] = settings.redis_ca_cert
    if settings.redis_client_cert:
        options["ssl_certfile"] = settings.redis_client_cert
    if settings.redis_client_key:
        options["ssl_keyfile"] = settings.redis_client_key
    return options


def redis_client(url: str, pool_size: int, **options: Any) -> Redis:
    """One Redis: a client on a sized, blocking pool that retries through a restart."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=10, **reconnecting(), **options
    )
    return Redis(connection_pool=pool)


CLUSTER_POOL_FACTOR = 4
"""redis-py's cluster client does not wait for a free connection (it raises when a node's are
all taken), so it may open this many times `HITLBOT_REDIS_POOL_SIZE` per node."""


def cluster_client(url: str, pool_size: int, **options: Any) -> RedisCluster:
    """A Redis Cluster from any node's URL: connections per node as `CLUSTER_POOL_FACTOR`
    says, retries (and a fresh look at the cluster's layout) through a failover."""
    connections = pool_size * CLUSTER_POOL_FACTOR
    return RedisCluster.from_url(url, max_connections=connections, **reconnecting(), **options)


async def is_cluster(url: str, **options: Any) -> bool:
    """Whether the server at `url` is a node of a Redis Cluster (`INFO cluster`).

    RedisUnreachable when it cannot be asked: the message names the URL, not its password.
    """
    probe = Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S, **options
    )
    try:
        info = await probe.info("cluster")
    except (RedisError, OSError) as exc:
        reason = _scrubbed(str(exc), url) or type(exc).__name__
        raise RedisUnreachable(f"cannot use Redis at {redacted(url)}: {reason}") from None
    finally:
        await probe.aclose()
    return bool(info.get("cluster_enabled"))


@dataclass
class Connection:
    """The process's Redis client and queue broker, of one mode."""

    redis: RedisClient
    """The one client: store, leases, claims, pub/sub, deadlines."""
    broker: StepBroker
    """The queue."""
    cluster: bool
    """Whether it is a Redis Cluster."""

    async def aclose(self) -> None:
        """Close the broker and the client, and their connections."""
        await self.broker.shutdown()
        if isinstance(self.redis, RedisCluster):
            await self.redis.aclose()
        else:
            await self.redis.aclose(close_connection_pool=True)
        pool = getattr(self.broker, "connection_pool", None)
        if pool is not None:
            await pool.disconnect()


async def connect(settings: Settings) -> Connection:
    """The client and broker `settings` ask for; RedisUnreachable if Redis cannot be used."""
    url = settings.redis_url
    if not url:
        raise RedisUnreachable("REDIS_URL is not set (hitlbot dev starts a private Redis for you)")
    tls = tls_options(settings, url)
    if settings.redis_cluster == "auto":
        cluster = await is_cluster(url, **tls)
    else:
        cluster = settings.redis_cluster == "yes"
    size = settings.redis_pool_size
    redis = cluster_client(url, size, **tls) if cluster else redis_client(url, size, **tls)
    # The same retries for the queue: a job kicked after its thread was committed must not be
    # lost to a blip, or the thread would sit `running` with nothing queued for it.
    broker = build_broker(
        url,
        settings.queue_name,
        settings.step_lease_s,
        size * CLUSTER_POOL_FACTOR if cluster else size,
        cluster=cluster,
        **reconnecting(),
        **tls,
    )
    return Connection(redis=redis, broker=broker, cluster=cluster)
