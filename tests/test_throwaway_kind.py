"""A kind declared at run time, in a fresh registry, with nothing else edited: one KindSpec
("dataset", six fields, matching scenarios both ways) gets its import template, file import,
publish form, API schema and listing body, search filters, index and matching in both
directions. Declaring it does not reorder the results of the kinds that were there before.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import world
from conftest import backends, pg_schema_url, require_pg
from factories import LISTINGS, ORGS, load
from fastapi.testclient import TestClient

from tongxin.core.access import Viewer
from tongxin.core.fields import AttrField, Choice, Filter
from tongxin.core.kinds import KindSpec, Registry
from tongxin.core.kinds.builtin import SPECS
from tongxin.core.listing import Listing
from tongxin.core.matching.explain import FitItem
from tongxin.core.matching.fit import MatchContext
from tongxin.core.text.analyzer import Analyzer
from tongxin.fileio.exporter import write_template
from tongxin.fileio.importer import parse_file
from tongxin.services import Exchange
from tongxin.services.importing import import_file
from tongxin.storage.db import Database
from tongxin.web.app import create_app

CTX = MatchContext(today=dt.date(2026, 6, 1))
ADMIN = Viewer(role="admin")


def dataset_vs_scenario(ds: Listing, scen: Listing, ctx: MatchContext) -> list[FitItem]:
    price, budget = ds.attrs.get("price"), scen.attrs.get("budget_max")
    if price is None or budget is None:
        return []
    return [FitItem("dataset_price", f"数据集价格 {price:g} 万元，在预算 {budget:g} 万元内", f"priced {price:g}, within the budget of {budget:g}", True, 7.0)]


def affordable(ds: Listing, scen: Listing, ctx: MatchContext) -> bool:
    """Hard rule of the pair: a dataset priced above twice the scenario's budget is never shown."""
    price, budget = ds.attrs.get("price"), scen.attrs.get("budget_max")
    return price is None or budget is None or price <= 2 * budget


FORMATS = (Choice("csv", "CSV 表格", "CSV table"), Choice("parquet", "Parquet 列存", "Parquet"))

DATASET = KindSpec(
    name="dataset",
    zh="数据集",
    en="Dataset",
    sides=("offer",),
    attrs=(
        AttrField("records", "记录数", "records", "int", required=True, min=0, unit_zh="万条", unit_en="×10k records", example="120",
                  filter=Filter("at_least", zh="记录数不少于", en="records at least")),
        AttrField("format", "数据格式", "format", "enum", choices=FORMATS, example="CSV 表格", filter=Filter("choice")),
        AttrField("price", "价格", "price", "float", min=0, unit_zh="万元", unit_en="×10k CNY", example="20",
                  filter=Filter("at_most", "budget", "您的预算", "your budget")),
        AttrField("coverage", "覆盖范围", "coverage", "text", searchable=True, max=2000, example="京津冀 13 个城市"),
        AttrField("licence", "许可协议", "licence", "str", example="CC BY 4.0"),
        AttrField("updated_on", "更新日期", "last updated", "date", example="2026-01-31"),
    ),
    fits={"scenario": dataset_vs_scenario},
    hards={"scenario": affordable},
)


def registry(with_dataset: bool = True) -> Registry:
    reg = Registry()
    for spec in SPECS:
        reg.register(spec)
    if with_dataset:
        reg.register(DATASET)
    return reg


def ds_row(ext: str, title: str, price: float, records: int, coverage: str, fmt: str = "csv") -> dict[str, Any]:
    return {"external_id": ext, "kind": "dataset", "title": title, "description": f"{title}，按日更新，可通过接口获取。",
            "keywords": "城轨;客流数据", "industry": "I65", "region": "110108", "owner": "ORG-TIB", "valid_from": "2025-01-01",
            "valid_until": "2030-12-31", "records": records, "format": fmt, "price": price, "coverage": coverage, "licence": "CC BY 4.0"}


DATASETS = [
    ds_row("DS-FLOW", "城轨列车客流与运行数据集", 20, 500, "天津地铁 9 条线路的列车运行与客流刷卡记录"),
    ds_row("DS-DEAR", "城轨列车运行数据集（全量）", 900, 5000, "全国城轨列车运行数据", fmt="parquet"),
]


