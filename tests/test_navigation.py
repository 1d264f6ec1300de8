"""Finding one's way: every page a person may see is reachable from the menus, no link shown is
dead or forbidden, the operator console leads to everything operators do, and the Chinese pages
speak Chinese.

One world per database (tests/leak_world.py: organisations with every kind of secret, instruments
and bookings, a contact and its deal; plus the demo's deals and contracts and its resources:
marks and licences, vouchers, policies). For each person — visitor, a signed-in user without an
organisation, a member and an administrator of an organisation, an operator — a crawler starts at
/ and follows every link (tests/crawl.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import crawl
import leak_world
import pytest
from conftest import backends, pg_schema_url, require_pg
from fastapi.testclient import TestClient

from tongxin.services import Exchange
from tongxin.storage.db import Database
from tongxin.web.app import create_app

BASE = "https://testserver"
ROLES = ("visitor", "user", "owner_member", "owner_admin", "operator")
SIGNED_IN = {r: r != "visitor" for r in ROLES}

# pages reached from an e-mail (a token in the link), not from a menu
FROM_MAIL = {"/reset/{token}", "/invitations/{token}", "/alerts/unsubscribe"}
# the way in: pages for visitors (a signed-in person may open them, but is not sent there)
SIGN_IN = {"/signup", "/login", "/forgot"}
# machine answers and downloads: not pages people navigate to
NOT_NAVIGATED = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/api/docs", "/docs/oauth2-redirect", "/stats/plotly.min.js"}

# ASCII words that may stand in Chinese pages: names of standards, formats, codes and units, and the
# language switch; everything else in ASCII is an untranslated label (data people typed is read
# from the database: crawl.data_words)
ALLOWED_WORDS = {w.lower() for w in (
    "tongxin", "English", "Apache", "CBTC", "API", "PDF", "XLSX", "CSV", "TRL", "NDA", "QR", "PNG", "JPEG", "SVG", "Excel", "WPS",
    "CMA", "CNAS", "ISO", "IEC", "JSON", "UTF",
    "Authorization", "Bearer",  # the HTTP header an API token goes in
)}


class Site:
    def __init__(self, lw: leak_world.LeakWorld, client: TestClient, ex: Exchange) -> None:
        self.lw, self.c, self.ex = lw, client, ex
        self.sessions = {r: lw.w.accounts.create_session(lw.w.users[r]) for r in ROLES if r != "visitor"}
        self.crawls: dict[str, crawl.Crawl] = {}
        self._data_words: set[str] | None = None

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "visitor" else {"Cookie": f"tx_session={self.sessions[role]}"}

    def crawl(self, role: str) -> crawl.Crawl:
        if role not in self.crawls:
            self.crawls[role] = crawl.crawl(self.c, BASE + "/", self.headers(role))
        return self.crawls[role]

    def get(self, role: str, path: str, **params: Any) -> Any:
        self.c.cookies.clear()
        return self.c.get(path, params=params, headers=self.headers(role), follow_redirects=False)

    def data_words(self) -> set[str]:
        if self._data_words is None:
            self._data_words = crawl.data_words(self.ex.db)
        return self._data_words


@pytest.fixture(scope="module", params=backends())
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from tongxin.demo.load import load_deals_demo, load_resources

    d = tmp_path_factory.mktemp("nav")
    url_cm: Any = None
    if request.param == "sqlite":
        url = f"sqlite:///{d}/nav.db"
    else:
        require_pg()
        url_cm = pg_schema_url("nav_")
        url = url_cm.__enter__()
    ex = Exchange(Database(url), str(d / "idx"))
    ex.init_db()
    try:
        lw = leak_world.build(ex)
        load_deals_demo(ex)  # contracts for the statistics and the contract pages
        load_resources(ex)  # marks and licences, vouchers, policies, instruments with bookings
        with TestClient(create_app(ex), base_url=BASE, raise_server_exceptions=False) as c:
            yield Site(lw, c, ex)
    finally:
        ex.close()
        if url_cm is not None:
            url_cm.__exit__(None, None, None)


def _routes(app: Any) -> Iterator[Any]:
    def walk(routes: Any) -> Iterator[Any]:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            elif "GET" in (getattr(r, "methods", None) or ()):
                yield r

    return walk(app.routes)


def page_routes(app: Any) -> list[Any]:
    """GET routes that answer pages people navigate to (no API, no files, no probes)."""
    return [r for r in _routes(app) if not r.path.startswith("/api/") and r.path not in NOT_NAVIGATED | FROM_MAIL
            and crawl.is_page(r.path.replace("{", "").replace("}", ""))]


def route_of(routes: list[Any], path: str) -> str | None:
    for r in routes:
        if r.path_regex.match(path):
            return str(r.path)
    return None


def _ids(site: Site) -> dict[str, list[Any]]:
    ids = dict(site.lw.ids)
    with site.ex.db.transaction(write=False) as s:
        from sqlalchemy import select

        from tongxin.storage.models_resources import MarkLicenceRow

        ids["licence_no"] = [s.scalars(select(MarkLicenceRow.licence_no).limit(1)).one()]
    ids["policy_id"] = [site.lw.ids["listing_id"][-1]]
    return ids


def _fill(path: str, ids: dict[str, list[Any]]) -> list[str] | None:
    names = re.findall(r"{(\w+)}", path)
    if any(n not in ids for n in names):
        return None
    out = [path]
    for n in names:
        out = [p.replace("{" + n + "}", str(v)) for p in out for v in ids[n]]
    return out


# -- links --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_no_link_shown_is_dead_or_forbidden(site: Site, role: str) -> None:
    cr = site.crawl(role)
    pages = [v for v in cr.visits.values() if v.html]
    assert len(pages) >= 15, f"{role} reached only {sorted(cr.visits)}"
    assert cr.bad(SIGNED_IN[role]) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_may_see_is_reachable_from_the_menus(site: Site, role: str) -> None:
    """Each page route that answers this person (200, HTML) for some object of the world is
    reached by following links from /."""
    routes = page_routes(site.c.app)
    reached = {route_of(routes, urlsplit(u).path) for u, v in site.crawl(role).visits.items() if v.html}
    ids = _ids(site)
    missing = []
    for r in routes:
        paths = _fill(r.path, ids)
        if paths is None or (SIGNED_IN[role] and r.path in SIGN_IN):
            continue
        for p in paths:
            resp = site.get(role, p)
            if resp.status_code == 200 and "text/html" in resp.headers.get("content-type", ""):
                if r.path not in reached:
                    missing.append(r.path)
                break
    assert missing == [], f"{role} may see these pages but no link leads there: {missing}"


def test_visitors_find_the_public_sections_on_every_page(site: Site) -> None:
    for path in ("/", "/search", "/login"):
        links, _ = crawl.parse(site.get("visitor", path).text)
        for href in ("/instruments", "/resources", "/resources/policy", "/marks/verify", "/summary"):
            assert href in links, (path, href)
        assert "/dashboard" not in links and "/operator" not in links


def test_the_dashboard_is_linked_for_staff_only(site: Site) -> None:
    for role in ROLES:
        links, _ = crawl.parse(site.get(role, "/").text)
        assert ("/dashboard" in links) == (role == "operator"), role
    assert "/dashboard" in site.crawl("operator").paths()


def test_the_operator_console_links_to_everything_operators_do(site: Site) -> None:
    r = site.get("operator", "/operator")
    assert r.status_code == 200
    links, _ = crawl.parse(r.text)
    for href in ("#verify", "#reports", "#hidden", "/operator/marks", "/operator/facts", "/operator/policies", "/operator/vouchers", "/operator/voucher-claims",
                 "/my/deals", "/contracts", "/contracts/import", "/dashboard", "/summary", "/instruments/stats", "/my/alerts",
                 "/operator/recommendations"):
        assert href in links, href
    for anchor in ("verify", "reports", "hidden"):
        assert f'id="{anchor}"' in r.text


# -- the Chinese pages speak Chinese --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_chinese_pages_show_no_untranslated_words(site: Site, role: str) -> None:
    allowed = site.data_words() | ALLOWED_WORDS
    found: dict[str, set[str]] = {}
    for v in site.crawl(role).visits.values():
        if v.html:
            for word in crawl.english_words(v.text, allowed):
                found.setdefault(word, set()).add(crawl.shape(v.url))
    assert found == {}, "\n".join(f"{w}: {sorted(pages)[:3]}" for w, pages in sorted(found.items()))


def test_the_scan_sees_an_untranslated_word() -> None:
    """The scan reads visible text (not markup, scripts or links) and lets data and codes through."""
    html = ('<html><head><title>同心</title><script>var status = "active";</script></head><body><a href="/x?view=week">周视图</a>'
            '<p>状态：active</p><input placeholder="purpose"><code>CBTC</code> <span>Mastersizer 3000</span></body></html>')
    _, text = crawl.parse(html)
    assert crawl.english_words(text, ALLOWED_WORDS | {"mastersizer"}) == ["active", "purpose"]


# -- the public summary opens on the latest period with data -----------------------------------------------------

def test_the_summary_opens_on_the_latest_year_with_contracts(tmp_path: Any, db_url: str) -> None:
    import datetime as dt

    from factories import load

    from tongxin.demo.load import load_deals_demo
    from tongxin.services.stats import default_period

    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    try:
        load(ex)
        assert load_deals_demo(ex)["contracts"] > 0
        from sqlalchemy import delete

        from tongxin.storage.models_deals import TechContractRow

        with ex.db.transaction() as s:  # the registry's latest contracts are from 2024: nothing signed since
            s.execute(delete(TechContractRow).where(TechContractRow.signed_on > dt.date(2024, 12, 31)))
        with TestClient(create_app(ex), base_url=BASE) as c:
            page = c.get("/summary").text
            selected = re.search(r'<option value="([\d-]+)" selected>', page)
            assert selected is not None and selected.group(1) == "2024" != default_period()
            count = re.search(r"<b>([\d,]+) 项</b><span>已登记技术合同数</span>", page)  # registered contracts (the registration office counts)
            assert count is not None and int(count.group(1).replace(",", "")) > 0
            assert c.get("/api/v1/stats").json()["period"] == "2024"
            assert '<option value="2023" selected>' in c.get("/summary?period=2023").text  # a chosen period stays chosen
    finally:
        ex.close()


# -- lists that grow are paged --------------------------------------------------------------------------------------

def test_my_organisation_pages_through_every_listing(tmp_path: Any, db_url: str) -> None:
    """An organisation with more listings than a page holds sees all of them, page by page, each once."""
    import world
    from factories import load, tech

    ex = Exchange(Database(db_url), str(tmp_path / "idx"))
    ex.init_db()
    try:
        w = world.build(ex)
        extra = [tech(f"T-MANY-{i}", f"批量成果第{i}号", "用于分页测试的成果描述，足够长以通过校验。", "分页;测试") for i in range(103)]
        load(ex, orgs=[], listings=extra)
        with ex.db.transaction(write=False) as s:
            from tongxin.core.listing import ListingFilter
            from tongxin.storage import repo

            total = repo.count_listings(s, ListingFilter(owner_id=w.orgs["owner"]))
        assert total > 2 * 50
        with TestClient(create_app(ex), base_url=BASE) as c:
            c.cookies.set("tx_session", w.accounts.create_session(w.users["owner_member"]))
            seen: list[str] = []
            url: str | None = "/my/org"
            pages = 0
            while url:
                r = c.get(url)
                assert r.status_code == 200
                assert f'data-total="{total}"' in r.text
                cards = re.findall(r'<a href="/listings/(\d+)"', r.text.split('<section class="panel">', 2)[2].split("</section>")[0])
                assert 0 < len(set(cards)) <= 50
                seen += list(dict.fromkeys(cards))
                nxt = re.search(r'<a href="(/my/org\?page=\d+)" rel="next">', r.text)
                url = nxt.group(1) if nxt else None
                pages += 1
            assert pages == -(-total // 50)
            assert len(seen) == len(set(seen)) == total  # every listing once
            last = c.get(f"/my/org?page={pages + 5}")  # past the end: the last page, not an error
            assert last.status_code == 200 and f"第 {pages} / {pages} 页" in last.text and seen[-1] in last.text
    finally:
        ex.close()


# -- form errors are said on the form --------------------------------------------------------------------------------

def _post_form(site: Site, role: str, path: str, data: dict[str, str]) -> Any:
    site.c.cookies.clear()
    cookie = f"tx_session={site.lw.w.accounts.create_session(site.lw.w.users[role])}; tx_csrf=navtoken"
    return site.c.post(path, data={"csrf": "navtoken"} | data, headers={"Cookie": cookie}, follow_redirects=False)


def assert_inline(resp: Any, action: str, field: str, words: str) -> None:
    """The answer is the page with the form again: the error beside the field, in Chinese, what was typed kept."""
    assert resp.status_code in (409, 422), resp.status_code
    assert 'class="error"' not in resp.text  # not the bare error page
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', resp.text, re.S)
    assert form is not None, f"no form posting to {action}"
    assert f'data-field="{field}"' in form.group(0) and words in form.group(0)
    _, text = crawl.parse(resp.text)
    assert field not in text and "invalid field" not in text


def test_a_refused_booking_is_explained_on_the_booking_form(site: Site) -> None:
    inst = site.lw.ids["instrument_id"][0]
    action = f"/instruments/{inst}/book"
    day = "2031-03-03"
    r = _post_form(site, "member", action, {"date": day, "start": "09:00", "end": "11:00", "voucher": "V-1", "voucher_amount": "十元"})
    assert_inline(r, action, "voucher_amount", "抵扣金额应为数字")
    assert 'value="十元"' in r.text and 'value="V-1"' in r.text
    r = _post_form(site, "member", action, {"date": day, "start": "9点", "end": "11:00"})
    assert_inline(r, action, "start", "时间应为 09:00 的形式")
    r = _post_form(site, "member", action, {"date": "明天", "start": "09:00", "end": "11:00"})
    assert_inline(r, action, "date", "日期应为 2026-03-31 的形式")


def test_the_error_page_names_fields_in_chinese(site: Site) -> None:
    """Where a form still answers with the error page, it names the field in Chinese, not by its key."""
    r = _post_form(site, "owner_admin", f"/listings/{site.lw.w.listings['public']}/grants", {"org_id": "abc"})
    assert r.status_code == 422
    _, text = crawl.parse(r.text)
    assert "机构编号" in text and "org_id" not in text and "invalid field" not in text
