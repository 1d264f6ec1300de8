"""The technology-contract registration office (both databases): a party submits, the office reviews and
returns with reasons, the party corrects and resubmits, the office registers (number, date); each step
in the history; who may do what (a party never registers its own contract, a registrar not one of its own
organisation's, other organisations never see a contract's terms); bad input writes nothing; the
certificate PDF; statistics count registered contracts only and say so; the pages, the typed API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import typer
import world
from factories import ORGS
from fastapi.testclient import TestClient
from pdf_support import pdf_text
from typer.testing import CliRunner

from tongxin.core.accounts import Unauthorized
from tongxin.core.clock import local_today
from tongxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from tongxin.services import Exchange
from tongxin.services import stats as S
from tongxin.services.contracts import Contracts, certificate_pdf
from tongxin.storage import accounts_repo as AR
from tongxin.storage import deals_repo as R
from tongxin.web.app import create_app

BJTU, WQ, TIB = (o["credit_code"] for o in ORGS[:3])
TODAY = local_today()
CSRF = "CSRFTOKEN"


def raw(no: str = "TX-2025-001", **over: Any) -> dict[str, Any]:
    d = {"contract_no": no, "title": "CBTC列车控制系统技术许可合同", "contract_type": "licence", "seller": BJTU, "buyer": WQ, "amount": "300",
         "tech_amount": "280", "signed_on": "2025-06-30", "park": "武清京津产业新城", "industry": "C37"}
    return d | over


@dataclass
class Office:
    w: world.World
    svc: Contracts

    def v(self, role: str) -> Any:
        return self.w.viewer(role)


def _registrar(w: world.World, name: str, org: str | None = None) -> None:
    uid = w.accounts.sign_up(w.email(name), world.PASSWORD, f"{name} 登记人员")
    with w.ex.db.transaction() as s:
        AR.get_user(s, uid).role = "registrar"
        if org:
            AR.add_membership(s, uid, w.orgs[org], "member")
    w.users[name] = uid


@pytest.fixture
def office(exchange: Exchange) -> Office:
    w = world.build(exchange)
    _registrar(w, "registrar")
    _registrar(w, "registrar_owner", "owner")  # a registrar who is also in the seller organisation
    return Office(w, Contracts(exchange))


def _state(o: Office, cid: int) -> tuple[str, list[str]]:
    with o.w.ex.db.transaction(write=False) as s:
        return R.get_contract(s, cid).status, [e.action for e in R.contract_events(s, cid)]


def test_submit_review_return_resubmit_register_with_history(office: Office) -> None:
    o, svc = office, office.svc
    p = svc.submit(o.v("member"), raw(), TODAY)  # the buyer's administrator submits
    cid = p.c.id
    assert (p.c.status, p.c.registration_no, p.c.submitted_org_id) == ("submitted", None, o.w.orgs["member"])
    assert [e.action for e in p.history] == ["submit"] and p.history[0].actor_role == "party"
    assert svc.page(o.v("registrar"), cid).office_actions == ("review", "register", "return")
    assert svc.page(o.v("owner_member"), cid).office_actions == ()

    p = svc.review(o.v("registrar"), cid, "已受理")
    assert p.c.status == "under_review" and p.office_actions == ("register", "return")
    p = svc.return_(o.v("registrar"), cid, ["amount", "other"], "请附价款构成表")
    assert p.c.status == "returned" and p.c.status_reason == "技术交易额核定有误，请提供价款构成；请附价款构成表"
    assert svc.page(o.v("owner_member"), cid).can_resubmit and not svc.page(o.v("registrar"), cid).can_resubmit
    with o.w.ex.db.transaction(write=False) as s:  # both parties are told, with the reasons
        for org in ("owner", "member"):
            assert any("请附价款构成表" in n.text_zh for n in AR.notifications(s, o.w.orgs[org]))

    # a plain member of the seller corrects the technology part and resubmits
    p = svc.resubmit(o.v("owner_member"), cid, {"tech_amount": "250"}, "已补充价款构成", TODAY)
    assert p.c.status == "submitted" and p.c.tech_amount_yuan == 2_500_000 and p.c.amount_yuan == 3_000_000
    assert p.history[-1].changes == {"tech_amount": [280.0, 250.0]} and p.history[-1].reason == "已补充价款构成"

    p = svc.register(o.v("registrar"), cid, today=TODAY)
    want = f"{TODAY.year}110108000001"  # year + the seller's district + the office's sequence
    assert (p.c.status, p.c.registration_no, p.c.registered_on) == ("registered", want, TODAY)
    assert [e.action for e in p.history] == ["submit", "review", "return", "resubmit", "register"]
    assert p.history[-1].changes == {"registration_no": want, "registered_on": TODAY.isoformat()}
    assert p.office_actions == () and not p.can_resubmit
    # the next one under the same district and year takes the next number
    q = svc.submit(o.v("owner_admin"), raw("TX-2025-002", buyer=TIB), TODAY)
    assert svc.register(o.v("registrar"), q.c.id, today=TODAY).c.registration_no == f"{TODAY.year}110108000002"
    with pytest.raises(Conflict) as e:  # registered is final
        svc.return_(o.v("registrar"), cid, ["other"], "再看看")
    assert "已登记" in e.value.message.zh and "registered" in e.value.message.en


def test_who_may_see_and_decide(office: Office) -> None:
    o, svc = office, office.svc
    cid = svc.submit(o.v("owner_admin"), raw(), TODAY).c.id
    for role in ("owner_member", "owner_admin", "member", "operator", "admin", "registrar"):
        assert svc.page(o.v(role), cid).c.title == "CBTC列车控制系统技术许可合同", role
    for role in ("granted", "user", "pending", "visitor"):  # another organisation, none, anonymous: as if it did not exist
        with pytest.raises(NotFound):
            svc.page(o.v(role), cid)
        with pytest.raises(NotFound):
            svc.certificate(o.v(role), cid)
    with pytest.raises(Unauthorized):
        svc.contracts(o.v("visitor"))
    assert {c.id for c in svc.contracts(o.v("granted")).rows} == set()
    assert {c.id for c in svc.queue(o.v("registrar")).rows} == {cid}
    with pytest.raises(Forbidden):
        svc.queue(o.v("member"))

    # a party never registers (nor reviews, nor returns) its own contract; nor does a registrar of a party
    for role in ("owner_admin", "member", "registrar_owner", "operator"):
        for step in (lambda v: svc.register(v, cid, today=TODAY), lambda v: svc.review(v, cid),
                     lambda v: svc.return_(v, cid, ["incomplete"])):
            with pytest.raises(Forbidden):
                step(o.v(role))
    assert not svc.page(o.v("registrar_owner"), cid).can_decide
    # only a party submits or resubmits; the office does not edit the parties' contract
    with pytest.raises(Forbidden):
        svc.submit(o.v("granted"), raw("TX-OTHER"), TODAY)
    svc.return_(o.v("registrar"), cid, ["documents"])
    with pytest.raises(Forbidden):
        svc.resubmit(o.v("registrar"), cid, {"title": "改名"}, today=TODAY)
    with pytest.raises(NotFound):
        svc.resubmit(o.v("granted"), cid, {"title": "改名"}, today=TODAY)
    assert _state(o, cid) == ("returned", ["submit", "return"])


def test_bad_input_is_named_and_writes_nothing(office: Office) -> None:
    o, svc = office, office.svc
    with pytest.raises(ValidationError) as e:  # the number and date are the office's to give
        svc.submit(o.v("member"), raw(registration_no="20251201140001", registered_on="2025-07-01"), TODAY)
    assert {x.field for x in e.value.errors} == {"registration_no", "registered_on"}
    assert "由技术合同登记机构审核后填写" in e.value.errors[0].message.zh
    with pytest.raises(ValidationError) as e:
        svc.submit(o.v("member"), raw(tech_amount="500", signed_on="明天"), TODAY)
    assert {x.field for x in e.value.errors} == {"tech_amount", "signed_on"}
    with o.w.ex.db.transaction(write=False) as s:
        assert R.list_contracts(s) == []

    cid = svc.submit(o.v("member"), raw(), TODAY).c.id
    with pytest.raises(ValidationError) as e:
        svc.return_(o.v("registrar"), cid, [], "  ")
    assert e.value.errors[0].field == "reasons" and "至少选择一项退回原因" in e.value.errors[0].message.zh
    with pytest.raises(ValidationError) as e:
        svc.return_(o.v("registrar"), cid, ["other"], "")
    assert e.value.errors[0].field == "note"
    with pytest.raises(ValidationError) as e:
        svc.return_(o.v("registrar"), cid, ["typo"], "x")
    assert "not_technology" in e.value.errors[0].message.en
    with pytest.raises(ValidationError) as e:  # registered before it was signed
        svc.register(o.v("registrar"), cid, registered_on=dt.date(2025, 6, 1), today=TODAY)
    assert e.value.errors[0].field == "registered_on" and "早于签订日期 2025-06-30" in e.value.errors[0].message.zh
    with pytest.raises(ValidationError) as e:
        svc.register(o.v("registrar"), cid, "号码 1", today=TODAY)
    assert e.value.errors[0].field == "registration_no"
    other = svc.submit(o.v("member"), raw("TX-2025-009"), TODAY).c.id
    svc.register(o.v("registrar"), other, "TJ-2025-000777", today=TODAY)
    with pytest.raises(ValidationError) as e:  # a number already given
        svc.register(o.v("registrar"), cid, "TJ-2025-000777", today=TODAY)
    assert "已用于合同 TX-2025-009" in e.value.errors[0].message.zh
    with pytest.raises(Conflict) as c:  # a submitted contract is not resubmitted
        svc.resubmit(o.v("member"), cid, {"title": "x"}, today=TODAY)
    assert "不能修改后重新提交" in c.value.message.zh
    assert _state(o, cid) == ("submitted", ["submit"])

    svc.return_(o.v("registrar"), cid, ["amount"])
    with pytest.raises(ValidationError) as e:
        svc.resubmit(o.v("member"), cid, {"amount": "abc", "seller": TIB}, today=TODAY)
    assert {x.field for x in e.value.errors} == {"seller"}  # the parties are not changed by a resubmission
    with pytest.raises(ValidationError) as e:
        svc.resubmit(o.v("member"), cid, {"amount": "abc"}, today=TODAY)
    assert e.value.errors[0].field == "amount"
    with o.w.ex.db.transaction(write=False) as s:
        c = R.get_contract(s, cid)
        assert (c.status, c.amount_yuan, c.seller_org_id) == ("returned", 3_000_000, o.w.orgs["owner"])


def test_certificate_pdf(office: Office, tmp_path: Any) -> None:
    o, svc = office, office.svc
    cid = svc.submit(o.v("member"), raw(), TODAY).c.id
    with pytest.raises(Conflict) as e:
        svc.certificate(o.v("member"), cid)
    assert "尚未登记" in e.value.message.zh
    svc.register(o.v("registrar"), cid, "TJ-2025-000123", dt.date(2025, 7, 15), today=TODAY)
    cert = svc.certificate(o.v("owner_member"), cid)
    text = pdf_text(certificate_pdf(cert), tmp_path)
    for want in ("技术合同登记证明", "TJ-2025-000123", "2025-07-15", "北京交通大学", "交控技术装备有限公司", "300.00", "280.00", "技术许可"):
        assert want in text, want


def test_statistics_count_registered_contracts_and_say_so(office: Office) -> None:
    o, svc = office, office.svc
    a = svc.submit(o.v("member"), raw("TX-A", amount="300", tech_amount=""), TODAY).c.id
    svc.submit(o.v("member"), raw("TX-B", amount="1000", tech_amount=""), TODAY)
    b = svc.submit(o.v("member"), raw("TX-C", amount="50", tech_amount=""), TODAY).c.id
    svc.register(o.v("registrar"), a, today=TODAY)
    svc.return_(o.v("registrar"), b, ["parties"])
    f = S.Statistics(o.w.ex).figures("2025")
    assert (f.total.count, f.total.amount_yuan) == (1, 3_000_000)  # only the registered one
    assert (f.not_registered_count, f.not_registered_amount_yuan) == (2, 10_500_000)
    d = f.as_dict()
    assert d["counted"] == "registered" and d["not_registered"] == {"count": 2, "amount_yuan": 10_500_000}
    labels = {label: note for label, _, note in S.key_figures(f)}
    assert "已登记技术合同数" in labels and "另有 2 项已签订未登记，不计入" in labels["已登记技术合同数"]


# -- the pages and the API --------------------------------------------------------------------------

@dataclass
class Site:
    o: Office
    c: TestClient
    sessions: dict[str, str]

    def h(self, role: str, api: bool = False) -> dict[str, str]:
        if role == "visitor":
            return {"Cookie": f"tx_csrf={CSRF}"}
        return {"Cookie": f"tx_csrf={CSRF}; tx_session={self.sessions[role]}"} | ({"X-CSRF-Token": CSRF} if api else {})

    def get(self, role: str, url: str) -> Any:
        return self.c.get(url, headers=self.h(role), follow_redirects=False)

    def post(self, role: str, url: str, data: dict[str, Any]) -> Any:
        return self.c.post(url, data={"csrf": CSRF} | data, headers=self.h(role), follow_redirects=False)

    def api(self, role: str, url: str, body: Any = None) -> Any:
        return self.c.post(url, json=body if body is not None else {}, headers=self.h(role, api=True), follow_redirects=False)


@pytest.fixture
def site(office: Office) -> Iterator[Site]:
    sessions = {r: office.w.accounts.create_session(uid) for r, uid in office.w.users.items()}
    with TestClient(create_app(office.w.ex), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield Site(office, c, sessions)


def test_pages_and_api_walk_the_workflow(site: Site) -> None:
    body = raw() | {"listings": ["T-CBTC"]}
    r = site.api("member", "/api/v1/contracts", body | {"registration_no": "X-123456"})
    assert r.status_code == 422  # the office's fields are not part of a submission
    r = site.api("member", "/api/v1/contracts", body)
    assert r.status_code == 201, r.text
    got = r.json()
    cid = got["id"]
    assert (got["status"], got["status_label"], got["registration_no"], got["certificate"]) == ("submitted", "待审核", None, None)
    assert got["seller"]["credit_code"] == BJTU and got["listings"] == ["T-CBTC"] and got["history"][0]["action"] == "submit"
    assert site.c.get(f"/api/v1/contracts/{cid}", headers=site.h("granted")).status_code == 404
    assert site.c.get(f"/api/v1/contracts/{cid}").status_code == 401
    assert site.c.get("/api/v1/contracts?status=open", headers=site.h("registrar")).json()["items"][0]["id"] == cid
    assert site.c.get("/api/v1/contracts?status=typo", headers=site.h("registrar")).status_code == 422

    # the office's queue: for the office (and staff to look); the menu links it for registrars
    assert site.get("member", "/office/contracts").status_code == 403
    page = site.get("registrar", "/office/contracts")
    assert page.status_code == 200 and f'data-contract="{cid}"' in page.text and 'href="/office/contracts"' in page.text
    assert site.get("operator", "/office/contracts").status_code == 200

    # the office returns it on the contract page; the party sees why and the correction form
    r = site.post("registrar", f"/contracts/{cid}/office/return", {"note": ""})
    assert r.status_code == 422 and 'data-field="reasons"' in r.text  # at the form, nothing written
    r = site.post("registrar", f"/contracts/{cid}/office/return", {"reasons": ["amount", "documents"], "note": "请补充盖章页"})
    assert r.status_code == 303
    page = site.get("owner_member", f"/contracts/{cid}")
    assert 'data-status="returned"' in page.text and "请补充盖章页" in page.text and "resubmit-form" in page.text
    assert "office-register" not in page.text and "office-register" not in site.get("registrar_owner", f"/contracts/{cid}").text
    r = site.post("owner_member", f"/contracts/{cid}/resubmit", {"title": "CBTC列车控制系统技术许可合同", "contract_type": "licence",
                                                               "amount": "300", "tech_amount": "900", "signed_on": "2025-06-30"})
    assert r.status_code == 422 and 'data-field="tech_amount"' in r.text and 'value="900"' in r.text
    r = site.post("owner_member", f"/contracts/{cid}/resubmit", {"title": "CBTC列车控制系统技术许可合同", "contract_type": "licence",
                                                               "amount": "300", "tech_amount": "260", "signed_on": "2025-06-30",
                                                               "park": "武清京津产业新城", "industry": "C37", "note": "已补盖章页"})
    assert r.status_code == 303, r.text
    # a party cannot register its own contract, on the page or through the API
    assert site.post("owner_admin", f"/contracts/{cid}/office/register", {}).status_code == 403
    assert site.api("member", f"/api/v1/contracts/{cid}/register").status_code == 403
    r = site.post("registrar", f"/contracts/{cid}/office/register", {"registration_no": "TJ-2025-000321", "registered_on": TODAY.isoformat()})
    assert r.status_code == 303
    got = site.c.get(f"/api/v1/contracts/{cid}", headers=site.h("member")).json()
    assert (got["status"], got["registration_no"], got["tech_amount_yuan"]) == ("registered", "TJ-2025-000321", 2_600_000)
    assert [h["action"] for h in got["history"]] == ["submit", "return", "resubmit", "register"]
    assert got["history"][2]["changes"] == {"tech_amount": [280.0, 260.0]} and got["certificate"] == f"/contracts/{cid}/certificate.pdf"
    r = site.api("registrar", f"/api/v1/contracts/{cid}/return", {"reasons": ["other"], "note": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"

    page = site.get("member", f"/contracts/{cid}")
    assert "certificate-pdf" in page.text and "TJ-2025-000321" in page.text and "修改" in page.text and "技术交易额" in page.text
    pdf = site.get("member", f"/contracts/{cid}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-" and "TJ-2025-000321.pdf" in pdf.headers["content-disposition"]
    assert site.get("granted", f"/contracts/{cid}/certificate.pdf").status_code == 404
    assert site.get("granted", f"/contracts/{cid}").status_code == 404

    # the API says what it returns
    spec = site.c.get("/openapi.json").json()
    out = spec["components"]["schemas"]["ContractOut"]["properties"]
    assert {"status", "history", "registration_no", "actions", "certificate"} <= set(out)


def test_deal_page_submits_for_registration(site: Site) -> None:
    """The signed deal's form submits (no registration fields); the office then registers it."""
    from tongxin.services.contacts import Contacts
    from tongxin.services.deals import Deals

    w = site.o.w
    contact = Contacts(w.ex).express_interest(w.viewer("member"), w.listings["public"], "希望合作")
    Contacts(w.ex).accept(w.viewer("owner_admin"), contact, "欢迎")
    deals = Deals(w.ex)
    deal_id = deals.for_contact(w.viewer("member"), contact)
    for stage in ("confirm", "proposal", "negotiation", "signed"):
        deals.move(w.viewer("owner_admin"), deal_id, stage, "")
    page = site.get("member", f"/deals/{deal_id}").text
    form = re.search(r'<form[^>]*class="stack contract-form".*?</form>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'name="registration_no"' not in form and "提交合同登记" in form
    vals = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form)) | {"contract_type": "licence"}
    r = site.post("member", f"/deals/{deal_id}/contract", vals | {"amount": "300", "registration_no": "TJ-2025-1"})
    assert r.status_code == 422 and "由技术合同登记机构审核后填写" in r.text
    r = site.post("member", f"/deals/{deal_id}/contract", vals | {"amount": "300"})
    assert r.status_code == 303 and r.headers["location"].endswith("?submitted=1"), re.findall(r"form-error.*", r.text)
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    assert "已提交登记" in site.get("member", f"/contracts/{cid}?submitted=1").text
    assert 'data-status="submitted"' in site.get("registrar", f"/contracts/{cid}").text


