"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for the alert tests."""

from __future__ import annotations

import email
import socket
import threading
import time
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink: AioSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.sink.delay:
            import asyncio

            await asyncio.sleep(self.sink.delay)
        if self.sink.refuse:
            return "451 try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        with self.sink.lock:
            self.sink.raw.append(raw)
            self.sink.rcpt.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AioSink:
    def __init__(self, delay: float = 0.0) -> None:
        self.raw: list[bytes] = []
        self.rcpt: list[list[str]] = []
        self.lock = threading.Lock()
        self.delay = delay
        self.refuse = False
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raws = list(self.raw)
        return [email.message_from_bytes(r, policy=policy.default) for r in raws]  # type: ignore[misc]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in str(m["To"])]

    def wait_for(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.raw) < n:
            time.sleep(0.05)
        return self.messages()


def text_of(m: EmailMessage) -> str:
    part = m.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""


def html_of(m: EmailMessage) -> str:
    part = m.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else ""
