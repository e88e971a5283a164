"""Sending mail through the operator's relay (`SMTP_*`), with aiosmtplib.

Failures are sorted for the runner: a reply code 4xx, a refused or dropped connection and a
timeout may pass (`DeliveryUnavailable`, retried through the queue); a 5xx, a relay without
STARTTLS or a rejected login will not (`DeliveryFailed`, recorded on the thread).
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from bot.config import Settings
from bot.runtime.delivery import DeliveryFailed, DeliveryUnavailable


def classify(exc: Exception) -> DeliveryUnavailable | DeliveryFailed:
    """The delivery error an aiosmtplib (or socket) failure amounts to."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        transient = any(400 <= code < 500 for code in codes)
        return (DeliveryUnavailable if transient else DeliveryFailed)(f"refused {detail}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        error = f"{exc.code} {exc.message}"
        return DeliveryUnavailable(error) if 400 <= exc.code < 500 else DeliveryFailed(error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryFailed(f"the relay's TLS certificate is not trusted: {exc}")
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return DeliveryUnavailable(f"{type(exc).__name__}: {exc}")
    return DeliveryFailed(f"{type(exc).__name__}: {exc}")


class Mailer:
    """Sends one message per connection (the volume of a support inbox needs no pool)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SMTP_HOST is not set")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username or None
        self.password = settings.smtp_password or None
        self.use_tls = settings.smtp_tls
        self.start_tls = settings.smtp_starttls and not settings.smtp_tls
        self.timeout = settings.smtp_timeout
        self.validate_certs = settings.smtp_validate_certs
        self.ca_file = settings.smtp_ca_file or None

    async def send(self, message: EmailMessage) -> None:
        """Send `message` to its `To`; raises DeliveryUnavailable or DeliveryFailed."""
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                validate_certs=self.validate_certs,
                cert_bundle=self.ca_file,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise classify(exc) from exc
