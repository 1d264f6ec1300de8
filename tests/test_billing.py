"""Instrument billing (issue #15): actual hours rounded up to the billing unit, check-in by the booker
waiting for the manager's confirmation, automatic no-shows that release the slot, the waitlist offer
and claim through the one booking path, cost centres, statements whose sums are the sums of their
lines, voucher deductions within the balance and the share, claims settled by the issuer, and who may
see what. Service rules and the API on SQLite and, with TONGXIN_TEST_POSTGRES_URL, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import test_resources_owner as owner_tests
from sqlalchemy import func, select
from test_resources_owner import CSRF, _actor, _get, _post, at
from test_resources_owner import _as as _cookies

from tongxin.core import billing as BL
from tongxin.core import booking as B
from tongxin.core.access import SYSTEM
from tongxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from tongxin.services.billing import Billing
from tongxin.storage import accounts_repo as R
from tongxin.storage import resources_repo as rr
from tongxin.storage.models_resources import InstrumentBookingRow, InstrumentWaitlistRow, VoucherSettlementRow

site = owner_tests.site  # the booking site fixture: instruments, owner / researcher / other / operator, the app on a movable clock


def t(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2030, 3, day, hour, minute, tzinfo=B.CST)


def _as(site: dict[str, Any], who: str) -> dict[str, str]:
    """API calls with the session cookie carry the CSRF header."""
    return {**_cookies(site, who), "X-CSRF-Token": CSRF}


def _billing(site: dict[str, Any]) -> Billing:
    return Billing(site["ex"], clock=lambda: site["clock"][0])


def _approved(site: dict[str, Any], who: str = "researcher", day: int = 5, start: int = 10, end: int = 12, **kw: Any) -> B.Booking:
    b = site["svc"].request(_actor(site, who), site["ids"]["I-MS"], at(day, start), at(day, end), "蛋白质组分析", **kw)
    return site["svc"].approve(_actor(site, "owner"), b.id)


def _count(site: dict[str, Any], model: Any) -> int:
    with site["ex"].db.transaction(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# -- pure rules ---------------------------------------------------------------------------------------------

def test_billed_hours_round_up_to_the_unit() -> None:
    assert BL.billed_hours(B.Slot(t(5, 10), t(5, 11, 5)), 0.5) == 1.5
    assert BL.billed_hours(B.Slot(t(5, 10), t(5, 11)), 0.5) == 1.0  # exact: no extra unit
    assert BL.billed_hours(B.Slot(t(5, 10), t(5, 11, 5)), 1.0) == 2.0
    assert BL.billed_hours(B.Slot(t(5, 10), t(5, 10, 10)), 0.25) == 0.25
    assert BL.difference_note(B.Slot(t(5, 10), t(5, 12)), B.Slot(t(5, 10), t(5, 12)), 2.0) == ""
    note = BL.difference_note(B.Slot(t(5, 10), t(5, 12)), B.Slot(t(5, 10, 5), t(5, 11, 20)), 1.5)
    assert "实际使用 10:05–11:20" in note and "计费 1.5 小时" in note and "billed 1.5 h" in note


def test_codes_and_month_are_checked_with_the_field_named() -> None:
    assert BL.check_codes(" cc-2026-01 ", "ｐｒｊ／７") == ("CC-2026-01", "PRJ/7")
    with pytest.raises(ValidationError) as e:
        BL.check_codes("成本 中心!", "x" * 40)
    fields = {fe.field: fe.message for fe in e.value.errors}
    assert set(fields) == {"cost_centre", "project_code"}
    assert "成本中心" in fields["cost_centre"].zh and "cost centre" in fields["cost_centre"].en
    with pytest.raises(ValidationError) as e2:
        BL.month_range("2026-13")
    assert e2.value.errors[0].field == "month"
    assert BL.month_range("2026-12") == (dt.datetime(2026, 12, 1, tzinfo=B.CST), dt.datetime(2027, 1, 1, tzinfo=B.CST))


# -- check-in / check-out ------------------------------------------------------------------------------------------

def test_manager_check_in_out_bills_actual_hours_at_the_rate(site: dict[str, Any]) -> None:
    b = _approved(site, cost_centre="cc-01", project_code="P-7")
    assert (b.cost_centre, b.project_code, b.fee) == ("CC-01", "P-7", 1000.0)  # 2 h × 500 (cross-region)
    svc = _billing(site)
    site["clock"][0] = t(5, 10, 5)
    svc.check_in(_actor(site, "owner"), b.id)
    site["clock"][0] = t(5, 11, 20)
    out = svc.check_out(_actor(site, "owner"), b.id)
    assert out.status == "used" and out.billed_hours == 1.5 and out.fee == 750.0  # 1 h 15 min → 1.5 h × 500
    assert not out.awaiting_confirmation and "实际使用 10:05–11:20" in out.billing_note
    with pytest.raises(Conflict):  # once
        svc.check_out(_actor(site, "owner"), b.id)


def test_billing_unit_is_the_instruments_setting(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    with site["ex"].db.transaction() as s:
        row = rr.instrument_row(s, iid)
        row.attrs = {**row.attrs, "billing_unit_hours": 1.0}
    b = _approved(site)
    svc = _billing(site)
    site["clock"][0] = t(5, 12)
    out = svc.check_out(_actor(site, "owner"), b.id, at=t(5, 11, 5), started=t(5, 10))
    assert out.billed_hours == 2.0 and out.fee == 1000.0


def test_booker_check_in_waits_for_the_managers_confirmation(site: dict[str, Any]) -> None:
    b = _approved(site)
    svc = _billing(site)
    site["clock"][0] = t(5, 10)
    assert svc.check_in(_actor(site, "researcher"), b.id).awaiting_confirmation
    with pytest.raises(Forbidden):  # not the booker, not a manager
        svc.check_in(_actor(site, "other"), b.id)
    site["clock"][0] = t(5, 12)
    svc.check_out(_actor(site, "researcher"), b.id)
    st = svc.statement(site["people"]["researcher"]["viewer"], "2030-03")
    assert st.lines == [] and st.unconfirmed == 1  # not billed before the manager confirms
    with pytest.raises(Forbidden):
        svc.confirm(_actor(site, "researcher"), b.id)
    svc.confirm(_actor(site, "owner"), b.id)
    st = svc.statement(site["people"]["researcher"]["viewer"], "2030-03")
    assert [x.booking_id for x in st.lines] == [b.id] and st.unconfirmed == 0


def test_booker_checks_in_from_my_bookings_and_the_manager_confirms(site: dict[str, Any]) -> None:
    b = _approved(site)
    assert f'action="/bookings/{b.id}/check-in"' not in _get(site, "researcher", "/my/bookings").text  # not started yet
    site["clock"][0] = t(5, 10, 2)
    page = _get(site, "researcher", "/my/bookings").text
    assert f'action="/bookings/{b.id}/check-in"' in page
    assert _post(site, "researcher", f"/bookings/{b.id}/check-in", next="/my/bookings").status_code == 303
    got = site["svc"].get(b.id)
    assert got.checked_in_at == t(5, 10, 2) and got.awaiting_confirmation
    assert _post(site, "other", f"/bookings/{b.id}/check-out", next="/my/bookings").status_code == 403
    b2 = _approved(site, start=14, end=15)
    site["clock"][0] = t(5, 14)
    _billing(site).check_in(_actor(site, "researcher"), b2.id)
    site["clock"][0] = t(5, 15)
    assert not site["svc"].mark_used(_actor(site, "owner"), b2.id).awaiting_confirmation  # marking it used confirms too
    site["clock"][0] = t(5, 11, 30)
    assert _post(site, "owner", f"/bookings/{b.id}/check-out", next="/my/instruments").status_code == 303
    done = site["svc"].get(b.id)
    assert done.status == "used" and not done.awaiting_confirmation and done.billed_hours == 1.5  # 10:02–11:30


# -- no-shows ------------------------------------------------------------------------------------------------------

def test_no_show_after_the_grace_period_releases_the_slot(site: dict[str, Any]) -> None:
    b = _approved(site)
    svc = _billing(site)
    assert svc.run_due(t(5, 10, 14)).no_shows == []  # within the 15 minutes
    assert site["svc"].get(b.id).status == "approved"
    rep = svc.run_due(t(5, 10, 15))
    assert rep.no_shows == [b.id]
    got = site["svc"].get(b.id)
    assert got.status == "no_show" and "宽限期" in got.note
    assert svc.run_due(t(5, 10, 20)).no_shows == []  # once
    # the slot is free again: the database guard lets another booking take it
    with site["ex"].db.transaction() as s:
        assert rr.bookings_between(s, b.instrument_id, b.slot.start, b.slot.end) == []
        rr.insert_booking(s, B.Booking(b.instrument_id, site["people"]["other"]["uid"], site["people"]["other"]["org"], b.slot, "used"))
    # counted per user
    counts = svc.no_show_counts(site["people"]["owner"]["viewer"])
    assert (site["people"]["researcher"]["uid"], "researcher用户", 1) in counts


def test_grace_period_is_per_instrument_and_a_check_in_prevents_the_no_show(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    with site["ex"].db.transaction() as s:
        row = rr.instrument_row(s, iid)
        row.attrs = {**row.attrs, "no_show_grace_minutes": 30}
    b1 = _approved(site)
    b2 = _approved(site, start=14, end=16)
    b3 = _approved(site, day=6, start=9, end=10)
    svc = _billing(site)
    assert svc.run_due(t(5, 10, 29)).no_shows == []
    assert svc.run_due(t(5, 10, 30)).no_shows == [b1.id]
    site["clock"][0] = t(5, 14, 10)
    svc.check_in(_actor(site, "owner"), b2.id)
    assert svc.run_due(t(5, 15, 0)).no_shows == []
    assert site["svc"].get(b2.id).status == "approved"
    # a slot already over (the loop was down all along) is left to the manager, not released after the fact
    assert svc.run_due(t(6, 10, 5)).no_shows == [] and site["svc"].get(b3.id).status == "approved"


# -- waitlist ---------------------------------------------------------------------------------------------------------

def test_waitlist_offer_then_claim_books_without_overlap(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    svc = _billing(site)
    with pytest.raises(Conflict):  # a free slot is booked directly
        svc.join_waitlist(_actor(site, "other"), iid, at(5, 10), at(5, 12))
    b = _approved(site)
    w = svc.join_waitlist(_actor(site, "other"), iid, at(5, 10), at(5, 12))
    assert w.status == "waiting"
    with pytest.raises(Conflict):  # once
        svc.join_waitlist(_actor(site, "other"), iid, at(5, 10), at(5, 12))
    site["svc"].cancel(_actor(site, "researcher"), b.id)
    offered = svc.my_waits(site["people"]["other"]["viewer"])[0]
    assert offered.status == "offered" and offered.token and offered.offer_expires_at == t(4, 11)
    with site["ex"].db.transaction(write=False) as s:
        notes = R.notifications(s, site["people"]["other"]["org"])
    assert any("候补仪器时段已空出" in n.text_zh and n.link == "/my/waitlist" for n in notes)  # in-app: the organisation's list, no token
    # the mail goes through the outbox to the person waiting only, with the claim link
    from tongxin.services.alert_sender import Sender
    from tongxin.services.mail import LogMailer
    from tongxin.storage.models_alerts import MailRow

    with site["ex"].db.transaction() as s:  # a colleague in the same organisation gets no mail of it
        R.add_membership(s, site["people"]["operator"]["uid"], site["people"]["other"]["org"], "member")
    Sender(site["ex"], LogMailer(), secret="s", public_url="http://tx.test", now=lambda: t(4, 9, 1)).run_once(send=False)
    with site["ex"].db.transaction(write=False) as s:
        mails = [(m.to, m.text) for m in s.scalars(select(MailRow).where(MailRow.key.like(f"n-wait{offered.id}-offer%")))]
    assert [to for to, _ in mails] == ["other@owner.tongxin.cn"] and f"http://tx.test/waitlist/claim/{offered.token}" in mails[0][1]
    # meanwhile the researcher cannot take it back: the offer holds it only by being first, the database decides
    with pytest.raises(NotFound):  # someone else's link
        svc.claim(_actor(site, "researcher"), offered.token)
    booked = svc.claim(_actor(site, "other"), offered.token, "cc-9")
    assert booked.status in ("pending", "approved") and booked.cost_centre == "CC-9" and booked.user_id == site["people"]["other"]["uid"]
    with pytest.raises(Conflict):  # claimed once
        svc.claim(_actor(site, "other"), offered.token)
    with pytest.raises(Conflict):  # the slot is taken again: no double booking
        site["svc"].request(_actor(site, "researcher"), iid, at(5, 10), at(5, 12))
    with site["ex"].db.transaction(write=False) as s:
        active = rr.bookings_between(s, iid, at(5, 10), at(5, 12))
    assert [x.id for x in active] == [booked.id]


def test_expired_offer_goes_to_the_next_person(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    svc = _billing(site)
    b = _approved(site)
    first = svc.join_waitlist(_actor(site, "other"), iid, at(5, 10), at(5, 12))
    second = svc.join_waitlist(_actor(site, "owner"), iid, at(5, 10), at(5, 11))
    site["svc"].cancel(_actor(site, "researcher"), b.id)
    mine = {w.id: w for w in svc.my_waits(site["people"]["other"]["viewer"])}
    assert mine[first.id].status == "offered"
    assert svc.my_waits(site["people"]["owner"]["viewer"])[0].status == "waiting"  # overlaps the open offer
    rep = svc.run_due(t(4, 11, 1))
    assert rep.offers_expired == 1 and rep.offers == 1
    assert svc.my_waits(site["people"]["other"]["viewer"])[0].status == "expired"
    nxt = svc.my_waits(site["people"]["owner"]["viewer"])[0]
    assert nxt.id == second.id and nxt.status == "offered"
    site["clock"][0] = t(4, 11, 2)
    with pytest.raises(Conflict):
        svc.claim(_actor(site, "other"), mine[first.id].token or "")


# -- statements -----------------------------------------------------------------------------------------------------------

def _used(site: dict[str, Any], day: int, start: int, end: int, out_at: dt.datetime, **kw: Any) -> B.Booking:
    b = _approved(site, day=day, start=start, end=end, **kw)
    site["clock"][0] = out_at
    return _billing(site).check_out(_actor(site, "owner"), b.id, started=at(day, start))


def test_statement_sums_equal_line_sums_and_filter_by_cost_centre(site: dict[str, Any]) -> None:
    _used(site, 5, 10, 12, t(5, 11, 40), cost_centre="CC-A", project_code="P1")
    _used(site, 6, 9, 10, t(6, 10, 10), cost_centre="CC-B")
    _used(site, 7, 14, 17, t(7, 17), cost_centre="CC-A", project_code="P2")
    svc = _billing(site)
    v = site["people"]["researcher"]["viewer"]
    st = svc.statement(v, "2030-03")
    assert len(st.lines) == 3
    assert st.total.fee == round(sum(x.fee for x in st.lines), 2) and st.total.payable == round(sum(x.payable for x in st.lines), 2)
    assert st.total.hours == sum(x.hours for x in st.lines) == 2.0 + 1.5 + 3.0
    for x in st.lines:
        assert x.fee == round(x.hours * x.rate, 2)
    by_cc = {sub.key: sub for sub in st.by("cost_centre")}
    assert by_cc["CC-A"].fee + by_cc["CC-B"].fee == st.total.fee
    only_a = svc.statement(v, "2030-03", cost_centre="cc-a")
    assert {x.cost_centre for x in only_a.lines} == {"CC-A"} and only_a.total.fee == by_cc["CC-A"].fee
    assert svc.statement(v, "2030-04").lines == []


def test_another_org_cannot_see_a_statement(site: dict[str, Any]) -> None:
    _used(site, 5, 10, 12, t(5, 12))
    svc = _billing(site)
    with pytest.raises(Forbidden):
        svc.statement(site["people"]["other"]["viewer"], "2030-03", org="ORG-SJZ")
    assert len(svc.statement(site["people"]["operator"]["viewer"], "2030-03", org="ORG-SJZ").lines) == 1  # staff may


# -- vouchers -------------------------------------------------------------------------------------------------------------------

def _voucher(site: dict[str, Any], amount: float = 600.0) -> str:
    svc, op = site["svc"], site["people"]["operator"]["viewer"]
    svc.recognise_lab(op, "HE", "ORG-TIB", dt.date(2026, 1, 1))
    svc.issue_voucher(op, "HE-2030-0001", "HE", "ORG-SJZ", amount, dt.date(2026, 1, 1), dt.date(2030, 12, 31), 0.5)
    return "HE-2030-0001"


def test_voucher_deduction_never_exceeds_balance_or_share(site: dict[str, Any]) -> None:
    code = _voucher(site, 300.0)
    iid = site["ids"]["I-MS"]
    before = _count(site, InstrumentBookingRow)
    with pytest.raises(Conflict):  # 400 > balance 300
        site["svc"].request(_actor(site, "researcher"), iid, at(5, 10), at(5, 12), voucher=code, voucher_amount=400)
    assert _count(site, InstrumentBookingRow) == before  # refused: nothing written
    b = _approved(site, voucher=code)  # default: min(balance, 50 % of 1000) = 300
    assert b.voucher_amount == 300.0
    assert site["svc"].voucher(code)[0].balance == 0.0
    site["clock"][0] = t(5, 11)
    out = _billing(site).check_out(_actor(site, "owner"), b.id, started=at(5, 10))
    assert out.fee == 500.0 and out.voucher_amount == 250.0  # cut to 50 % of the final fee; 50 back on the voucher
    assert site["svc"].voucher(code)[0].balance == 50.0
    line = _billing(site).statement(site["people"]["researcher"]["viewer"], "2030-03").lines[0]
    assert line.voucher <= line.fee * 0.5 and line.payable == 250.0


def test_voucher_claims_are_settled_by_the_issuer_once(site: dict[str, Any]) -> None:
    code = _voucher(site)
    b = _approved(site, voucher=code)
    site["clock"][0] = t(5, 12)
    _billing(site).check_out(_actor(site, "owner"), b.id, started=at(5, 10))
    svc, op = _billing(site), site["people"]["operator"]["viewer"]
    claims = svc.voucher_claims(op, "2030-03")
    assert [(c.booking_id, c.voucher_code, c.amount, c.settled) for c in claims] == [(b.id, code, 500.0, False)]
    assert claims[0].provider == "中国科学院天津工业生物技术研究所"
    with pytest.raises(Forbidden):
        svc.voucher_claims(site["people"]["owner"]["viewer"], "2030-03")
    done = svc.settle_claim(op, b.id, "PAY-001")
    assert done.settled and done.reference == "PAY-001"
    with pytest.raises(Conflict):
        svc.settle_claim(op, b.id)
    assert _count(site, VoucherSettlementRow) == 1


def test_bad_input_names_the_field_and_writes_nothing(site: dict[str, Any]) -> None:
    iid = site["ids"]["I-MS"]
    before = (_count(site, InstrumentBookingRow), _count(site, InstrumentWaitlistRow))
    with pytest.raises(ValidationError) as e:
        site["svc"].request(_actor(site, "researcher"), iid, at(5, 10), at(5, 12), cost_centre="成本 中心!")
    assert e.value.errors[0].field == "cost_centre" and "成本中心" in e.value.errors[0].message.zh
    b = _approved(site)
    site["clock"][0] = t(5, 12)
    with pytest.raises(ValidationError) as e2:
        _billing(site).check_out(_actor(site, "owner"), b.id, at=t(5, 9), started=at(5, 10))
    assert e2.value.errors[0].field == "end" and "签退" in e2.value.errors[0].message.zh
    assert site["svc"].get(b.id).status == "approved"
    assert (_count(site, InstrumentBookingRow), _count(site, InstrumentWaitlistRow)) == (before[0] + 1, before[1])


def test_income_per_instrument_and_month(site: dict[str, Any]) -> None:
    _used(site, 5, 10, 12, t(5, 12))
    _used(site, 6, 10, 11, t(6, 11))
    site["clock"][0] = t(20, 9)
    name, rows = _billing(site).income(site["people"]["owner"]["viewer"], 3)
    assert name == "中国科学院天津工业生物技术研究所"
    assert [(r.month, r.bookings, r.hours, r.fee) for r in rows] == [("2030-03", 2, 3.0, 1500.0)]
    with pytest.raises(Forbidden):
        _billing(site).income(site["people"]["researcher"]["viewer"], 3, site["people"]["owner"]["org"])


# -- API and pages (both databases through the `site` fixture) --------------------------------------------------------------------

def test_api_check_in_out_statement_and_claims(site: dict[str, Any]) -> None:
    c, iid = site["c"], site["ids"]["I-MS"]
    code = _voucher(site)
    r = c.post("/api/v1/bookings", json={"instrument_id": iid, "start": at(5, 10).isoformat(), "end": at(5, 12).isoformat(),
                                         "cost_centre": "cc-api", "voucher": code}, headers=_as(site, "researcher"))
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    assert r.json()["cost_centre"] == "CC-API"
    bad = c.post("/api/v1/bookings", json={"instrument_id": iid, "start": at(6, 10).isoformat(), "end": at(6, 12).isoformat(),
                                           "project_code": "项目#1"}, headers=_as(site, "researcher"))
    assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["field"] == "project_code"
    site["svc"].approve(_actor(site, "owner"), bid)
    site["clock"][0] = t(5, 10, 3)
    r = c.post(f"/api/v1/bookings/{bid}/check-in", json={}, headers=_as(site, "owner"))
    assert r.status_code == 200 and r.json()["checked_in_at"].startswith("2030-03-05T10:03"), r.text
    site["clock"][0] = t(5, 11, 50)
    r = c.post(f"/api/v1/bookings/{bid}/check-out", json={}, headers=_as(site, "owner"))
    assert r.status_code == 200 and r.json()["billed_hours"] == 2 and r.json()["status"] == "used", r.text
    st = c.get("/api/v1/statements", params={"month": "2030-03"}, headers=_as(site, "researcher")).json()
    assert st["total"]["fee"] == sum(x["fee"] for x in st["lines"]) == 1000
    assert st["lines"][0]["cost_centre"] == "CC-API" and st["total"]["payable"] == 500
    assert c.get("/api/v1/statements", params={"month": "2030-03", "org": "ORG-SJZ"}, headers=_as(site, "other")).status_code == 403
    assert c.get("/api/v1/statements", params={"month": "2030-3x"}, headers=_as(site, "researcher")).json()["error"]["errors"][0]["field"] == "month"
    x = c.get("/api/v1/statements.xlsx", params={"month": "2030-03"}, headers=_as(site, "researcher"))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    values = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert any(row[0] == "合计 total" and row[7] == 1000 and row[9] == 500 for row in values)
    p = c.get("/api/v1/statements.pdf", params={"month": "2030-03"}, headers=_as(site, "researcher"))
    assert p.status_code == 200 and p.content.startswith(b"%PDF")
    claims = c.get("/api/v1/voucher-claims", params={"month": "2030-03"}, headers=_as(site, "operator")).json()
    assert [(k["booking_id"], k["amount"]) for k in claims["claims"]] == [(bid, 500)] and claims["outstanding"] == 500
    assert c.get("/api/v1/voucher-claims", params={"month": "2030-03"}, headers=_as(site, "owner")).status_code == 403
    r = c.post(f"/api/v1/voucher-claims/{bid}/settle", json={"reference": "PAY-9"}, headers=_as(site, "operator"))
    assert r.status_code == 200 and r.json()["settled"] is True
    inc = c.get("/api/v1/income/instruments", params={"months": 1}, headers=_as(site, "owner")).json()
    assert inc["rows"][0]["fee"] == 1000


def test_api_waitlist_join_and_claim(site: dict[str, Any]) -> None:
    c, iid = site["c"], site["ids"]["I-MS"]
    b = _approved(site)
    r = c.post(f"/api/v1/instruments/{iid}/waitlist", json={"start": at(5, 10).isoformat(), "end": at(5, 12).isoformat()}, headers=_as(site, "other"))
    assert r.status_code == 201 and r.json()["status"] == "waiting", r.text
    site["svc"].cancel(_actor(site, "researcher"), b.id)
    entries = c.get("/api/v1/waitlist", headers=_as(site, "other")).json()["entries"]
    url = entries[0]["claim_url"]
    assert entries[0]["status"] == "offered" and url.startswith("/waitlist/claim/")
    page = _get(site, "other", url)
    assert page.status_code == 200 and "认领并预约" in page.text
    assert _get(site, "researcher", url).status_code == 404  # not theirs
    r = c.post("/api/v1/waitlist/claim", json={"token": url.rsplit("/", 1)[1]}, headers=_as(site, "other"))
    assert r.status_code == 201 and r.json()["user_id"] == site["people"]["other"]["uid"], r.text


def test_pages_statement_claims_income_waitlist(site: dict[str, Any]) -> None:
    code = _voucher(site)
    b = _approved(site, voucher=code, cost_centre="CC-P")
    site["clock"][0] = t(5, 10)
    assert _post(site, "owner", f"/bookings/{b.id}/check-in", next="/my/instruments").status_code == 303
    site["clock"][0] = t(5, 12)
    page = _get(site, "owner", "/my/instruments").text
    assert f'action="/bookings/{b.id}/check-out"' in page
    assert _post(site, "owner", f"/bookings/{b.id}/check-out", next="/my/instruments").status_code == 303
    st = _get(site, "researcher", "/my/statements", month="2030-03")
    assert st.status_code == 200 and "CC-P" in st.text and 'id="total-payable">500.00' in st.text
    assert _get(site, "other", "/my/statements", month="2030-03", org="ORG-SJZ").status_code == 403
    claims = _get(site, "operator", "/operator/voucher-claims", month="2030-03")
    assert claims.status_code == 200 and code in claims.text
    assert _post(site, "operator", f"/operator/voucher-claims/{b.id}/settle", reference="PAY-1").status_code == 303
    assert "已结算" in _get(site, "operator", "/operator/voucher-claims", month="2030-03").text
    income = _get(site, "owner", "/my/instruments/income")
    assert income.status_code == 200 and "1000.00" in income.text and 'id="chart-income"' in income.text
    assert _get(site, "researcher", "/my/waitlist").status_code == 200
    assert SYSTEM.is_staff  # the CLI acts as staff


# -- the due-work loop and the command line ------------------------------------------------------------------------------------

def test_the_alerts_pass_releases_no_shows_and_offers_the_slot(site: dict[str, Any]) -> None:
    from tongxin.services.alert_sender import Sender
    from tongxin.services.mail import LogMailer

    b = _approved(site)
    _billing(site).join_waitlist(_actor(site, "other"), site["ids"]["I-MS"], at(5, 10), at(5, 12))
    snd = Sender(site["ex"], LogMailer(), secret="s", public_url="http://tx.test", now=lambda: t(5, 10, 16))
    report = snd.run_once(send=False)
    assert (report.no_shows, report.errors) == (1, [])
    assert site["svc"].get(b.id).status == "no_show"
    # the slot has started, so nobody is offered it: the waiting entry lapses instead of getting a useless link
    assert _billing(site).my_waits(site["people"]["other"]["viewer"])[0].status == "expired"
    assert snd.run_once(send=False).no_shows == 0


def test_cli_statement_xlsx_and_release_no_shows(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl
    from factories import ORGS, load
    from resource_factories import instrument
    from typer.testing import CliRunner

    from tongxin.cli.main import app
    from tongxin.services import Exchange
    from tongxin.settings import Config

    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TONGXIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TONGXIN_INDEX_DIR", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"], catch_exceptions=False).exit_code == 0
    ex = Exchange.from_config(Config.from_env())
    ex.init_db()
    try:
        iid = load(ex, ORGS, [instrument()])["I-MS"]
        now = dt.datetime.now(B.CST).replace(second=0, microsecond=0)
        with ex.db.transaction() as s:
            sjz = rr.resolve_org(s, "ORG-SJZ").id
            for day, cc, fee in ((3, "CC-A", 900.0), (4, "CC-B", 450.0)):
                slot = B.Slot(dt.datetime(2026, 11, day, 9, tzinfo=B.CST), dt.datetime(2026, 11, day, 11, tzinfo=B.CST))
                rr.insert_booking(s, B.Booking(iid, 77, sjz, slot, "used", fee=fee, cost_centre=cc))
            due = rr.insert_booking(s, B.Booking(iid, 78, sjz, B.Slot(now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)), "approved"))
    finally:
        ex.close()
    out = tmp_path / "s.xlsx"
    r = runner.invoke(app, ["bookings", "statement", "--org", "ORG-SJZ", "--month", "2026-11", "--format", "xlsx", "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(out).active.iter_rows()]
    lines = [row for row in rows if isinstance(row[1], int)]
    total = next(row for row in rows if row[0] == "合计 total")
    assert len(lines) == 2 and total[7] == sum(row[7] for row in lines) == 1350
    r = runner.invoke(app, ["bookings", "statement", "--org", "ORG-SJZ", "--month", "2026-13", "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 1 and "月份" in r.output and "month" in r.output
    r = runner.invoke(app, ["bookings", "release-no-shows"], catch_exceptions=False)
    assert r.exit_code == 0 and '"no_shows": 1' in r.stdout, r.stdout
    import json

    assert json.loads(r.stdout)["bookings"] == [due]


def test_api_release_no_shows_is_for_staff(site: dict[str, Any]) -> None:
    b = _approved(site)
    site["clock"][0] = t(5, 10, 20)  # past the 15-minute grace period
    c = site["c"]
    r = c.post("/api/v1/bookings/release-no-shows", headers=_as(site, "researcher"))
    assert r.status_code == 403 and site["svc"].get(b.id).status == "approved", r.text
    r = c.post("/api/v1/bookings/release-no-shows", headers=_as(site, "operator"))
    assert r.status_code == 200 and r.json()["no_shows"] == 1 and r.json()["bookings"] == [b.id], r.text
    assert site["svc"].get(b.id).status == "no_show"


def test_cli_waitlist_join_list_and_claim_on_behalf(site: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from tongxin.cli.main import app

    b = _approved(site)
    iid, other = site["ids"]["I-MS"], site["people"]["other"]
    monkeypatch.setenv("TONGXIN_DATABASE_URL", site["ex"].db.url)
    monkeypatch.setenv("TONGXIN_INDEX_DIR", str(tmp_path / "cli-idx"))
    runner = CliRunner()
    r = runner.invoke(app, ["bookings", "waitlist-join", str(iid), at(5, 10).isoformat(), at(5, 12).isoformat(),
                            "--user", str(other["uid"]), "--org", str(other["org"])], catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "waiting", r.output
    r = runner.invoke(app, ["bookings", "waitlist-join", str(iid), at(5, 10).isoformat(), at(5, 12).isoformat(),
                            "--user", str(other["uid"]), "--org", str(other["org"])])
    assert r.exit_code != 0 and "候补" in r.output and "waitlist" in r.output  # once; said in both languages
    site["svc"].cancel(_actor(site, "researcher"), b.id)
    r = runner.invoke(app, ["bookings", "waitlist", "--user", str(other["uid"])], catch_exceptions=False)
    entries = json.loads(r.stdout)
    assert [e["status"] for e in entries] == ["offered"] and entries[0]["claim_url"].startswith("/waitlist/claim/")
    token = entries[0]["claim_url"].rsplit("/", 1)[1]
    researcher = site["people"]["researcher"]
    r = runner.invoke(app, ["bookings", "waitlist-claim", token, "--user", str(researcher["uid"]), "--org", str(researcher["org"])])
    assert r.exit_code != 0 and "不存在" in r.output  # the link is the waiting person's only
    assert _count(site, InstrumentBookingRow) == 1  # nothing written
