"""What a store call raises when Redis fails, for the callers that must tell it from a bug
(the worker leaves the job for redelivery; the web app answers 503)."""

from __future__ import annotations

from redis.exceptions import RedisClusterException, RedisError
from taskiq.exceptions import SendTaskError

StoreError = RedisError
"""Redis failed or could not be reached."""

STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, SendTaskError)
"""Every error a store call may raise for Redis: the cluster client's own, and the queue's
(taskiq wraps Redis's errors in its own when a job cannot be queued)."""
