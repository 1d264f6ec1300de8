"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a uvicorn server on 127.0.0.1: sign up, create an organisation, an operator verifies
it, publish a scenario, see matched technologies with reasons, express interest, the owner
accepts; a visitor and an unrelated member cannot read a confidential listing's details.
Screenshots of the main pages go to screenshots/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import world
from e2e_support import add_person, chromium, login, need_browser, org_ids, serve, shot
from factories import load

from tongxin.core import credit_code
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.listings import Listings
from tongxin.storage.db import Database


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    need_browser()
    from tongxin.web.app import create_app

    d = tmp_path_factory.mktemp("e2e")
    ex = Exchange(Database(f"sqlite:///{d}/e2e.db"), str(d / "idx"))
    ex.init_db()
    ids = load(ex)
    accounts = Accounts(ex)
    orgs = org_ids(ex)
    people: dict[str, int] = {}
    for role, org, org_role, platform in (("operator", None, None, "operator"), ("owner", "ORG-BJTU", "org_admin", "user"),
                                          ("other", "ORG-HOSP", "org_admin", "user")):
        people[role] = add_person(ex, accounts, f"{role}@e2e.tongxin.cn", f"{role}测试", platform=platform,
                                  membership=(orgs[org], org_role) if org and org_role else None)
    secret_id = Listings(ex).save(accounts.viewer(people["owner"]), "technology", world.tech_raw("confidential"), publish=True)
    with serve(create_app(ex)) as url:
        yield {"url": url, "ids": ids, "secret_id": secret_id}
    ex.close()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.mark.slow
def test_the_exchange_as_people_use_it(site: dict[str, Any], browser: Any) -> None:
    base, ids = site["url"], site["ids"]
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
    home = phone.new_page()
    home.goto(base + "/")
    assert "我有需求" in home.content() and "我有技术" in home.content()
    shot(home, "home-phone.png")
    phone.close()

    # a newcomer signs up and creates an organisation (pending until verified)
    alice = browser.new_context(viewport={"width": 1200, "height": 900})
    page = alice.new_page()
    page.goto(base + "/")
    shot(page, "home.png")
    page.goto(base + "/signup")
    page.fill("input[name=name]", "王小明")
    page.fill("input[name=email]", "alice@e2e.tongxin.cn")
    page.fill("input[name=password]", "short")
    page.click("form.stack button[type=submit]")
    assert "密码至少 10 位" in page.content()  # validation at the field
    page.fill("input[name=password]", world.PASSWORD)
    page.fill("input[name=email]", "alice@e2e.tongxin.cn")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("text=账号已创建")  # the same answer for a registered e-mail: then sign in
    assert page.input_value("input[name=email]") == "alice@e2e.tongxin.cn"
    page.fill("input[name=password]", world.PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/my/org")
    body = "91120116MA07E2E01"
    page.fill("input[name=name]", "天津滨海轨道交通运营有限公司")
    page.fill("input[name=credit_code]", body + credit_code.check_character(body))
    page.select_option("select[name=org_type]", "enterprise")
    page.fill("input[name=region]", "120116")
    page.fill("input[name=contact_name]", "王小明")
    page.fill("input[name=contact_phone]", "022-88886666")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("text=待审核")

    # the operator verifies it
    op = browser.new_context(viewport={"width": 1200, "height": 900})
    console = login(op, base, "operator@e2e.tongxin.cn")
    console.goto(base + "/operator")
    row = console.locator("tr", has_text="天津滨海轨道交通运营有限公司")
    assert "校验位正确" in row.inner_text()
    shot(console, "operator.png")
    row.locator("button[type=submit]").click()
    console.wait_for_load_state()
    assert "天津滨海轨道交通运营有限公司" not in console.locator("section.panel").first.inner_text()

    # alice publishes a scenario and sees matched technologies with reasons
    page.goto(base + "/my/org")
    assert "已审核" in page.content()
    page.goto(base + "/publish/scenario")
    page.fill("input[name=title]", "地铁线路信号系统国产化改造")
    page.fill("textarea[name=description]", "滨海新区地铁线路需要引进成熟的CBTC列车控制系统，实现轨道交通信号系统国产化改造。")
    page.fill("input[name=keywords]", "列车控制系统;轨道交通信号;CBTC")
    page.fill("input[name=industry]", "Z99")  # not a GB/T 4754 code: the message appears at the field
    page.fill("input[name=region]", "120116")
    page.fill("input[name=required_trl]", "6")
    page.click("button[value=publish]")
    assert page.locator(".field-error[data-field=industry]").count() == 1
    assert "GB/T 4754" in page.locator(".field-error[data-field=industry]").inner_text()
    page.fill("input[name=industry]", "C37")
    shot(page, "publish-form.png")
    page.click("button[value=publish]")
    page.wait_for_selector("text=最佳匹配")
    content = page.content()
    assert "基于通信的列车控制系统" in content and "得分构成" in content and "列车控制系统" in content
    shot(page, "listing-with-matches.png")

    # search with filters and facets
    page.goto(base + "/search?q=列车控制系统&mode=need")
    assert page.locator(".facet").count() >= 1
    shot(page, "search.png")

    # alice expresses interest in the CBTC technology
    page.goto(f"{base}/listings/{ids['T-CBTC']}")
    page.fill("textarea[name=message]", "我们希望在滨海新区地铁线路试点应用贵方的CBTC系统。")
    page.click("section.interest button[type=submit]")
    page.wait_for_url("**/my/contacts*")
    assert "待回复" in page.content()

    # the owner accepts; both see each other's contact details
    owner = browser.new_context(viewport={"width": 1200, "height": 900})
    inbox = login(owner, base, "owner@e2e.tongxin.cn")
    inbox.goto(base + "/my/contacts")
    card = inbox.locator("article.contact", has_text="基于通信的列车控制系统")
    card.locator(".answer button[type=submit]").first.click()
    inbox.wait_for_load_state()
    assert "已接受" in inbox.content() and "022-88886666" in inbox.content()
    shot(inbox, "contacts.png")
    page.goto(base + "/my/contacts")
    assert "已接受" in page.content() and "owner@e2e.tongxin.cn" in page.content()

    # a visitor and an unrelated member cannot read the confidential listing
    secret_url = f"{base}/listings/{site['secret_id']}"
    visitor = browser.new_context()
    v = visitor.new_page()
    resp = v.goto(secret_url)
    assert resp is not None and resp.status == 404
    assert "不存在或无权查看" in v.content() and world.secret("confidential") not in v.content() and "Traceback" not in v.content()
    shot(v, "not-found.png")
    other = browser.new_context()
    o = login(other, base, "other@e2e.tongxin.cn")
    o.goto(secret_url)
    assert world.summary("confidential") in o.content()
    assert world.secret("confidential") not in o.content()
    shot(o, "confidential-summary.png")
    for ctx in (alice, op, owner, visitor, other):
        ctx.close()
