"""`POST /slack/events`: the Request URL for the Events API and interactivity alike.

A guard in front of Bolt answers what Bolt would get wrong: it checks the signature itself
(so a bad one is a clear 401, whatever the body) and refuses a signed body Bolt cannot parse
with a 400, where Bolt would answer 500. A signed, well-formed message event never gets here:
`fastpath.MessageEvents`, in front of the routing, takes it; everything else that passes goes
to Bolt's FastAPI adapter.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bot.slack.app import SlackApp
from bot.slack.inbound import malformed

MAX_SKEW_S = 5 * 60
"""Slack's replay window: a request signed further from now is refused."""

PATH = "/slack/events"
"""The Request URL for events and interactivity alike."""

router = APIRouter(tags=["slack"])


@router.post(PATH, summary="Slack Events API and interactivity (signed by Slack)")
async def slack_events(request: Request) -> Response:
    """Check, then hand to Bolt (message events are taken before routing: `fastpath`)."""
    slack: SlackApp | None = getattr(request.app.state, "slack", None)
    if slack is None or not slack.signing_secret:
        return _refuse(
            503,
            "Slack is not configured here: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "(or use Socket Mode with SLACK_APP_TOKEN, which needs no Request URL)",
        )
    body = await request.body()
    problem = signature_problem(
        slack.signing_secret,
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
        slack.deps.service.deps.clock.time(),
    )
    if problem is not None:
        return _refuse(401, problem)
    problem = malformed(body, request.headers.get("content-type"))
    if problem is not None:
        return _refuse(400, f"malformed Slack request: {problem}")
    return await slack.handler.handle(request)


def signature_problem(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why the request is not signed by Slack (v0, within 5 minutes), or None if it is."""
    if not timestamp or not signature:
        return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
    if not timestamp.isdigit():
        return "X-Slack-Request-Timestamp is not a Unix time"
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return "X-Slack-Request-Timestamp is more than 5 minutes from now (a replay?)"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "X-Slack-Signature does not match the body"
    return None


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
