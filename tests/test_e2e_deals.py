"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against
a uvicorn server on 127.0.0.1: the owner of a technology accepts a contact request; both parties
open the deal it started (from 合作意向 and from 我的对接), move it through the stages to 签约 with
notes (a skipped stage is refused with a bilingual message), attach a loan from a financial_service
listing and register an NDA; the contract is registered from the deal and its registration package
PDF downloads; an operator uploads a contract spreadsheet with mistakes and sees every row's error.
Skip/fail rules in e2e_support.py. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import world
from e2e_support import add_person, chromium, login, need_browser, org_ids, serve, shot
from factories import ORGS, load

from tongxin.core.clock import local_today
from tongxin.fileio.contracts import contract_columns, write_contracts_xlsx
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.contacts import Contacts
from tongxin.services.listings import Listings
from tongxin.storage.db import Database

BJTU, WQ = ORGS[0]["credit_code"], ORGS[1]["credit_code"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    need_browser()
    from tongxin.web.app import create_app

    d = tmp_path_factory.mktemp("e2e-deals")
    ex = Exchange(Database(f"sqlite:///{d}/e2e.db"), str(d / "idx"))
    ex.init_db()
    ids = load(ex)
    accounts = Accounts(ex, hasher=world.fast_hasher())
    orgs = org_ids(ex)
    people: dict[str, int] = {}
    for role, org, platform in (("operator", None, "operator"), ("seller", "ORG-BJTU", "user"), ("buyer", "ORG-WQ", "user"),
                                ("bank", "ORG-TIB", "user")):
        people[role] = add_person(ex, accounts, f"{role}@deals.tongxin.cn", {"seller": "李工", "buyer": "王经理"}.get(role, f"{role}测试"),
                                  platform=platform, membership=(orgs[org], "org_admin") if org else None)
    Listings(ex).save(accounts.viewer(people["bank"]), "financial_service", {
        "title": "科技信用贷（滨海科技支行）", "description": "面向京津冀科技型企业的信用贷款，审批快、额度灵活。", "keywords": "科技信用贷;银行贷款",
        "industry": "J66", "region": "120116", "visibility": "public", "product_type": "bank_loan", "amount_min": "50", "amount_max": "2000"},
        publish=True)
    Contacts(ex).express_interest(accounts.viewer(people["buyer"]), ids["T-CBTC"], "我们希望在武清产业园的线路上应用贵方的CBTC系统，请联系。")
    bad = str(d / "合同导入.xlsx")
    keys = [c.key for c in contract_columns()]
    rows = [{"contract_no": "IMP-001", "title": "CBTC列车控制系统技术许可合同", "contract_type": "技术许可", "seller": BJTU, "buyer": WQ, "amount": 1200,
             "tech_amount": 1100, "signed_on": "2025-06-30", "industry": "C37"},
            {"contract_no": "IMP-002", "title": "信号系统技术服务合同", "contract_type": "技术买卖", "seller": BJTU, "buyer": WQ, "amount": 300,
             "tech_amount": 450, "signed_on": "2025-07-01"},
            {"contract_no": "IMP-003", "title": "海洋活性肽技术开发合同", "contract_type": "技术开发", "seller": "91110000MA00000000", "buyer": WQ,
             "amount": "八十", "signed_on": "2025-13-01"},
            {"contract_no": "IMP-001", "title": "重复的合同", "contract_type": "技术咨询", "seller": BJTU, "buyer": WQ, "amount": 20, "signed_on": "2025-08-01"}]
    write_contracts_xlsx(bad, [[r.get(k, "") for k in keys] for r in rows])
    with serve(create_app(ex)) as url:
        yield {"url": url, "ids": ids, "bad_xlsx": bad}
    ex.close()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    with chromium() as b:
        yield b


def _move(page: Any, stage: str, note: str) -> None:
    page.select_option("form.stage-form select[name=stage]", stage)
    page.fill("form.stage-form textarea[name=note]", note)
    page.click("form.stage-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".form-error").count() == 0, page.locator(".form-error").inner_text()


@pytest.mark.slow
def test_a_deal_from_contact_to_registered_contract(site: dict[str, Any], browser: Any) -> None:
    base = site["url"]
    seller_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    buyer_ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True, locale="zh-CN")  # on a phone

    # the technology's owner accepts the contact request, then opens the deal from 合作意向
    seller = login(seller_ctx, base, "seller@deals.tongxin.cn")
    seller.goto(base + "/my/contacts")
    card = seller.locator("article.contact", has_text="基于通信的列车控制系统")
    card.locator(".answer button[type=submit]").first.click()
    seller.wait_for_load_state()
    card = seller.locator("article.contact", has_text="基于通信的列车控制系统")
    assert "已接受" in card.inner_text()
    card.locator("a", has_text="查看洽谈进展").click()
    seller.wait_for_url("**/deals/*")
    deal_url = seller.url
    assert "初步接洽" in seller.locator("ol.stagebar li.current").inner_text()
    assert "交控技术装备有限公司" in seller.content()

    # the buyer, on a phone, opens it from 我的对接 (the navigation link) and confirms the needs
    buyer = login(buyer_ctx, base, "buyer@deals.tongxin.cn")
    buyer.goto(base + "/")
    buyer.click("header nav a[href='/my/deals']")
    buyer.wait_for_url("**/my/deals")
    row = buyer.locator("tr.deal-row").first
    assert "初步接洽" in row.inner_text() and "北京交通大学" in row.inner_text()
    row.locator("a").first.click()
    buyer.wait_for_url(deal_url)
    # a skipped stage cannot be chosen; forced through the form, it is refused in both languages
    assert buyer.locator("form.stage-form select[name=stage] option").all_inner_texts() == ["需求确认", "终止 ✗"]  # Chinese pages say it in Chinese only
    buyer.evaluate("document.querySelector('form.stage-form select').add(new Option('签约', 'signed', true, true))")
    buyer.click("form.stage-form button[type=submit]")
    buyer.wait_for_load_state()
    err = buyer.locator(".form-error[data-form=stage]").inner_text()
    assert "不能从‘初步接洽’直接变更为‘签约’" in err
    _move(buyer, "confirm", "已确认需求：武清产业园线路信号系统，2 条线路。")

    # both sides move it on, with notes, and keep the register
    seller.goto(deal_url)
    _move(seller, "proposal", "已发送技术方案与报价：许可费 300 万元。")
    buyer.goto(deal_url)
    buyer.click("#finance summary")
    buyer.select_option("form.finance-form select[name=listing_id]", label="科技信用贷（滨海科技支行）（中国科学院天津工业生物技术研究所）")
    buyer.fill("form.finance-form input[name=amount_wan]", "200")
    buyer.click("form.finance-form button[type=submit]")
    buyer.wait_for_load_state()
    assert "银行贷款" in buyer.locator("#finance").inner_text() and "已提出" in buyer.locator("#finance").inner_text()
    _move(buyer, "negotiation", "方案已接受，进入合同条款谈判。")
    seller.goto(deal_url)
    seller.click("#agreements summary")
    seller.select_option("form.agreement-form select[name=agreement_type]", "nda")
    seller.fill("form.agreement-form input[name=title]", "CBTC项目保密协议")
    seller.fill("form.agreement-form input[name=expires_on]", (local_today() + dt.timedelta(days=20)).isoformat())
    seller.click("form.agreement-form button[type=submit]")
    seller.wait_for_load_state()
    assert "20 天后到期" in seller.locator("#agreements").inner_text()
    _move(seller, "signed", "双方已签署技术许可合同。")
    assert "签约" in seller.locator("ol.stagebar li.current").inner_text()
    history = seller.locator("ol.history").inner_text()
    for who, note in (("王经理（交控技术装备有限公司）", "已确认需求"), ("李工（北京交通大学）", "已发送技术方案与报价"),
                      ("王经理（交控技术装备有限公司）", "进入合同条款谈判"), ("李工（北京交通大学）", "双方已签署技术许可合同")):
        assert who in history and note in history
    shot(seller, "deal-detail.png")

    buyer.goto(deal_url)
    assert "签约" in buyer.locator("ol.stagebar li.current").inner_text()
    shot(buyer, "deal-detail-phone.png")
    buyer.goto(base + "/my/deals")
    assert "签约" in buyer.locator("tr.deal-row").first.inner_text()
    shot(buyer, "my-deals.png")

    # the contract is submitted for registration from the deal, prefilled; the registration package downloads
    seller.goto(deal_url + "#contract")
    form = seller.locator("form.contract-form")
    assert form.locator("input[name=signed_on]").input_value() == local_today().isoformat()
    assert form.locator("select[name=contract_type]").input_value() == "licence"
    assert form.locator("input[name=amount]").input_value() == "300"  # the technology's asking price
    assert "北京交通大学" in form.inner_text() and "交控技术装备有限公司" in form.inner_text()
    form.locator("input[name=tech_amount]").fill("280")
    form.locator("input[name=park]").fill("武清京津产业新城")
    form.locator("button[type=submit]").click()
    seller.wait_for_url("**/contracts/*")
    assert "技术合同已提交登记" in seller.content() and "300.00" in seller.content() and "280.00" in seller.content()
    shot(seller, "contract.png")
    with seller.expect_download() as dl:
        seller.click("a.package-pdf")
    pdf = dl.value
    assert pdf.suggested_filename.endswith(".pdf")
    with open(pdf.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    # the buyer sees the contract in its list
    buyer.goto(base + "/contracts")
    assert buyer.locator("tr[data-contract]").count() == 1 and "武清京津产业新城" not in buyer.content()
    assert "北京交通大学 → 交控技术装备有限公司" in buyer.locator("table.contract-list").inner_text()

    # an operator uploads a spreadsheet with mistakes: nothing is imported, every row's problem is listed
    op_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    op = login(op_ctx, base, "operator@deals.tongxin.cn")
    op.goto(base + "/contracts")
    op.click("a[href='/contracts/import']")
    op.set_input_files("form.upload-form input[type=file]", site["bad_xlsx"])
    op.click("form.upload-form button[type=submit]")
    op.wait_for_load_state()
    assert "未导入任何合同" in op.locator(".import-problem").inner_text()
    rows = op.locator("table.errors-table tbody tr")
    assert rows.count() >= 5
    text = op.locator("table.errors-table").inner_text()
    assert "技术交易额 450 万元大于合同成交额 300 万元" in text and "合同类型 ‘技术买卖’ 无效" in text and "与第 2 行重复" in text
    shot(op, "contracts-upload-errors.png")
    op.goto(base + "/contracts")
    assert op.locator("tr[data-contract]").count() == 1  # only the one registered from the deal
    for ctx in (seller_ctx, buyer_ctx, op_ctx):
        ctx.close()
