"""Message events without Bolt: the web process's hot path for Slack's Events API.

Under load, Bolt's per-request work for an event (its middleware chain: authorize, context,
self-event filter, listener matching; then the listener) was the largest part of the web
process besides Redis, and none of it is needed once our guard has checked the signature and
the body: a message event goes straight to `messages.take`, the very listener Bolt would call.
Bolt still serves everything else: interactivity (clicks, modals, with their `trigger_id`
window), other events, and Socket Mode.
"""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]

MESSAGE_EVENTS = ("app_mention", "message")
"""Event types `messages.take` handles; Bolt routes them to it too."""


def message_event(raw: bytes) -> tuple[Json, Json] | None:
    """`(body, event)` when `raw` is an Events API delivery of a message, else None.

    Called after the guard in `http`, so `raw` is signed and, if JSON, well formed.
    """
    if not raw.startswith(b"{"):
        return None  # a form: interactivity
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") not in MESSAGE_EVENTS:
        return None
    return body, event
