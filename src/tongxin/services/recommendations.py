"""Curated recommendations as people use them (rules: core.recommendations).

- `send`: platform staff pick listings, write a note and choose the audience (organisations, or
  everyone verified in an industry / region); in one transaction the recommendation, one item per
  (organisation, listing) it may receive, and per organisation one notice (services.notices:
  the in-app notification now, and through the outbox one e-mail to each of its people who take
  alert e-mail; key `rec{id}-o{org}`, so never twice), and one signed call to each webhook of each
  recipient organisation (key `wh{hook}-rec{id}`, sent and retried by the alert sender).
- `inbox` / `respond`: a recipient organisation's people see what was recommended to it and
  mark each listing 感兴趣 / 不相关 (the latest answer counts). They see their own answers only.
- `sent` / `responses`: staff see what was sent, the counts, and who answered what.

One transaction per use case; web, API and CLI call these and nothing below them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core import access as acc
from ..core import recommendations as C
from ..core.errors import FieldError, Message, ValidationError
from ..core.listing import Listing
from ..storage import accounts_repo as R
from ..storage import alerts_repo as AR
from ..storage import recommendations_repo as RR
from ..storage import repo
from . import notices
from .exchange import Exchange

CLI_AUTHOR = "平台运营（命令行） / operator (command line)"


@dataclass(frozen=True)
class ListingRef:
    id: int
    title: str
    kind: str


@dataclass(frozen=True)
class Sent:
    """A recommendation as its sender sees it: what, to whom (as chosen), how it was received."""

    id: int
    note: str
    author: str
    created_at: dt.datetime
    listings: list[ListingRef]
    audience: dict[str, Any]
    recipients: int  # organisations that received at least one listing
    counts: dict[str, int]  # interested / not_relevant / unanswered, over all items
    left_out: dict[str, int]  # (organisation, listing) pairs left out, by reason (core.recommendations.LEFT_OUT)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class InboxItem:
    """One recommended listing as the recipient sees it (cut to what it may see now)."""

    listing_id: int
    title: str  # "" when the listing is no longer visible to the recipient
    kind: str
    owner: str
    summary: str
    available: bool  # still published and readable in full
    response: str | None
    responded_by: str | None
    responded_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["responded_at"] = self.responded_at.isoformat() if self.responded_at else None
        return d


@dataclass(frozen=True)
class InboxCard:
    id: int
    note: str
    author: str
    created_at: dt.datetime
    items: list[InboxItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "note": self.note, "author": self.author, "created_at": self.created_at.isoformat(),
                "items": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class Answer:
    """Who answered what (the sender's view of one item)."""

    org_id: int
    org_name: str
    listing_id: int
    listing_title: str
    response: str | None
    responded_by: str | None
    responded_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["responded_at"] = self.responded_at.isoformat() if self.responded_at else None
        return d


@dataclass(frozen=True)
class Responses:
    recommendation: Sent
    per_listing: list[tuple[ListingRef, dict[str, int]]]
    answers: list[Answer]

    def as_dict(self) -> dict[str, Any]:
        return {"recommendation": self.recommendation.as_dict(),
                "per_listing": [{"listing_id": x.id, "title": x.title, "counts": c} for x, c in self.per_listing],
                "answers": [a.as_dict() for a in self.answers]}


@dataclass(frozen=True)
class OrgChoice:
    id: int
    name: str
    region: str
    industry: str
    verified: bool


def _fe(key: str, zh: str, en: str, value: Any = None) -> FieldError:
    return FieldError(key, Message(zh, en), value)


class Recommendations:
    """Curated recommendations. `now` is injectable for tests (a callable returning UTC)."""

    def __init__(self, ex: Exchange, now: Any = None) -> None:
        self.ex = ex
        self.db = ex.db
        self.now = now or AR.now

    # -- sending ----------------------------------------------------------------------------------
    def send(self, viewer: acc.Viewer, raw: Mapping[str, Any]) -> Sent:
        """Validate, resolve the audience, keep what each organisation may receive, store and notify.
        Refused (nothing written) when nobody could receive anything, saying why."""
        C.require_sender(viewer)
        d = C.parse_draft(raw)
        now = self.now()
        with self.db.transaction() as s:
            listings = repo.fetch_listings(s, list(d.listing_ids), self.ex.registry)
            missing = [i for i in d.listing_ids if i not in listings]
            closed = [i for i in d.listing_ids if i in listings and listings[i].status != "published"]
            errs = []
            if missing:
                errs.append(_fe("listing_ids", f"资源 {'、'.join(map(str, missing))} 不存在", f"listing {', '.join(map(str, missing))} does not exist",
                                missing))
            if closed:
                errs.append(_fe("listing_ids", f"资源 {'、'.join(map(str, closed))} 未发布（草稿或已关闭），不能推荐",
                                f"listing {', '.join(map(str, closed))} is not published (a draft or closed); it cannot be recommended", closed))
            chosen = RR.orgs_by_id(s, list(d.org_ids))
            unknown = [o for o in d.org_ids if o not in chosen]
            if unknown:
                errs.append(_fe("org_ids", f"机构 {'、'.join(map(str, unknown))} 不存在", f"organisation {', '.join(map(str, unknown))} does not exist",
                                unknown))
            if errs:
                raise ValidationError.of(errs)
            rows = [chosen[o] for o in d.org_ids] + (RR.orgs_in(s, d.industry, d.region) if d.broadcast else [])
            org_ids = sorted({int(r.id) for r in rows})
            granted = RR.grants(s, org_ids, list(d.listing_ids))
            candidates = [RR.recipient(r, granted.get(int(r.id), frozenset())) for r in rows]
            p = C.plan(d, candidates, listings, RR.already_sent(s, org_ids, list(d.listing_ids)))
            if not p.deliveries:
                raise self._nobody(d, p)
            author = CLI_AUTHOR
            if viewer.user_id is not None:
                ident = R.identity(s, viewer.user_id)
                author = ident.name if ident is not None and ident.name else f"#{viewer.user_id}"
            rec = RR.add(s, viewer.user_id, author, d.note, d.listing_ids, d.audience(), {}, now)
            pairs = [(o, x) for o, xs in p.deliveries.items() for x in xs]
            got = RR.add_items(s, rec.id, pairs, now)
            left = p.left_out_counts()
            left["already_sent"] += len(pairs) - len(got)  # recommended meanwhile, by someone else
            rec.left_out = left
            per_org: dict[int, list[int]] = {}
            for o, x in got:
                per_org.setdefault(o, []).append(x)
            if not per_org:
                raise self._nobody(d, p)
            for o, xs in sorted(per_org.items()):
                titles = [listings[x].title for x in d.listing_ids if x in xs]
                zh, en, mzh, men, link = C.notice(d.note, titles, rec.id)
                notices.post(s, f"rec{rec.id}-o{o}", o, zh, en, link, now, mail_text=(mzh, men))
            _queue_webhooks(s, rec.id, d.note, per_org, d.listing_ids, listings, now)
            s.flush()
            return self._sent(s, [rec], listings)[0]

    @staticmethod
    def _nobody(d: C.Draft, p: C.Plan) -> ValidationError:
        n = p.left_out_counts()
        why_zh = "；".join(f"{C.LEFT_OUT[k][0]} {v} 项" for k, v in n.items() if v)
        why_en = "; ".join(f"{C.LEFT_OUT[k][1]}: {v}" for k, v in n.items() if v)
        key = "org_ids" if d.org_ids else "industry" if d.industry else "region"
        if not p.left_out:
            return ValidationError.of([_fe(key, "所选行业/地区没有已审核的机构，请换一个范围或直接选择机构",
                                           "no verified organisation in that industry / region; widen it or choose organisations")])
        return ValidationError.of([_fe(key, f"没有机构可以接收这些资源（{why_zh}）：接收机构必须能查看资源全文，且以前没有收到过同一资源",
                                       f"no organisation can receive these listings ({why_en}): a recipient must be able to read a "
                                       "listing in full and not have received it before")])

    def _sent(self, s: Any, recs: Sequence[Any], listings: Mapping[int, Listing] | None = None) -> list[Sent]:
        ids = sorted({int(x) for r in recs for x in (r.listing_ids or [])})
        found = dict(listings or {})
        missing = [i for i in ids if i not in found]
        if missing:
            found |= repo.fetch_listings(s, missing, self.ex.registry)
        counts = RR.counts(s, [int(r.id) for r in recs])
        out = []
        for r in recs:
            n_orgs, by = counts.get(int(r.id), (0, {}))
            c = dict.fromkeys((*C.RESPONSES, C.UNANSWERED), 0)
            for resp, n in by.items():
                c[resp if resp in C.RESPONSES else C.UNANSWERED] += n
            refs = [ListingRef(int(x), found[int(x)].title if int(x) in found else f"#{x}", found[int(x)].kind if int(x) in found else "")
                    for x in (r.listing_ids or [])]
            out.append(Sent(int(r.id), r.note, r.author_name, AR.aware(r.created_at), refs, dict(r.audience or {}), n_orgs, c,
                            {k: int(v) for k, v in (r.left_out or {}).items()}))
        return out

    def sent(self, viewer: acc.Viewer, limit: int = 100) -> list[Sent]:
        """Every recommendation sent, newest first, with its counts (staff only)."""
        return self.sent_page(viewer, 1, limit)[0]

    def sent_page(self, viewer: acc.Viewer, page: int = 1, per_page: int = 50) -> tuple[list[Sent], int]:
        """One page of the recommendations sent (newest first, with their counts) and how many there are (staff only)."""
        C.require_sender(viewer)
        page = max(1, page)
        with self.db.transaction(write=False) as s:
            return self._sent(s, RR.recent(s, per_page, (page - 1) * per_page)), RR.count_all(s)

    def responses(self, viewer: acc.Viewer, rec_id: int) -> Responses:
        """How one recommendation was received: counts per listing, and who answered what (staff only:
        a recipient never sees another organisation's answers)."""
        C.require_sender(viewer)
        with self.db.transaction(write=False) as s:
            rec = RR.get(s, rec_id)
            if rec is None:
                raise acc.not_visible("推荐", "recommendation", rec_id)
            sent = self._sent(s, [rec])[0]
            items = RR.items_of(s, [rec_id])
            orgs = RR.orgs_by_id(s, sorted({i.org_id for i in items}))
            names = RR.user_names(s, sorted({i.responded_by for i in items if i.responded_by}))
            titles = {x.id: x.title for x in sent.listings}
            per = [(x, C.tally(i.response for i in items if i.listing_id == x.id)) for x in sent.listings]
            answers = [Answer(i.org_id, orgs[i.org_id].name if i.org_id in orgs else f"#{i.org_id}", i.listing_id, titles.get(i.listing_id, ""),
                              i.response, names.get(i.responded_by or 0), AR.aware(i.responded_at) if i.responded_at else None)
                       for i in sorted(items, key=lambda i: (i.org_id, i.id))]
            return Responses(sent, per, answers)

    # -- the recipient ----------------------------------------------------------------------------
    def inbox(self, viewer: acc.Viewer, limit: int = 50) -> list[InboxCard]:
        """What was recommended to the viewer's organisation, newest first, with its own answers only."""
        return self.inbox_page(viewer, 1, limit)[0]

    def inbox_page(self, viewer: acc.Viewer, page: int = 1, per_page: int = 50) -> tuple[list[InboxCard], int]:
        """One page of the inbox and how many recommendations the organisation received in all."""
        org = acc.require_org(viewer)
        page = max(1, page)
        with self.db.transaction(write=False) as s:
            recs = RR.inbox(s, org, per_page, (page - 1) * per_page)
            total = RR.count_inbox(s, org)
            items = RR.items_of(s, [int(r.id) for r in recs], org_id=org)
            found = repo.fetch_listings(s, sorted({i.listing_id for i in items}), self.ex.registry)
            names = RR.user_names(s, sorted({i.responded_by for i in items if i.responded_by}))
            by_rec: dict[int, list[InboxItem]] = {}
            for i in items:
                by_rec.setdefault(i.recommendation_id, []).append(self._item(viewer, i, found.get(i.listing_id), names))
            return [InboxCard(int(r.id), r.note, r.author_name, AR.aware(r.created_at), by_rec.get(int(r.id), [])) for r in recs], total

    def unanswered(self, viewer: acc.Viewer) -> int:
        """How many recommended listings the viewer's organisation has not answered yet (0 without one)."""
        if viewer.org_id is None or viewer.role not in acc.ORG_ROLES:
            return 0
        with self.db.transaction(write=False) as s:
            return RR.unanswered(s, viewer.org_id)

    def _item(self, viewer: acc.Viewer, i: Any, x: Listing | None, names: Mapping[int, str]) -> InboxItem:
        level = acc.access(viewer, x) if x is not None else acc.Access.NONE
        when = AR.aware(i.responded_at) if i.responded_at else None
        who = names.get(i.responded_by or 0)
        if x is None or level == acc.Access.NONE:
            return InboxItem(i.listing_id, "", "", "", "", False, i.response, who, when)
        shown = acc.redacted(x, level)
        return InboxItem(i.listing_id, shown.title, shown.kind, shown.owner_name, shown.summary,
                         level == acc.Access.FULL and x.status == "published", i.response, who, when)

    def respond(self, viewer: acc.Viewer, rec_id: int, listing_id: int, response: Any) -> InboxItem:
        """Mark one recommended listing interested / not relevant for the viewer's organisation (any of its
        people; the latest answer counts). Only a recipient organisation may answer, and only about a
        listing it still may see."""
        org = acc.require_org(viewer)
        answer = C.parse_response(response)
        with self.db.transaction() as s:
            i = RR.item(s, rec_id, org, listing_id)
            if i is None:
                raise acc.not_visible("推荐", "recommendation", f"{rec_id}/{listing_id}")
            x = repo.fetch_listings(s, [listing_id], self.ex.registry).get(listing_id)
            if x is None or acc.access(viewer, x) == acc.Access.NONE:
                raise acc.not_visible("资源", "listing", listing_id)
            i.response, i.responded_by, i.responded_at = answer, viewer.user_id, self.now()
            s.flush()
            names = RR.user_names(s, [viewer.user_id] if viewer.user_id else [])
            return self._item(viewer, i, x, names)

    # -- the compose page -----------------------------------------------------------------------------
    def candidates(self, viewer: acc.Viewer, q: str = "", orgq: str = "", listing_ids: Sequence[int] = (),
                   org_ids: Sequence[int] = (), limit: int = 20) -> tuple[list[Listing], list[OrgChoice]]:
        """What the compose page offers: published listings found by the words `q` (the one search
        path) plus those already chosen, and organisations found by `orgq` plus those already chosen."""
        C.require_sender(viewer)
        found: list[Listing] = []
        if q.strip():
            _, ms = self.ex.search(q, viewer=viewer, limit=limit, explain=0)
            found = [m.listing for m in ms if m.listing.status == "published"]
        with self.db.transaction(write=False) as s:
            chosen = repo.fetch_listings(s, list(listing_ids), self.ex.registry)
            listings = [chosen[i] for i in listing_ids if i in chosen] + [x for x in found if int(x.id or 0) not in chosen]
            orgs = list(RR.orgs_by_id(s, list(org_ids)).values())
            orgs += [o for o in RR.find_orgs(s, orgq) if int(o.id) not in set(org_ids)]
            return listings, [OrgChoice(int(o.id), o.name, o.region, o.industry or "", bool(o.verified)) for o in orgs]


def _queue_webhooks(s: Any, rec_id: int, note: str, per_org: Mapping[int, Sequence[int]], order: Sequence[int],
                    listings: Mapping[int, Listing], now: dt.datetime) -> int:
    """In the send's transaction: one call per active webhook of each recipient organisation (key
    `wh{hook}-rec{id}`, so never twice), listing only what that organisation received; the alert sender
    signs, sends and retries them like alert calls."""
    hooks = AR.webhooks_of(s, sorted(per_org))
    n = 0
    for h in hooks:
        xs = set(per_org.get(h.org_id, ()))
        items = [{"id": x, "title": listings[x].title, "kind": listings[x].kind, "path": f"/listings/{x}"} for x in order if x in xs]
        body = json.dumps({"event": "recommendation", "recommendation_id": rec_id, "note": note, "listings": items,
                           "path": f"/my/recommendations#rec{rec_id}"}, ensure_ascii=False, sort_keys=True)
        n += AR.add_delivery(s, h.id, f"wh{h.id}-rec{rec_id}", "recommendation", body, now)
    return n
