"""Listings as people use them: publish / edit / draft / close / reopen (owner only), browse and
search with filters and facets, matches, grants of confidential listings, reports, moderation
and exports. Reads go through `Exchange` with the viewer and are redacted by `core.access`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import industries, regions
from ..core.accounts import REPORT_REASONS
from ..core.clock import local_today
from ..core.errors import Message, ValidationError
from ..core.fields import AttrField, display_value
from ..core.kinds import KindSpec
from ..core.listing import Listing, ListingFilter, validate_listing
from ..core.matching.fit import MatchContext
from ..core.matching.rank import Match
from ..core.matching.relevance import SHOW_FLOOR
from ..core.text.analyzer import normalise
from ..storage import accounts_repo as R
from ..storage import repo
from . import filters
from .certification import claim_warning, require_licensed_claim
from .evidence import with_evidence
from .exchange import Exchange
from .filters import SearchFilters
from .result_cache import ResultCache
from .result_cache import from_settings as result_cache_from_settings

# Common listing fields of every form: key, zh, en, type, required, help zh, help en
COMMON_FIELDS: tuple[AttrField, ...] = (
    AttrField("title", "标题", "title", "str", required=True, max=120, help_zh="一句话说明，最多 120 字", help_en="one line, at most 120 characters"),
    AttrField("description", "详细描述", "description", "text", required=True, max=5000),
    AttrField("keywords", "关键词", "keywords", "str", help_zh="用 ; 或 、 分隔，最多 20 个", help_en="separated by ; — at most 20"),
    AttrField("industry", "所属行业", "industry", "str", required=True, help_zh="GB/T 4754-2017 大类代码，如 C37", help_en="GB/T 4754-2017 division, e.g. C37"),
    AttrField("region", "所在地区", "region", "str", required=True, help_zh="GB/T 2260 代码或名称，如 120114 或 武清区", help_en="GB/T 2260 code or name, e.g. 120114"),
    AttrField("visibility", "可见范围", "visibility", "enum", required=True,
              help_zh="保密：会员只看到标题和公开摘要，授权机构可看全文", help_en="confidential: members see the title and summary; granted organisations see everything"),
    AttrField("summary", "公开摘要", "public summary", "text", max=1000, help_zh="保密资源对会员展示的非保密摘要", help_en="the non-confidential summary members see"),
    AttrField("valid_from", "有效期起", "valid from", "date"),
    AttrField("valid_until", "有效期止", "valid until", "date"),
)


def common_fields() -> tuple[AttrField, ...]:
    from ..core.vocab import VISIBILITIES

    return tuple(AttrField(f.key, f.zh, f.en, f.type, f.required, f.min, f.max, VISIBILITIES, f.searchable, f.help_zh, f.help_en)
                 if f.key == "visibility" else f for f in COMMON_FIELDS)


@dataclass(frozen=True)
class Shown:
    """A listing as one viewer may see it (already redacted) and what that viewer may do with it."""

    listing: Listing
    level: acc.Access
    can_edit: bool = False
    can_interest: bool = False
    can_report: bool = False
    pending: bool = False  # waiting for its organisation's verification
    hidden: bool = False  # hidden by an operator
    match: Match | None = None
    warnings: list[Message] = field(default_factory=list)  # e.g. a mark claim whose licence lapsed


@dataclass
class SearchResult:
    items: list[Shown]
    facets: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)  # name → (value, zh, en, count)
    total: int = 0
    terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ListingPage:
    """What the listing page shows, read in one unit of work (Listings.listing_page)."""

    shown: Shown
    matches: list[Shown]  # counterparts, when the viewer may read the listing in full and it is published
    grants: dict[str, Any] | None  # the owner's grants and their log (None: not the owner)


def visible_terms(terms: Sequence[str], shown: Sequence[Shown], registry: Any) -> list[str]:
    """The query terms echoed to a viewer: only those that occur in a result the viewer sees in
    full. The segmentation learns words from every indexed listing (confidential ones too), so
    echoing the raw terms would reveal a hidden listing's words, even after it closed."""
    texts = [normalise(" ".join(x.listing.search_text(registry.get(x.listing.kind)).values()))
             for x in shown if x.level == acc.Access.FULL]
    return [t for t in terms if any(normalise(t) in tx for tx in texts)]


