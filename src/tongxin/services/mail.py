"""Outgoing e-mail: SMTP when configured (TONGXIN_SMTP_HOST), else printed to the server log.

SMTP: plain, STARTTLS (TONGXIN_SMTP_STARTTLS=1) or implicit TLS (TONGXIN_SMTP_SSL=1), with
login when TONGXIN_SMTP_USER is set. Alerts send `Outgoing` messages (text and HTML, a stable
Message-ID and List-Unsubscribe headers) through `deliver`; account mail uses `send`."""

from __future__ import annotations

import smtplib
import ssl
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    html: str = ""
    message_id: str = ""  # e.g. "<alerts-u3-i17@tongxin>": the idempotency key, stable across retries
    unsubscribe_url: str = ""  # adds List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click)


def build_message(m: Outgoing, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, m.to, m.subject
    msg["Date"] = formatdate(localtime=False)
    if m.message_id:
        msg["Message-ID"] = m.message_id
    if m.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{m.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(m.text)
    if m.html:
        msg.add_alternative(m.html, subtype="html")
    return msg


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class RichMailer(Mailer, Protocol):
    def deliver(self, m: Outgoing) -> None: ...


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    sender: str = "noreply@tongxin.local"
    timeout: float = 10.0
    starttls: bool = False
    use_ssl: bool = False
    username: str = ""
    password: str = ""

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def deliver(self, m: Outgoing) -> None:
        with self._connect() as smtp:
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(build_message(m, self.sender))

    def send(self, to: str, subject: str, body: str) -> None:
        self.deliver(Outgoing(to, subject, body))


@dataclass
class LogMailer:
    """Development fallback: the message goes to stderr (and is kept, for the CLI demo)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
        print(f"[mail] to={to} subject={subject}\n{body}", file=sys.stderr)

    def deliver(self, m: Outgoing) -> None:
        self.outgoing.append(m)
        self.send(m.to, m.subject, m.text)


def as_rich(mailer: Mailer) -> RichMailer:
    """A mailer that can send `Outgoing` messages (a plain one sends their text)."""
    if hasattr(mailer, "deliver"):
        return mailer  # type: ignore[return-value]  # it has deliver; Protocol narrowing by hasattr is not understood

    @dataclass
    class _Plain:
        inner: Mailer

        def send(self, to: str, subject: str, body: str) -> None:
            self.inner.send(to, subject, body)

        def deliver(self, m: Outgoing) -> None:
            self.inner.send(m.to, m.subject, m.text)

    return _Plain(mailer)


def mailer_from_env(env: dict[str, str] | None = None) -> RichMailer:
    from ..settings import setting

    host = setting("TONGXIN_SMTP_HOST", env)
    if not host:
        return LogMailer()
    on = lambda name: setting(name, env).strip().lower() in ("1", "true", "yes")  # noqa: E731
    return SmtpMailer(host, int(setting("TONGXIN_SMTP_PORT", env)), setting("TONGXIN_MAIL_FROM", env),
                      starttls=on("TONGXIN_SMTP_STARTTLS"), use_ssl=on("TONGXIN_SMTP_SSL"),
                      username=setting("TONGXIN_SMTP_USER", env), password=setting("TONGXIN_SMTP_PASSWORD", env))
