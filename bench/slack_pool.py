"""Pools of signed Slack `app_mention` deliveries, each a new mention with its own event id.

Signed exactly as Slack signs them (`bot.standins.slack_signing`), at the time the pool is
built: a pool is built right before its run, well inside Slack's 5-minute replay window.
One line per request, `timestamp TAB signature TAB body`, so wrk's Lua and the Python load
generator read the same file.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.standins.slack_signing import BOT_USER_ID, event_callback

CHANNEL = "C0BENCH"
USER = "U0ALICE"
TEXT = f"<@{BOT_USER_ID}> deploy api 1.4.2 to production"


def build(path: Path, count: int, secret: str, run: str, first: int = 0) -> Path:
    """Write `count` signed mentions to `path`; `run` keeps ids unique across pools, `first`
    their message ts across pools built within one second (mentions `first`, `first + 1`...)."""
    base = int(time.time())
    with path.open("w", encoding="utf-8") as out:
        for i in range(first, first + count):
            ts = f"{base}.{i:06d}"
            event = {
                "type": "app_mention",
                "user": USER,
                "text": TEXT,
                "ts": ts,
                "channel": CHANNEL,
                "event_ts": ts,
            }
            body, headers = event_callback(
                event, event_id=f"Ev{run}{i:08d}", signing_secret=secret, timestamp=base
            )
            assert b"\t" not in body and b"\n" not in body
            out.write(
                f"{headers['X-Slack-Request-Timestamp']}\t{headers['X-Slack-Signature']}\t"
                f"{body.decode()}\n"
            )
    return path


def thread_ts(line: str) -> str:
    """The Slack thread a pool line starts (its message ts), to look up its stored thread."""
    body = line.split("\t", 2)[2]
    start = body.index('"ts": "') + 7 if '"ts": "' in body else body.index('"ts":"') + 6
    return body[start : body.index('"', start)]
