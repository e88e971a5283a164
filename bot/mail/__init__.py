"""The email channel's pure layer: inbound mail (raw MIME or provider webhooks) in,
`ParsedEmail` out. No I/O here; the channel module does the SMTP and HTTP."""

from bot.mail.headers import address_domain, normalize_message_id, split_plus_address
from bot.mail.inbound import parse_postmark, parse_sendgrid_form
from bot.mail.model import Attachment, EmailParseError, EmailTooLarge, ParsedEmail
from bot.mail.parse import parse_rfc822

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
