"""`POST /email/inbound`: a provider's inbound webhook, translated into `Inbox.receive`.

Accepted bodies, by `Content-Type`:
- `message/rfc822`: the raw message (any relay or script);
- `application/json`: Postmark's inbound webhook;
- `multipart/form-data` or `application/x-www-form-urlencoded`: SendGrid Inbound Parse (raw
  mode or not), or a Mailgun route forwarding to a URL ending in `mime` (`body-mime`).

Authentication: `Authorization: Bearer $EMAIL_INBOUND_SECRET`, or basic auth whose password is
the secret (how Postmark and SendGrid send credentials put in the webhook URL); or, for
Mailgun, its signature with `MAILGUN_WEBHOOK_SIGNING_KEY`, fresh and never seen before.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.config import Settings
from bot.email.inbound.form import parse_form
from bot.email.inbound.mailgun import BadSignature, check_signature
from bot.email.inbound.mime import parse_rfc822
from bot.email.inbound.webhooks import parse_postmark, parse_sendgrid_form
from bot.email.ingest import Inbox
from bot.email.message import EmailParseError, EmailTooLarge, ParsedEmail
from bot.email.routing import parse_routes
from bot.store.claims import Claims, undone_on_failure

PATH = "/email/inbound"
"""The route; the web app's 1 MB body limit does not apply to it (it has its own)."""
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
_CHALLENGE = {"WWW-Authenticate": 'Bearer, Basic realm="hitlbot email"'}


def secret_matches(authorization: str | None, secret: str) -> bool:
    """Bearer token, or basic-auth password (any user name), equal to `secret`."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        given = decoded.partition(":")[2]
    else:
        return False
    return bool(secret) and secrets.compare_digest(given.encode(), secret.encode())


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (EmailTooLarge) as soon as it is over `limit` bytes."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise EmailTooLarge(f"request body over the {limit} byte limit (HITLBOT_EMAIL_MAX_BYTES)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise EmailTooLarge(f"request body over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(media: str, body: bytes, fields: dict[str, str], settings: Settings) -> ParsedEmail:
    """The mail in a request body of type `media` (`fields`: the form's, when it is one)."""
    limits: dict[str, Any] = {
        "max_bytes": settings.email_max_bytes,
        "max_text_chars": settings.max_message_chars,
    }
    if media == "message/rfc822":
        return parse_rfc822(body, **limits)
    if media == "application/json":
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EmailParseError(f"the body is not JSON: {exc}") from None
        return parse_postmark(payload, **limits)
    if media in FORMS:
        if "body-mime" in fields:
            return parse_rfc822(fields["body-mime"].encode("utf-8", "surrogateescape"), **limits)
        if "body-plain" in fields:
            raise EmailParseError(
                "a Mailgun form without body-mime: forward to a URL ending in `mime` "
                "(e.g. /email/inbound?format=mime) so the raw message is posted"
            )
        return parse_sendgrid_form(fields, **limits)
    raise EmailParseError(
        f"unsupported Content-Type {media or 'none'!r}: send message/rfc822, "
        "Postmark JSON (application/json) or a SendGrid/Mailgun form"
    )


def router(settings: Settings) -> APIRouter:
    """The router; malformed `HITLBOT_EMAIL_ROUTES` fail here, at start-up."""
    parse_routes(settings.email_routes)
    api = APIRouter(tags=["email"])
    api.add_api_route(PATH, inbound, methods=["POST"], status_code=202)
    return api


def _inbox(request: Request) -> Inbox:
    inbox: Inbox | None = getattr(request.app.state, "inbox", None)
    if inbox is None or inbox.service is not request.app.state.service:
        inbox = request.app.state.inbox = Inbox(request.app.state.service)
    return inbox


def _mailgun_token(fields: dict[str, str], key: str, now: float) -> str:
    """The signature's token, once verified; it is used up only when the mail is taken."""
    try:
        return check_signature(fields, key, now)
    except BadSignature as exc:
        raise HTTPException(401, str(exc), _CHALLENGE) from None


async def inbound(request: Request) -> JSONResponse:
    """Take one inbound mail: 202 with what became of it (`thread_id`, `status`, `reason`)."""
    settings: Settings = request.app.state.settings
    secret, mailgun_key = settings.email_inbound_secret, settings.mailgun_signing_key
    if not secret and not mailgun_key:
        raise HTTPException(401, "email inbound is disabled: set EMAIL_INBOUND_SECRET")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    authorized = secret_matches(request.headers.get("authorization"), secret or "")
    if not authorized and not (mailgun_key and media in FORMS):
        raise HTTPException(401, "missing or wrong email inbound secret", _CHALLENGE)
    token = None
    try:
        body = await read_body(request, settings.email_max_bytes)
        fields = parse_form(request.headers["content-type"], body) if media in FORMS else {}
        if not authorized:
            assert mailgun_key is not None
            token = _mailgun_token(fields, mailgun_key, request.app.state.service.deps.clock.time())
        mail = parse_body(media, body, fields, settings)
    except EmailTooLarge as exc:
        return JSONResponse({"detail": str(exc)}, status_code=413)
    except EmailParseError as exc:
        return JSONResponse({"detail": f"cannot read the mail: {exc}"}, status_code=400)
    if token is None:
        return await _receive(request, mail)
    # The token is used up only by a mail that is taken: Mailgun's retry of a request we could
    # not read or failed on must be read again, not refused as a replay.
    claims: Claims = request.app.state.service.deps.claims
    claimed = await claims.claim("mailgun", token)
    if claimed is None:
        raise HTTPException(401, "this Mailgun token was already used (a replay)", _CHALLENGE)
    async with undone_on_failure(partial(claims.release, claimed)):
        return await _receive(request, mail)


async def _receive(request: Request, mail: ParsedEmail) -> JSONResponse:
    outcome = await _inbox(request).receive(mail)
    return JSONResponse(outcome.body(), status_code=202)
