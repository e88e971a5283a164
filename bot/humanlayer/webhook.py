"""The response webhook (`HITLBOT_RESPONSE_WEBHOOK_URL`): an answered external call, pushed.

The body is the call as the HumanLayer API shows it (a `FunctionCall` or a `HumanContact`,
its `spec.state` included) under `type`; the `X-Hitlbot-Signature` header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by
`HITLBOT_RESPONSE_WEBHOOK_SECRET` (else `HITLBOT_API_TOKEN`). It is sent as the thread's last
delivery, so the runner retries it with the delivery backoff, and a worker killed between the
POST and its record sends it again: at least once, with the call id as `Idempotency-Key`.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from bot.clock import SYSTEM, Clock
from bot.core.thread import Thread
from bot.humanlayer.views import call_view, origin_of
from bot.runtime.delivery import DeliveryFailed, DeliveryUnavailable

SIGNATURE_HEADER = "X-Hitlbot-Signature"


def signature(secret: str, body: bytes, at: int) -> str:
    """The header value for `body` sent at `at` (what a receiver recomputes)."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance_s: float = 300) -> bool:
    """Whether `header` signs `body` with `secret`, sent within `tolerance_s` of `now`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, body, at)
    return abs(now - at) <= tolerance_s and hmac.compare_digest(expected, header)


class ResponseWebhook:
    """POSTs answered calls to the operator's URL."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        secret: str,
        clock: Clock = SYSTEM,
    ) -> None:
        self.http = http
        self.url = url
        self.secret = secret
        self.clock = clock

    async def push(self, thread: Thread) -> None:
        """Send the call; DeliveryUnavailable (retried) unless the receiver took it (2xx)."""
        origin = origin_of(thread)
        payload = {"type": origin.call, "thread_id": thread.id, "call": call_view(thread)}
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"{origin.call}:{origin.call_id}",
            SIGNATURE_HEADER: signature(self.secret, body, int(self.clock.time())),
        }
        try:
            reply = await self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryUnavailable(
                f"response webhook unreachable: {type(exc).__name__}"
            ) from exc
        if reply.status_code >= 500 or reply.status_code in (408, 429):
            raise DeliveryUnavailable(f"response webhook answered {reply.status_code}")
        if reply.status_code >= 400:
            raise DeliveryFailed(f"response webhook refused the call: {reply.status_code}")
