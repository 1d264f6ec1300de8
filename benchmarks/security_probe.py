"""Schemathesis over the whole /openapi.json, anonymous and with a member's API token (issue #11).

Starts `tongxin serve` on the demo data in a temporary TONGXIN_DATA_DIR (TONGXIN_ENCODER=hash,
TONGXIN_COOKIE_SECURE=0), creates an API token for the demo organisation member, runs
schemathesis once per identity, one after the other (nice'd), and prints the number of 5xx
responses and schema violations per run.

schemathesis is a benchmark-only dependency: when it is missing the script installs it into this
venv with pip (`--no-install` to refuse).

    .venv/bin/python benchmarks/security_probe.py [--minutes 10] [--only anonymous|member] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
MEMBER = "member@demo.tongxin.cn"
# operations that would end the member's own token (revoking it, changing the password): left to the anonymous run
ENDS_IDENTITY = r"^/(api/v1/auth/tokens/\{token_id\}|account/password|account/tokens/\{token_id\}/revoke|logout)$"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def ensure_schemathesis(allow_install: bool) -> Path:
    exe = VENV_BIN / "schemathesis"
    if not exe.exists():
        if not allow_install:
            sys.exit("schemathesis missing: pip install schemathesis")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "schemathesis"], check=True)
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(env: dict[str, str]) -> str:
    """Load the demo data and return a member's API token."""
    if not (Path(env["TONGXIN_DATA_DIR"]) / "probe-demo-loaded").exists():
        subprocess.run([str(VENV_BIN / "tongxin"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        (Path(env["TONGXIN_DATA_DIR"]) / "probe-demo-loaded").touch()
    code = (
        "from tongxin.services import Exchange\nfrom tongxin.services.accounts import DEMO_PASSWORD, Accounts\nfrom tongxin.settings import Config\n"
        "ex = Exchange.from_config(Config.from_env()); a = Accounts(ex)\n"
        f"uid = a.authenticate({MEMBER!r}, DEMO_PASSWORD)\n"
        "print(a.create_token(a.viewer(uid), 'probe')[1]); ex.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = open(Path(env["TONGXIN_DATA_DIR"]) / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(["nice", "-n", "10", str(VENV_BIN / "tongxin"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("server did not start; see server.log")


def run_schemathesis(exe: Path, port: int, minutes: float, headers: list[str], report: Path) -> dict[str, object]:
    cmd = ["nice", "-n", "10", str(exe), "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", CHECKS,
           "--max-time", str(int(minutes * 60)), "--workers", "1", "--no-color", "--continue-on-failure",
           "--generation-database", "none", "--request-timeout", "30",
           "--report", "ndjson", "--report-ndjson-path", str(report)]
    for h in headers:
        cmd += ["-H", h]
    if headers:
        cmd += ["--exclude-path-regex", ENDS_IDENTITY]
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=report.parent)  # its cache (.schemathesis) stays there
    (report.with_suffix(".txt")).write_text(out.stdout + out.stderr)
    return summarise(report) | {"seconds": round(time.time() - t0), "exit": out.returncode}


def summarise(report: Path) -> dict[str, object]:
    """Counts from schemathesis' NDJSON events: requests, 5xx responses, failures per check."""
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    where: dict[str, set[str]] = {}
    operations = set()
    for line in report.read_text().splitlines():
        walk(json.loads(line), statuses, failures, where, operations)
    return {"operations": len(operations), "requests": sum(statuses.values()),
            "5xx": sum(n for s, n in statuses.items() if s >= 500), "statuses": dict(sorted(statuses.items())),
            "failures": dict(failures), "where": {k: sorted(v) for k, v in where.items()}}


def walk(node: object, statuses: Counter[int], failures: Counter[str], where: dict[str, set[str]], ops: set[str]) -> None:
    if isinstance(node, dict):
        resp = node.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("status_code"), int) and "elapsed" in resp:
            statuses[resp["status_code"]] += 1
        if "failure_info" in node and isinstance(node.get("failure_info"), dict) or ("title" in node and "code" in node and "operation" in node):
            info = node.get("failure_info", node)
            f = info.get("failure", info) if isinstance(info, dict) else {}
            name = str(f.get("title") or f.get("code") or "failure")
            failures[name] += 1
            where.setdefault(name, set()).add(str(f.get("operation", "")))
        label = node.get("label")
        if isinstance(label, str) and label[:4] in ("GET ", "POST", "PUT ", "PATC", "DELE"):
            ops.add(label)
        for v in node.values():
            walk(v, statuses, failures, where, ops)
    elif isinstance(node, list):
        for v in node:
            walk(v, statuses, failures, where, ops)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget per identity")
    ap.add_argument("--only", choices=("anonymous", "member"))
    ap.add_argument("--keep", help="keep data, logs and reports in this directory")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    exe = ensure_schemathesis(not args.no_install)
    work = Path(args.keep or tempfile.mkdtemp(prefix="tongxin-probe-"))
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"TONGXIN_DATA_DIR": str(work / "data"), "TONGXIN_ENCODER": "hash", "TONGXIN_COOKIE_SECURE": "0"}
    env.pop("TONGXIN_DATABASE_URL", None)
    env.pop("TONGXIN_INDEX_DIR", None)
    Path(env["TONGXIN_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    token = prepare(env)
    port = free_port()
    server = serve(env, port)
    try:
        runs = [("anonymous", []), ("member", [f"Authorization: Bearer {token}"])]
        for name, headers in runs:
            if args.only and args.only != name:
                continue
            res = run_schemathesis(exe, port, args.minutes, headers, work / f"{name}.ndjson")
            print(f"\n== {name}: {res['operations']} operations, {res['requests']} requests in {res['seconds']} s, "
                  f"5xx: {res['5xx']}, failures: {res['failures'] or 0}")
            print(f"   statuses: {res['statuses']}")
            for check, ops in dict(res["where"]).items():  # type: ignore[call-overload]
                print(f"   {check}: {', '.join(ops)[:2000]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nreports and server log: {work}" if args.keep else "")


if __name__ == "__main__":
    main()
