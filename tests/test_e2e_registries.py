"""The registries the operators run, end to end in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright) against a uvicorn server on 127.0.0.1:

- an operator issues a mark licence on /operator/marks; a visitor verifies it by licence number on
  /marks/verify and by opening the URL the packaging's QR code holds;
- a firm's administrator edits its facts (one published), attaches evidence, and an operator verifies them;
- a contract submitted by a party is returned by the registration office with reasons, corrected and
  resubmitted, registered, its certificate downloaded, and its number checked on the public page;
- an operator reads who qualifies for a policy and downloads the CSV.

Screenshots (1280×800 PNG) go to screenshots/ (git-ignored); with TONGXIN_DOC_SHOTS=1 they also go to
docs/screenshots/, which docs/registries.md shows. Skip/fail rules in e2e_support.py."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import world
from e2e_support import SHOTS, add_person, chromium, login, need_browser, org_ids, serve
from factories import ORGS, load
from test_contract_office import raw
from test_licences import ASSOC
from test_org_facts import POLICY

from tongxin.core.certification import Mark
from tongxin.core.clock import local_today
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.contracts import Contracts
from tongxin.services.licences import verify_path
from tongxin.storage import resources_repo as rr
from tongxin.storage.db import Database

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "screenshots")
VIEW = {"width": 1280, "height": 800}
TODAY = local_today()
PNG_1x1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def shot(page: Any, name: str, at: str | None = None) -> None:
    """One 1280×800 screenshot, scrolled to `at` (a selector) when given."""
    if at is not None:
        page.locator(at).first.scroll_into_view_if_needed()
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name))
    if os.environ.get("TONGXIN_DOC_SHOTS") == "1":
        os.makedirs(DOCS, exist_ok=True)
        page.screenshot(path=os.path.join(DOCS, name))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    need_browser()
    from tongxin.web.app import create_app

    d = tmp_path_factory.mktemp("e2e-registries")
    ex = Exchange(Database(f"sqlite:///{d}/e2e.db"), str(d / "idx"))
    ex.init_db()
    load(ex, [*ORGS, ASSOC], [POLICY])
    accounts = Accounts(ex, hasher=world.fast_hasher())
    orgs = org_ids(ex)
    with ex.db.transaction() as s:
        rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder=ASSOC["name"], mark_type="gi_certification"))
        rr.set_facts(s, orgs["ORG-WQ"], dt.date(2012, 5, 1), 260, 18000.0, ["高新技术企业"], 900.0)  # qualifies
        rr.set_facts(s, orgs["ORG-TIB"], None, 800, None, ["高新技术企业"], 50.0)  # fails: too many people, too little R&D
    people = {}
    for role, org, platform in (("operator", None, "operator"), ("registrar", None, "registrar"), ("firm", "ORG-SJZ", "user"),
                                ("seller", "ORG-BJTU", "user")):
        people[role] = add_person(ex, accounts, f"{role}@reg.tongxin.cn", f"{role}测试", platform=platform,
                                  membership=(orgs[org], "org_admin") if org else None)
    c = Contracts(ex).submit(accounts.viewer(people["seller"]), raw("TX-E2E-1", signed_on=(TODAY - dt.timedelta(days=30)).isoformat()), TODAY).c
    evidence = d / "营业执照.png"
    evidence.write_bytes(PNG_1x1)
    with serve(create_app(ex)) as url:
        yield {"url": url, "ex": ex, "contract_id": c.id, "evidence": str(evidence), "dir": d}
    ex.close()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.mark.slow
def test_licence_issue_then_public_verification_by_number_and_qr(site: dict[str, Any], browser: Any) -> None:
    base = site["url"]
    op = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "operator@reg.tongxin.cn")
    op.goto(base + "/operator/marks")
    f = op.locator("form[data-issue-form]")
    f.locator("select[name=mark]").select_option("XZD-GI")
    f.locator("input[name=licensee]").fill(ORGS[1]["credit_code"])
    f.locator("input[name=licence_no]").fill("XZD-2026-088")
    f.locator("input[name=products]").fill("小站稻大米")
    f.locator("input[name=valid_from]").fill(f"{TODAY.year}-01-01")
    f.locator("input[name=valid_until]").fill(f"{TODAY.year + 2}-12-31")
    f.locator("button[type=submit]").click()
    op.wait_for_load_state()
    op.goto(base + "/operator/marks")
    assert op.locator("tr[data-licence='XZD-2026-088'][data-status='active']").count() == 1
    shot(op, "licence-registry.png", "tr[data-licence='XZD-2026-088']")

    visitor = browser.new_context(viewport=VIEW, locale="zh-CN").new_page()
    visitor.goto(base + "/marks/verify")
    visitor.fill("form[data-verify-form] input[name=licence_no]", "xzd-2026-088")  # as typed from the packaging
    visitor.click("form[data-verify-form] button[type=submit]")
    visitor.wait_for_load_state()
    verdict = visitor.locator("div.verdict[data-licence='XZD-2026-088']")
    assert verdict.get_attribute("data-status") == "active" and "交控技术装备有限公司" in verdict.inner_text()
    shot(visitor, "licence-verify-number.png")
    # the QR code on the packaging holds TONGXIN_PUBLIC_URL + this path; a phone opens it
    assert visitor.locator("a[href='/marks/licences/XZD-2026-088/qr.svg']").count() == 1
    qr = visitor.request.get(base + "/marks/licences/XZD-2026-088/qr.svg")
    assert qr.ok and qr.body().startswith(b"<?xml") or b"<svg" in qr.body()
    phone = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True, locale="zh-CN").new_page()
    phone.goto(base + verify_path(licence_no="XZD-2026-088"))
    assert phone.locator("div.verdict[data-licence='XZD-2026-088']").get_attribute("data-status") == "active"
    visitor.goto(base + verify_path(licence_no="XZD-2026-088"))
    shot(visitor, "licence-verify-qr.png")
    visitor.goto(base + "/marks/verify?licence_no=XZD-2026-999")
    assert visitor.locator("div.verdict[data-status='not_found']").count() == 1


@pytest.mark.slow
def test_a_firm_edits_its_facts_and_an_operator_verifies(site: dict[str, Any], browser: Any) -> None:
    base = site["url"]
    firm = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "firm@reg.tongxin.cn")
    firm.goto(base + "/my/org")
    firm.click("a[href='/my/org/facts']")
    firm.wait_for_url("**/my/org/facts")
    form = firm.locator("form[data-facts-form]")
    form.locator("input[name=employees]").fill("一百二")  # refused beside the field, what was typed kept
    form.locator("button[type=submit]").click()
    firm.wait_for_load_state()
    assert "员工人数" in firm.locator("li.field-error[data-field=employees]").inner_text()
    form = firm.locator("form[data-facts-form]")
    form.locator("input[name=employees]").fill("120")
    form.locator("input[name=revenue]").fill("3500")
    form.locator("input[name=rd_spending]").fill("300")
    form.locator("input[name=founded]").fill("2016-03-01")
    form.locator("input[name=certifications][value='高新技术企业']").check()
    form.locator("input[name=published][value=employees]").check()
    form.locator("button[type=submit]").click()
    firm.wait_for_url("**/my/org/facts?saved=1")
    firm.set_input_files("form[data-evidence-form] input[name=file]", site["evidence"])
    firm.select_option("form[data-evidence-form] select[name=fact]", "certifications")
    firm.click("form[data-evidence-form] button[type=submit]")
    firm.wait_for_load_state()
    assert firm.locator("tr[data-evidence-id]").count() == 1 and "营业执照.png" in firm.locator("[data-evidence-list]").inner_text()
    shot(firm, "facts-edit.png", "form[data-facts-form] input[name=revenue]")
    org_id = int(re.search(r"/orgs/(\d+)/facts/evidence/", firm.content()).group(1))  # type: ignore[union-attr]

    # the public page shows the published fact only
    visitor = browser.new_context(viewport=VIEW, locale="zh-CN").new_page()
    visitor.goto(f"{base}/orgs/{org_id}")
    public = visitor.locator("[data-public-facts]").inner_text()
    assert "120" in public and "3500" not in visitor.content()
    assert visitor.request.get(f"{base}/orgs/{org_id}/facts/evidence/1").status == 404

    op = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "operator@reg.tongxin.cn")
    op.goto(base + "/operator")
    op.click("a[href='/operator/facts']")
    op.wait_for_url("**/operator/facts")
    op.locator(f"tr[data-org='{org_id}'] a").click()
    op.wait_for_url(f"**/operator/orgs/{org_id}/facts")
    assert "营业执照.png" in op.locator("[data-evidence-list]").inner_text()
    with op.expect_download() as dl:
        op.click("[data-evidence-list] a")
    assert Path(dl.value.path()).read_bytes() == PNG_1x1
    shot(op, "facts-operator.png")
    op.click(f"form[action='/operator/orgs/{org_id}/facts/verify'] button")
    op.wait_for_url("**/operator/facts?verified=*")
    assert op.locator(f"tr[data-org='{org_id}']").count() == 0
    firm.goto(base + "/my/org/facts")
    assert firm.locator("[data-verified=yes]").count() == 1


@pytest.mark.slow
def test_a_contract_is_returned_resubmitted_registered_and_checked(site: dict[str, Any], browser: Any) -> None:
    base, cid = site["url"], site["contract_id"]
    office = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "registrar@reg.tongxin.cn")
    office.goto(base + "/office/contracts")
    office.locator(f"tr[data-contract='{cid}'] a").first.click()
    office.wait_for_url(f"**/contracts/{cid}#office")
    ret = office.locator("form.office-return")
    ret.locator("input[name=reasons][value=amount]").check()
    ret.locator("textarea[name=note]").fill("技术交易额应扣除设备费用，请核对后重新提交。")
    ret.locator("button[type=submit]").click()
    office.wait_for_load_state()

    party = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "seller@reg.tongxin.cn")
    party.goto(f"{base}/contracts/{cid}")
    assert "技术交易额应扣除设备费用" in party.content()
    shot(party, "contract-returned.png", "form.resubmit-form")
    f = party.locator("form.resubmit-form")
    f.locator("input[name=tech_amount]").fill("260")
    f.locator("textarea[name=note]").fill("已扣除设备费用 20 万元。")
    f.locator("button[type=submit]").click()
    party.wait_for_load_state()

    office.goto(f"{base}/contracts/{cid}")
    office.locator("form.office-register button[type=submit]").click()
    office.wait_for_load_state()
    party.goto(f"{base}/contracts/{cid}")
    content = party.content()
    assert "已登记" in content
    shot(party, "contract-registered.png")
    with party.expect_download() as dl:
        party.click(f"a[href='/contracts/{cid}/certificate.pdf']")
    assert Path(dl.value.path()).read_bytes()[:5] == b"%PDF-"
    number = re.search(r"\b(\d{16})\b", party.locator("body").inner_text())
    assert number is not None

    visitor = browser.new_context(viewport=VIEW, locale="zh-CN").new_page()
    visitor.goto(base + "/marks/verify")
    visitor.click("a[href='/contracts/verify']")
    visitor.fill("form[data-contract-verify-form] input[name=registration_no]", number.group(1))
    visitor.click("form[data-contract-verify-form] button[type=submit]")
    visitor.wait_for_load_state()
    verdict = visitor.locator("[data-registered=yes]").inner_text()
    assert "北京交通大学" in verdict and "交控技术装备有限公司" in verdict and "CBTC" not in visitor.content()
    shot(visitor, "contract-verify.png")


@pytest.mark.slow
def test_the_policy_qualifier_page_and_its_csv(site: dict[str, Any], browser: Any) -> None:
    base = site["url"]
    op = login(browser.new_context(viewport=VIEW, locale="zh-CN"), base, "operator@reg.tongxin.cn")
    op.goto(base + "/operator/policies")
    op.locator("a[href^='/operator/policies/']").first.click()
    op.wait_for_load_state()
    assert "交控技术装备有限公司" in op.locator("table[data-rows=qualifies]").inner_text()
    shot(op, "policy-qualifiers.png")
    op.click("a[data-group=fails]")
    op.wait_for_load_state()
    assert "中国科学院天津工业生物技术研究所" in op.locator("table[data-rows=fails]").inner_text()
    with op.expect_download() as dl:
        op.click("a[data-csv]")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "交控技术装备有限公司" in text and "中国科学院天津工业生物技术研究所" in text