def _exchange(url: str, tmp: Any, name: str, reg: Registry) -> Exchange:
    # its own analyzer: the shared one learns words from every exchange indexed in this process
    ex = Exchange(Database(url), str(tmp / f"idx-{name}"), registry=reg, analyzer=Analyzer())
    ex.init_db()
    return ex


@contextmanager
def _db(backend: str, tmp: Any, name: str) -> Iterator[str]:
    """A database URL of `backend`: a SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/{name}.db"
        return
    require_pg()
    with pg_schema_url() as url:
        yield url


@pytest.fixture(scope="module", params=backends())
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Exchange, TestClient, world.World, dict[str, int]]]:
    tmp = tmp_path_factory.mktemp("dataset")
    with _db(request.param, tmp, "d") as url:
        ex = _exchange(url, tmp, "d", registry())
        try:
            w = world.build(ex)
            ids = load(ex, ORGS, LISTINGS + DATASETS)
            with TestClient(create_app(ex), base_url="https://testserver", raise_server_exceptions=False) as c:
                yield ex, c, w, ids
        finally:
            ex.close()


def test_template_and_import(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reg = registry()
    path = str(tmp_path / "dataset.xlsx")
    write_template(path, reg.get("dataset"), reg)
    _, listings, errors = parse_file(path, reg)
    assert errors == [] and len(listings) == 1
    x = listings[0][1]
    assert x.kind == "dataset" and x.attrs["records"] == 120 and x.attrs["format"] == "csv" and x.attrs["updated_on"] == dt.date(2026, 1, 31)
    # the template names the unit in the header; a whole file imports through the normal path
    from openpyxl import load_workbook

    headers = [c.value for c in next(load_workbook(path).worksheets[0].iter_rows(max_row=5))]
    assert any(h and "记录数" in str(h) for h in headers) or any("记录数（万条）" in str(c.value) for r in load_workbook(path).worksheets[0].iter_rows() for c in r)
    ex = _exchange(db_url, tmp_path, "imp", reg)
    try:
        load(ex, [dict(ORGS[0], external_id="ORG-EX-1")], [])  # the owner the template's example row names
        try:
            rep = import_file(ex.db, reg, path)
        except Exception as e:
            raise AssertionError(getattr(e, "errors", e)) from e
        assert rep.listings_created == 1
        ex.sync()
        _, res = ex.search("京津冀 13 个城市", kind="dataset", ctx=CTX)
        assert [m.listing.kind for m in res] == ["dataset"]
    finally:
        ex.close()


def test_publish_form_shows_fields_and_units(env) -> None:  # type: ignore[no-untyped-def]
    ex, c, w, _ = env
    cookie = {"Cookie": f"tx_csrf=CSRFTOKEN; tx_session={w.accounts.create_session(w.users['owner_admin'])}"}
    zh = c.get("/publish/dataset", headers=cookie)
    assert zh.status_code == 200
    for key in ("records", "format", "price", "coverage", "licence", "updated_on"):
        assert f'name="{key}"' in zh.text, key
    assert "万条" in zh.text and "CSV 表格" in zh.text
    en = c.get("/publish/dataset?lang=en", headers=cookie)
    assert "×10k records" in en.text and "×10k CNY" in en.text


def test_api_schema_listing_body_and_listing_page(env) -> None:  # type: ignore[no-untyped-def]
    ex, c, w, ids = env
    kinds = {k["name"]: k for k in c.get("/api/v1/kinds").json()["kinds"]}
    ds = kinds["dataset"]
    assert [a["key"] for a in ds["attrs"]] == ["records", "format", "price", "coverage", "licence", "updated_on"]
    assert ds["matches_with"] == ["scenario"] and "dataset" in kinds["scenario"]["matches_with"]
    price = next(a for a in ds["attrs"] if a["key"] == "price")
    assert price["unit_en"] == "×10k CNY" and price["filter"] == {"param": "budget", "mode": "at_most", "zh": "您的预算", "en": "your budget"}
    body = c.get(f"/api/v1/listings/{ids['DS-FLOW']}").json()
    assert body["kind"] == "dataset" and body["attrs"]["records"] == 500 and body["attrs"]["format"] == "csv"
    page = c.get(f"/listings/{ids['DS-FLOW']}?lang=en")
    assert "500 ×10k records" in page.text and "20 ×10k CNY" in page.text
    # the API creates one too (owner's token), with the same validation
    token = w.accounts.create_token(w.viewer("owner_admin"), "t")[1]
    r = c.post("/api/v1/listings", headers={"Authorization": f"Bearer {token}"},
               json={**{k: v for k, v in ds_row("DS-API", "城轨客流数据集样本", 5, 10, "样本").items() if k not in ("owner", "external_id")}, "publish": False})
    assert r.status_code == 201, r.text
    bad = c.post("/api/v1/listings", headers={"Authorization": f"Bearer {token}"},
                 json={**{k: v for k, v in ds_row("DS-BAD", "坏数据集", 5, -3, "x").items() if k not in ("owner", "external_id")}})
    assert bad.status_code == 422 and "records" in bad.text


def test_search_filters_come_from_the_declaration(env) -> None:  # type: ignore[no-untyped-def]
    ex, c, _, ids = env

    def found(**params: Any) -> set[str]:
        r = c.get("/api/v1/search", params={"limit": 50, **params})
        assert r.status_code == 200, r.text
        return {x["external_id"] for x in r.json()["results"]}

    assert found(kind="dataset", budget=100) == {"DS-FLOW"}  # priced 20: within the budget (900 is not)
    assert found(kind="dataset", records=1000) == {"DS-DEAR"}
    assert found(kind="dataset", format="Parquet 列存") == {"DS-DEAR"}  # the Chinese label is accepted too
    assert found(kind="dataset", budget=100, records=1000) == set()
    r = c.get("/api/v1/search", params={"kind": "dataset", "format": "xml"})
    assert r.status_code == 422 and "CSV 表格" in r.text
    # the search page's form has the kind's filters, labelled with their units
    page = c.get("/search", params={"kind": "dataset", "budget": 100, "lang": "zh"})
    assert 'name="records"' in page.text and 'name="budget"' in page.text and "您的预算（万元）" in page.text
    assert 'name="trl"' not in page.text and "城轨列车客流与运行数据集" in page.text and "城轨列车运行数据集（全量）" not in page.text


def test_matching_both_ways(env) -> None:  # type: ignore[no-untyped-def]
    ex, *_, ids = env
    _, res = ex.match(ids["S-WQ"], ADMIN, kind="dataset", ctx=CTX)  # scenario → datasets: the fit declared on the dataset
    assert [m.listing.external_id for m in res] == ["DS-FLOW"]  # the 900 dataset breaks the pair's hard rule
    assert any(f.key == "dataset_price" and f.points == 7.0 for f in res[0].explanation.fit)
    _, res = ex.match(ids["DS-FLOW"], ADMIN, ctx=CTX)  # dataset → scenarios
    assert res and res[0].listing.external_id == "S-WQ" and {m.listing.kind for m in res} == {"scenario"}
    assert any(f.key == "dataset_price" for f in res[0].explanation.fit)
    _, res = ex.match(ids["DS-DEAR"], ADMIN, ctx=CTX)
    assert "S-WQ" not in [m.listing.external_id for m in res]
    # the scenario's technologies still come with their own fit
    _, res = ex.match(ids["S-WQ"], ADMIN, kind="technology", ctx=CTX)
    assert res and {"industry", "trl", "region"} <= {f.key for f in res[0].explanation.fit}


def _scenario_matches(ex: Exchange, ids: dict[str, int], kind: str | None) -> list[list[Any]]:
    out = []
    for ext in ("S-WQ", "S-HOSP", "S-PEPT"):
        _, res = ex.match(ids[ext], ADMIN, kind=kind, ctx=CTX)
        out.append([(m.listing.external_id, round(m.score, 6), [(f.key, f.points) for f in m.explanation.fit]) for m in res])
    return out


def test_declaring_a_counterpart_does_not_reorder_other_kinds(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same exchange (same index) asked with and without the dataset kind registered: a
    scenario's matches come back in the same order with the same scores and reasons. (The
    registries are swapped on one exchange: two exchanges built from the same data do not
    always score alike, see the report in docs/architecture.md.)"""
    ex = _exchange(db_url, tmp_path, "swap", registry(False))
    try:
        ids = load(ex, ORGS, LISTINGS)
        without = _scenario_matches(ex, ids, None)
        ex.registry = registry(True)
        with_all, with_tech = _scenario_matches(ex, ids, None), _scenario_matches(ex, ids, "technology")
        ex.registry = registry(False)
        again = _scenario_matches(ex, ids, None)
    finally:
        ex.close()
    assert all(without) and without == again  # the comparison itself is repeatable
    assert with_all == without and with_tech == without
