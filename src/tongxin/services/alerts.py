"""Alerts as people use them: preferences, saved searches and follows, and turning events into
alert items (who hears about which listing). Sending is services.alert_sender.

Events come from the outbox (written in the transaction that published the listing, see
Exchange.save_listing). For a published listing L:

- **match**: the counterparts of L found by the one match path (`Exchange.match`) at a band
  of at least the person's minimum; every person of each counterpart's organisation hears of L;
- **publisher**: the people of L's organisation hear of the counterparts that already match;
- **follows**: people following L's organisation, industry or region hear of L.

Saved searches are evaluated per subscription, not per event, against the listings published
since the subscription was last evaluated (instant: every pass; daily and weekly: when their
digest is due). Only those new listings are scored (`Exchange.search_among`), once per
(words, kind, visibility class) however many subscriptions share them.

Every item passes `core.alerts.may_alert` for its recipient, and the delivered log is unique
on (recipient, listing): nobody hears of the same listing twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..core import access as acc
from ..core import alerts as A
from ..core.errors import FieldError, Message, ValidationError
from ..core.listing import Listing
from ..core.matching.relevance import BANDS, band
from ..storage import accounts_repo as R
from ..storage import alerts_repo as AR
from ..storage import repo
from ..storage.models_alerts import OutboxRow, SubscriptionRow
from . import filters as F
from .accounts import viewer_of
from .exchange import Exchange

log = logging.getLogger(__name__)

MATCH_DEPTH = 50  # counterparts considered per published listing
STORE_BATCH = 200  # saved searches whose items are stored in one transaction
EVENT_BATCH = 20
TOPIC_PUBLISHED = "listing.published"


def secret_key(data_dir: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """TONGXIN_SECRET_KEY, else a key generated once and kept in DATA_DIR/secret_key (0600)."""
    from ..settings import setting

    e = dict(os.environ if env is None else env)
    key = setting("TONGXIN_SECRET_KEY", e)
    if key:
        return key
    path = os.path.join(os.path.abspath(data_dir or setting("TONGXIN_DATA_DIR", e)), "secret_key")
    try:
        with open(path, encoding="utf-8") as f:
            key = f.read().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key)
    return key


@dataclass
class PassReport:
    """What one pass of due work did (for `tongxin alerts run` and the logs)."""

    events: int = 0
    events_failed: int = 0
    items: int = 0
    searches: int = 0  # saved-search scorings (one per words, kind and visibility class)
    subscriptions_evaluated: int = 0
    mails_composed: int = 0
    notices: int = 0  # reminders found by the scan (services.notices)
    no_shows: int = 0  # bookings released as no-shows (services.billing)
    waitlist_offers: int = 0  # freed slots offered to the waitlist
    mails_sent: int = 0
    mails_retry: int = 0
    mails_failed: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fe(key: str, zh: str, en: str) -> FieldError:
    return FieldError(key, Message(zh, en))


def sub_dict(r: SubscriptionRow) -> dict[str, Any]:
    return {"id": r.id, "type": r.type, "kind": r.kind, "q": r.q, "filters": r.filters or {}, "target": r.target,
            "min_band": r.min_band, "frequency": r.frequency, "created_at": AR.aware(r.created_at).isoformat()}


def prefs_dict(p: A.Preferences, source: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"frequency": p.frequency.value, "min_band": p.min_band, "kinds": list(p.kinds), "regions": list(p.regions),
                         "email": p.email}
    if source is not None:
        d["source"] = source
    return d


# where a person's settings in effect come from
SOURCE_OWN, SOURCE_ORG, SOURCE_PLATFORM = "own", "organisation", "platform"
ORG_PREF_KEYS = ("frequency", "min_band", "kinds", "regions")


def org_prefs_dict(org_id: int, p: A.Preferences | None) -> dict[str, Any]:
    q = p or A.DEFAULT_PREFERENCES
    return {"org_id": org_id, "set": p is not None, "frequency": q.frequency.value, "min_band": q.min_band, "kinds": list(q.kinds),
            "regions": list(q.regions)}


class Alerts:
    """Finding alert items. `now` is injectable for tests and benchmarks (a callable returning UTC)."""

    def __init__(self, ex: Exchange, now: Any = None) -> None:
        self.ex = ex
        self.db = ex.db
        self.now = now or AR.now
        # other outbox topics and who handles them (in the event's write transaction; returns the
        # mails made): services.alert_sender registers the notices' mail
        self.handlers: dict[str, Callable[[Any, Mapping[str, Any]], int]] = {}

    # -- preferences ----------------------------------------------------------------------------
    def preferences(self, viewer: acc.Viewer) -> A.Preferences:
        acc.require_signed_in(viewer)
        with self.db.transaction(write=False) as s:
            return AR.prefs(s, [int(viewer.user_id or 0)])[int(viewer.user_id or 0)]

    def preferences_source(self, viewer: acc.Viewer) -> str:
        """Where the settings in effect come from: the person's own, their organisation's defaults, or the platform's."""
        acc.require_signed_in(viewer)
        with self.db.transaction(write=False) as s:
            uid = int(viewer.user_id or 0)
            if AR.has_own_prefs(s, uid):
                return SOURCE_OWN
            org = AR.orgs_of_users(s, [uid]).get(uid)
            return SOURCE_ORG if org is not None and AR.org_prefs(s, [org]) else SOURCE_PLATFORM

    def set_preferences(self, viewer: acc.Viewer, raw: Mapping[str, Any]) -> A.Preferences:
        """The person's own settings (keys not given keep the values in effect); they override the organisation's defaults."""
        acc.require_signed_in(viewer)
        p = self._parse_prefs(raw, self.preferences(viewer))
        with self.db.transaction() as s:
            AR.save_prefs(s, int(viewer.user_id or 0), p)
        return p

    def reset_preferences(self, viewer: acc.Viewer) -> A.Preferences:
        """Drop the person's own settings: they take their organisation's defaults (or the platform's) again."""
        acc.require_signed_in(viewer)
        with self.db.transaction() as s:
            AR.forget_prefs(s, int(viewer.user_id or 0))
        return self.preferences(viewer)

    def _parse_prefs(self, raw: Mapping[str, Any], cur: A.Preferences) -> A.Preferences:
        return A.Preferences(
            frequency=A.parse_frequency(raw["frequency"]) if "frequency" in raw else cur.frequency,
            min_band=A.parse_band(raw["min_band"]) if "min_band" in raw else cur.min_band,
            kinds=self._kinds(raw["kinds"]) if "kinds" in raw else cur.kinds,
            regions=self._regions(raw["regions"]) if "regions" in raw else cur.regions,
            email=_truthy(raw["email"]) if "email" in raw else cur.email,
        )

    # -- the organisation's defaults --------------------------------------------------------------
    def org_preferences(self, viewer: acc.Viewer) -> dict[str, Any]:
        """The defaults of the viewer's organisation (any of its people may read them)."""
        org_id = acc.require_org(viewer)
        with self.db.transaction(write=False) as s:
            return org_prefs_dict(org_id, AR.org_prefs(s, [org_id]).get(org_id))

    def set_org_preferences(self, viewer: acc.Viewer, raw: Mapping[str, Any]) -> dict[str, Any]:
        """An organisation administrator sets the defaults its people take until they set their own:
        kinds, regions, minimum band, frequency (e-mail or not stays each person's choice)."""
        org_id = acc.require_org(viewer)
        acc.require_manage_org(viewer, org_id)
        unknown = [k for k in raw if k not in ORG_PREF_KEYS]
        if unknown:
            raise ValidationError.of([_fe(k, f"机构默认提醒设置没有“{k}”这一项；可设置 {'、'.join(ORG_PREF_KEYS)}（是否发邮件由每人自己决定）",
                                          f"'{k}' is not an organisation default; set {', '.join(ORG_PREF_KEYS)} (e-mail is each person's choice)")
                                      for k in unknown])
        with self.db.transaction(write=False) as s:
            cur = AR.org_prefs(s, [org_id]).get(org_id) or A.DEFAULT_PREFERENCES
        p = dataclasses.replace(self._parse_prefs(raw, cur), email=True)
        with self.db.transaction() as s:
            AR.save_org_prefs(s, org_id, p)
        return org_prefs_dict(org_id, p)

    def reset_org_preferences(self, viewer: acc.Viewer) -> dict[str, Any]:
        """Drop the organisation's defaults: its people without their own take the platform's."""
        org_id = acc.require_org(viewer)
        acc.require_manage_org(viewer, org_id)
        with self.db.transaction() as s:
            AR.forget_org_prefs(s, org_id)
        return org_prefs_dict(org_id, None)

    def _kinds(self, raw: Any) -> tuple[str, ...]:
        vals = _list(raw)
        known = set(self.ex.registry.names())
        bad = [v for v in vals if v not in known]
        if bad:
            raise ValidationError.of([_fe("kinds", f"未知的资源类型：{'、'.join(bad)}；可选 {'、'.join(sorted(known))}",
                                          f"unknown kinds: {', '.join(bad)}; choose from {', '.join(sorted(known))}")])
        return tuple(vals)

    @staticmethod
    def _regions(raw: Any) -> tuple[str, ...]:
        vals = _list(raw)
        bad = [v for v in vals if not (v.isdigit() and len(v) in (2, 4, 6))]
        if bad:
            raise ValidationError.of([_fe("regions", f"地区应为 GB/T 2260 代码的前 2、4 或 6 位，如 12（天津）、1201：{'、'.join(bad)}",
                                          f"regions are GB/T 2260 code prefixes of 2, 4 or 6 digits, e.g. 12 (Tianjin): {', '.join(bad)}")])
        return tuple(vals)

    # -- subscriptions --------------------------------------------------------------------------
    def subscriptions(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        acc.require_signed_in(viewer)
        with self.db.transaction(write=False) as s:
            return [sub_dict(r) for r in AR.subscriptions(s, int(viewer.user_id or 0))]

    def _own(self, s: Any, viewer: acc.Viewer, sub_id: int) -> SubscriptionRow:
        r = s.get(SubscriptionRow, sub_id)
        if r is None or r.user_id != viewer.user_id:
            raise acc.not_visible("订阅", "subscription", sub_id)
        return r

    def _clean(self, raw: Mapping[str, Any], cur: SubscriptionRow | None = None) -> dict[str, Any]:
        typ = str(raw.get("type", cur.type if cur else A.SubType.SEARCH.value) or A.SubType.SEARCH.value)
        try:
            sub_type = A.SubType(typ)
        except ValueError:
            raise ValidationError.of([_fe("type", f"订阅类型“{typ}”无效，请填写 {'、'.join(t.value for t in A.SubType)}",
                                          f"subscription type '{typ}' is not valid; use one of {', '.join(t.value for t in A.SubType)}")]) from None
        kind = raw.get("kind", cur.kind if cur else None) or None
        if kind is not None and kind not in self.ex.registry.names():
            raise ValidationError.of([_fe("kind", f"未知的资源类型“{kind}”", f"unknown kind '{kind}'")])
        q = str(raw.get("q", cur.q if cur else "") or "").strip()[:500]
        flt = raw.get("filters", cur.filters if cur else {}) or {}
        if not isinstance(flt, Mapping):
            raise ValidationError.of([_fe("filters", "筛选条件应为对象，如 {\"budget\": 300}", "filters must be an object, e.g. {\"budget\": 300}")])
        flt = {str(k): v for k, v in flt.items()}
        F.parse_filters({**flt, **({"kind": kind} if kind else {})}, self.ex.registry)  # refuses unknown or bad filters, naming them
        target = str(raw.get("target", cur.target if cur else "") or "").strip()
        if sub_type == A.SubType.SEARCH and not q and not flt and not kind:
            raise ValidationError.of([_fe("q", "保存的搜索需要关键词、资源类型或筛选条件", "a saved search needs words, a kind or filters")])
        if sub_type == A.SubType.FOLLOW_ORG and not target.isdigit():
            raise ValidationError.of([_fe("target", "请填写要关注的机构 ID", "give the id of the organisation to follow")])
        if sub_type == A.SubType.FOLLOW_REGION:
            self._regions([target])
        if sub_type == A.SubType.FOLLOW_INDUSTRY and not (target[:1].isalpha() and target[:1].isupper() and len(target) <= 5):
            raise ValidationError.of([_fe("target", "行业应为 GB/T 4754 门类或大类代码，如 C 或 C37", "an industry is a GB/T 4754 section or division code, e.g. C or C37")])
        freq = A.parse_frequency(raw.get("frequency", cur.frequency if cur else A.Frequency.DAILY.value))
        min_band = A.parse_band(raw.get("min_band", cur.min_band if cur else "possible"))
        return {"type": sub_type.value, "kind": kind, "q": q, "filters": flt, "target": target, "frequency": freq.value, "min_band": min_band}

    def subscribe(self, viewer: acc.Viewer, raw: Mapping[str, Any]) -> dict[str, Any]:
        acc.require_signed_in(viewer)
        v = self._clean(raw)
        with self.db.transaction() as s:
            if v["type"] == A.SubType.FOLLOW_ORG.value:
                from ..storage.models import OrganisationRow

                if s.get(OrganisationRow, int(v["target"])) is None:
                    raise acc.not_visible("机构", "organisation", v["target"])
            row = SubscriptionRow(user_id=viewer.user_id, created_at=self.now(), checked_upto=AR.last_event_id(s), **v)
            s.add(row)
            s.flush()
            return sub_dict(row)

    def change(self, viewer: acc.Viewer, sub_id: int, raw: Mapping[str, Any]) -> dict[str, Any]:
        acc.require_signed_in(viewer)
        with self.db.transaction() as s:
            row = self._own(s, viewer, sub_id)
            for k, val in self._clean(raw, row).items():
                setattr(row, k, val)
            s.flush()
            return sub_dict(row)

    def unsubscribe(self, viewer: acc.Viewer, sub_id: int) -> None:
        acc.require_signed_in(viewer)
        with self.db.transaction() as s:
            s.delete(self._own(s, viewer, sub_id))

    # -- events → items -------------------------------------------------------------------------
    def process_events(self, report: PassReport, limit: int = EVENT_BATCH) -> None:
        """Claim outbox events and turn each into alert items (one transaction per event for the
        writes; the matching before it reads only). A failing event is retried with backoff and
        marked failed after MAX_ATTEMPTS, with its error kept."""
        with self.db.transaction() as s:
            events = [(e.id, e.topic, dict(e.payload or {}), e.attempts)
                      for e in AR.claim_events(s, limit, self.now(), topics=[TOPIC_PUBLISHED, *self.handlers])]
        for eid, topic, payload, attempts in events:
            try:
                rows = self._items_for(eid, payload) if topic == TOPIC_PUBLISHED else []
                with self.db.transaction() as s:
                    report.items += self._store(s, rows)
                    if topic in self.handlers:
                        report.mails_composed += self.handlers[topic](s, payload)
                    e = s.get(OutboxRow, eid)
                    if e is not None:
                        e.done_at, e.locked_until = self.now(), None
                report.events += 1
            except Exception as exc:  # one bad event must not stop the others
                log.exception("alert event %s failed", eid)
                retry = A.retry_at(attempts + 1, self.now())
                with self.db.transaction() as s:
                    e = s.get(OutboxRow, eid)
                    if e is not None:
                        e.attempts, e.last_error, e.locked_until = attempts + 1, f"{type(exc).__name__}: {exc}"[:2000], None
                        if retry is None:
                            e.failed, e.done_at = True, self.now()
                            report.events_failed += 1
                            report.errors.append(f"event {eid}: {exc}")
                        else:
                            e.available_at = retry

    def _viewers(self, s: Any, user_ids: Sequence[int]) -> dict[int, acc.Viewer]:
        out = {}
        for u in user_ids:
            ident = R.identity(s, u)
            if ident is not None:
                out[u] = viewer_of(ident)
        return out

    def _items_for(self, event_id: int, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        lid = int(payload["listing_id"])
        try:
            x, _ = self.ex.get(lid, acc.SYSTEM)
        except Exception:  # deleted since: nothing to tell
            return []
        if x.status != "published":
            return []
        _, ms = self.ex.match(lid, acc.SYSTEM, limit=MATCH_DEPTH)
        floor = BANDS[-1].floor
        ms = [m for m in ms if m.explanation.relevance >= floor]
        now = self.now()
        rows: list[dict[str, Any]] = []
        with self.db.transaction(write=False) as s:
            best: dict[int, tuple[float, Listing]] = {}  # counterpart org → strongest own listing that L matches
            for m in ms:
                o = int(m.listing.owner_id or 0)
                if o and o != x.owner_id and m.explanation.relevance > best.get(o, (-1.0, m.listing))[0]:
                    best[o] = (m.explanation.relevance, m.listing)
            org_ids = sorted(set(best) | {int(x.owner_id or 0)})
            members = AR.members_of(s, org_ids)
            uids = sorted({u for o in org_ids for u, _ in members[o]})
            follows = [r for r in self._follow_subs(s, x) if r.checked_upto < event_id]  # a follow starts when it is made
            uids = sorted(set(uids) | {r.user_id for r in follows})
            prefs = AR.prefs(s, uids)
            viewers = self._viewers(s, uids)
            # match: the people of each counterpart organisation hear of L
            for o, (rel, mine) in best.items():
                for u, _ in members[o]:
                    p, v = prefs[u], viewers.get(u)
                    if v and A.wants(p, x) and A.reaches(rel, p.min_band) and A.may_alert(v, x):
                        rows.append(self._row(u, lid, "match", p, now, rel, about=mine.id))
            # publisher: L's people hear of what already matches
            for u, _ in members.get(int(x.owner_id or 0), []):
                p, v = prefs[u], viewers.get(u)
                if v is None:
                    continue
                for m in ms:
                    c, rel = m.listing, m.explanation.relevance
                    if A.wants(p, c) and A.reaches(rel, p.min_band) and A.may_alert(v, c):
                        rows.append(self._row(u, int(c.id or 0), "publisher", p, now, rel, about=lid))
            # follows
            for r in follows:
                v = viewers.get(r.user_id)
                p = dataclasses.replace(prefs[r.user_id], frequency=A.Frequency(r.frequency))
                if v and A.may_alert(v, x):
                    rows.append(self._row(r.user_id, lid, r.type, p, now, None, sub=r.id))
        return rows

    def _follow_subs(self, s: Any, x: Listing) -> list[SubscriptionRow]:
        ind = [x.industry[:n] for n in range(1, len(x.industry) + 1)]
        reg = [x.region[:n] for n in (2, 4, 6)]
        q = select(SubscriptionRow).where(SubscriptionRow.frequency != A.Frequency.OFF.value, (
            ((SubscriptionRow.type == A.SubType.FOLLOW_ORG.value) & (SubscriptionRow.target == str(x.owner_id)))
            | ((SubscriptionRow.type == A.SubType.FOLLOW_INDUSTRY.value) & SubscriptionRow.target.in_(ind))
            | ((SubscriptionRow.type == A.SubType.FOLLOW_REGION.value) & SubscriptionRow.target.in_(reg))))
        return [r for r in s.scalars(q) if A.follows(A.SubType(r.type), r.target, x)]

    @staticmethod
    def _row(user_id: int, listing_id: int, reason: str, p: A.Preferences, now: dt.datetime, rel: float | None,
             about: int | None = None, sub: int | None = None, due: dt.datetime | None = None) -> dict[str, Any]:
        b = band(rel) if rel is not None else None
        return {"user_id": user_id, "listing_id": listing_id, "reason": reason, "about_listing_id": about, "subscription_id": sub,
                "relevance": None if rel is None else round(rel, 4), "band": b.key if b else None, "frequency": p.frequency.value,
                "created_at": now, "due_at": due or A.due_at(p.frequency, now), "mail_id": None, "skipped": not p.email}

    def _store(self, s: Any, rows: Sequence[dict[str, Any]]) -> int:
        """Keep one row per (user, listing), the first reason of REASON_ORDER; insert those not in
        the log yet; one in-app notification per organisation and listing."""
        by_key: dict[tuple[int, int], dict[str, Any]] = {}
        for r in rows:
            k = (r["user_id"], r["listing_id"])
            if k not in by_key or A.REASON_ORDER.index(r["reason"]) < A.REASON_ORDER.index(by_key[k]["reason"]):
                by_key[k] = r
        if not by_key:
            return 0
        old = AR.seen(s, sorted({u for u, _ in by_key}), sorted({x for _, x in by_key}))
        new = [r for k, r in by_key.items() if k not in old]
        n = AR.add_items(s, new)
        self._notify(s, new)
        from .alert_sender import queue_webhooks

        queue_webhooks(s, new, self.now())
        return n

    def _notify(self, s: Any, rows: Sequence[dict[str, Any]]) -> None:
        orgs: dict[tuple[int, int], dict[str, Any]] = {}
        org_of = AR.orgs_of_users(s, sorted({r["user_id"] for r in rows}))
        for r in rows:
            if r["user_id"] in org_of:
                orgs.setdefault((org_of[r["user_id"]], r["listing_id"]), r)
        titles = AR.listing_titles(s, sorted({x for _, x in orgs}))
        for (org_id, lid), r in orgs.items():
            t = titles.get(lid)
            if t is None:
                continue
            zh, en = A.REASON_LABELS[r["reason"]]
            b = next((bb for bb in BANDS if bb.key == r["band"]), None)
            R.notify(s, org_id, f"新提醒：“{t.title}”{zh}" + (f"（{b.zh}）" if b else ""),
                     f"new alert: '{t.title}' {en}" + (f" ({b.en})" if b else ""), f"/listings/{lid}")

    # -- saved searches -------------------------------------------------------------------------
    def evaluate_searches(self, report: PassReport, limit: int = 100_000) -> None:
        """Each saved search whose turn has come gets the listings published since it was last
        evaluated (the outbox ids in (checked_upto, last]) that it finds at its minimum band.

        Only those new listings are scored (`Exchange.search_among`), not the whole index, and
        subscriptions with the same words, kind and visibility class share one scoring: the
        relevance of a listing depends on the query and the listing only, so each subscription
        gets exactly what its own search over the whole index, as deep as needed, would find
        among its new listings (tests/test_alerts_digest.py compares the two). Then, per
        subscription: its filters, its minimum band and `may_alert` for its owner."""
        now = self.now()
        with self.db.transaction(write=False) as s:
            last = AR.last_event_id(s)
            subs = [r for r in AR.subscriptions(s, types=[A.SubType.SEARCH.value], active_only=True) if r.checked_upto < last][:limit]
            if not subs:
                return
            lo = min(r.checked_upto for r in subs)
            events = [(int(eid), AR.aware(at), int((pl or {}).get("listing_id", 0)))
                      for eid, at, pl in s.execute(select(OutboxRow.id, OutboxRow.created_at, OutboxRow.payload)
                                                   .where(OutboxRow.id > lo, OutboxRow.id <= last, OutboxRow.topic == TOPIC_PUBLISHED)
                                                   .order_by(OutboxRow.id))]
            viewers = self._viewers(s, sorted({r.user_id for r in subs}))
            prefs = AR.prefs(s, sorted({r.user_id for r in subs}))
            subs_v = [_SavedSearch(r.id, r.user_id, r.kind, r.q, dict(r.filters or {}), r.min_band, A.Frequency(r.frequency), r.checked_upto)
                      for r in subs]
        due: list[tuple[_SavedSearch, frozenset[int], int]] = []  # subscription, its new listing ids, the last event it covers
        window: dict[int, tuple[dt.datetime, frozenset[int], int] | None] = {}  # checked_upto → (first, new ids, last): shared, not copied
        for sub in subs_v:
            if sub.upto not in window:
                mine = [(eid, at, lid) for eid, at, lid in events if eid > sub.upto]
                window[sub.upto] = (min(at for _, at, _ in mine), frozenset(lid for _, _, lid in mine), max(eid for eid, _, _ in mine)) if mine else None
            w = window[sub.upto]
            if w is None:
                continue
            if sub.frequency != A.Frequency.INSTANT and A.due_at(sub.frequency, w[0]) > now:
                continue  # a digest subscription waits for its digest; evaluated then, its items are due at once
            due.append((sub, w[1], w[2]))
        if not due:
            return
        with self.db.transaction(write=False) as s:
            found = repo.fetch_listings(s, sorted(set().union(*(ids for _, ids, _ in due))), self.ex.registry)
        # one scoring per (words, kind, visibility class), over the new listings of all its subscriptions;
        # each group is scored, turned into its subscriptions' items and let go before the next
        groups: dict[tuple[str, str | None, tuple[str, ...]] | None, list[tuple[_SavedSearch, frozenset[int], int]]] = {}
        for d in due:
            v = viewers.get(d[0].user_id)
            groups.setdefault((d[0].q, d[0].kind, acc.visible_levels(v)) if v is not None and d[0].q else None, []).append(d)
        floor = BANDS[-1].floor
        batch: list[tuple[int, list[dict[str, Any]], int]] = []
        for key, members in groups.items():
            scored: dict[int, float | None]
            if key is None:  # no words (or nobody to tell): every new listing, then each subscription's kind and filters
                scored = dict.fromkeys(set().union(*(ids for _, ids, _ in members)))
            else:
                q, kind, vis = key
                pool = sorted(set().union(*(ids for _, ids, _ in members)))
                ms = self.ex.search_among(q, [found[i] for i in pool if i in found], kind, vis)
                scored = {int(m.listing.id or 0): m.explanation.relevance for m in ms if m.explanation.relevance >= floor}
                report.searches += 1
            for sub, ids, upto in members:
                batch.append((sub.id, self._saved_search_rows(sub, viewers.get(sub.user_id), prefs[sub.user_id], ids, scored, found, now,
                                                              report), upto))
                if len(batch) >= STORE_BATCH:
                    self._store_searches(batch, report)
                    batch = []
        self._store_searches(batch, report)

    def _saved_search_rows(self, sub: _SavedSearch, v: acc.Viewer | None, prefs: A.Preferences, ids: frozenset[int],
                           scored: Mapping[int, float | None], found: Mapping[int, Listing], now: dt.datetime,
                           report: PassReport) -> list[dict[str, Any]]:
        """One subscription's items: its new listings that were scored (its kind, its band), pass its
        filters, and its owner may be told of."""
        if v is None:
            return []
        report.subscriptions_evaluated += 1
        p = dataclasses.replace(prefs, frequency=sub.frequency)
        f = F.parse_filters({**sub.filters, **({"kind": sub.kind} if sub.kind else {})}, self.ex.registry)
        out = []
        for lid in sorted(ids & scored.keys()):
            x, rel = found.get(lid), scored[lid]
            if x is None or (sub.kind is not None and x.kind != sub.kind) or (rel is not None and not A.reaches(rel, sub.min_band)):
                continue
            if A.may_alert(v, x) and F.passes(x, f, self.ex.registry):
                out.append(self._row(sub.user_id, lid, A.SubType.SEARCH.value, p, now, rel, sub=sub.id, due=now))
        return out

    def _store_searches(self, batch: Sequence[tuple[int, list[dict[str, Any]], int]], report: PassReport) -> None:
        """The items of several saved searches and how far each is evaluated, in one transaction."""
        if not batch:
            return
        with self.db.transaction() as s:
            report.items += self._store(s, [r for _, rows, _ in batch for r in rows])
            AR.mark_checked(s, {sid: upto for sid, _, upto in batch})


@dataclass(frozen=True)
class _SavedSearch:
    id: int
    user_id: int
    kind: str | None
    q: str
    filters: dict[str, Any]
    min_band: str
    frequency: A.Frequency
    upto: int


def _list(raw: Any) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").replace(";", ",").split(",")
    if not isinstance(raw, list | tuple):
        raise ValidationError.of([_fe("kinds", "应为列表或以逗号分隔的文字", "expected a list or comma-separated text")])
    return [str(v).strip() for v in raw if str(v).strip()]


def _truthy(raw: Any) -> bool:
    return raw is True or str(raw).strip().lower() in ("1", "true", "on", "yes")