def parse_filters(raw: Mapping[str, Any], ex: Exchange) -> SearchFilters:
    """The search parameters (see services/filters.py: the kinds' fields declare theirs)."""
    return filters.parse_filters(raw, ex.registry)


def _facets(items: list[Shown], ex: Exchange) -> dict[str, list[tuple[str, str, str, int]]]:
    counts: dict[str, dict[str, int]] = {"kind": {}, "side": {}, "region": {}, "industry": {}}
    for s in items:
        x = s.listing
        prov = x.region[:2] + "0000"
        sec = industries.section_of(x.industry) or x.industry
        for name, value in (("kind", x.kind), ("side", x.side), ("region", prov), ("industry", sec)):
            counts[name][value] = counts[name].get(value, 0) + 1

    def lab(name: str, v: str) -> tuple[str, str]:
        if name == "kind":
            spec = ex.registry.get(v)
            return spec.zh, spec.en
        if name == "side":
            return ("供给", "offer") if v == "offer" else ("需求", "need")
        if name == "region":
            return regions.label(v), regions.label(v, "en")
        return industries.label(v), industries.label(v, "en")

    return {name: sorted(((v, *lab(name, v), n) for v, n in c.items()), key=lambda t: -t[3]) for name, c in counts.items()}


def fetch(ex: Exchange, viewer: acc.Viewer, listing_id: int) -> tuple[Listing, acc.Access]:
    """Exchange.get, but a missing listing answers exactly like an invisible one."""
    from ..core.errors import NotFound

    try:
        return ex.get(listing_id, viewer)
    except NotFound:
        raise acc.not_visible("资源", "listing", listing_id) from None


