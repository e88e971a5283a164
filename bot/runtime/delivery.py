"""How a channel says an outbound event could not be sent, so the runner can act on it.

Any channel may raise these from `deliver`; the runner (not the channel) decides what follows:
a transient failure is retried through the queue with backoff, a permanent one (or a transient
one whose retries are spent) is recorded on the thread as an `error` of kind `delivery`.
"""

from __future__ import annotations


class DeliveryUnavailable(Exception):
    """The channel cannot send now but may later (a relay's 4xx, a refused connection)."""


class DeliveryFailed(Exception):
    """Sending will never work as it is (a relay's 5xx, a bad address, a channel switched off)."""
