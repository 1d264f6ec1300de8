"""Pages and API answered by a running app (FastAPI TestClient drives the real ASGI app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import load
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.storage.db import Database
from tongxin.web.app import create_app


@pytest.fixture
def client(tmp_path) -> Iterator[tuple[TestClient, dict[str, int]]]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "w.db")), str(tmp_path / "idx"))
    ex.init_db()
    ids = load(ex)
    with TestClient(create_app(ex), raise_server_exceptions=False) as c:
        yield c, ids
    ex.close()


def test_home_is_chinese_with_search_box(client) -> None:  # type: ignore[no-untyped-def]
    c, _ = client
    r = c.get("/")
    assert r.status_code == 200
    assert "我有需求" in r.text and "我有技术" in r.text and 'name="q"' in r.text
    assert "基于通信的列车控制系统" in r.text  # recent listings


def test_search_shows_matches_with_reasons(client) -> None:  # type: ignore[no-untyped-def]
    c, _ = client
    r = c.get("/search", params={"q": "城轨 列车控制系统 国产化", "mode": "need"})
    assert r.status_code == 200
    assert "基于通信的列车控制系统" in r.text
    assert "得分构成" in r.text and "列车控制系统" in r.text
    assert "过期的列车信号技术" not in r.text  # expired never shown


def test_listing_page_shows_counterparts(client) -> None:  # type: ignore[no-untyped-def]
    c, ids = client
    r = c.get(f"/listings/{ids['S-WQ']}")
    assert r.status_code == 200
    assert "城轨列车控制系统产业化场景" in r.text and "最佳匹配" in r.text
    assert r.text.index("基于通信的列车控制系统") > r.text.index("最佳匹配")
    assert "跨区域协同" in r.text


def test_english_switch(client) -> None:  # type: ignore[no-untyped-def]
    c, ids = client
    r = c.get(f"/listings/{ids['S-WQ']}?lang=en")
    assert "Best counterparts" in r.text and "cross-region" in r.text


def test_missing_pages_are_friendly(client) -> None:  # type: ignore[no-untyped-def]
    c, _ = client
    r = c.get("/listings/999999")
    assert r.status_code == 404 and "不存在" in r.text and "Traceback" not in r.text
    r = c.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.text


def test_api_search_and_error_envelope(client) -> None:  # type: ignore[no-untyped-def]
    c, ids = client
    r = c.get("/api/v1/search", params={"q": "海洋活性肽", "kind": "technology"})
    assert r.status_code == 200
    body = r.json()
    assert body["results"][0]["external_id"] == "T-PEPT"
    e = body["results"][0]["explanation"]
    assert e["score"] == pytest.approx(e["text_points"] + sum(f["points"] for f in e["fit"]), abs=0.05)
    r = c.get("/api/v1/search", params={"q": "x", "kind": "nonsense"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "nonsense" in r.json()["error"]["message_en"]
    r = c.get("/api/v1/listings/abc")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = c.get(f"/api/v1/listings/{ids['S-WQ']}/matches")
    assert r.json()["results"][0]["external_id"] == "T-CBTC"
    assert c.get("/openapi.json").status_code == 200
