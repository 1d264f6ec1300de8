"""Matching through the whole stack: hard rules, explanations, freshness, restarts."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import load

from tongxin.core.access import SYSTEM, VISITOR, Viewer
from tongxin.core.matching.fit import MatchContext
from tongxin.services import Exchange
from tongxin.storage.db import Database

CTX = MatchContext(today=dt.date(2026, 6, 1))


def test_scenario_finds_its_technology_with_reasons(exchange: Exchange) -> None:
    ids = load(exchange)
    q, res = exchange.match(ids["S-WQ"], VISITOR, ctx=CTX)
    assert res, "expected matches"
    top = res[0]
    assert top.listing.external_id == "T-CBTC"
    assert {t.term for t in top.explanation.terms} >= {"列车控制系统"}
    keys = {f.key: f for f in top.explanation.fit}
    assert keys["industry"].met is True and keys["trl"].met is True
    assert "北京" in keys["region"].zh and "武清" in keys["region"].zh  # cross-region, Beijing → Tianjin
    assert all(m.listing.kind == "technology" for m in res)


def test_technology_finds_scenarios(exchange: Exchange) -> None:
    ids = load(exchange)
    _, res = exchange.match(ids["T-AIDX"], VISITOR, ctx=CTX)
    assert res[0].listing.external_id == "S-HOSP"
    assert all(m.listing.kind == "scenario" for m in res)


def test_explanation_adds_up_to_score(exchange: Exchange) -> None:
    ids = load(exchange)
    for ext in ("S-WQ", "S-HOSP", "S-PEPT", "T-CBTC"):
        _, res = exchange.match(ids[ext], VISITOR, ctx=CTX)
        for m in res:
            e = m.explanation
            assert sum(p for _, _, p in e.breakdown()) == pytest.approx(e.score)
            if e.terms:
                assert sum(t.points for t in e.terms) == pytest.approx(e.text_points)


def test_hard_rules_never_broken(exchange: Exchange) -> None:
    ids = load(exchange)
    # expired technology never appears, however well its text matches
    _, res = exchange.search("列车控制系统 信号", kind="technology", viewer=SYSTEM, ctx=CTX)
    assert "T-OLD" not in {m.listing.external_id for m in res}
    # closed listing disappears at once
    exchange.set_status(ids["T-CBTC"], "closed")
    _, res = exchange.match(ids["S-WQ"], VISITOR, ctx=CTX)
    assert "T-CBTC" not in {m.listing.external_id for m in res}
    # reopened: back again
    exchange.set_status(ids["T-CBTC"], "published")
    _, res = exchange.match(ids["S-WQ"], VISITOR, ctx=CTX)
    assert res[0].listing.external_id == "T-CBTC"


def test_visibility_respected(exchange: Exchange) -> None:
    from factories import LISTINGS

    rows = [dict(x) for x in LISTINGS]
    for r in rows:
        if r["external_id"] == "T-CBTC":
            r["visibility"] = "members"
    ids = load(exchange, listings=rows)
    _, res = exchange.match(ids["S-WQ"], VISITOR, ctx=CTX)
    assert "T-CBTC" not in {m.listing.external_id for m in res}
    member = Viewer(org_id=999, org_verified=True, role="member")
    _, res = exchange.match(ids["S-WQ"], member, ctx=CTX)
    assert res[0].listing.external_id == "T-CBTC"


def test_deterministic_order(exchange: Exchange) -> None:
    ids = load(exchange)
    a = [(m.listing.id, round(m.score, 6)) for m in exchange.match(ids["S-PEPT"], VISITOR, ctx=CTX)[1]]
    b = [(m.listing.id, round(m.score, 6)) for m in exchange.match(ids["S-PEPT"], VISITOR, ctx=CTX)[1]]
    assert a == b and a
    scores = [s for _, s in a]
    assert scores == sorted(scores, reverse=True)


def test_update_visible_without_rebuild_and_survives_restart(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from factories import tech

    from tongxin.core.listing import validate_listing

    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    ids = load(ex)
    new = validate_listing(tech("T-PORT", "自动化集装箱码头无人集卡调度系统", "港口自动化码头无人集卡智能调度。", "自动化码头;无人集卡"), ex.registry)
    ex.save_listing(new)
    _, res = ex.search("无人集卡 调度", kind="technology", ctx=CTX)
    assert res and res[0].listing.external_id == "T-PORT"
    ex.close()
    # restart: same index directory, no rebuild needed, still finds it
    ex2 = Exchange(Database(db_url), str(tmp_path / "idx"))
    assert ex2.engine.store.fresh is False
    _, res = ex2.search("无人集卡 调度", kind="technology", ctx=CTX)
    assert res and res[0].listing.external_id == "T-PORT"
    ex2.close()
    # a corrupt index is rebuilt from the database automatically
    import os

    for name in os.listdir(tmp_path / "idx"):
        p = tmp_path / "idx" / name
        if p.is_file():
            p.write_bytes(b"garbage")
    ex3 = Exchange(Database(db_url), str(tmp_path / "idx"))
    _, res = ex3.search("无人集卡 调度", kind="technology", ctx=CTX)
    assert res and res[0].listing.external_id == "T-PORT"
    assert ids  # fixtures loaded
    ex3.close()


def test_free_text_mixed_terms(exchange: Exchange) -> None:
    load(exchange)
    _, res = exchange.search("CBTC", kind="technology", ctx=CTX)
    assert res[0].listing.external_id == "T-CBTC"
    _, res = exchange.search("ＣＢＴＣ 列車控制", kind="technology", ctx=CTX)  # full width + traditional
    assert res[0].listing.external_id == "T-CBTC"
