"""Statistics: the arithmetic on plain records, and — on the demo deals and ≥ 1,000 contracts — the
figures recomputed independently from the database agree with the dashboard data, the CSV
downloads, `tongxin stats --json`, the XLSX export and the PDF report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict

import openpyxl
import pytest
import typer
from factories import ORGS, load
from fastapi.testclient import TestClient
from pdf_support import assert_font_as_chosen, pdf_text
from sqlalchemy import text
from typer.testing import CliRunner

from tongxin.core import stats as st
from tongxin.core.errors import ValidationError
from tongxin.demo.load import load_deals_demo
from tongxin.services import Exchange, reports
from tongxin.services import stats as S


def rec(i: int, day: str, amount: int, seller: str = "110108", buyer: str = "120116", ctype: str = "development", park: str = "") -> st.ContractRecord:
    return st.ContractRecord(i, ctype, dt.date.fromisoformat(day), amount, amount // 2, seller, buyer, park, "C37", f"卖方{i % 2}", "买方")


def test_periods() -> None:
    p = st.parse_period("2025")
    assert (p.start, p.end, p.previous().label) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31), "2024")
    assert st.parse_period("2023-2025").previous().label == "2020-2022"
    q = st.parse_period("2025q4")
    assert (q.start, q.end, q.label) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31), "2025Q4")
    with pytest.raises(ValidationError) as e:
        st.parse_period("去年")
    assert e.value.errors[0].message.zh == "统计期 ‘去年’ 无效：请写年份（2025）、年份区间（2023-2025）或季度（2025Q3）"


def test_compute_on_plain_records() -> None:
    rs = [rec(1, "2025-01-10", 100), rec(2, "2025-05-01", 300, park="天津滨海—中关村科技园"), rec(3, "2025-05-02", 50, "120104", "130600", "service"),
          rec(4, "2024-03-01", 200), rec(5, "2026-01-01", 999)]
    f = st.compute(rs, st.parse_period("2025"), st.FunnelCounts(100, 40, 10, 8, 2))
    assert (f.total.count, f.total.amount_yuan, f.previous_total.amount_yuan) == (3, 450, 200)
    assert f.growth == pytest.approx(1.25)
    assert [(b.key, b.amount_yuan) for b in f.by_quarter] == [("2025Q1", 100), ("2025Q2", 350)]
    assert [(b.key, b.count, b.amount_yuan) for b in f.flows] == [("BJ>TJ", 2, 400), ("TJ>HE", 1, 50)]
    assert [(b.label, b.amount_yuan) for b in f.by_park] == [("天津滨海—中关村科技园", 300), ("天津市滨海新区", 100), ("河北省保定市", 50)]
    assert [b.key for b in f.by_type] == ["development", "service"]
    assert f.corridor_amount_yuan == 400 and f.cross_region_amount_yuan == 450
    assert [(s.key, s.count, s.rate) for s in f.funnel] == [("listings", 100, None), ("interests", 40, 0.4), ("accepted", 10, 0.25),
                                                           ("deals", 8, 0.8), ("contracts", 2, 0.25)]
    unknown = st.funnel(st.FunnelCounts(100, None, 10, 8, 2, source="deals"))
    assert [s.rate for s in unknown] == [None, None, None, 0.8, 0.25]


PROV = {"11": "BJ", "12": "TJ", "13": "HE"}


def _independent(ex: Exchange, year: int) -> dict[str, object]:
    """Recompute from the tables with plain SQL and Python: no code shared with services.stats."""
    with ex.db.engine.connect() as c:
        rows = c.execute(text("SELECT signed_on, amount_yuan, tech_amount_yuan, seller_region, buyer_region, contract_type, deal_id "
                              "FROM tech_contracts WHERE registration_no IS NOT NULL")).all()  # registered contracts are counted
        unregistered = c.execute(text("SELECT signed_on, deal_id FROM tech_contracts WHERE registration_no IS NULL")).all()
    def day(v: object) -> dt.date:
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])

    mine = [r for r in rows if day(r[0]).year == year]
    left_out = sum(1 for r in unregistered if day(r[0]).year == year)
    flows: dict[str, int] = defaultdict(int)
    types: dict[str, int] = defaultdict(int)
    quarters: dict[str, int] = defaultdict(int)
    for r in mine:
        flows[f"{PROV.get(r[3][:2], 'OTHER')}>{PROV.get(r[4][:2], 'OTHER')}"] += int(r[1])
        types[r[5]] += int(r[1])
        quarters[f"{year}Q{(day(r[0]).month - 1) // 3 + 1}"] += int(r[1])
    return {"count": len(mine), "amount": sum(int(r[1]) for r in mine), "tech": sum(int(r[2]) for r in mine), "flows": dict(flows),
            "types": dict(types), "quarters": dict(quarters), "all": len(rows) + len(unregistered), "left_out": left_out,
            # the funnel counts every contract signed out of a deal, registered or not (its label says so)
            "from_deals": sum(1 for r in mine if r[6] is not None) + sum(1 for r in unregistered if day(r[0]).year == year and r[1] is not None)}


def test_every_face_agrees_with_the_database(exchange: Exchange, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from factories import LISTINGS

    from tongxin.core import credit_code

    binhai = {"external_id": "ORG-BH", "name": "天津滨海智能装备有限公司", "credit_code": credit_code.make("91120116MA07BH0T1"),
              "org_type": "enterprise", "region": "120116", "industry": "C34"}
    load(exchange, orgs=ORGS + [binhai], listings=LISTINGS)
    n = load_deals_demo(exchange, today=dt.date(2026, 3, 1))
    assert n["contracts"] >= 1000 and n["deals"] >= 100
    with exchange.db.engine.connect() as c:
        stages = {s for (s,) in c.execute(text("SELECT DISTINCT stage FROM deals"))}
        years = {str(y)[:4] for (y,) in c.execute(text("SELECT signed_on FROM tech_contracts"))}
    assert stages == {"contact", "confirm", "proposal", "negotiation", "signed", "terminated"}
    assert {"2023", "2024", "2025"} <= years
    assert load_deals_demo(exchange)["contracts"] == 0  # loaded once

    want = _independent(exchange, 2025)
    assert want["all"] >= 1000
    with exchange.db.transaction(write=False) as s:
        f = S.figures(s, "2025")
    d = f.as_dict()
    assert (d["total"]["count"], d["total"]["amount_yuan"], d["total"]["tech_amount_yuan"]) == (want["count"], want["amount"], want["tech"])
    assert d["counted"] == "registered" and d["not_registered"]["count"] == want["left_out"] > 0  # the demo leaves some unregistered
    assert {b["key"]: b["amount_yuan"] for b in d["flows"]} == want["flows"]
    assert {b["key"]: b["amount_yuan"] for b in d["by_type"]} == want["types"]
    assert {b["key"]: b["amount_yuan"] for b in d["by_quarter"]} == want["quarters"]
    assert next(x for x in d["funnel"] if x["key"] == "contracts")["count"] == want["from_deals"]
    assert sum(b["amount_yuan"] for b in d["by_park"]) == want["amount"] == sum(b["amount_yuan"] for b in d["by_industry"])
    # the demo story: Beijing → Tianjin is the largest flow; the Binhai–Zhongguancun park passes 120 亿元
    assert d["flows"][0]["key"] == "BJ>TJ"
    assert d["by_park"][0]["label"] == "天津滨海—中关村科技园" and d["by_park"][0]["amount_yuan"] > 120 * 10**8

    # the dashboard's data (API) and CSV download
    from tongxin.web.app import create_app

    client = TestClient(create_app(exchange))
    public = client.get("/api/v1/stats?period=2025").json()  # visitors: only what the public summary shows
    assert public["total"] == json.loads(json.dumps(d["total"])) and public["flows"] == json.loads(json.dumps(d["flows"]))
    assert not {"funnel", "top_sellers", "top_buyers"} & set(public)
    assert client.get("/stats/top_sellers.csv?period=2025", follow_redirects=False).status_code in (302, 303, 401)
    got = list(csv.reader(io.StringIO(client.get("/stats/by_quarter.csv?period=2025").content.decode("utf-8-sig"))))
    assert {r[0][:4] + "Q" + r[0][6]: round(float(r[2]) * 10000) for r in got[1:]} == want["quarters"]
    assert client.get("/dashboard?period=2025", follow_redirects=False).status_code in (302, 303, 401)  # staff only
    from world import fast_hasher

    from tongxin.services.accounts import Accounts
    from tongxin.storage import accounts_repo

    accounts = Accounts(exchange, hasher=fast_hasher())
    uid = accounts.sign_up("ops@test.tongxin.cn", "Tongxin-2025-ops", "运营人员")
    with exchange.db.transaction() as s:
        accounts_repo.get_user(s, uid).role = "operator"
    _, token = accounts.create_token(accounts.viewer(uid), "stats test")
    page = client.get("/dashboard?period=2025", headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/stats?period=2025", headers={"Authorization": f"Bearer {token}"}).json() == json.loads(json.dumps(d))
    assert page.status_code == 200 and f"{want['count']:,} 项" in page.text and "/stats/plotly.min.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/summary?period=2025").status_code == 200

    # the CLI, --json: one JSON object
    from tongxin.cli.stats import register

    monkeypatch.setenv("TONGXIN_DATABASE_URL", exchange.db.url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["stats", "--period", "2025", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(json.dumps(d))

    # the XLSX export and the PDF report
    xlsx = tmp_path / "r.xlsx"
    res = CliRunner().invoke(app, ["report", "--period", "2025", "--format", "xlsx", "--output", str(xlsx)])
    assert res.exit_code == 0, res.output
    ws = openpyxl.load_workbook(xlsx)["关键指标"]
    cells = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and r[0]}
    assert cells["已登记合同数 registered contracts"] == want["count"] and cells["已签订未登记（不计入）signed, not registered (left out)"] == want["left_out"]
    assert cells["统计口径 counted"].startswith("已登记") and cells["成交额（元）amount in yuan"] == want["amount"]
    pdf = reports.report_pdf(f)
    assert_font_as_chosen(pdf, tmp_path)
    body = pdf_text(pdf, tmp_path)
    assert f"{want['count']:,} 项" in body and f"{want['amount'] / 10**8:,.2f} 亿元" in body
    assert "2025 年度报告" in body


def test_cli_rejects_a_bad_period(exchange: Exchange, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tongxin.cli.stats import register

    monkeypatch.setenv("TONGXIN_DATABASE_URL", exchange.db.url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["stats", "--period", "soon", "--json"])
    assert res.exit_code == 1
    assert len(ORGS) == 5


def test_funnel_counts_the_listings_on_offer_in_the_period(exchange: Exchange) -> None:
    """Interests of 2025 go to listings published before 2025 too: the funnel's first stage counts
    every listing on offer during the period (published before its end, not expired before its
    start), not only those created in it (which gave more interests than listings, rate 11.71)."""
    load(exchange)  # seven listings valid until 2030, one expired in 2020
    with exchange.db.engine.begin() as c:
        c.execute(text("UPDATE listings SET created_at = :t"), {"t": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)})
    with exchange.db.transaction(write=False) as s:
        on_offer = S.funnel_counts(s, st.parse_period("2025")).listings
        before = S.funnel_counts(s, st.parse_period("2023")).listings
    assert on_offer == 6  # all but the one that expired in 2020
    assert before == 0  # nothing was published yet
