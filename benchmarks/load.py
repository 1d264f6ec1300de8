"""Load on loopback: the public search API and the listing-match API at fixed concurrency for a fixed
time, against `tongxin serve` on the demo data, for SQLite with 1 and 2 workers and PostgreSQL with 2.

    .venv/bin/python benchmarks/load.py                       # 50 connections, 60 s per endpoint
    .venv/bin/python benchmarks/load.py --seconds 10 --configs sqlite:1
    TONGXIN_ENCODER=none .venv/bin/python benchmarks/load.py   # words only (no query embedding)
    .venv/bin/python benchmarks/load.py --distinct             # every request a new one (the result cache defeated)

The client is a bounded asyncio load generator: `--concurrency` keep-alive connections, each
sending its next request when the last answer is complete (closed loop), for `--seconds`. It
reports requests/s, p50/p99 latency, errors (non-2xx) and connection resets. The baseline in the
same run is /healthz (no database, no index): what the HTTP stack alone serves on this machine.
Queries: 200 demo listing titles' first words, so the query-embedding and result caches warm as a
real site's popular queries would (each endpoint's paths are sent 4 × workers times just before its
run, over 16 connections); listing ids: 200 published scenarios and technologies.
`--distinct`: no request repeats one sent before in the run (warm-up included): queries are
windows of 4–12 characters of every published scenario's and technology's title, matches are
(listing, limit 10–14) pairs; so neither the result cache nor the query-vector cache helps, and
every search encodes its query with e5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("TONGXIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        if k.lower() == "content-length":
            length = int(v.strip())
        elif k.lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return status


class Distinct:
    """Paths handed out once each, in order (shared by every connection of a run and across runs)."""

    def __init__(self, paths: list[str], once: bool = False) -> None:
        self.paths = paths
        self.next = 0
        self.once = once  # a warm-up: the run ends when every path was sent once

    def take(self) -> str | None:
        if self.next >= len(self.paths):
            if self.once:
                return None
            raise RuntimeError(f"--distinct: all {len(self.paths)} distinct paths used; shorten --seconds")
        self.next += 1
        return self.paths[self.next - 1]


async def _client(port: int, paths: list[str] | Distinct, until: float, lat: list[float], errors: list[int], resets: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rnd = random.Random(id(lat) ^ port)
    try:
        while time.perf_counter() < until:
            path = paths.take() if isinstance(paths, Distinct) else rnd.choice(paths)
            if path is None:
                break
            t0 = time.perf_counter()
            try:
                status = await _one(reader, writer, path)
            except (ConnectionError, asyncio.IncompleteReadError):
                resets.append(1)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            lat.append(time.perf_counter() - t0)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def _run(port: int, paths: list[str] | Distinct, concurrency: int, seconds: float) -> dict[str, Any]:
    lat: list[float] = []
    errors: list[int] = []
    resets: list[int] = []
    t0 = time.perf_counter()
    until = t0 + seconds
    await asyncio.gather(*(_client(port, paths, until, lat, errors, resets) for _ in range(concurrency)))
    took = time.perf_counter() - t0
    lat.sort()
    return {"requests": len(lat), "rps": round(len(lat) / took, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 1) if lat else None,
            "errors": len(errors), "resets": len(resets)}


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server never became ready: {log.read_text()[-3000:]}")


def _tongxin(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tongxin.cli.main", *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def _load_demo(env: dict[str, str], log: Path) -> None:
    p = _tongxin(["demo"], env, log)
    if p.wait() != 0:
        raise RuntimeError(f"tongxin demo failed: {log.read_text()[-3000:]}")


def bench_config(engine: str, workers: int, args: argparse.Namespace, keep: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"tongxin-load-{engine}-"))
    # background embedding off in the web workers (as with `tongxin worker` beside them): the
    # demo's sentence vectors would otherwise be computed by the server during the run
    env = dict(os.environ, TONGXIN_DATA_DIR=str(tmp / "data"), TONGXIN_COOKIE_SECURE="0", TONGXIN_LOG_FORMAT="text", TONGXIN_WEB_BACKGROUND="0")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    dbname = None
    if engine == "postgresql":
        import psycopg

        dbname = "tx_load_" + uuid.uuid4().hex[:8]
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')
        env["TONGXIN_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    else:
        env.pop("TONGXIN_DATABASE_URL", None)
    log = keep / f"load-{engine}-{workers}.log"
    log.write_text("")
    proc = None
    try:
        t0 = time.perf_counter()
        _load_demo(env, log)
        demo_s = time.perf_counter() - t0
        port = free_port()
        proc = _tongxin(["serve", "--port", str(port), "--workers", str(workers)], env, log)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc, log)
        ids: list[int] = []
        titles: list[str] = []
        for kind in ("scenario", "technology"):
            cursor: int | None = 0
            while cursor is not None and (args.distinct or cursor == 0):
                got = _get_json(f"{url}/api/v1/listings?kind={kind}&per_page=100&cursor={cursor}")
                ids += [int(x["id"]) for x in got.get("items", [])]
                titles += [str(x["title"]) for x in got.get("items", [])]
                cursor = got.get("next_cursor")
        if not ids:
            raise RuntimeError("no listings to match: the demo did not load")
        out: dict[str, Any] = {"engine": engine, "workers": workers, "demo_load_s": round(demo_s, 1), "listings": len(ids),
                               "distinct": bool(args.distinct)}
        search: list[str] | Distinct
        match: list[str] | Distinct
        if args.distinct:
            windows = list(dict.fromkeys(t[a:a + n] for n in (8, 6, 10, 5, 12, 7, 9, 4, 11) for t in titles for a in range(0, max(len(t) - n, 0) + 1, 2)))
            search = Distinct([f"/api/v1/search?q={urllib.parse.quote(q)}&limit=10" for q in windows if q.strip()])
            match = Distinct([f"/api/v1/listings/{i}/matches?limit={k}" for k in range(10, 15) for i in ids])
            out["distinct_paths"] = {"search": len(search.paths), "match": len(match.paths)}
            # warm-up (models, pages in the OS cache) with paths never sent again
            asyncio.run(_run(port, search, 4, min(5.0, args.seconds)))
            asyncio.run(_run(port, match, 4, min(5.0, args.seconds)))
        else:
            search = [f"/api/v1/search?q={urllib.parse.quote(t[:8])}&limit=10" for t in titles]
            match = [f"/api/v1/listings/{i}/matches?limit=10" for i in ids]
        for name, paths in (("healthz (baseline)", ["/healthz"]), ("search API", search), ("listing-match API", match)):
            if isinstance(paths, list) and name != "healthz (baseline)":
                # warm-up just before the run: every path 4 × workers times over 16 connections (each
                # worker has its own caches and the kernel picks the worker of a connection: with 4
                # connections all could land on one worker and leave the other cold), so answers are
                # as fresh as a popular query's on a live site, not aged by the runs before
                # (TONGXIN_RESULT_CACHE_SECONDS)
                asyncio.run(_run(port, Distinct(paths * 4 * workers, once=True), 16, 900))
            r = asyncio.run(_run(port, paths, args.concurrency, args.seconds))
            out[name] = r
            print(f"  {engine} ×{workers} {name:<20} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  "
                  f"errors {r['errors']}  resets {r['resets']}", flush=True)
        return out
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if dbname:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--configs", default="sqlite:1,sqlite:2,postgresql:2", help="engine:workers,…")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--distinct", action="store_true", help="never repeat a request (defeats the result and query-vector caches)")
    args = ap.parse_args()
    keep = Path(tempfile.gettempdir()) / "tongxin-load-logs"
    keep.mkdir(exist_ok=True)
    print(f"load: {args.concurrency} connections × {args.seconds:.0f} s per endpoint; {'all-distinct' if args.distinct else 'repeated'} requests; "
          f"encoder {os.environ.get('TONGXIN_ENCODER', 'e5')}; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; server logs in {keep}", flush=True)
    results = []
    for cfg in args.configs.split(","):
        engine, _, w = cfg.partition(":")
        results.append(bench_config(engine, int(w or 1), args, keep))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
