"""Sending mail (RFC 5321 SMTP, RFC 5322 messages) for password resets and invitations.

Configured with `KEYHALL_SMTP_*`; `security` is `starttls` (RFC 3207, the default), `tls`
(implicit TLS, RFC 8314) or `none` (loopback relays and tests only).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from keyhall.errors import KeyhallError

TIMEOUT = 10.0


class MailError(KeyhallError):
    code = "mail_failed"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str
    password: str
    sender: str
    security: str

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)


def message(
    config: SmtpConfig, instance_name: str, to: str, subject: str, body: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((instance_name, config.sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def send(config: SmtpConfig, msg: EmailMessage) -> None:
    if not config.enabled:
        raise MailError("mail is not configured (set KEYHALL_SMTP_HOST and KEYHALL_SMTP_FROM)")
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT)
        with client:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password)
            client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        # The reason is logged by the caller; the SMTP password never appears in it.
        raise MailError(
            f"the mail server refused or could not be reached: {type(exc).__name__}"
        ) from None
