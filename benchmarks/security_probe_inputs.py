"""Bad input against a running server, and the login checks (issue #11): for each case the status (or
the CLI's exit code) and the server's resident memory before and after, plus its peak.

Starts `tongxin serve` on the demo data like benchmarks/security_probe.py, then sends: 1 MB titles
(API and form), a 100 MB upload (anonymous and signed in), an XLSX zip bomb, a workbook with
1,048,576 rows, invalid UTF-8 bodies and CSV, malformed JSON; runs `tongxin import` on the same
files (peak RSS of the CLI by /usr/bin/time); then checks the login lockout, the security headers
and `next=https://evil.example`. Standard library only.

    .venv/bin/python benchmarks/security_probe_inputs.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from security_probe import VENV_BIN, free_port, prepare, serve  # noqa: E402

Answer = tuple[int, dict[str, str], bytes]
MB = 1024 * 1024


class Client:
    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}  # type: ignore[var-annotated]

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body or None, headers=h)
            r = conn.getresponse()
            data = r.read()
        except (ConnectionError, http.client.HTTPException) as e:  # a server that closes on an unread body
            return 0, {"error": type(e).__name__}, b""
        finally:
            conn.close()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";")[0]
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def upload(self, path: str, fields: dict[str, str], size: int, chunked: bool = False) -> Answer:
        """A multipart upload of `size` bytes sent in 64 KiB pieces; stops sending once the server
        has answered (it may refuse before reading the body) and reads that answer."""
        head, ctype = multipart(fields, "big.xlsx", b"")
        head = head[: head.rindex(b"\r\n--")]  # the part's header, then the body follows
        total = len(head) + size + len(ctype["Content-Type"]) + 8
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype['Content-Type']}\r\n{length}\r\n"
                     f"Cookie: {cookie}\r\n\r\n".encode())
        piece, sent = b"\0" * 65536, 0
        try:
            for chunk in [head] + [piece] * (size // len(piece)):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered already
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(60)
        raw = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in raw and (got := sock.recv(65536)):
                raw += got
        sock.close()
        status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
        headers = {ln.split(":", 1)[0].lower(): ln.split(":", 1)[1].strip() for ln in raw.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:] if ":" in ln}
        return status, headers | {"x-sent": f"{sent / MB:.1f} MB sent"}, raw

    def sign_in(self, email: str, password: str) -> str:
        self.send("GET", "/login")
        csrf = self.cookies["tx_csrf"]
        status, _, _ = self.send("POST", "/login", form({"email": email, "password": password, "csrf": csrf}), FORM)
        assert status == 303, status
        return str(csrf)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(fields: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    b = uuid.uuid4().hex
    parts = [f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{b}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={b}"}


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    return tuple(int(re.search(rf"{k}:\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM"))  # type: ignore[union-attr, return-value]


def workbook(path: Path, rows: int, dimension: str | None = None) -> Path:
    """One sheet of `rows` tiny rows, deflated: a zip bomb for large `rows` (small on disk)."""
    body = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * rows
    dim = (dimension or f"A1:A{rows}").encode()
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><dimension ref="' + dim + b'"/><sheetData>' + body + b"</sheetData></worksheet>")
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" '
        f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/'
        f'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship '
        f'Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def files(work: Path) -> dict[str, Path]:
    bad_csv = work / "bad-utf8.csv"
    bad_csv.write_bytes("标题,类型\n好的,technology\n".encode() + b"\xff\xfe\x80 broken,technology\n")
    return {"XLSX zip bomb (5,000,000 rows, unpacks to ~250 MB)": workbook(work / "bomb.xlsx", 5_000_000),
            "XLSX with 1,048,576 rows": workbook(work / "rows.xlsx", 1_048_576),
            "XLSX declaring 1,048,576 rows, holding 2": workbook(work / "lying.xlsx", 2, "A1:XFD1048576"),
            "CSV with invalid UTF-8": bad_csv}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="keep data and logs in this directory")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="tongxin-inputs-"))
    env = os.environ | {"TONGXIN_DATA_DIR": str(work / "data"), "TONGXIN_ENCODER": "hash", "TONGXIN_COOKIE_SECURE": "0"}
    for k in ("TONGXIN_DATABASE_URL", "TONGXIN_INDEX_DIR", "TONGXIN_MAX_UPLOAD_MB"):
        env.pop(k, None)
    Path(env["TONGXIN_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    token = prepare(env)
    port = free_port()
    server = serve(env, port)
    try:
        inputs = files(work)
        rows = web_cases(server.pid, port, token, inputs)
        rows += cli_cases(work, env, inputs)
        checks = login_checks(port)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print_table(rows, checks)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def web_cases(pid: int, port: int, token: str, inputs: dict[str, Path]) -> list[tuple[str, str, str, str, str]]:
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    member, operator, anon = Client(port), Client(port), Client(port)
    csrf = member.sign_in("member@demo.tongxin.cn", "tongxin2025")
    op_csrf = operator.sign_in("operator@demo.tongxin.cn", "tongxin2025")
    big, under, form_under = "标" * (MB // 3 + 10), "标" * 300_000, "标" * 100_000  # > 1 MB; 0.9 MB as UTF-8 JSON and as a url-encoded form
    listing = {"kind": "technology", "side": "supply", "description": "描述", "industry": "C37", "region": "110108"}
    cases: list[tuple[str, Callable[[], Answer]]] = [
        ("API: 1 MB title (JSON body > 1 MB)", lambda: member.send("POST", "/api/v1/listings", json.dumps(listing | {"title": big}, ensure_ascii=False).encode(), api)),
        ("API: 0.9 MB title (300,000 characters)", lambda: member.send("POST", "/api/v1/listings", json.dumps(listing | {"title": under}, ensure_ascii=False).encode(), api)),
        ("form: 1 MB title", lambda: member.send("POST", "/publish/technology", form(listing | {"title": big, "csrf": csrf}), FORM)),
        ("form: 0.9 MB form, 100,000-character title", lambda: member.send("POST", "/publish/technology", form(listing | {"title": form_under, "csrf": csrf}), FORM)),
        ("API: invalid UTF-8 JSON body", lambda: member.send("POST", "/api/v1/listings", b'{"kind": "technology", "title": "\xff\xfe\x80"}', api)),
        ("form: invalid UTF-8 body", lambda: member.send("POST", "/publish/technology", b"title=%FF%FE&csrf=" + csrf.encode() + b"&x=\xff\xfe", FORM)),
        ("API: malformed JSON", lambda: member.send("POST", "/api/v1/listings", b'{"kind": "technology", "title": ', api)),
        ("API: JSON nested 100,000 deep", lambda: member.send("POST", "/api/v1/listings", b"[" * 100_000 + b"]" * 100_000, api)),
        ("upload 100 MB, anonymous", lambda: anon.upload("/contracts/import", {}, 100 * MB)),
        ("upload 100 MB, signed in", lambda: operator.upload("/contracts/import", {"csrf": op_csrf}, 100 * MB)),
        ("upload 100 MB, signed in, chunked (no Content-Length)", lambda: operator.upload("/contracts/import", {"csrf": op_csrf}, 100 * MB, chunked=True)),
    ]
    for label, path in inputs.items():
        cases.append((f"upload: {label}", lambda p=path: operator.send("POST", "/contracts/import", *multipart({"csrf": op_csrf}, p.name, p.read_bytes()))))
    out = []
    for label, fn in cases:
        before = rss_kb(pid)[0]
        status, headers, body = fn()
        after, peak = rss_kb(pid)
        code = re.search(rb'"code":\s*"([a-z_]+)"', body)
        what = f"{status}" + (f" {code.group(1).decode()}" if code else "") + (f" → {headers['location']}" if "location" in headers else "") + (f" ({headers['x-sent']})" if "x-sent" in headers else "")
        out.append((label, what, f"{before / 1024:.0f}", f"{after / 1024:.0f}", f"{peak / 1024:.0f}"))
    return out


def cli_cases(work: Path, env: dict[str, str], inputs: dict[str, Path]) -> list[tuple[str, str, str, str, str]]:
    env = env | {"TONGXIN_DATA_DIR": str(work / "cli")}
    Path(env["TONGXIN_DATA_DIR"]).mkdir(exist_ok=True)
    out = []
    for label, path in inputs.items():
        r = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", str(VENV_BIN / "tongxin"), "import", str(path)], env=env, capture_output=True, text=True)
        peak = int(re.search(r"maxrss=(\d+)", r.stderr).group(1))  # type: ignore[union-attr]
        msg = next((ln for ln in r.stderr.splitlines() if "✗" in ln), "").strip().split(" / ")[0]  # the Chinese half
        out.append((f"CLI import: {label}", f"exit {r.returncode} {msg}", "-", "-", f"{peak / 1024:.0f}"))
    return out


def login_checks(port: int) -> list[tuple[str, str]]:
    c = Client(port)
    c.send("GET", "/login")
    csrf = c.cookies["tx_csrf"]
    statuses = []
    for _ in range(12):
        status, headers, _ = c.send("POST", "/login", form({"email": "newcomer@demo.tongxin.cn", "password": "wrong-pass-1", "csrf": csrf}), FORM)
        statuses.append(f"{status}" + (f"(Retry-After {headers['retry-after']})" if "retry-after" in headers else ""))
    good = c.send("POST", "/login", form({"email": "newcomer@demo.tongxin.cn", "password": "tongxin2025", "csrf": csrf}), FORM)[0]
    _, h, _ = Client(port).send("GET", "/")
    evil = Client(port)
    evil.send("GET", "/login")
    ecsrf = evil.cookies["tx_csrf"]
    loc = [evil.send("POST", "/login", form({"email": "other@demo.tongxin.cn", "password": "tongxin2025", "csrf": ecsrf, "next": n}), FORM)[1].get("location")
           for n in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example")]
    no_csrf = evil.send("POST", "/logout", b"", FORM)[0]
    return [("12 wrong passwords for one account", " ".join(statuses)),
            ("then the right password (still locked?)", str(good)),
            ("Content-Security-Policy", h.get("content-security-policy", "MISSING")),
            ("X-Frame-Options / Referrer-Policy / nosniff", f"{h.get('x-frame-options')} / {h.get('referrer-policy')} / {h.get('x-content-type-options')}"),
            ("login next=https://evil.example, //evil.example, /\\evil.example, /\\t/evil.example → Location", ", ".join(map(str, loc))),
            ("signed-in POST /logout without CSRF token", str(no_csrf))]


def print_table(rows: list[tuple[str, str, str, str, str]], checks: list[tuple[str, str]]) -> None:
    print("| case | answer | server RSS before (MB) | after (MB) | peak so far (MB) |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n| login check | result |\n|---|---|")
    for k, v in checks:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
