"""Two hosts on one machine, for the multi-host test and benchmark (loopback only).

A PostgreSQL primary and a streaming hot standby (two clusters on two ports, made with Debian's
PostgreSQL binaries: initdb, pg_basebackup -R, pg_ctl), and `tongxin serve` hosts with separate
index directories: host A reads and writes the primary; host B writes the primary and reads the
standby (TONGXIN_DATABASE_READ_URL), keeping its own index current from the standby's change log.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def pg_bin() -> str | None:
    """The newest installed PostgreSQL server's bin directory (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(cmd: list[str], **kw: Any) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-800:]}")


@dataclass
class PgPair:
    root: str
    primary_port: int
    standby_port: int
    bin: str

    def url(self, port: int, db: str = "tongxin") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{db}"

    @property
    def primary(self) -> str:
        return self.url(self.primary_port)

    @property
    def standby(self) -> str:
        return self.url(self.standby_port)

    def stop(self) -> None:
        for name in ("standby", "primary"):
            d = os.path.join(self.root, name)
            if os.path.exists(os.path.join(d, "postmaster.pid")):
                subprocess.run([*_as_postgres(), f"{self.bin}/pg_ctl", "-D", d, "-m", "immediate", "-w", "stop"], capture_output=True)

    def replay_lag_bytes(self) -> int:
        import psycopg

        with psycopg.connect(self.url(self.primary_port, "postgres"), autocommit=True) as c:
            row = c.execute("SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) FROM pg_stat_replication").fetchone()
        return int(row[0]) if row else 0


@contextlib.contextmanager
def pg_pair() -> Iterator[PgPair]:
    """Start a primary and a streaming hot standby on two free loopback ports; stop and remove them after."""
    b = pg_bin()
    if b is None:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): sudo apt-get install postgresql")
    root = tempfile.mkdtemp(prefix="tongxin-pg-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pair = PgPair(root, free_port(), free_port(), b)
    sudo = _as_postgres()
    primary, standby = os.path.join(root, "primary"), os.path.join(root, "standby")
    try:
        _run([*sudo, f"{b}/initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        conf = (f"port = {pair.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nshared_buffers = 64MB\n")
        with open(os.path.join(primary, "postgresql.auto.conf"), "a") as f:
            f.write(conf)
        _run([*sudo, f"{b}/pg_ctl", "-D", primary, "-l", os.path.join(root, "primary.log"), "-w", "start"])
        _run([*sudo, f"{b}/pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres", "-D", standby, "-R", "-X", "stream"])
        with open(os.path.join(standby, "postgresql.auto.conf"), "a") as f:
            f.write(f"port = {pair.standby_port}\n")
        _run([*sudo, f"{b}/pg_ctl", "-D", standby, "-l", os.path.join(root, "standby.log"), "-w", "start"])
        import psycopg

        with psycopg.connect(pair.url(pair.primary_port, "postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE tongxin")
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- tongxin hosts --------------------------------------------------------------------------------


@dataclass
class Host:
    name: str
    port: int
    env: dict[str, str]
    log: str
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tongxin.cli.main", "serve", "--port", str(self.port)],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"host {self.name} exited with {self.proc.returncode}: {Path(self.log).read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if request("GET", self.url + "/readyz", timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"host {self.name} never became ready: {Path(self.log).read_text()[-2000:]}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc is not None else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


def request(method: str, url: str, body: Any = None, token: str = "", timeout: float = 10) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return int(r.status), json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
    except urllib.error.HTTPError as e:
        raw = e.read()
        return int(e.code), json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()


def host_env(name: str, root: str, primary: str, standby: str = "") -> dict[str, str]:
    env = dict(os.environ, TONGXIN_DATA_DIR=os.path.join(root, name), TONGXIN_INDEX_DIR=os.path.join(root, name, "index"),
               TONGXIN_DATABASE_URL=primary, TONGXIN_ENCODER="none", TONGXIN_COOKIE_SECURE="0")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if standby:
        env["TONGXIN_DATABASE_READ_URL"] = standby
    else:
        env.pop("TONGXIN_DATABASE_READ_URL", None)
    return env


@contextlib.contextmanager
def two_hosts(pg: PgPair, root: str) -> Iterator[tuple[Host, Host]]:
    """Host A on the primary and host B reading the standby, started, ready and holding an org
    admin's API token; stopped (SIGTERM) afterwards."""
    email, password = seed(pg.primary)
    a = Host("A", free_port(), host_env("a", root, pg.primary), os.path.join(root, "a.log"))
    b = Host("B", free_port(), host_env("b", root, pg.primary, standby=pg.standby), os.path.join(root, "b.log"))
    try:
        for h in (a, b):
            h.start()
        for h in (a, b):
            h.wait_ready()
        st, out = request("POST", a.url + "/api/v1/auth/tokens", {"email": email, "password": password, "name": "hosts"})
        if st != 201:
            raise RuntimeError(f"could not get a token: {st} {out}")
        a.token = b.token = out["token"]
        yield a, b
    finally:
        for h in (a, b):
            h.stop()


def seed(primary: str) -> tuple[str, str]:
    """Demo accounts and a few organisations in the primary: (e-mail, password) of an org admin."""
    from ..core import credit_code
    from ..core.organisation import validate_organisation
    from ..services import Exchange
    from ..services.accounts import create_demo_accounts
    from ..storage import repo
    from ..storage.db import Database

    ex = Exchange(Database(primary), None)
    ex.init_db()
    with ex.db.transaction() as s:
        repo.upsert_organisation(s, validate_organisation({"external_id": "ORG-A", "name": "北京交通大学", "credit_code": credit_code.make("12100000400000624"),
                                                          "org_type": "university", "region": "110108", "industry": "P83"}))
        repo.upsert_organisation(s, validate_organisation({"external_id": "ORG-B", "name": "天津市第一中心医院", "credit_code": credit_code.make("12120000401200000"),
                                                          "org_type": "hospital", "region": "120101", "industry": "Q84"}))
    accounts = create_demo_accounts(ex)
    ex.close()
    email, password = next((e, p) for label, e, p in accounts if label == "organisation admin")
    return email, password


def listing_body(n: int, tag: str) -> dict[str, Any]:
    return {"kind": "technology", "publish": True, "title": f"多主机同步测试成果{tag}", "description": f"第{n}号：用于验证发布后在另一主机可检索的时间。{tag}",
            "keywords": f"{tag};多主机", "industry": "C37", "region": "110108", "trl": 6, "transfer_modes": "许可",
            "valid_from": "2025-01-01", "valid_until": "2030-12-31"}


def visible_after(a: Host, b: Host, n: int, timeout: float = 10) -> float:
    """Publish one listing through host A; seconds until host B's search finds it (inf on timeout)."""
    tag = f"QZX{n:05d}K"
    status, out = request("POST", a.url + "/api/v1/listings", listing_body(n, tag), token=a.token)
    if status != 201:
        raise RuntimeError(f"publish through {a.name} failed: {status} {out}")
    t0 = time.perf_counter()
    q = urllib.parse.quote(tag)
    while time.perf_counter() - t0 < timeout:
        st, res = request("GET", f"{b.url}/api/v1/search?q={q}&kind=technology", timeout=5)
        if st == 200 and any(tag in str(r.get("title", "")) for r in res.get("results", [])):
            return time.perf_counter() - t0
        time.sleep(0.02)
    return float("inf")
