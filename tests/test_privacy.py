"""Private stays private (issue #11): search term echoes, instrument calendars, statistics and
booking, /healthz; mark claims need a licence on every write path; and the smaller fixes
(booking reasons over the API, one statistics window, equipment distance, own listings, expiry)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import world
from factories import ORGS, load
from fastapi.testclient import TestClient
from resource_factories import instrument
from test_certification import XZD
from test_kinds_resources import row

from tongxin.core import access as acc
from tongxin.core import booking as B
from tongxin.core.errors import NotFound, ValidationError
from tongxin.core.matching.fit import MatchContext
from tongxin.services import Exchange
from tongxin.services.booking import Actor, Bookings
from tongxin.services.importing import import_file
from tongxin.services.listings import Listings, SearchFilters
from tongxin.storage import resources_repo as rr
from tongxin.web.app import create_app


def _instrument(vis: str) -> dict[str, Any]:
    raw = instrument(f"I-{vis}") | {"title": f"质谱仪（{vis}）", "visibility": vis, "summary": "共享质谱仪"}
    return {k: v for k, v in raw.items() if k not in ("external_id", "owner", "kind")}


def _actor(w: world.World, role: str) -> Actor:
    v = w.viewer(role)
    return Actor(int(v.user_id or 0), int(v.org_id or 0), v)


def _next_week(hour: int) -> dt.datetime:
    return dt.datetime.combine(dt.datetime.now(B.CST).date() + dt.timedelta(days=7), dt.time(hour), B.CST)


def test_search_echoes_only_words_of_visible_results(exchange: Exchange) -> None:
    w = world.build(exchange)
    ls, owner = Listings(exchange), w.viewer("owner_admin")
    raw = world.tech_raw("confidential") | {"keywords": "蓝鲸七号计划;列车控制系统"}
    lid = ls.save(owner, "technology", raw, publish=True)
    assert "蓝鲸七号计划" in ls.search(owner, "蓝鲸七号计划", SearchFilters()).terms  # the owner sees its own word
    for role in ("visitor", "user", "member"):
        res = ls.search(w.viewer(role), "蓝鲸七号计划", SearchFilters())
        assert res.terms == [] and all("蓝鲸" not in s.listing.description for s in res.items), role
    ls.set_open(owner, lid, False)
    assert ls.search(acc.VISITOR, "蓝鲸七号计划", SearchFilters()).terms == []  # not after it closed either
    # a visible result still explains the query's words
    assert "列车控制系统" in ls.search(acc.VISITOR, "列车控制系统", SearchFilters()).terms


def test_instrument_calendar_stats_and_booking_follow_visibility(exchange: Exchange) -> None:
    w = world.build(exchange)
    ls, owner = Listings(exchange), w.viewer("owner_admin")
    ids = {vis: ls.save(owner, "instrument", _instrument(vis), publish=True) for vis in ("public", "members", "confidential")}
    bk = Bookings(exchange)
    bk.request(_actor(w, "owner_member"), ids["confidential"], _next_week(9), _next_week(11), "内部测试")
    c = TestClient(create_app(exchange), base_url="https://testserver")
    assert c.get(f"/api/v1/instruments/{ids['public']}/calendar").status_code == 200
    for vis in ("members", "confidential"):
        r = c.get(f"/api/v1/instruments/{ids[vis]}/calendar")
        assert r.status_code == 404 and "质谱仪" not in r.text, vis
    # a member with summary-only access to the confidential instrument may not book it
    with pytest.raises(NotFound):
        bk.request(_actor(w, "member"), ids["confidential"], _next_week(13), _next_week(15), "样品检测")
    assert bk.request(_actor(w, "granted"), ids["public"], _next_week(13), _next_week(15), "样品检测").id
    # statistics name only the instruments the viewer may read
    start, end = _next_week(0) - dt.timedelta(days=1), _next_week(0) + dt.timedelta(days=2)
    visitor = {r.label for r in bk.stats("instrument", start, end, viewer=acc.VISITOR)}
    staff = {r.label for r in bk.stats("instrument", start, end, viewer=acc.SYSTEM)}
    assert visitor == {"质谱仪（public）"} and staff == {"质谱仪（public）", "质谱仪（confidential）"}


def test_healthz_counts_public_listings_only(exchange: Exchange) -> None:
    world.build(exchange)  # the fixtures plus one technology per visibility (public, members, confidential, draft)
    published = exchange.listings(rr_filter("technology", "published"), acc.SYSTEM)
    public = [x for x in published if x.visibility == "public"]
    assert len(published) == len(public) + 2
    c = TestClient(create_app(exchange), base_url="https://testserver")
    assert c.get("/healthz").json()["counts"]["technology"] == len(public)


def _licensed_world(exchange: Exchange) -> tuple[world.World, int]:
    w = world.build(exchange)
    with exchange.db.transaction() as s:
        mid = rr.upsert_mark(s, XZD)
        rr.add_licence(s, mid, w.orgs["owner"], "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2030, 12, 31), "小站稻大米")
        rr.add_licence(s, mid, w.orgs["granted"], "XZD-2025-002", dt.date(2025, 1, 1), dt.date(2026, 2, 28), "小站稻大米")
    return w, mid


def _product(**over: Any) -> dict[str, Any]:
    return {"title": "小站稻大米", "description": "当季新米。", "keywords": "小站稻;大米", "industry": "A01", "region": "120112",
            "visibility": "public", "mark_code": "XZD-GI", "product_name": "小站稻大米", "price": 12} | over


def test_mark_claims_need_a_licence_on_the_api(exchange: Exchange) -> None:
    w, _ = _licensed_world(exchange)
    ls = Listings(exchange)
    with pytest.raises(ValidationError) as e:
        ls.save(w.viewer("member"), "certified_product", _product(licence_no="XZD-2025-999"), publish=True)
    (fe,) = e.value.errors
    assert fe.field == "licence_no" and "XZD-2025-999" in fe.message.zh and "apply to 天津市小站稻产业协会" in fe.message.en
    with pytest.raises(ValidationError) as e:
        ls.save(w.viewer("member"), "certified_product", _product(), publish=True)
    assert e.value.errors[0].field == "mark_code" and "未获得" in e.value.errors[0].message.zh
    # a licence that ends before the listing does is not enough
    with pytest.raises(ValidationError) as e:
        ls.save(w.viewer("granted"), "certified_product", _product(valid_until="2031-06-30"), publish=True)
    assert e.value.errors[0].field in ("valid_until", "valid_from")
    lid = ls.save(w.viewer("owner_admin"), "certified_product", _product(licence_no="XZD-2025-001", valid_until="2030-06-30"), publish=True)
    assert ls.show(acc.VISITOR, lid).warnings == []
    # the same over HTTP: 422 naming the field, nothing written
    c = TestClient(create_app(exchange), base_url="https://testserver")
    token = w.accounts.create_token(w.viewer("member"), "t")[1]
    r = c.post("/api/v1/listings", json={"kind": "certified_product", "publish": True, **_product(licence_no="XZD-2025-999")},
               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "licence_no"
    assert [x.id for x in exchange.listings(rr_filter("certified_product"), acc.SYSTEM)] == [lid]


def rr_filter(kind: str, status: str | None = None) -> Any:
    from tongxin.core.listing import ListingFilter

    return ListingFilter(kind=kind, status=status)


def test_mark_claims_need_a_licence_on_import(exchange: Exchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import csv

    w, _ = _licensed_world(exchange)
    path = tmp_path / "cp.csv"
    cols = ["kind", "title", "description", "keywords", "industry", "region", "owner", "mark_code", "product_name", "licence_no"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        wr.writerow(["certified_product", "小站稻大米", "当季新米。", "小站稻", "A01", "120112", "ORG-WQ", "XZD-GI", "小站稻大米", "XZD-2025-999"])
    with pytest.raises(ValidationError) as e:
        import_file(exchange.db, exchange.registry, str(path))
    assert [(x.row, x.field) for x in e.value.errors] == [(2, "licence_no")]
    assert exchange.listings(rr_filter("certified_product"), acc.SYSTEM) == []  # all or nothing


def test_lapsed_licence_warns_on_the_page_and_is_not_matched(exchange: Exchange) -> None:
    w, _ = _licensed_world(exchange)
    ls = Listings(exchange)
    lid = ls.save(w.viewer("owner_admin"), "certified_product", _product(licence_no="XZD-2025-001"), publish=True)
    with exchange.db.transaction() as s:
        rr.revoke_licence(s, "XZD-2025-001")
    (warning,) = ls.show(acc.VISITOR, lid).warnings
    assert "已被撤销" in warning.zh and "not matched" in warning.en
    c = TestClient(create_app(exchange), base_url="https://testserver")
    assert "已被撤销" in c.get(f"/listings/{lid}").text
    need = load(exchange, ORGS, [row("RN-9", "retail_need", "超市采购小站稻大米", "长期采购小站稻大米。", "小站稻;大米", "ORG-HOSP", "120101", "F52",
                                    mark_code="XZD-GI", product_name="小站稻大米", channel="商超", quantity_tonnes=300)])["RN-9"]
    assert [s.listing.id for s in ls.matches(acc.SYSTEM, need)] == []


def test_booking_rejection_reason_over_the_api(exchange: Exchange) -> None:
    w = world.build(exchange)
    iid = Listings(exchange).save(w.viewer("owner_admin"), "instrument", _instrument("public"), publish=True)
    b = Bookings(exchange).request(_actor(w, "member"), iid, _next_week(9), _next_week(11), "样品检测")
    assert b.status == "pending"
    c = TestClient(create_app(exchange), base_url="https://testserver")
    token = w.accounts.create_token(w.viewer("owner_admin"), "t")[1]
    r = c.post(f"/api/v1/bookings/{b.id}/reject", json={"reason": "该时段仪器校准"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["note"] == "该时段仪器校准"
    assert Bookings(exchange).get(int(b.id or 0)).note == "该时段仪器校准"


def test_last_90_days_is_one_window() -> None:
    now = dt.datetime(2026, 5, 10, 15, 30, tzinfo=B.CST)
    assert B.last_days(now, 90) == (now - dt.timedelta(days=90), now)


def test_equipment_max_distance_is_a_hard_rule(exchange: Exchange) -> None:
    need = row("EQ-N", "equipment", "求购数控加工中心", "扩产需要五轴数控加工中心。", "数控加工中心;五轴", "ORG-TIB", "120116", "C34", side="need",
               equipment_type="数控加工中心", deals="sale", price=150, quantity=1, max_distance_km=150)
    near = row("EQ-NEAR", "equipment", "五轴数控加工中心出售", "闲置五轴数控加工中心。", "数控加工中心;五轴", "ORG-WQ", "120114", "C34",
               equipment_type="数控加工中心", deals="sale", price=120, quantity=1)
    far = row("EQ-FAR", "equipment", "五轴数控加工中心转让", "闲置五轴数控加工中心。", "数控加工中心;五轴", "ORG-SJZ", "130100", "C34",
              equipment_type="数控加工中心", deals="sale", price=120, quantity=1)
    ids = load(exchange, ORGS, [need, near, far])
    from tongxin.core import regions

    assert 150 < regions.distance_km("130100", "120116") < 300  # the case the old rule let through
    _, res = exchange.match(ids["EQ-N"], acc.SYSTEM, limit=10, ctx=MatchContext())
    assert [m.listing.external_id for m in res] == ["EQ-NEAR"]


def test_own_listings_are_not_matches_and_expiry_is_beijing_time(exchange: Exchange) -> None:
    from factories import scen, tech

    rows = [scen("S-1", "城轨列车控制系统产业化场景", "需要引进CBTC列车控制系统技术。", "列车控制系统;CBTC"),
            tech("T-OWN", "城轨列车控制系统", "CBTC列车控制系统。", "列车控制系统;CBTC", owner="ORG-WQ"),
            tech("T-1", "城轨列车控制系统安全计算机", "CBTC列车控制系统安全计算机。", "列车控制系统;CBTC", valid_until="2026-03-31")]
    ids = load(exchange, ORGS, rows)
    _, res = exchange.match(ids["S-1"], acc.SYSTEM, ctx=MatchContext(today=dt.date(2026, 3, 31)))
    assert [m.listing.external_id for m in res] == ["T-1"]  # T-OWN is the need's own organisation's
    _, res = exchange.match(ids["S-1"], acc.SYSTEM, ctx=MatchContext(today=dt.date(2026, 4, 1)))
    assert res == []  # the day after its end date
    assert MatchContext().today == dt.datetime.now(B.CST).date()
