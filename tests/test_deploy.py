"""Deployment: backup under write load and restore with identical results, probes, metrics, request
ids and JSON logs, several workers with a graceful stop, and a background worker process.
Backup/restore and worker tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PG_URL
from factories import load, tech
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_index_sync import _synthetic

from tongxin.core.access import VISITOR
from tongxin.core.text import Analyzer
from tongxin.services import Exchange
from tongxin.services import backup as B
from tongxin.storage.db import Database
from tongxin.storage.models import ListingRow
from tongxin.web.app import create_app

QUERIES = ["列车控制系统", "人工智能 医学影像", "污水处理 膜", "锂电池 回收", "智能制造 机器人"]


def _fresh_target(db_url: str, tmp_path: Any) -> Iterator[str]:
    """An empty database of the same engine to restore into (PostgreSQL: a new database holding
    the same schema name, since a dump of one schema recreates that schema)."""
    if db_url.startswith("sqlite"):
        yield "sqlite:///" + str(tmp_path / "restored" / "tongxin.db")
        return
    import psycopg

    name = "tx_restore_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0] + "/" + name
    _, schema = B._pg_parts(db_url)
    try:
        yield base + (f"?options=-csearch_path%3D{schema}" if schema else "")
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _results(ex: Exchange) -> list[Any]:
    out: list[Any] = []
    for q in QUERIES:
        out.append([(m.listing.id, round(m.score, 6)) for m in ex.search(q, viewer=VISITOR, limit=10)[1]])
    with ex.db.transaction(write=False) as s:
        ids = [int(i) for i in s.scalars(select(ListingRow.id).order_by(ListingRow.id).limit(8))]
    assert len(ids) == 8
    for i in ids:
        try:
            out.append([(m.listing.id, round(m.score, 6)) for m in ex.match(i, viewer=VISITOR, limit=10)[1]])
        except Exception as e:  # a listing that cannot be matched must fail the same way after the restore
            out.append(type(e).__name__)
    return out


def test_backup_under_write_load_restores_a_consistent_prefix(db_url: str, tmp_path: Any) -> None:
    ex = Exchange(Database(db_url), str(tmp_path / "index"), analyzer=Analyzer())
    ex.init_db()
    load(ex)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            ids = load(ex, orgs=[], listings=[tech(f"T-LOAD-{n}", f"负载测试成果第{n}号", "用于备份一致性测试的成果描述。", "备份;一致性")])
            written.append(ids[f"T-LOAD-{n}"])

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.5)
        info = B.backup(ex.db, str(tmp_path / "b.bak"))
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    assert info["bytes"] > 0 and os.path.exists(tmp_path / "b.bak") and not os.path.exists(str(tmp_path / "b.bak") + ".partial")
    assert len(written) >= 2, "the writer must have been writing during the backup"
    for target in _fresh_target(db_url, tmp_path):
        B.restore(target, str(tmp_path / "b.bak"), index_dir=str(tmp_path / "idx2"))
        ex2 = Exchange(Database(target), str(tmp_path / "idx2"), analyzer=Analyzer())
        ex2.init_db()
        try:
            restored = set(ex2.ids_by_external([f"T-LOAD-{i}" for i in range(1, len(written) + 1)]).values())
            # a consistent snapshot: the load listings it holds are exactly the first k written
            k = len(restored)
            assert restored == set(written[:k])
            assert 0 < k < len(written) + 1
        finally:
            ex2.close()
    ex.close()


def test_restore_into_an_empty_directory_gives_identical_results(db_url: str, tmp_path: Any) -> None:
    ex = Exchange(Database(db_url), str(tmp_path / "index"), analyzer=Analyzer())
    ex.init_db()
    _synthetic(ex, 600)
    load(ex)
    ex.close()
    # the reference: a fresh build of the original database (what the restored host does too),
    # so both sides have indexes with the same history (BM25 statistics count deleted documents)
    ex = Exchange(Database(db_url), str(tmp_path / "index-ref"), analyzer=Analyzer())
    ex.sync()
    before = _results(ex)
    B.backup(ex.db, str(tmp_path / "b.bak"))
    ex.close()
    for target in _fresh_target(db_url, tmp_path):
        (tmp_path / "new-index").mkdir()
        (tmp_path / "new-index" / "stale").write_text("x")
        B.restore(target, str(tmp_path / "b.bak"), index_dir=str(tmp_path / "new-index"))
        assert not (tmp_path / "new-index").exists(), "the derived index is removed and rebuilt"
        ex2 = Exchange(Database(target), str(tmp_path / "new-index"), analyzer=Analyzer())
        ex2.init_db()
        try:
            ex2.sync()
            assert _results(ex2) == before
        finally:
            ex2.close()


def test_restore_refuses_what_it_must(db_url: str, tmp_path: Any) -> None:
    from tongxin.core import errors as E

    ex = Exchange(Database(db_url), str(tmp_path / "index"))
    ex.init_db()
    load(ex)
    B.backup(ex.db, str(tmp_path / "b.bak"))
    with pytest.raises(E.Conflict):  # the target holds data
        B.restore(db_url, str(tmp_path / "b.bak"))
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(E.BadFile):
        B.restore(db_url, str(junk), force=True)
    other = "postgresql://x@127.0.0.1/none" if db_url.startswith("sqlite") else "sqlite:///" + str(tmp_path / "o.db")
    with pytest.raises(E.BadFile, match="restore into the same kind"):
        B.restore(other, str(tmp_path / "b.bak"))
    with pytest.raises(E.NotFound):
        B.restore(db_url, str(tmp_path / "missing.bak"))
    ex.close()


def test_cli_backup_and_restore(tmp_path: Any) -> None:
    env = dict(os.environ, TONGXIN_DATA_DIR=str(tmp_path / "a"), TONGXIN_ENCODER="none")
    env.pop("TONGXIN_DATABASE_URL", None)
    run = lambda *a, e=env: subprocess.run([sys.executable, "-m", "tongxin.cli.main", *a], env=e, capture_output=True, text=True, timeout=300)  # noqa: E731
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "a" / "tongxin.db")), str(tmp_path / "a" / "index"))
    ex.init_db()
    load(ex)
    ex.close()
    r = run("backup", str(tmp_path / "x.bak"))
    assert r.returncode == 0, r.stderr
    assert "已备份" in r.stdout
    r = run("restore", str(tmp_path / "x.bak"))
    assert r.returncode == 5, r.stdout + r.stderr  # a conflict (data is there): exit code 5
    assert "--force" in r.stderr
    env_b = dict(env, TONGXIN_DATA_DIR=str(tmp_path / "b"))
    r = run("restore", str(tmp_path / "x.bak"), e=env_b)
    assert r.returncode == 0, r.stderr
    assert "已恢复" in r.stdout and "索引 / index: 7" in r.stdout


# -- probes, metrics, logs ---------------------------------------------------------------------


@pytest.fixture
def app_client(exchange: Exchange) -> Iterator[TestClient]:
    load(exchange)
    with TestClient(create_app(exchange), raise_server_exceptions=False) as c:
        yield c


def test_readyz_reports_each_check_and_fails_when_the_index_lags(app_client: TestClient, exchange: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongxin.services import health

    r = app_client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ready"] is True and body["checks"]["database"]["ok"] and body["checks"]["index"]["documents"] == 7
    monkeypatch.setattr(health, "MAX_BEHIND", -1)  # any lag is too much: not ready
    r = app_client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["index"]["ok"] is False


def test_request_ids_metrics_and_the_metrics_token(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    r = app_client.get("/api/v1/search", params={"q": "列车控制系统"}, headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123"
    r = app_client.get("/", headers={"X-Request-ID": "bad id with spaces\n"})
    assert r.headers["x-request-id"] != "bad id with spaces\n" and len(r.headers["x-request-id"]) == 16
    m = app_client.get("/metrics")
    assert m.status_code == 200
    text = m.text
    assert 'tongxin_http_request_duration_seconds_count{method="GET",route="/api/v1/search",status="200"}' in text
    assert 'tongxin_match_request_duration_seconds_count{route="/api/v1/search"}' in text
    assert "tongxin_ready 1.0" in text and "tongxin_index_documents 7.0" in text
    monkeypatch.setenv("TONGXIN_METRICS_TOKEN", "s3cret")
    assert app_client.get("/metrics").status_code == 401
    assert app_client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert app_client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_json_logs_carry_the_request_id(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongxin.web.observability import configure_logging

    monkeypatch.setenv("TONGXIN_LOG_FORMAT", "json")
    buf = io.StringIO()
    configure_logging(buf)
    try:
        app_client.get("/api/v1/search", params={"q": "列车"}, headers={"X-Request-ID": "req-42"})
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_tongxin", False):
                logging.getLogger().removeHandler(h)
    lines = [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]
    access = [x for x in lines if x["logger"] == "tongxin.access"]
    assert access and access[-1]["request_id"] == "req-42" and access[-1]["status"] == 200 and access[-1]["route"] == "/api/v1/search"


# -- several workers, graceful stop, background worker ------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10) -> tuple[int, str]:
    """One GET on a new connection (urllib: no keep-alive), (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()


def _spawn(args: list[str], env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """A tongxin command in its own process, its output in the file `log` (read it with log.read_text())."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "tongxin.cli.main", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.read_text()}")
        try:
            if _get(url + "/readyz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("server never became ready")


def _server_env(db_url: str, tmp_path: Any) -> dict[str, str]:
    env = dict(os.environ, TONGXIN_DATA_DIR=str(tmp_path / "data"), TONGXIN_DATABASE_URL=db_url, TONGXIN_ENCODER="none",
               TONGXIN_INDEX_DIR=str(tmp_path / "data" / "index"))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@pytest.mark.slow
def test_two_workers_serve_sum_their_metrics_and_stop_gracefully(db_url: str, tmp_path: Any) -> None:
    ex = Exchange(Database(db_url), str(tmp_path / "data" / "index"))
    ex.init_db()
    load(ex)
    ex.close()
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = _spawn(["serve", "--port", str(port), "--workers", "2"], _server_env(db_url, tmp_path), log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        q = urllib.parse.quote("列车控制系统")
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            assert _get(f"{url}/api/v1/search?q={q}")[0] == 200
        text = _get(url + "/metrics")[1]
        line = next(x for x in text.splitlines() if x.startswith('tongxin_http_request_duration_seconds_count{method="GET",route="/api/v1/search"'))
        assert float(line.rsplit(" ", 1)[1]) == 40.0, line  # summed over the workers' files
        files = os.listdir(tmp_path / "data" / "metrics")
        assert len({f.rsplit("_", 1)[-1] for f in files if f.startswith("histogram")}) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0, log.read_text()


@pytest.mark.slow
def test_worker_process_drains_the_embedding_queue_and_stops_on_sigterm(db_url: str, tmp_path: Any) -> None:
    from tongxin.core.semantic import HashEncoder
    from tongxin.services.semantic import Semantic

    ex = Exchange(Database(db_url), str(tmp_path / "data" / "index"))
    ex.init_db()
    load(ex)
    sem = Semantic(ex.db, encoder=HashEncoder())
    sem.enqueue_stale(check_text=False)
    waiting = sem.status()["waiting"]
    assert waiting == 7
    env = dict(_server_env(db_url, tmp_path), TONGXIN_ENCODER="hash")
    log = tmp_path / "worker.log"
    proc = _spawn(["worker"], env, log)
    try:
        deadline = time.monotonic() + 120
        while sem.status()["waiting"] and time.monotonic() < deadline:
            time.sleep(0.5)
        st = sem.status()
        assert st["waiting"] == 0 and st["vectors"] == 7, st
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        ex.close()
    assert rc == 0 and "已停止" in log.read_text(), log.read_text()


def test_probes_need_no_session_and_skip_bad_tokens(app_client: TestClient) -> None:
    r = app_client.get("/readyz", headers={"Authorization": "Bearer not-an-api-token"})
    assert r.status_code == 200  # a Prometheus/LB token is not an API token: probes skip API auth
    assert "csrf" not in r.headers.get("set-cookie", "")