class Listings:
    def __init__(self, ex: Exchange, results: ResultCache | None = None) -> None:
        self.ex = ex
        self.db = ex.db
        self.results = results if results is not None else result_cache_from_settings()  # rendered public answers

    # -- cached answers (services.result_cache; served by web/answer_cache) -------------------
    def answer_key_is_cheap(self) -> bool:
        """`answer_key` would neither read the database nor reload the index now (a stat at most):
        the web layer may then compute it on its event loop instead of a worker thread."""
        semantic_settled = getattr(self.ex.semantic, "settled", None)
        return self.ex.index.settled() and (semantic_settled is None or bool(semantic_settled()))

    def answer_key(self, viewer: acc.Viewer, what: tuple[Hashable, ...], ctx: MatchContext | None = None) -> Hashable | None:
        """The result cache's key of a read by this viewer, or None (not cached: the viewer's
        answers are their own, or the cache is off). `what` names the request completely (the
        API's path and raw query string). Brings the index up to date first, so the key's
        watermark is the one the answer would be computed from; the key also holds the day
        (expiry), the corridor preference and the viewer class."""
        ctx = ctx or MatchContext()
        cls = acc.cache_class(viewer)
        if cls is None or self.results.size == 0:
            return None
        self.ex.index.maybe_sync()
        return (*what, cls, ctx.today, ctx.prefer_corridor, self.ex.watermark())

    # -- showing --------------------------------------------------------------------------------
    def _read(self, s: Session, viewer: acc.Viewer, listing_id: int) -> tuple[Listing, acc.Decision]:
        """The listing read once in `s` and what the viewer may do with it, decided once; a
        missing listing answers exactly like an invisible one."""
        from ..core.errors import NotFound

        try:
            x = repo.fetch_listing(s, listing_id, self.ex.registry)
        except NotFound:
            raise acc.not_visible("资源", "listing", listing_id) from None
        d = acc.decide(viewer, x)
        if d.level == acc.Access.NONE:
            raise acc.not_visible("资源", "listing", listing_id)
        return x, d

    @staticmethod
    def _shown_as(x: Listing, d: acc.Decision, mod: Any, match: Match | None = None) -> Shown:
        return Shown(acc.redacted(x, d.level), d.level, can_edit=d.can_edit, can_interest=d.can_interest, can_report=d.can_report,
                     pending=bool(mod and mod.publish_on_verify), hidden=bool(mod and mod.hidden), match=match)

    def _shown(self, viewer: acc.Viewer, xs: Iterable[Listing], matches: dict[int, Match] | None = None,
               session: Session | None = None) -> list[Shown]:
        """The listings this viewer may see, as they may see them (one access decision each), with
        their moderation state read in `session` (or a read transaction of its own)."""
        xs = list(xs)
        if session is None:
            with self.db.transaction(write=False) as s:
                return self._shown(viewer, xs, matches, s)
        mods = R.moderation_of(session, [int(x.id or 0) for x in xs])
        out = []
        for x in xs:
            d = acc.decide(viewer, x)
            if d.level == acc.Access.NONE:
                continue
            out.append(self._shown_as(x, d, mods.get(int(x.id or 0)), (matches or {}).get(int(x.id or 0))))
        return out

    def _shown_read(self, s: Session, viewer: acc.Viewer, x: Listing, d: acc.Decision) -> Shown:
        """A listing already read and decided, with its moderation state and a lapsed mark claim."""
        lid = int(x.id or 0)
        shown = self._shown_as(x, d, R.moderation_of(s, [lid]).get(lid))
        warning = claim_warning(self.ex, x, local_today(), session=s)
        if warning is not None:
            shown.warnings.append(warning)
        return shown

    def show(self, viewer: acc.Viewer, listing_id: int) -> Shown:
        with self.db.transaction(write=False) as s:
            x, d = self._read(s, viewer, listing_id)
            return self._shown_read(s, viewer, x, d)

    def listing_page(self, viewer: acc.Viewer, listing_id: int, ctx: MatchContext | None = None, limit: int = 10) -> ListingPage:
        """Everything the listing page shows, in one unit of work: the listing read once, what the
        viewer may see and do decided once, its moderation state, a lapsed mark claim, the owner's
        grants, and its counterparts (when the viewer may read it in full and it is published)."""
        ctx = ctx or MatchContext()
        self.ex.index.maybe_sync()  # before the transaction: counterparts come from an up-to-date index
        with self.db.transaction(write=False) as s:
            x, d = self._read(s, viewer, listing_id)
            shown = self._shown_read(s, viewer, x, d)
            matches = self._matches_read(s, viewer, x, limit, None, ctx) if d.level >= acc.Access.FULL and x.status == "published" else []
            grants = self._grants_read(s, listing_id) if d.can_edit else None  # can_edit is can_grant
        return ListingPage(shown, matches, grants)

    def matches(self, viewer: acc.Viewer, listing_id: int, limit: int = 10, ctx: MatchContext | None = None,
                kind: str | None = None) -> list[Shown]:
        """Counterparts with explanations. Only listings the viewer can read in full are matched
        (and explained); a summary-only listing is not matched at all."""
        ctx = ctx or MatchContext()
        self.ex.index.maybe_sync()
        with self.db.transaction(write=False) as s:
            x, d = self._read(s, viewer, listing_id)
            if d.level < acc.Access.FULL:
                raise acc.not_visible("资源", "listing", listing_id)
            if x.status != "published" and not acc.owns(viewer, x) and not viewer.is_staff:
                return []
            return self._matches_read(s, viewer, x, limit, kind, ctx)

    def _matches_read(self, s: Session, viewer: acc.Viewer, x: Listing, limit: int, kind: str | None, ctx: MatchContext) -> list[Shown]:
        """Counterparts of a listing read in `s` that the viewer may read in full, in that unit of work."""
        ms = self.ex.match_read(x, viewer, s, limit=limit, kind=kind, ctx=ctx)
        ms = [m for m in ms if m.explanation.relevance >= SHOW_FLOOR]  # not worth showing: the page says so instead
        ms = with_evidence(self.ex.semantic, ms, x)  # the closest sentences, where meaning carried a match
        return self._shown(viewer, [m.listing for m in ms], {int(m.listing.id or 0): m for m in ms}, session=s)

    def page(self, viewer: acc.Viewer, f: ListingFilter, cursor: int = 0, per_page: int = 20) -> tuple[list[Shown], int | None]:
        """Visible listings in id order (newest first), `per_page` at a time; cursor = raw offset."""
        got: list[Listing] = []
        offset = max(0, cursor)
        batch = max(per_page * 2, 50)
        while len(got) <= per_page:
            raw = ListingFilter(**{**f.__dict__, "limit": batch, "offset": offset})
            rows = self.ex.listings(raw, acc.SYSTEM)
            if not rows:
                offset = -1
                break
            for i, x in enumerate(rows):
                if acc.access(viewer, x) > acc.Access.NONE:
                    got.append(x)
                    if len(got) > per_page:
                        offset = offset + i
                        break
            else:
                offset += len(rows)
                if len(rows) < batch:
                    offset = -1
                    break
                continue
            break
        next_cursor = offset if len(got) > per_page and offset >= 0 else None
        return self._shown(viewer, got[:per_page]), next_cursor

    def search(self, viewer: acc.Viewer, q: str, f: SearchFilters, limit: int = 20, ctx: MatchContext | None = None) -> SearchResult:
        terms: list[str] = []
        explained: set[int] = set()
        if q.strip():
            # 200 for the filters, facets and total; only what can be shown is explained (the
            # filters drop some, so explain a margin beyond `limit`; the rest are explained below)
            qterms, ms = self.ex.search(q, kind=f.kind, viewer=viewer, limit=200, ctx=ctx, explain=limit + 20)
            explained = {int(m.listing.id or 0) for m in ms[:limit + 20]}
            terms = [t.term for t in qterms]
            ms = [m for m in ms if acc.can_match(viewer, m.listing) and m.explanation.relevance >= SHOW_FLOOR]
            shown = self._shown(viewer, [m.listing for m in ms], {int(m.listing.id or 0): m for m in ms})
        else:
            lf = ListingFilter(kind=f.kind, side=f.side, status="published", limit=500)
            shown = self._shown(viewer, self.ex.listings(lf, viewer))
            today = (ctx or MatchContext()).today  # expired posts leave browsing the day after their end date, as in search
            shown = [s for s in shown if s.listing.is_live(today)]
        shown = [s for s in shown if filters.passes(s.listing, f, self.ex.registry)]
        top = shown[:limit]
        if q.strip() and any(s.match is not None and int(s.listing.id or 0) not in explained for s in top):
            _, again = self.ex.search(q, kind=f.kind, viewer=viewer, limit=200, ctx=ctx)  # the filters dropped many: explain all
            full = {int(m.listing.id or 0): m for m in again}
            top = [dataclasses.replace(s, match=full.get(int(s.listing.id or 0), s.match)) for s in top]
        if q.strip():  # the closest sentences of the results shown, where meaning carried a match
            got = with_evidence(self.ex.semantic, [s.match for s in top if s.match is not None], q)
            by_id = {int(m.listing.id or 0): m for m in got}
            top = [dataclasses.replace(s, match=by_id[int(s.listing.id or 0)]) if s.match is not None else s for s in top]
        return SearchResult(top, _facets(shown, self.ex), len(shown), visible_terms(terms, shown, self.ex.registry))

    def mine(self, viewer: acc.Viewer) -> list[Shown]:
        org_id = acc.require_org(viewer)
        return self._shown(viewer, self.ex.listings(ListingFilter(owner_id=org_id, limit=500), viewer))

    def mine_page(self, viewer: acc.Viewer, page: int = 1, per_page: int = 50) -> tuple[list[Shown], int]:
        """One page of the organisation's own listings (newest first) and how many it has in all."""
        org_id = acc.require_org(viewer)
        page = max(1, page)
        f = ListingFilter(owner_id=org_id, limit=per_page, offset=(page - 1) * per_page)
        with self.db.transaction(write=False) as s:
            total = repo.count_listings(s, f)
            xs = [x for x in repo.find_listings(s, f, self.ex.registry) if acc.access(viewer, x) > acc.Access.NONE]
            return self._shown(viewer, xs, session=s), total

    def recent(self, viewer: acc.Viewer, kind: str, limit: int = 6) -> list[Shown]:
        shown, _ = self.page(viewer, ListingFilter(kind=kind, status="published"), 0, limit)
        return shown

    def export(self, viewer: acc.Viewer, kind: str | None = None) -> list[dict[str, Any]]:
        """Everything this viewer may see, as they may see it."""
        out: list[dict[str, Any]] = []
        cursor: int | None = 0
        while cursor is not None:
            shown, cursor = self.page(viewer, ListingFilter(kind=kind, status="published"), cursor, 200)
            out += [listing_dict(s, self.ex) for s in shown]
        return out

    # -- writing (owner only) -------------------------------------------------------------------
    def spec_for(self, kind: str) -> KindSpec:
        return self.ex.registry.get(kind)

    def save(self, viewer: acc.Viewer, kind: str | None, raw: Mapping[str, Any], listing_id: int | None = None, publish: bool = False) -> int:
        """Create or edit. `publish` False keeps (or makes) it a draft. Organisations awaiting
        verification keep it as a draft that publishes on verification."""
        org_id = acc.require_org(viewer)
        existing = None
        if listing_id is not None:
            existing, _ = fetch(self.ex, viewer, listing_id)
            acc.require_edit(viewer, existing)
            kind = existing.kind
        spec = self.ex.registry.get(kind or "")
        data = {k: v for k, v in raw.items() if k not in ("owner", "kind", "status", "external_id", "id", "csrf")}
        if data.get("visibility") == "confidential" and not str(data.get("summary") or "").strip():
            raise ValidationError.of([_fe("summary", "保密资源请填写公开摘要（会员可见）", "a confidential listing needs a public summary (members see it)")])
        hidden = False
        if existing is not None:
            with self.db.transaction(write=False) as s:
                m = R.moderation_of(s, [int(existing.id or 0)]).get(int(existing.id or 0))
                hidden = bool(m and m.hidden)
        go_live = publish and viewer.org_verified and not hidden
        status = existing.status if existing is not None and not publish else "published" if go_live else "closed" if hidden else "draft"
        data |= {"kind": spec.name, "owner": str(org_id), "status": status}
        x = validate_listing(data, self.ex.registry)
        if existing is not None:
            x.id, x.external_id = existing.id, existing.external_id
        with self.db.transaction(write=False) as s:
            require_licensed_claim(s, x, local_today())
        lid = self.ex.save_listing(x)
        with self.db.transaction() as s:
            m = R.moderation(s, lid)
            m.publish_on_verify = bool(publish and not viewer.org_verified)
        if "eligibility_rules" in spec.roles and status == "published":
            from .policy import notify_qualifying

            notify_qualifying(self.ex, lid)  # organisations that qualify hear about a new or changed policy at once (once each)
        return lid

    def set_open(self, viewer: acc.Viewer, listing_id: int, open_: bool) -> str:
        x, _ = fetch(self.ex, viewer, listing_id)
        acc.require_edit(viewer, x)
        if not open_:
            self.ex.set_status(listing_id, "closed")
            with self.db.transaction() as s:
                R.moderation(s, listing_id).publish_on_verify = False
            return "closed"
        with self.db.transaction() as s:
            m = R.moderation(s, listing_id)
            if m.hidden:
                raise acc.forbidden("此资源已被平台隐藏，请联系运营人员", "an operator hid this listing; please contact the operators")
            if not viewer.org_verified:
                m.publish_on_verify = True
                return x.status
        self.ex.set_status(listing_id, "published")
        return "published"

    # -- confidential access --------------------------------------------------------------------
    def grants(self, viewer: acc.Viewer, listing_id: int) -> dict[str, Any]:
        x, _ = fetch(self.ex, viewer, listing_id)
        if not (acc.can_grant(viewer, x) or viewer.is_staff):
            if acc.access(viewer, x) == acc.Access.NONE:
                raise acc.not_visible("资源", "listing", listing_id)
            raise acc.forbidden("只有发布机构可以查看授权", "only the publishing organisation may see its grants")
        with self.db.transaction(write=False) as s:
            return self._grants_read(s, listing_id)

    @staticmethod
    def _grants_read(s: Session, listing_id: int) -> dict[str, Any]:
        return {"grants": [{"org_id": o.id, "org_name": o.name, "since": g.created_at.isoformat() if g.created_at else None} for g, o in R.grants(s, listing_id)],
                "log": [{"org_id": e.org_id, "action": e.action, "note": e.note, "at": e.at.isoformat()} for e in R.grant_log(s, listing_id)]}

    def grant(self, viewer: acc.Viewer, listing_id: int, org_id: int, note: str = "", grant: bool = True) -> bool:
        x, _ = fetch(self.ex, viewer, listing_id)
        acc.require_edit(viewer, x)
        with self.db.transaction() as s:
            org = R.org_row(s, org_id)
            if grant and not org.verified:
                raise ValidationError.of([_fe("org_id", "只能授权已审核的机构", "only verified organisations can be granted access")])
            if grant:
                changed = R.grant(s, listing_id, org_id, viewer.user_id, note)
                if changed:
                    R.notify(s, org_id, f"您获得了保密资源“{x.title}”的查看授权", f"you were granted access to the confidential listing '{x.title}'", f"/listings/{listing_id}")
            else:
                changed = R.revoke(s, listing_id, org_id, viewer.user_id, note)
            return changed

    # -- reports and moderation -----------------------------------------------------------------
    def report(self, viewer: acc.Viewer, listing_id: int, reason: str, note: str = "") -> int:
        acc.require_signed_in(viewer)
        x, _ = fetch(self.ex, viewer, listing_id)
        if acc.access(viewer, x) == acc.Access.NONE:
            raise acc.not_visible("资源", "listing", listing_id)
        if not acc.can_report(viewer, x):
            raise acc.forbidden("不能举报自己机构的资源", "you cannot report your own organisation's listing")
        if reason not in {c.value for c in REPORT_REASONS}:
            raise ValidationError.of([_fe("reason", "请选择举报原因：" + "、".join(c.zh for c in REPORT_REASONS),
                                          "choose a reason: " + ", ".join(c.en for c in REPORT_REASONS))])
        with self.db.transaction() as s:
            return R.add_report(s, listing_id, viewer.user_id, reason, note[:1000]).id

    def reports(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        acc.require_staff(viewer)
        with self.db.transaction(write=False) as s:
            rows = R.open_reports(s)
        ids = sorted({r.listing_id for r in rows})
        xs = {s.listing.id: s for s in self._shown(viewer, [fetch(self.ex, viewer, i)[0] for i in ids])}
        return [{"id": r.id, "listing_id": r.listing_id, "title": xs[r.listing_id].listing.title if r.listing_id in xs else "",
                 "reason": r.reason, "note": r.note, "hidden": xs[r.listing_id].hidden if r.listing_id in xs else False} for r in rows]

    def hidden(self, viewer: acc.Viewer) -> list[Shown]:
        acc.require_staff(viewer)
        with self.db.transaction(write=False) as s:
            ids = R.hidden_listings(s)
        return self._shown(viewer, [fetch(self.ex, viewer, i)[0] for i in ids])

    def moderate(self, viewer: acc.Viewer, listing_id: int, hide: bool, note: str = "") -> None:
        acc.require_staff(viewer)
        x, _ = fetch(self.ex, viewer, listing_id)
        with self.db.transaction() as s:
            m = R.moderation(s, listing_id)
            m.hidden, m.note = hide, note[:1000]
            R.resolve_reports(s, listing_id, viewer.user_id)
            R.notify(s, int(x.owner_id or 0), (f"资源“{x.title}”已被平台隐藏：{note}" if hide else f"资源“{x.title}”已恢复显示"),
                     (f"an operator hid '{x.title}': {note}" if hide else f"'{x.title}' is visible again"), f"/listings/{listing_id}")
        self.ex.set_status(listing_id, "closed" if hide else "published")

    def summary(self, viewer: acc.Viewer) -> dict[str, Any]:
        acc.require_staff(viewer)
        from sqlalchemy import func, select

        from ..storage.models import ListingRow

        with self.db.transaction(write=False) as s:
            by_status = {st: int(n) for st, n in s.execute(select(ListingRow.status, func.count()).group_by(ListingRow.status))}
            verified = R.count_orgs(s, verified=True)
            pending = R.count_orgs(s, verified=False)
            return {"users": R.count_users(s), "organisations_verified": verified, "organisations_pending": pending,
                    "listings": by_status, "contacts": R.contact_counts(s), "open_reports": len(R.open_reports(s)),
                    "hidden": len(R.hidden_listings(s))}


def _fe(key: str, zh: str, en: str) -> Any:
    from ..core.errors import FieldError

    return FieldError(key, Message(zh, en))


def listing_dict(s: Shown, ex: Exchange) -> dict[str, Any]:
    """The JSON shape of a listing (already redacted): one serializer for API and exports."""
    x = s.listing
    spec = ex.registry.get(x.kind)
    d: dict[str, Any] = {"id": x.id, "kind": x.kind, "side": x.side, "title": x.title, "industry": x.industry, "region": x.region,
                         "owner": x.owner_name, "owner_id": x.owner_id, "visibility": x.visibility, "access": s.level.name.lower(),
                         "summary": x.summary}
    if s.level >= acc.Access.FULL:
        d |= {"external_id": x.external_id, "description": x.description, "keywords": x.keywords, "status": x.status,
              "valid_from": x.valid_from.isoformat() if x.valid_from else None,
              "valid_until": x.valid_until.isoformat() if x.valid_until else None,
              "attrs": {a.key: (x.attrs[a.key].isoformat() if isinstance(x.attrs.get(a.key), dt.date) else x.attrs.get(a.key))
                        for a in spec.attrs if a.key in x.attrs}}
    if s.pending:
        d["pending_verification"] = True
    if s.hidden:
        d["hidden"] = True
    if s.warnings:
        d["warnings"] = [{"zh": w.zh, "en": w.en} for w in s.warnings]
    if s.match is not None:
        d |= {"score": round(s.match.score, 2), "explanation": s.match.explanation.as_dict()}
    return d


def form_values(x: Listing, spec: KindSpec) -> dict[str, str]:
    """A listing as form input strings (for the edit form)."""
    v: dict[str, str] = {"title": x.title, "description": x.description, "keywords": "；".join(x.keywords), "industry": x.industry,
                         "region": x.region, "visibility": x.visibility, "summary": x.summary,
                         "valid_from": x.valid_from.isoformat() if x.valid_from else "", "valid_until": x.valid_until.isoformat() if x.valid_until else ""}
    from ..core.fields import export_value

    for a in spec.attrs:
        if a.key in x.attrs:
            v[a.key] = str(export_value(a, x.attrs[a.key]))
    return v


__all__ = ["Listings", "ListingPage", "Shown", "SearchFilters", "SearchResult", "parse_filters", "listing_dict", "form_values", "common_fields", "display_value"]
