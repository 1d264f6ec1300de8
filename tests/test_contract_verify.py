"""The public check of a technology contract's registration number (page and API, both databases):
a registered contract answers with its date and the parties' names only; an unknown number, or a
contract still in the office's queue, answers "not registered"; nothing confidential is said."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import world
from fastapi.testclient import TestClient
from test_contract_office import Office, _registrar, raw

from tongxin.core.clock import local_today
from tongxin.services import Exchange
from tongxin.services.contracts import Contracts
from tongxin.web.app import create_app

TODAY = local_today()


@pytest.fixture
def site(exchange: Exchange) -> Iterator[tuple[Office, TestClient, int, int]]:
    w = world.build(exchange)
    _registrar(w, "registrar")
    o = Office(w, Contracts(exchange))
    done = o.svc.submit(o.v("member"), raw("TX-V-1", title="CONFIDENTIALTITLEWORD"), TODAY).c
    waiting = o.svc.submit(o.v("member"), raw("TX-V-2"), TODAY).c
    o.svc.register(o.v("registrar"), done.id, "2026110108000777", TODAY, today=TODAY)
    with TestClient(create_app(exchange), base_url="https://testserver", raise_server_exceptions=False) as c:
        yield o, c, done.id, waiting.id


def test_api_answers_registered_with_date_and_names_only(site: tuple[Office, TestClient, int, int]) -> None:
    o, c, _, waiting = site
    r = c.get("/api/v1/contracts/verify", params={"registration_no": " 2026110108000777 "})  # anonymous, spaces as typed
    assert r.status_code == 200, r.text
    got = r.json()
    assert got == {"registration_no": "2026110108000777", "registered": True, "registered_on": TODAY.isoformat(),
                   "seller": "北京交通大学", "buyer": "交控技术装备有限公司"}, got
    assert "CONFIDENTIALTITLEWORD" not in r.text and "300" not in r.text
    # full-width digits read the same
    assert c.get("/api/v1/contracts/verify", params={"registration_no": "２０２６１１０１０８０００７７７"}).json()["registered"] is True
    r = c.get("/api/v1/contracts/verify", params={"registration_no": "2026110108999999"})
    assert r.status_code == 200 and r.json() == {"registration_no": "2026110108999999", "registered": False, "registered_on": None,
                                                 "seller": None, "buyer": None}
    # a contract in the queue has no number; its contract number is not a registration number
    assert c.get("/api/v1/contracts/verify", params={"registration_no": "TX-V-2"}).json()["registered"] is False
    r = c.get("/api/v1/contracts/verify", params={"registration_no": "<script>"})
    assert r.status_code == 422 and "registration_no" in r.text
    assert c.get("/api/v1/contracts/verify").status_code == 422
    assert waiting


def test_page_shows_the_verdict_and_errors_on_the_form(site: tuple[Office, TestClient, int, int]) -> None:
    _, c, _, _ = site
    page = c.get("/contracts/verify")
    assert page.status_code == 200 and "data-contract-verify-form" in page.text and "data-registered" not in page.text
    page = c.get("/contracts/verify", params={"registration_no": "2026110108000777"})
    assert page.status_code == 200 and 'data-registered="yes"' in page.text
    assert "北京交通大学" in page.text and "交控技术装备有限公司" in page.text and TODAY.isoformat() in page.text
    assert "CONFIDENTIALTITLEWORD" not in page.text and "TX-V-1" not in page.text
    page = c.get("/contracts/verify", params={"registration_no": "NOSUCH-1"})
    assert page.status_code == 200 and 'data-registered="no"' in page.text
    page = c.get("/contracts/verify", params={"registration_no": "a b<c>"})
    assert page.status_code == 422 and 'data-field="registration_no"' in page.text and "登记编号" in page.text and 'value="a b&lt;c&gt;"' in page.text
    en = c.get("/contracts/verify", params={"registration_no": "2026110108000777", "lang": "en"})
    assert "Registered" in en.text
