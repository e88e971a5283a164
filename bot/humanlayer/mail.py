"""External contacts by mail: the question sent to the caller's address, on the caller's mail
thread if it named one; the human's reply (matched by its headers, quotes stripped, by the
email channel's inbound path) answers it.

The body is the question, or the caller's Jinja `template` rendered in a sandbox with
`event` (`spec`, `call_id`, `run_id`) and `msg`: a template may read what it is given, and
nothing else of the process. `additional_recipients` are added as To, Cc or Bcc.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

import structlog
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core.events import HumanRequest, RequestSent
from bot.core.refusals import Invalid
from bot.core.thread import ExternalOrigin, Thread
from bot.email.compose import Outbound, build_message, minted_message_id, reply_subject
from bot.email.headers import address_domain
from bot.email.smtp import Mailer
from bot.humanlayer.models import ContactChannel, EmailContactChannel, Escalation
from bot.runtime.delivery import DeliveryFailed
from bot.runtime.deps import Deps

log = structlog.get_logger(__name__)
_SANDBOX = ImmutableSandboxedEnvironment(autoescape=False)


def rendered(email: EmailContactChannel, origin: ExternalOrigin, message: str) -> str:
    """The mail's body: the caller's template (sandboxed), else the question."""
    if not email.template:
        return message
    event = {"spec": origin.spec, "call_id": origin.call_id, "run_id": origin.run_id}
    try:
        return _SANDBOX.from_string(email.template).render(event=event, msg=message)
    except TemplateError as exc:
        raise DeliveryFailed(f"the email template does not render: {exc}") from exc


def outbound_mail(
    origin: ExternalOrigin,
    email: EmailContactChannel,
    sender: str,
    text: str,
    message_id: str,
    thread_id: str,
    date: datetime,
) -> EmailMessage:
    """The MIME message of a contact."""
    subject = email.subject or email.experimental_subject_line or origin.spec.get("subject")
    in_reply_to = email.in_reply_to_message_id or email.experimental_in_reply_to_message_id
    references = email.references_message_id or email.experimental_references_message_id
    mail = Outbound(
        sender=sender,
        to=email.address,
        subject=reply_subject(subject) if in_reply_to and subject else (subject or "A question"),
        text=text,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=(references or "").split() or ([in_reply_to] if in_reply_to else []),
        thread_id=thread_id,
    )
    message = build_message(mail, date=date)
    for field in ("to", "cc", "bcc"):
        extra = [r.address for r in email.additional_recipients or [] if (r.field or "to") == field]
        if extra:
            current = message.get(field.title())
            del message[field.title()]
            message[field.title()] = ", ".join([*([str(current)] if current else []), *extra])
    return message


async def send_request(
    deps: Deps, thread: Thread, request: HumanRequest, now: datetime
) -> RequestSent:
    """Mail the contact's question to its address; the reply answers it."""
    origin = thread.origin
    assert isinstance(origin, ExternalOrigin)
    channel = ContactChannel.model_validate(origin.spec.get("channel") or {})
    assert channel.email is not None
    return await _send(
        deps, thread, origin, channel.email, request.message, request.request_id, now
    )


async def _send(
    deps: Deps,
    thread: Thread,
    origin: ExternalOrigin,
    email: EmailContactChannel,
    text: str,
    ref: str,
    now: datetime,
) -> RequestSent:
    settings = deps.settings
    if not settings.smtp_host:
        raise DeliveryFailed("outbound email is off: set SMTP_HOST (and SMTP_* to match)")
    sender = settings.email_from or ""
    domain = address_domain(sender)
    if not domain:
        raise DeliveryFailed("no address to send from: set EMAIL_FROM")
    message_id = minted_message_id(thread.id, ref, domain)
    body = rendered(email, origin, text)
    message = outbound_mail(origin, email, sender, body, message_id, thread.id, now)
    # Indexed before it leaves: the reply may arrive before this send is recorded.
    await deps.mail_index.add(message_id, "out", thread.id)
    await Mailer(settings).send(message)
    log.info("contact mailed", thread_id=thread.id, ref=ref, message_id=message_id)
    return RequestSent(
        ref=ref,
        channel="email",
        coordinates={"message_id": message_id, "to": email.address},
        at=now,
    )


async def escalate(deps: Deps, thread: Thread, escalation: Escalation) -> None:
    """Mail the question again, with the escalation's message, to its recipients."""
    origin = thread.origin
    assert isinstance(origin, ExternalOrigin)
    request = thread.pending_request
    if request is None:
        raise Invalid("the contact is answered already: nothing to escalate")
    channel = escalation.channel or ContactChannel.model_validate(origin.spec.get("channel") or {})
    if channel.email is None:
        raise Invalid("escalate_email needs an email channel (or the contact's own)")
    email = channel.email.model_copy(
        update={
            "additional_recipients": [
                *(channel.email.additional_recipients or []),
                *(escalation.additional_recipients or []),
            ]
        }
    )
    text = f"{escalation.escalation_msg}\n\n{request.message}"
    ref = f"{request.request_id}.escalated.{deps.ids('e')}"
    await _send(deps, thread, origin, email, text, ref, deps.clock.now())
