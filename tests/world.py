"""A small world of people and listings for the web, permission and browser tests.

Roles (one person each): visitor, user (signed in, no organisation), pending (member of an
organisation awaiting verification), member (unrelated verified organisation), granted (an
organisation granted the confidential listing), owner_member and owner_admin (the owner
organisation), operator and admin. The owner publishes one listing per visibility plus a draft;
each carries secret markers in its full text and a public summary."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from factories import load

from tongxin.core import access as acc
from tongxin.core import credit_code
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.listings import Listings
from tongxin.storage import accounts_repo as R

PASSWORD = "secret-pass-123"
ROLES = ("visitor", "user", "pending", "member", "granted", "owner_member", "owner_admin", "operator", "admin")
VISIBILITIES = ("public", "members", "confidential", "draft")


def secret(vis: str) -> str:
    return f"SECRETDETAIL{vis.upper()}"


def summary(vis: str) -> str:
    return f"SUMMARYTEXT{vis.upper()}"


def title(vis: str) -> str:
    return f"城轨列车控制系统安全计算机（{vis}）"


@dataclass
class World:
    ex: Exchange
    accounts: Accounts
    users: dict[str, int] = field(default_factory=dict)  # role → user id
    orgs: dict[str, int] = field(default_factory=dict)  # name → org id
    listings: dict[str, int] = field(default_factory=dict)  # visibility → listing id
    fixture_ids: dict[str, int] = field(default_factory=dict)

    def viewer(self, role: str) -> acc.Viewer:
        return acc.VISITOR if role == "visitor" else self.accounts.viewer(self.users[role])

    def email(self, role: str) -> str:
        return f"{role}@test.tongxin.cn"


def org_raw(name: str, seed: str, region: str = "110108") -> dict[str, Any]:
    body = (seed + "0" * 17)[:17].translate(str.maketrans("IOZSV", "10253"))  # letters GB 32100 never uses
    return {"name": name, "credit_code": body + credit_code.check_character(body), "org_type": "enterprise", "region": region,
            "contact_name": f"{name}联系人", "contact_phone": "010-12345678"}


def tech_raw(vis: str) -> dict[str, Any]:
    return {"title": title(vis), "description": f"用于城轨列车控制系统的安全计算机平台，{secret(vis)}，支持CBTC全自动运行。",
            "keywords": "列车控制系统;安全计算机;CBTC", "industry": "C37", "region": "110108",
            "visibility": "public" if vis == "draft" else vis, "summary": summary(vis), "trl": "7",
            "transfer_modes": ["license"], "team": f"团队 {secret(vis)}", "valid_from": "2025-01-01", "valid_until": "2030-12-31"}


def fast_hasher() -> Any:
    """Cheap argon2id parameters for tests only (the app uses the library defaults)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def build(ex: Exchange, accounts: Accounts | None = None) -> World:
    accounts = accounts or Accounts(ex, hasher=fast_hasher())
    w = World(ex, accounts, fixture_ids=load(ex))
    with ex.db.transaction(write=False) as s:
        from sqlalchemy import select

        from tongxin.storage.models import OrganisationRow

        ext = {o.external_id: o.id for o in s.scalars(select(OrganisationRow))}
    w.orgs |= {"owner": ext["ORG-BJTU"], "member": ext["ORG-WQ"], "granted": ext["ORG-TIB"]}
    for role in ROLES[1:]:
        platform = role if role in ("operator", "admin") else "user"
        w.users[role] = accounts.sign_up(w.email(role), PASSWORD, f"{role} 用户")
        with ex.db.transaction() as s:
            R.get_user(s, w.users[role]).role = platform
            org = {"member": "member", "granted": "granted", "owner_member": "owner", "owner_admin": "owner"}.get(role)
            if org:
                R.add_membership(s, w.users[role], w.orgs[org], "org_admin" if role in ("owner_admin", "member", "granted") else "member")
    w.orgs["pending"] = accounts.create_organisation(w.viewer("pending"), org_raw("待审核科技有限公司", "91110108PEND"))
    ls = Listings(ex)
    owner = w.viewer("owner_admin")
    for vis in VISIBILITIES:
        w.listings[vis] = ls.save(owner, "technology", tech_raw(vis), publish=vis != "draft")
    ls.grant(owner, w.listings["confidential"], w.orgs["granted"], "NDA-1")
    return w


# -- a local SMTP sink ------------------------------------------------------------------------------

class SmtpSink:
    """A tiny SMTP server on 127.0.0.1 that keeps every message (enough of RFC 5321 for smtplib)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(5)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                f = conn.makefile("rb")
                conn.sendall(b"220 sink ready\r\n")
                data: list[str] = []
                in_data = False
                for raw in f:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if in_data:
                        if line == ".":
                            in_data = False
                            self.messages.append("\n".join(data))
                            data = []
                            conn.sendall(b"250 ok\r\n")
                        else:
                            data.append(line[1:] if line.startswith("..") else line)
                        continue
                    cmd = line[:4].upper()
                    if cmd in ("EHLO", "HELO"):
                        conn.sendall(b"250 sink\r\n")
                    elif cmd == "DATA":
                        in_data = True
                        conn.sendall(b"354 go ahead\r\n")
                    elif cmd == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self._stop = True
        self._sock.close()

    def last_body(self) -> str:
        import email
        from email import policy

        msg = email.message_from_string(self.messages[-1], policy=policy.default)
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else msg.get_payload()  # type: ignore[union-attr, return-value]
