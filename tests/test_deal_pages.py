"""The deal and contract pages, driven through the real app (TestClient): 我的对接, a deal's stage bar,
history, stage changes with bilingual refusals, financial services picked from financial_service
listings, the agreement register with expiry reminders, registering the contract of a signed deal,
the contract list (filters; own vs all), the contract page and its package downloads, the Excel
import (all or nothing, row errors on the page), and the statistics that are for staff only."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
import world
from factories import ORGS
from fastapi.testclient import TestClient

from tongxin.core.clock import local_today
from tongxin.fileio.contracts import contract_columns, write_contracts_xlsx
from tongxin.services import Exchange
from tongxin.services.contacts import Contacts
from tongxin.services.listings import Listings
from tongxin.storage import deals_repo as R
from tongxin.storage.db import Database
from tongxin.web.app import create_app

BJTU, WQ, TIB = (o["credit_code"] for o in ORGS[:3])
CSRF = "CSRFTOKEN"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Env:
    w: world.World
    c: TestClient
    sessions: dict[str, str]
    contact_id: int
    deal_id: int
    finance_listing: int

    def h(self, role: str) -> dict[str, str]:
        cookie = f"tx_csrf={CSRF}"
        if role != "visitor":
            cookie += f"; tx_session={self.sessions[role]}"
        return {"Cookie": cookie}

    def get(self, role: str, url: str, **kw: Any) -> Any:
        return self.c.get(url, headers=self.h(role), **kw)

    def post(self, role: str, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.c.post(url, data={"csrf": CSRF} | (data or {}), headers=self.h(role), follow_redirects=False, **kw)


def fin_raw() -> dict[str, Any]:
    return {"title": "科技信用贷（测试银行）", "description": "面向京津冀科技型企业的信用贷款，审批快、额度灵活。", "keywords": "科技信用贷;银行贷款",
            "industry": "J66", "region": "120116", "visibility": "public", "product_type": "bank_loan", "amount_min": "50", "amount_max": "2000"}


@pytest.fixture
def env(tmp_path) -> Iterator[Env]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(f"sqlite:///{tmp_path}/d.db"), str(tmp_path / "idx"))
    ex.init_db()
    w = world.build(ex)
    fin = Listings(ex).save(w.viewer("granted"), "financial_service", fin_raw(), publish=True)
    contacts = Contacts(ex)
    cid = contacts.express_interest(w.viewer("member"), w.listings["public"], "希望在武清线路试点")
    contacts.accept(w.viewer("owner_admin"), cid, "欢迎")
    with ex.db.transaction(write=False) as s:
        deal = R.deal_by_contact(s, cid)
        assert deal is not None
        deal_id = deal.id
    sessions = {r: w.accounts.create_session(uid) for r, uid in w.users.items()}
    with TestClient(create_app(ex), base_url="https://testserver", raise_server_exceptions=False) as c:
        c.cookies.clear()
        yield Env(w, c, sessions, cid, deal_id, fin)
    ex.close()


def problem(html: str) -> str:
    m = re.search(r'class="form-error[^"]*"[^>]*>(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", " / ", m.group(1)) if m else ""


def sign(env: Env, note: str = "") -> None:
    for role, stage in (("member", "confirm"), ("owner_admin", "proposal"), ("member", "negotiation"), ("owner_member", "signed")):
        r = env.post(role, f"/deals/{env.deal_id}/stage", {"stage": stage, "note": f"{note}{stage}"})
        assert r.status_code == 303, problem(r.text)


def test_my_deals_and_the_link_from_contacts(env: Env) -> None:
    r = env.get("member", "/my/contacts")
    assert f'href="/my/contacts/{env.contact_id}/deal"' in r.text and "查看洽谈进展" in r.text
    r = env.get("member", f"/my/contacts/{env.contact_id}/deal", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/deals/{env.deal_id}"
    for role, other in (("member", "北京交通大学"), ("owner_member", "交控技术装备有限公司")):
        r = env.get(role, "/my/deals")
        assert r.status_code == 200 and "我的对接" in r.text and 'href="/my/deals"' in r.text  # page and navigation
        row = re.search(rf'<tr class="deal-row[^"]*" data-deal="{env.deal_id}".*?</tr>', r.text, re.S)
        assert row and "初步接洽" in row.group(0) and other in row.group(0) and world.title("public") in row.group(0)
    assert f'data-deal="{env.deal_id}"' not in env.get("granted", "/my/deals").text  # not a party
    assert f'data-deal="{env.deal_id}"' in env.get("operator", "/my/deals").text  # staff see every deal
    assert env.get("visitor", "/my/deals", follow_redirects=False).status_code == 303  # → sign in
    assert env.get("user", "/my/deals", follow_redirects=False).headers["location"] == "/my/org"
    assert env.get("granted", f"/my/contacts/{env.contact_id}/deal").status_code == 404
    # idle warning once nothing happened for longer than the reminder setting (14 days)
    with env.w.ex.db.transaction() as s:
        R.get_deal(s, env.deal_id).last_activity_at = R.utcnow() - dt.timedelta(days=20)
    r = env.get("member", "/my/deals")
    assert "已 20 天无进展" in r.text and "请跟进" in r.text
    assert "idle 20 days" in env.get("member", "/my/deals?lang=en").text


def test_deal_page_is_for_the_parties_and_staff_only(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    for role in ("member", "owner_member", "owner_admin", "operator", "admin"):
        r = env.get(role, url)
        assert r.status_code == 200 and "初步接洽" in r.text and 'name="stage"' in r.text, role
    for role in ("granted", "pending", "user"):
        r = env.get(role, url)
        assert r.status_code == 404 and "不存在或无权查看" in r.text and world.title("public") not in r.text
        for path, data in (("stage", {"stage": "confirm"}), ("note", {"note": "x"}), ("finance", {"listing_id": env.finance_listing}),
                           ("agreements", {"agreement_type": "nda", "title": "NDA", "effective_on": "2025-01-01"}),
                           ("contract", {"contract_no": "X-1"})):
            assert env.post(role, f"{url}/{path}", data).status_code == 404, (role, path)
    assert env.get("visitor", url, follow_redirects=False).status_code == 303
    missing, hidden = env.get("member", "/deals/999999"), env.get("granted", url)
    assert missing.status_code == hidden.status_code == 404
    assert "洽谈 999999 不存在或无权查看" in missing.text and f"洽谈 {env.deal_id} 不存在或无权查看" in hidden.text  # the same answer
    for path in ("agreements", "finance/1/status"):
        assert "不存在或无权查看" in env.post("granted", f"/deals/999999/{path}", {"status": "reviewing"}).text
    with env.w.ex.db.transaction(write=False) as s:
        assert R.get_deal(s, env.deal_id).stage == "contact"


def test_stages_history_and_bilingual_refusals(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    r = env.get("member", url)
    offered = re.findall(r'<option value="(\w+)"', re.search(r'<select name="stage">.*?</select>', r.text, re.S).group(0))  # type: ignore[union-attr]
    assert offered == ["confirm", "terminated"]  # only the allowed transitions
    r = env.post("member", f"{url}/stage", {"stage": "signed", "note": "想直接签"})
    assert r.status_code == 409
    assert "不能从‘初步接洽’直接变更为‘签约’，可变更为：需求确认、终止" in problem(r.text)
    assert "cannot move" not in r.text  # the Chinese page speaks Chinese; the English one English
    en = env.post("member", f"{url}/stage?lang=en", {"stage": "signed"})
    assert "cannot move from &#39;first contact&#39; to &#39;signed&#39;" in problem(en.text)
    assert "想直接签" in r.text  # the note is kept
    r = env.post("member", f"{url}/stage", {"stage": "nonsense"})
    assert r.status_code == 409 and "阶段 ‘nonsense’ 无效" in problem(r.text)
    sign(env, "备注：")
    r = env.post("member", f"{url}/note", {"note": "签约后补充"})
    assert r.status_code == 409 and "洽谈已结束" in problem(r.text)
    r = env.get("owner_admin", url)
    bar = re.search(r'<ol class="stagebar".*?</ol>', r.text, re.S).group(0)  # type: ignore[union-attr]
    assert bar.count(" done") == 4 and 'class="signed current"' in bar and "终止" not in bar
    hist = re.search(r'<ol class="history">.*?</ol>', r.text, re.S).group(0)  # type: ignore[union-attr]
    for who, note in (("member 用户（交控技术装备有限公司）", "备注：confirm"), ("owner_admin 用户（北京交通大学）", "备注：proposal"),
                      ("owner_member 用户（北京交通大学）", "备注：signed")):
        assert who in hist and note in hist
    assert "合同谈判 → 签约" in hist and 'name="stage"' not in r.text
    assert "洽谈已签约，阶段不能再变更" in r.text
    r = env.get("owner_admin", url + "?lang=en")
    assert "negotiation → signed" in r.text.replace("contract negotiation", "negotiation") and "Submit for registration" in r.text


def test_terminated_deal_shows_where_it_stopped(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    assert env.post("member", f"{url}/stage", {"stage": "confirm"}).status_code == 303
    assert env.post("owner_admin", f"{url}/stage", {"stage": "terminated", "note": "预算不足"}).status_code == 303
    r = env.get("member", url)
    bar = re.search(r'<ol class="stagebar".*?</ol>', r.text, re.S).group(0)  # type: ignore[union-attr]
    assert 'class="confirm stopped"' in bar and 'class="terminated current"' in bar
    assert "预算不足" in r.text and "finance-form" not in r.text and "contract-form" not in r.text


def test_financial_services_from_listings(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    r = env.get("member", url)
    assert f'<option value="{env.finance_listing}"' in r.text and "科技信用贷（测试银行）" in r.text
    assert world.title("public") not in re.search(r'<select name="listing_id".*?</select>', r.text, re.S).group(0)  # type: ignore[union-attr]
    r = env.post("member", f"{url}/finance", {"listing_id": str(env.w.listings["public"])})
    assert r.status_code == 409 and "不是可选的金融服务" in problem(r.text)
    r = env.post("member", f"{url}/finance", {"listing_id": str(env.finance_listing), "amount_wan": "五百"})
    assert r.status_code == 422 and "金额（万元）应为数字" in problem(r.text)
    r = env.post("member", f"{url}/finance", {"listing_id": str(env.finance_listing), "amount_wan": "500", "note": "用于首期采购"})
    assert r.status_code == 303
    with env.w.ex.db.transaction(write=False) as s:
        (f,) = R.deal_finance(s, env.deal_id)
        assert (f.kind, f.status, f.amount_yuan, f.provider_org_id) == ("loan", "offered", 5_000_000, env.w.orgs["granted"])
    r = env.get("owner_member", url)
    row = re.search(rf'<tr data-finance="{f.id}">.*?</tr>', r.text, re.S).group(0)  # type: ignore[union-attr]
    assert "银行贷款" in row and "中国科学院天津工业生物技术研究所" in row and "500.00" in row and "已提出" in row and "用于首期采购" in row
    assert re.findall(r'name="status" value="(\w+)"', row) == ["reviewing", "declined", "withdrawn"]
    assert env.post("owner_member", f"{url}/finance/{f.id}/status", {"status": "reviewing"}).status_code == 303
    r = env.post("owner_member", f"{url}/finance/{f.id}/status", {"status": "disbursed"})
    assert r.status_code == 409 and "金融服务状态不能从‘审核中’变更为‘disbursed’" in problem(r.text)
    assert env.post("granted", f"{url}/finance/{f.id}/status", {"status": "approved"}).status_code == 404
    with env.w.ex.db.transaction(write=False) as s:
        assert R.get_finance(s, f.id).status == "reviewing"


def test_agreement_register_with_expiry_reminders(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    today = local_today()
    r = env.post("member", f"{url}/agreements", {"agreement_type": "nda", "title": "保密协议", "effective_on": "2025-05-01", "expires_on": "2025-04-01"})
    assert r.status_code == 422 and "到期日 2025-04-01 早于生效日 2025-05-01，请更正" in r.text
    assert 'data-field="expires_on"' in r.text and 'value="保密协议"' in r.text  # at the field, the input kept
    r = env.post("member", f"{url}/agreements", {"agreement_type": "nda", "title": "保密协议", "effective_on": "明天"})
    assert r.status_code == 422 and "生效日期应为日期" in r.text
    soon = (today + dt.timedelta(days=10)).isoformat()
    assert env.post("member", f"{url}/agreements", {"agreement_type": "nda", "title": "保密协议", "effective_on": (today - dt.timedelta(days=5)).isoformat(),
                                                      "expires_on": soon, "remind_days": "30"}).status_code == 303
    assert env.post("owner_admin", f"{url}/agreements", {"agreement_type": "licence", "title": "专利实施许可协议",
                                                           "effective_on": today.isoformat(), "expires_on": "2035-01-01"}).status_code == 303
    r = env.get("owner_member", url)
    assert "10 天后到期" in r.text and f"协议“保密协议”将于 {soon} 到期（还有 10 天）" in r.text and "有效" in r.text
    assert f"协议“保密协议”将于 {soon} 到期" in env.get("member", "/my/deals").text  # and on 我的对接
    with env.w.ex.db.transaction(write=False) as s:
        a = R.agreements(s, env.deal_id)
        assert {(x.agreement_type, x.party_a_org_id, x.party_b_org_id) for x in a} == {
            ("nda", env.w.orgs["owner"], env.w.orgs["member"]), ("licence", env.w.orgs["owner"], env.w.orgs["member"])}


def test_register_the_contract_from_the_signed_deal(env: Env) -> None:
    url = f"/deals/{env.deal_id}"
    assert "contract-form" not in env.get("member", url).text
    r = env.post("member", f"{url}/contract", {"contract_no": "TX-EARLY", "title": "x", "contract_type": "licence", "amount": "1", "signed_on": "2025-01-01"})
    assert r.status_code == 409 and "洽谈签约后才能登记技术合同" in problem(r.text)
    sign(env)
    r = env.get("member", url)
    form = re.search(r'<form[^>]*class="stack contract-form".*?</form>', r.text, re.S).group(0)  # type: ignore[union-attr]
    vals = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    today = local_today()
    assert vals["contract_no"] == f"TX-{today.year}-D{env.deal_id:05d}" and vals["signed_on"] == today.isoformat()
    assert vals["title"] == world.title("public") and vals["industry"] == "C37"
    assert re.search(r'<option value="licence" selected>', form)  # the technology is offered by licence
    assert "北京交通大学" in form and "交控技术装备有限公司" in form
    bad = vals | {"amount": "300", "tech_amount": "500", "signed_on": (today + dt.timedelta(days=3)).isoformat(), "csrf": CSRF}
    r = env.post("member", f"{url}/contract", bad)
    assert r.status_code == 422
    assert 'data-field="tech_amount"' in r.text and 'data-field="signed_on"' in r.text and "技术交易额 500 万元大于合同成交额 300 万元" in r.text
    assert 'value="500"' in r.text  # what was typed is kept
    # the parties always come from the deal, whatever the form says
    good = vals | {"contract_type": "licence", "amount": "300", "tech_amount": "280", "park": "武清京津产业新城", "seller": TIB, "buyer": TIB, "deal_id": "1"}
    r = env.post("member", f"{url}/contract", good)
    assert r.status_code == 303 and r.headers["location"].endswith("?submitted=1"), problem(r.text)
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    with env.w.ex.db.transaction(write=False) as s:
        c = R.get_contract(s, cid)
        assert (c.seller_org_id, c.buyer_org_id, c.deal_id, c.amount_yuan, c.tech_amount_yuan) == (
            env.w.orgs["owner"], env.w.orgs["member"], env.deal_id, 3_000_000, 2_800_000)
        assert R.contract_listing_ids(s, [cid]) == {cid: [env.w.listings["public"]]}
    r = env.get("member", f"/contracts/{cid}?submitted=1")
    assert r.status_code == 200 and "技术合同已提交登记" in r.text and "300.00" in r.text and "武清京津产业新城" in r.text
    assert 'data-status="submitted"' in r.text  # the registration office gives the number and date
    assert f'href="/contracts/{cid}/package.pdf"' in r.text and f'href="/deals/{env.deal_id}"' in r.text
    r = env.get("owner_member", url)
    assert f'href="/contracts/{cid}"' in r.text and "contract-form" not in r.text  # submitted once
    # a contract number in use is refused, never overwritten
    with env.w.ex.db.transaction() as s:
        R.add_event(s, R.get_deal(s, env.deal_id), "signed", None, None, "", R.utcnow())
    r = env.post("owner_admin", f"{url}/contract", good)
    assert r.status_code == 422 and f"合同编号 {vals['contract_no']} 已被使用" in r.text


def _contract(env: Env, no: str, seller: str = BJTU, buyer: str = WQ, **over: Any) -> dict[str, Any]:
    d = {"contract_no": no, "title": "CBTC列车控制系统技术许可合同", "contract_type": "技术许可", "seller": seller, "buyer": buyer, "amount": 1200,
         "tech_amount": 1100, "signed_on": "2024-06-30", "park": "武清京津产业新城", "industry": "C37", "listings": "", "registration_no": "",
         "registered_on": ""}
    return d | over


def _xlsx(rows: list[dict[str, Any]], tmp_path: Any) -> bytes:
    keys = [c.key for c in contract_columns()]
    path = str(tmp_path / "up.xlsx")
    write_contracts_xlsx(path, [[r.get(k, "") for k in keys] for r in rows])
    with open(path, "rb") as fh:
        return fh.read()


def test_contract_import_list_filters_and_packages(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert env.get("owner_admin", "/contracts/import").status_code == 403
    r = env.c.post("/contracts/import", data={"csrf": CSRF}, files={"file": ("c.xlsx", b"x", XLSX)}, headers=env.h("owner_admin"))
    assert r.status_code == 403
    r = env.get("operator", "/contracts/import")
    assert r.status_code == 200 and 'enctype="multipart/form-data"' in r.text and 'href="/contracts/template.xlsx"' in r.text
    t = env.get("operator", "/contracts/template.xlsx")
    assert t.status_code == 200 and openpyxl.load_workbook(io.BytesIO(t.content)).active["A1"].value.startswith("合同编号")
    rows = [_contract(env, "C-1"), _contract(env, "C-2", seller="91110000MA00000000"), _contract(env, "C-3", tech_amount=5000),
            _contract(env, "C-4", seller=TIB, buyer=BJTU, contract_type="技术开发", signed_on="2025-03-01", amount=88.5, tech_amount="")]
    body = _xlsx(rows, tmp_path)
    r = env.c.post("/contracts/import", data={"csrf": CSRF}, files={"file": ("合同.xlsx", body, XLSX)}, headers=env.h("operator"))
    assert r.status_code == 422 and "文件中有 2 处错误，未导入任何合同" in r.text
    found = [(int(a), b) for a, b in re.findall(r'<tr data-row="(\d+)" data-field="(\w+)">', r.text)]
    assert found == [(3, "seller"), (4, "tech_amount")]
    assert "卖方统一社会信用代码" in r.text and "技术交易额 5000 万元大于合同成交额 1200 万元" in r.text
    assert "exceeds the contract amount" not in r.text  # the English message on the English page only
    assert env.get("operator", "/contracts").text.count("data-contract=") == 0  # all or nothing
    r = env.c.post("/contracts/import", data={"csrf": CSRF, "skip_invalid": "1"}, files={"file": ("c.xlsx", body, XLSX)}, headers=env.h("operator"))
    assert r.status_code == 200 and "新增 2 项" in r.text and len(re.findall(r"<tr data-row=", r.text)) == 2
    r = env.c.post("/contracts/import", data={"csrf": CSRF}, files={"file": ("c.txt", b"hello", "text/plain")}, headers=env.h("operator"))
    assert r.status_code == 422 and "不支持的文件类型" in r.text
    r = env.c.post("/contracts/import", data={"csrf": CSRF}, files={"file": ("c.xlsx", b"not a zip", XLSX)}, headers=env.h("operator"))
    assert r.status_code == 400 and "Traceback" not in r.text

    def listed(role: str, q: str = "") -> list[str]:
        return re.findall(r'data-contract="\d+">\s*<td><a href="/contracts/\d+"><b>([^<]+)</b>', env.get(role, "/contracts" + q).text)

    assert listed("operator") == ["C-4", "C-1"]
    assert listed("operator", "?year=2024") == ["C-1"] and listed("operator", "?type=development") == ["C-4"]
    assert listed("operator", "?region=HE") == [] and listed("operator", "?region=TJ") == ["C-4", "C-1"]
    assert listed("member") == ["C-1"]  # 交控 is a party to C-1 only
    assert listed("granted") == ["C-4"] and listed("owner_member") == ["C-4", "C-1"]
    assert "共 2 项" in env.get("operator", "/contracts").text
    with env.w.ex.db.transaction(write=False) as s:
        c1 = R.contract_by_no(s, "C-1").id  # type: ignore[union-attr]
    for role, ok in (("member", True), ("owner_member", True), ("operator", True), ("granted", False), ("pending", False)):
        page = env.get(role, f"/contracts/{c1}")
        pdf = env.get(role, f"/contracts/{c1}/package.pdf")
        xlsx = env.get(role, f"/contracts/{c1}/package.xlsx")
        if ok:
            assert page.status_code == 200 and "CBTC列车控制系统技术许可合同" in page.text and "1,200.00" in page.text
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and xlsx.status_code == 200
        else:
            assert page.status_code == pdf.status_code == xlsx.status_code == 404, role
    assert env.get("visitor", f"/contracts/{c1}/package.pdf", follow_redirects=False).status_code == 303
    for url, en in ((f"/contracts/{c1}", "Registration package (PDF)"), ("/contracts", "Technology contracts"),
                    ("/contracts/import", "Import technology contracts")):
        r = env.get("operator", url + "?lang=en")
        assert r.status_code == 200 and en in r.text, url


def test_statistics_beyond_the_public_summary_are_for_staff(env: Env) -> None:
    for name in ("top_sellers", "top_buyers", "funnel", "days_to_contract", "policies"):
        for role in ("visitor", "member"):
            r = env.get(role, f"/stats/{name}.csv", follow_redirects=False)
            assert r.status_code in (303, 403), (name, role)
        assert env.get("operator", f"/stats/{name}.csv").status_code == 200
    for name in ("by_year", "by_quarter", "flows", "by_park", "by_type", "by_industry", "by_buyer_province"):
        assert env.get("visitor", f"/stats/{name}.csv").status_code == 200
    public = env.get("visitor", "/api/v1/stats?period=2025").json()
    assert public["scope"] == "public" and "by_park" in public and "total" in public
    assert not {"funnel", "top_sellers", "top_buyers", "by_seller_province", "policies_qualifying"} & set(public)
    assert "funnel" not in env.get("member", "/api/v1/stats").json()
    token = env.w.accounts.create_token(env.w.viewer("operator"), "t")[1]
    full = env.c.get("/api/v1/stats?period=2025", headers={"Authorization": f"Bearer {token}"}).json()
    assert "funnel" in full and "top_sellers" in full and "scope" not in full
    summary = env.get("visitor", "/summary")
    assert summary.status_code == 200 and "/stats/top_sellers.csv" not in summary.text
