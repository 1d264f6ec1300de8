"""Outgoing e-mail: SMTP when configured (TONGXIN_SMTP_HOST), else printed to the server log."""

from __future__ import annotations

import smtplib
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    sender: str = "noreply@tongxin.local"
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


@dataclass
class LogMailer:
    """Development fallback: the message goes to stderr (and is kept, for the CLI demo)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
        print(f"[mail] to={to} subject={subject}\n{body}", file=sys.stderr)


def mailer_from_env(env: dict[str, str] | None = None) -> Mailer:
    from ..settings import setting

    host = setting("TONGXIN_SMTP_HOST", env)
    if not host:
        return LogMailer()
    return SmtpMailer(host, int(setting("TONGXIN_SMTP_PORT", env)), setting("TONGXIN_MAIL_FROM", env))
