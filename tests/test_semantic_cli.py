"""The semantic layer from the outside: `tongxin index --status / --embed / --rebuild` and the web
app's background worker, with the deterministic hash encoder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from factories import LISTINGS, ORGS, load
from typer.testing import CliRunner

from tongxin.cli.main import app
from tongxin.core.semantic import HashEncoder
from tongxin.services import Exchange
from tongxin.services.semantic import Semantic
from tongxin.storage import vectors_repo as vr
from tongxin.storage.db import Database


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TONGXIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TONGXIN_INDEX_DIR", raising=False)
    monkeypatch.setenv("TONGXIN_ENCODER", "hash")
    runner = CliRunner()
    p = tmp_path / "data.json"
    p.write_text(json.dumps({"organisations": ORGS, "listings": LISTINGS}, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["import", str(p)], catch_exceptions=False).exit_code == 0
    return lambda *a: runner.invoke(app, list(a), catch_exceptions=False)


def _row(output: str, label: str) -> str:
    line = next(x for x in output.splitlines() if label in x)
    return line.split("│")[-2].strip()


def test_index_status_embed_and_rebuild(cli: Any) -> None:
    r = cli("index", "--status")
    assert r.exit_code == 0, r.output
    assert _row(r.output, "vectors waiting") == str(len(LISTINGS)) and _row(r.output, "vectors stored") == f"0 / {len(LISTINGS)}"
    assert "char-bigram-hash 1" in r.output
    assert _row(r.output, "sentences waiting") == str(len(LISTINGS)) and _row(r.output, "sentence vectors stored") == f"0 / {len(LISTINGS)}"
    r = cli("index", "--embed")
    assert r.exit_code == 0, r.output
    assert f"{len(LISTINGS)} embedded" in r.output and "0 waiting" in r.output
    assert f"sentence vectors: 新算 {len(LISTINGS)} listings embedded, 共 {len(LISTINGS)} stored, 等待 0" in r.output
    r = cli("index", "--status")
    assert _row(r.output, "vectors stored") == f"{len(LISTINGS)} / {len(LISTINGS)}" and _row(r.output, "vectors waiting") == "0"
    assert _row(r.output, "sentence vectors stored") == f"{len(LISTINGS)} / {len(LISTINGS)}" and _row(r.output, "sentences waiting") == "0"
    r = cli("index", "--rebuild")  # the search index is rebuilt; no vector of either kind is recomputed
    assert r.exit_code == 0 and "index: 7" in r.output and "queued for embedding: 0" in r.output
    assert "sentence vectors: 0" in r.output.replace("\n", "")


def test_index_embed_with_the_layer_off(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_ENCODER", "none")
    r = cli("index", "--embed")
    assert r.exit_code == 0 and "semantic layer is off" in r.output


def test_web_app_starts_the_embedding_worker(db_url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tongxin.web.app import create_app

    exchange = Exchange(Database(db_url), str(tmp_path / "index"), semantic=None)
    exchange.semantic = Semantic(exchange.db, encoder=HashEncoder())
    exchange.init_db()
    ids = load(exchange)
    with TestClient(create_app(exchange)) as client:
        assert client.get("/").status_code == 200
        for _ in range(200):  # waits for a condition; no timing asserted
            with exchange.db.transaction(write=False) as s:
                if not vr.queued(s):
                    break
            time.sleep(0.05)
    try:
        assert exchange.semantic.status()["vectors"] == len(ids)
    finally:
        exchange.close()
