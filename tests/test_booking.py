"""Instrument booking: rules (pure), the workflow through the service, and the database's own
no-overlap guarantee under 200 concurrent conflicting requests on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from typing import Any

import pytest
from resource_factories import load_instrument, org_ids

from tongxin.core import booking as B
from tongxin.core.access import SYSTEM, Viewer
from tongxin.core.errors import Conflict, Forbidden, ValidationError
from tongxin.services import Exchange
from tongxin.services.booking import Actor, Bookings
from tongxin.storage import resources_repo as rr

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=B.CST)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=B.CST)


def slot(day: int, h1: int, h2: int) -> B.Slot:
    return B.Slot(at(day, h1), at(day, h2))


# -- pure rules ------------------------------------------------------------------------------

RULES = B.InstrumentRules(service_mode="self", training_required=True, auto_approve_trained=True, notice_hours=24, weekly_quota_hours=8)


def test_half_open_overlap() -> None:
    assert slot(10, 9, 11).overlaps(slot(10, 10, 12))
    assert not slot(10, 9, 10).overlaps(slot(10, 10, 11))  # back to back is fine


def test_request_rules_explain_refusals() -> None:
    ok = B.decide_request(slot(10, 9, 11), RULES, NOW, trained=True, conflicts=[], blackouts=[], user_week_hours=0)
    assert ok == "approved"  # trained user, auto-approve
    with pytest.raises(Forbidden) as e:
        B.decide_request(slot(10, 9, 11), RULES, NOW, trained=False, conflicts=[], blackouts=[], user_week_hours=0)
    assert "培训" in e.value.message.zh
    with pytest.raises(Conflict) as c:
        B.decide_request(slot(10, 9, 11), RULES, NOW, trained=True, conflicts=[], blackouts=[], user_week_hours=7)
    assert c.value.message.zh == "超出每人每周 8 小时限额：本周已约 7 小时，还可约 1 小时"
    with pytest.raises(Conflict) as c:
        B.decide_request(slot(10, 9, 11), RULES, NOW, trained=True, conflicts=[slot(10, 10, 12)], blackouts=[], user_week_hours=0)
    assert "已被预约" in c.value.message.zh
    with pytest.raises(Conflict) as c:
        B.decide_request(slot(10, 9, 11), RULES, NOW, trained=True, conflicts=[], blackouts=[(slot(10, 8, 12), "更换离子源")], user_week_hours=0)
    assert "更换离子源" in c.value.message.zh
    with pytest.raises(ValidationError) as v:
        B.decide_request(slot(10, 7, 9), RULES, NOW, trained=True, conflicts=[], blackouts=[], user_week_hours=0)
    assert "开放时间为每天 08:00–20:00" in v.value.errors[0].message.zh
    with pytest.raises(ValidationError):
        B.decide_request(B.Slot(at(10, 9, 15), at(10, 10)), RULES, NOW, trained=True, conflicts=[], blackouts=[], user_week_hours=0)
    with pytest.raises(ValidationError):  # the past
        B.decide_request(slot(1, 9, 10), RULES, NOW, trained=True, conflicts=[], blackouts=[], user_week_hours=0)
    operator = B.InstrumentRules(service_mode="operator", training_required=True)
    assert B.decide_request(slot(10, 9, 11), operator, NOW, trained=False, conflicts=[], blackouts=[], user_week_hours=0) == "pending"


def test_cancel_notice_and_transitions() -> None:
    b = B.Booking(1, 7, 1, slot(3, 8, 10), "approved")  # starts 23 h after NOW
    with pytest.raises(Conflict) as c:
        B.check_cancel(b, NOW, 24, by_manager=False)
    assert c.value.message.zh == "须在开始前 24 小时取消；已过取消时限，请联系仪器管理员"
    B.check_cancel(b, NOW - dt.timedelta(hours=1), 24, by_manager=False)  # exactly 24 h: still allowed
    B.check_cancel(b, NOW, 24, by_manager=True)  # managers may cancel late
    with pytest.raises(Conflict):
        B.check_transition(b, "used", NOW)  # not started yet
    B.check_transition(b, "used", at(3, 8, 30))
    with pytest.raises(Conflict):
        B.check_transition(b, "approved", NOW)


def test_fee_and_voucher_rules() -> None:
    attrs = {"fee_unit": "hour", "fee_internal": 300, "fee_same_region": 450, "fee_cross_region": 500}
    assert B.fee_of(attrs, 1, "120116", 1, "120116", 2, 0) == 600
    assert B.fee_of(attrs, 1, "120116", 2, "120101", 2, 0) == 900
    assert B.fee_of(attrs, 1, "120116", 2, "110108", 2, 0) == 1000
    assert B.fee_of({"fee_unit": "sample", "fee_same_region": 80}, 1, "120116", 2, "120101", 2, 5) == 400
    v = B.Voucher(1, "TJ-2026-001", "TJ", org_id=5, amount=10000, balance=300, valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 12, 31))
    assert B.check_voucher(v, 5, True, 1000, 300, dt.date(2026, 3, 2)) == 300
    with pytest.raises(Conflict) as c:
        B.check_voucher(v, 5, True, 1000, 400, dt.date(2026, 3, 2))
    assert "余额不足" in c.value.message.zh
    with pytest.raises(ValidationError):
        B.check_voucher(v, 5, True, 400, 300, dt.date(2026, 3, 2))  # more than 50 % of the fee
    with pytest.raises(Conflict) as c:
        B.check_voucher(v, 5, False, 1000, 100, dt.date(2026, 3, 2))
    assert "服务机构名录" in c.value.message.zh
    with pytest.raises(Forbidden):
        B.check_voucher(v, 6, True, 1000, 100, dt.date(2026, 3, 2))


def test_usage_statistics_arithmetic() -> None:
    R = B.UsageRecord
    recs = [R(1, "质谱", 10, "天大", "120104", 10, "120104", 2, "used"),  # internal
            R(1, "质谱", 10, "天大", "120104", 11, "120101", 3, "used"),  # other org, same province
            R(1, "质谱", 10, "天大", "120104", 12, "110108", 4, "used"),  # other org, Beijing
            R(1, "质谱", 10, "天大", "120104", 12, "110108", 1, "no_show"),
            R(1, "质谱", 10, "天大", "120104", 12, "110108", 5, "cancelled")]
    (st,) = B.usage_stats(recs, "instrument")
    assert (st.booked_hours, st.used_hours, st.external_hours, st.cross_region_hours, st.no_show_hours) == (10, 9, 7, 4, 1)
    assert st.sharing_rate == pytest.approx(7 / 9) and st.use_rate == pytest.approx(0.9)
    assert B.usage_stats(recs, "region")[0].label == "天津"


def test_ics_is_valid_icalendar() -> None:
    b = B.Booking(3, 7, 1, slot(10, 9, 11), "approved", id=42)
    text = B.to_ics(3, "场发射扫描电子显微镜 SEM, EDS; 预约日历" * 3, "天津大学 分析测试中心", [b], [(slot(11, 8, 20), "年度保养")], NOW)
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert "DTSTART:20260310T010000Z" in lines and "UID:booking-42@tongxin" in lines
    assert all(len(x.encode()) <= 75 for x in lines)
    assert "\\," in text  # commas escaped


# -- service workflow -------------------------------------------------------------------------

def _svc(exchange: Exchange) -> tuple[Bookings, int, dict[str, int]]:
    iid = load_instrument(exchange, service_mode="self", training_required=True, auto_approve_trained=True, weekly_quota_hours=6)
    return Bookings(exchange, clock=lambda: NOW), iid, org_ids(exchange)


def test_workflow_training_quota_cancel_and_voucher(exchange: Exchange) -> None:
    svc, iid, orgs = _svc(exchange)
    owner = Actor(1, orgs["ORG-TIB"], Viewer(org_id=orgs["ORG-TIB"], org_verified=True, role="org_admin"))
    user = Actor(7, orgs["ORG-SJZ"], Viewer(org_id=orgs["ORG-SJZ"], org_verified=True, role="member"))
    with pytest.raises(Forbidden):
        svc.request(user, iid, at(10, 9), at(10, 11))  # not trained
    with pytest.raises(Forbidden):
        svc.set_training(user, iid, 7, NOW.date())  # only the owner may record training
    svc.set_training(owner, iid, 7, NOW.date())
    b = svc.request(user, iid, at(10, 9), at(10, 11), purpose="血清蛋白质组")
    assert b.status == "approved" and b.fee == 1000  # Hebei user, Tianjin instrument: cross-region price
    with pytest.raises(Conflict):
        svc.request(user, iid, at(10, 13), at(10, 18))  # 2 + 5 > 6 h weekly quota
    svc.set_training(owner, iid, 8, NOW.date())
    with pytest.raises(Conflict):  # another trained user, overlapping slot
        svc.request(Actor(8, orgs["ORG-WQ"], Viewer(org_id=orgs["ORG-WQ"], role="member")), iid, at(10, 10), at(10, 12))
    # vouchers: Hebei issues one to the user's enterprise; the Tianjin lab must be recognised by Hebei
    svc.issue_voucher(SYSTEM, "HE-2026-0001", "HE", "ORG-SJZ", 2000, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with pytest.raises(Conflict):
        svc.request(user, iid, at(11, 9), at(11, 11), voucher="HE-2026-0001", voucher_amount=400)
    svc.recognise_lab(SYSTEM, "HE", "ORG-TIB", dt.date(2025, 1, 1))
    b2 = svc.request(user, iid, at(11, 9), at(11, 11), voucher=" he-2026-0001 ", voucher_amount=400)  # as typed
    assert b2.voucher_amount == 400 and b2.as_dict()["payable"] == 600
    with pytest.raises(Conflict):  # the same code in another spelling is the same voucher
        svc.issue_voucher(SYSTEM, "ＨＥ－２０２６－０００１", "HE", "ORG-SJZ", 100, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    v, uses = svc.voucher("he-2026-0001")
    assert v.balance == 1600 and uses == [(b2.id, 400.0)]
    # cancel: own booking, with notice; the voucher is refunded
    with pytest.raises(Forbidden):
        svc.cancel(Actor(9, orgs["ORG-WQ"], Viewer(org_id=orgs["ORG-WQ"], role="member")), b2.id)
    svc.cancel(user, b2.id)
    assert svc.voucher("HE-2026-0001")[0].balance == 2000
    # the freed slot can be booked again
    assert svc.request(user, iid, at(11, 9), at(11, 11)).status == "approved"
    # blackout: refused over bookings, accepted elsewhere, then requests inside it are refused
    with pytest.raises(Conflict):
        svc.add_blackout(owner, iid, at(10, 8), at(10, 20), "年度保养")
    svc.add_blackout(owner, iid, at(12, 8), at(12, 20), "年度保养")
    with pytest.raises(Conflict) as c:
        svc.request(user, iid, at(12, 9), at(12, 10))
    assert "年度保养" in c.value.message.zh
    # used / no-show once the slot has started
    later = Bookings(exchange, clock=lambda: at(10, 12))
    assert later.mark_used(owner, b.id).status == "used"
    with pytest.raises(Forbidden):
        later.mark_used(user, b.id)
    _, cal = svc.calendar(iid, "week", dt.date(2026, 3, 10), user_id=7)
    assert len(cal.days) == 7 and cal.cell(1, 1).state == "mine" and cal.cell(0, 3).state == "blackout"
    ics = svc.ics(iid)
    assert ics.count("BEGIN:VEVENT") == 3  # two bookings + one blackout
    stats = later.stats("instrument", at(1, 0), at(31, 0))
    assert stats[0].used_hours == 2 and stats[0].cross_region_hours == 2 and stats[0].sharing_rate == 1.0


def test_pending_then_owner_approves(exchange: Exchange) -> None:
    iid = load_instrument(exchange)  # operator-assisted: every request waits for the owner
    orgs = org_ids(exchange)
    svc = Bookings(exchange, clock=lambda: NOW)
    owner = Actor(1, orgs["ORG-TIB"], Viewer(org_id=orgs["ORG-TIB"], org_verified=True, role="org_admin"))
    user = Actor(7, orgs["ORG-WQ"], Viewer(org_id=orgs["ORG-WQ"], org_verified=True, role="member"))
    b = svc.request(user, iid, at(10, 9), at(10, 10), samples=3)
    assert b.status == "pending" and b.fee == 450
    with pytest.raises(Forbidden):
        svc.approve(user, b.id)
    assert svc.approve(owner, b.id).status == "approved"
    with pytest.raises(Conflict):
        svc.approve(owner, b.id)


def test_database_refuses_overlap_on_its_own(exchange: Exchange) -> None:
    iid = load_instrument(exchange)
    orgs = org_ids(exchange)
    with exchange.db.transaction() as s:
        rr.insert_booking(s, B.Booking(iid, 1, orgs["ORG-WQ"], slot(10, 9, 11), "approved"))
    with pytest.raises(Conflict), exchange.db.transaction() as s:  # no service checks: the database itself says no
        rr.insert_booking(s, B.Booking(iid, 2, orgs["ORG-WQ"], slot(10, 10, 12), "pending"))
    with exchange.db.transaction() as s:  # cancelled bookings and back-to-back slots do not block
        rr.insert_booking(s, B.Booking(iid, 3, orgs["ORG-WQ"], slot(10, 10, 12), "cancelled"))
        rr.insert_booking(s, B.Booking(iid, 4, orgs["ORG-WQ"], slot(10, 11, 12), "pending"))


# -- concurrency ------------------------------------------------------------------------------

SLOTS = 20
PER_SLOT = 10  # 200 requests


def _fire(n_threads: int, work: Any) -> tuple[list[tuple[int, str]], float]:
    barrier = threading.Barrier(n_threads)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
            outcome = "won"
        except Conflict:
            outcome = "conflict"
        except Exception as e:  # anything else is a failure of the test
            outcome = f"error: {type(e).__name__}: {e}"
        with lock:
            results.append((i, outcome))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def _slot_of(i: int) -> B.Slot:
    k = i % SLOTS
    return slot(10 + k // 10, 8 + k % 10, 9 + k % 10)  # 10 one-hour slots a day on two days


def _check_and_report(label: str, exchange: Exchange, iid: int, results: list[tuple[int, str]], secs: float) -> None:
    errors = [o for _, o in results if o.startswith("error")]
    assert not errors, errors[:3]
    winners = Counter(_slot_of(i) for i, o in results if o == "won")
    with exchange.db.transaction(write=False) as s:
        stored = rr.bookings_between(s, iid, at(1, 0), at(31, 0))
    assert len(results) == SLOTS * PER_SLOT
    assert len(winners) == SLOTS and set(winners.values()) == {1}, winners
    assert len(stored) == SLOTS and not any(a.slot.overlaps(b.slot) for a in stored for b in stored if a is not b)
    print(f"\n[{exchange.db.dialect}] {label}: {len(results)} concurrent requests for {SLOTS} slots → "
          f"{sum(winners.values())} winners (1 per slot), {len(results) - sum(winners.values())} refused, {secs:.2f} s")


def test_concurrent_requests_one_winner_per_slot(exchange: Exchange) -> None:
    iid = load_instrument(exchange)
    orgs = list(org_ids(exchange).values())
    svc = Bookings(exchange, clock=lambda: NOW)

    def work(i: int) -> None:
        s = _slot_of(i)
        svc.request(Actor(1000 + i, orgs[i % len(orgs)], Viewer(org_id=orgs[i % len(orgs)], role="member")), iid, s.start, s.end)

    results, secs = _fire(SLOTS * PER_SLOT, work)
    _check_and_report("service", exchange, iid, results, secs)


def test_concurrent_raw_inserts_database_alone_keeps_one_per_slot(exchange: Exchange) -> None:
    """No locks, no checks: only the exclusion constraint (PostgreSQL) / trigger (SQLite) stands between them."""
    iid = load_instrument(exchange)
    orgs = list(org_ids(exchange).values())

    def work(i: int) -> None:
        with exchange.db.transaction() as s:
            rr.insert_booking(s, B.Booking(iid, 1000 + i, orgs[i % len(orgs)], _slot_of(i), "pending"))

    results, secs = _fire(SLOTS * PER_SLOT, work)
    _check_and_report("raw inserts", exchange, iid, results, secs)


def test_a_deadlock_between_overlapping_inserts_is_a_taken_slot() -> None:
    """PostgreSQL may abort one of two transactions that insert overlapping slots at the same
    moment (deadlock_detected, 40P01) instead of reporting the exclusion violation: for the
    user it is the same answer, the slot was just taken."""
    from sqlalchemy.exc import OperationalError

    class Orig(Exception):
        sqlstate = "40P01"

    class Session:
        def add(self, row: Any) -> None:
            pass

        def flush(self) -> None:
            raise OperationalError("INSERT INTO instrument_bookings …", {}, Orig("deadlock detected"))

    with pytest.raises(Conflict) as e:
        rr.insert_booking(Session(), B.Booking(1, 1, 1, slot(10, 9, 11), "approved"))  # type: ignore[arg-type]
    assert "已被预约" in e.value.message.zh and "already booked" in e.value.message.en

    class Other(Exception):
        sqlstate = "57014"  # query_canceled: not a competing booking, not hidden

    class Session2(Session):
        def flush(self) -> None:
            raise OperationalError("INSERT …", {}, Other("canceled"))

    with pytest.raises(OperationalError):
        rr.insert_booking(Session2(), B.Booking(1, 1, 1, slot(10, 9, 11), "approved"))  # type: ignore[arg-type]