def test_cli_office_commands(office: Office, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongxin.cli.stats import register

    monkeypatch.setenv("TONGXIN_DATABASE_URL", office.w.ex.db.url)
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    register(app)
    run = CliRunner().invoke

    res = run(app, ["contracts", "submit", "TX-CLI-1", "--title", "智能网联测试服务合同", "--type", "技术服务", "--seller", WQ, "--buyer", TIB,
                    "--amount", "120", "--signed-on", "2025-05-20"])
    assert res.exit_code == 0, res.output
    assert "TX-CLI-1" in res.output and "待审核" in res.output
    res = run(app, ["contracts", "queue"])
    assert res.exit_code == 0 and "TX-CLI-1" in res.output
    res = run(app, ["contracts", "return", "TX-CLI-1"])
    assert res.exit_code == 1 and "退回原因" in res.output
    res = run(app, ["contracts", "certificate", "TX-CLI-1", "-o", str(tmp_path / "c.pdf")])
    assert res.exit_code == 5 and "尚未登记" in res.output
    assert run(app, ["contracts", "review", "TX-CLI-1"]).exit_code == 0
    res = run(app, ["contracts", "return", "TX-CLI-1", "--reason", "incomplete", "--note", "缺少履行期限"])
    assert res.exit_code == 0 and "缺少履行期限" in res.output
    office.svc.resubmit(office.v("member"), office.svc.resolve_ref(office.v("member"), "TX-CLI-1"), {"title": "智能网联测试服务合同（补正）"},
                        today=TODAY)
    res = run(app, ["contracts", "register", "TX-CLI-1", "--date", "2025-06-01"])
    assert res.exit_code == 0 and "2025120114000001" in res.output
    res = run(app, ["contracts", "certificate", "TX-CLI-1", "-o", str(tmp_path / "c.pdf")])
    assert res.exit_code == 0 and (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"
    res = run(app, ["contracts", "show", "TX-CLI-1", "--json"])
    got = json.loads(res.stdout)
    assert got["status"] == "registered" and [h["action"] for h in got["history"]] == ["submit", "review", "return", "resubmit", "register"]
    assert run(app, ["contracts", "show", "NO-SUCH"]).exit_code == 3
    # the administrator names registrars
    res = run(app, ["contracts", "office-role", office.w.email("user")])
    assert res.exit_code == 0 and "registrar" in res.output
    assert office.w.accounts.viewer(office.w.users["user"]).role == "registrar"
    assert run(app, ["contracts", "office-role", office.w.email("operator")]).exit_code == 5  # not on top of another platform role


def test_a_year_no_calendar_holds_is_a_typed_422(tmp_path: Any) -> None:
    """Found by schemathesis: GET /api/v1/contracts?year=0 answered 500."""
    from fastapi.testclient import TestClient

    from tongxin.services import Exchange
    from tongxin.storage.db import Database
    from tongxin.web.app import create_app

    ex = Exchange(Database(f"sqlite:///{tmp_path}/y.db"), str(tmp_path / "idx"))
    ex.init_db()
    try:
        with TestClient(create_app(ex), raise_server_exceptions=False) as c:
            for year in ("0", "131073", "-5"):
                r = c.get("/api/v1/contracts", params={"year": year})
                assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (year, r.status_code, r.text[:200])
    finally:
        ex.close()
