"""The email channel, shaped like the Slack one.

Pure: `inbound` (raw MIME and provider webhooks into a `ParsedEmail`, the `message` model),
`compose` (outbound mail as data), `headers` and `routing`. With IO: `http` (`POST
/email/inbound`), `smtpd` (`hitlbot smtp`), `ingest` (dedupe, thread, start or resume a
thread), `index` (Message-ID -> thread in Redis), `outbound` and `smtp` (delivery).
The names below are the pure parsing entry points.
"""

from bot.email.headers import address_domain, normalize_message_id, split_plus_address
from bot.email.inbound.mime import parse_rfc822
from bot.email.inbound.webhooks import parse_postmark, parse_sendgrid_form
from bot.email.message import Attachment, EmailParseError, EmailTooLarge, ParsedEmail

__all__ = [
    "Attachment",
    "EmailParseError",
    "EmailTooLarge",
    "ParsedEmail",
    "address_domain",
    "normalize_message_id",
    "parse_postmark",
    "parse_rfc822",
    "parse_sendgrid_form",
    "split_plus_address",
]
