"""The exchange service: publish, find and match, keeping the search index in step with the database.

The index side (full builds, change-log sync, the background poller) is services.indexing,
the analysis worker processes services.analysis_workers.

Query path (see search.engine for the engine side): one database query per search or
match (the candidates' rows, plain SQL); explanations only for the listings returned, from
analysed terms stored in the index; structured fit computed once per candidate.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from ..core import access as acc
from ..core.kinds import Registry, default_registry
from ..core.listing import Listing
from ..core.matching.fit import MatchContext
from ..core.matching.query import GROUP_TIE, QueryTerm, engine_query, listing_query, query_words, text_query
from ..core.matching.rank import Candidate, Match, allowed_kinds, rank
from ..core.text import Analyzer, default_analyzer
from ..search import IndexDoc, SearchEngine, SearchHit  # noqa: F401 - IndexDoc re-exported
from ..search.engine import encode_expl, make_document  # noqa: F401 - re-exported
from ..settings import Config
from ..storage import repo
from ..storage.db import Database
from ..storage.migrate import upgrade
from .analysis_workers import _analyse, _analyse_rows, _AnalysisPool, _feed, _Fields, _Memo, _worker_main  # noqa: F401 - re-exported
from .indexing import (  # noqa: F401 - re-exported: callers import these from services.exchange
    BUILD_BATCH,
    LOOKBACK,
    PARALLEL_MIN_LISTINGS,
    REBUILD_FRACTION,
    REBUILD_MIN_CHANGES,
    SYNC_INTERVAL,
    WRITER_WAIT,
    IndexMaintenance,
    Progress,
    _poll,
)

log = logging.getLogger(__name__)


class _NoTerms(Analyzer):
    """Analyzer stand-in for a ranking pass that needs scores, not explanations."""

    def __init__(self) -> None:  # noqa: D107 - nothing to load
        pass

    def terms(self, text: str) -> list[str]:
        return []


_NO_TERMS = _NoTerms()

class _Explainer(Analyzer):
    """Explaining: terms() from the analysed fields stored in the index when they were analysed
    with the current dictionary (same generation), else analysed now (and cached)."""

    def __init__(self, base: Analyzer, table: dict[str, list[str]], cache: dict[tuple[int, str], list[str]], gen: int) -> None:  # noqa: D107
        self._base = base
        self._table = table
        self._cache = cache
        self._gen = gen

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_base"], name)

    def terms(self, text: str) -> list[str]:
        v = self._table.get(text)
        if v is not None:
            return v
        key = (self._gen, text)
        v = self._cache.get(key)
        if v is None:
            v = self._base.terms(text)
            if len(self._cache) > EXPLAIN_CACHE:
                self._cache.clear()
            self._cache[key] = v
        return v


EXPLAIN_CACHE = 20_000  # analysed candidate texts kept for explanations (fallback path)


class _FitMemo:
    """A registry for `rank` whose query kind's fit function remembers its results per
    candidate object, so the explained pass reuses the scoring pass's structured fit.
    (No reference cycles: a query's garbage is freed at once, not by the cyclic collector.)"""

    def __init__(self, registry: Registry, kind: str) -> None:
        import dataclasses

        self._registry = registry
        spec = registry.get(kind)
        fit = spec.fit
        if fit is not None:
            memo: dict[tuple[int, int], Any] = {}

            def memo_fit(query: Listing, cand: Listing, ctx: MatchContext, _memo: dict[tuple[int, int], Any] = memo,
                         _fit: Any = fit) -> Any:
                key = (id(cand), id(ctx))
                v = _memo.get(key)
                if v is None:
                    v = _memo[key] = _fit(query, cand, ctx)
                return list(v)

            spec = dataclasses.replace(spec, fit=memo_fit)
        self._spec = spec
        self._kind = kind

    def get(self, name: str) -> Any:
        return self._spec if name == self._kind else self._registry.get(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_registry"], name)

    def __contains__(self, name: object) -> bool:
        return name in self._registry

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._registry)

class Exchange(IndexMaintenance):
    def __init__(self, db: Database, index_dir: str | None, registry: Registry | None = None, analyzer: Analyzer | None = None,
                 sync_interval: float = SYNC_INTERVAL, background_sync: bool = True) -> None:
        self.db = db
        self.registry = registry or default_registry()
        self.analyzer = analyzer or default_analyzer()
        self.index_dir = index_dir
        self.sync_interval = sync_interval
        self.background_sync = background_sync
        self.build_workers: int | None = None  # analysis processes for full builds; None: automatic
        self.exact = False  # True: the plain path (filters in the engine query, every candidate explained), for comparisons
        self._engine: SearchEngine | None = None
        self._lock = threading.RLock()
        self._last_check = 0.0
        self._seen: set[int] = set()  # change ids in (last_change - LOOKBACK, last_change] already applied
        self._seen_ready = False
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.last_build: dict[str, float] = {}  # timings of the last full build (benchmarks)
        self._explain_cache: dict[tuple[int, str], list[str]] = {}
        self._pool: _AnalysisPool | None = None
        self.stats = {"explained": 0, "explained_from_index": 0}

    @classmethod
    def from_config(cls, config: Config) -> "Exchange":
        return cls(Database(config.database_url), config.index_dir)

    # -- lifecycle --------------------------------------------------------------------------
    def init_db(self) -> None:
        upgrade(self.db.engine)

    @property
    def engine(self) -> SearchEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    eng = SearchEngine(self.index_dir)
                    if not eng.fresh:  # segment like the index was built (restart, reader)
                        self._learn(eng.load_terms(all_terms=True))
                    self._engine = eng
                    self._start_poller()
        return self._engine

    @property
    def is_writer(self) -> bool:
        """True when this process maintains the index (holds the writer lock)."""
        return self.engine.writable

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(timeout=5)
        self._poller = None
        if self._engine is not None:
            self._engine.close()
        self.db.dispose()

    # -- analysis ---------------------------------------------------------------------------
    def _learn(self, terms: Iterable[str]) -> None:
        """Teach the analyzer terms. rjieba refuses to add a word while another thread is
        segmenting ('Already borrowed'); add_terms is idempotent, so retry."""
        terms = list(terms)
        for attempt in range(2000):
            try:
                self.analyzer.add_terms(terms)
                return
            except RuntimeError as e:
                if "borrow" not in str(e) or attempt == 1999:
                    raise
                time.sleep(0.0005)

    def _generation(self) -> int:
        """The analyzer's dictionary generation: learned terms only ever grow, so equal counts
        mean the same dictionary (stored explanation terms are valid only for their generation)."""
        return len(self.analyzer.learned)

    # -- writing ----------------------------------------------------------------------------
    def save_listing(self, listing: Listing) -> int:
        with self.db.transaction() as s:
            row, _ = repo.upsert_listing(s, listing, self.registry)
            lid = row.id
        self.sync()
        return lid

    def set_status(self, listing_id: int, status: str) -> None:
        with self.db.transaction() as s:
            repo.set_status(s, listing_id, status)
        self.sync()

    # -- reading ----------------------------------------------------------------------------
    def get(self, listing_id: int, viewer: acc.Viewer = acc.VISITOR) -> tuple[Listing, acc.Access]:
        with self.db.transaction(write=False) as s:
            listing = repo.fetch_listing(s, listing_id, self.registry)
        return listing, acc.access(viewer, listing)

    def listings(self, f: repo.ListingFilter, viewer: acc.Viewer = acc.VISITOR) -> list[Listing]:
        with self.db.transaction(write=False) as s:
            rows = repo.find_listings(s, f, self.registry)
        return [x for x in rows if acc.access(viewer, x) > acc.Access.NONE]

    def _retrieve(self, qterms: Sequence[QueryTerm], kinds: Sequence[str], viewer: acc.Viewer, ctx: MatchContext,
                  depth: int, exclude: Sequence[int] = (), bigrams: Sequence[tuple[str, float]] = ()) -> list[Candidate]:
        return self._retrieve_hits(qterms, kinds, viewer, ctx, depth, exclude, bigrams)[0]

    def _retrieve_hits(self, qterms: Sequence[QueryTerm], kinds: Sequence[str], viewer: acc.Viewer, ctx: MatchContext,
                       depth: int, exclude: Sequence[int] = (), bigrams: Sequence[tuple[str, float]] = (), session: Any = None
                       ) -> tuple[list[Candidate], dict[int, SearchHit]]:
        """Candidates (engine hits with their listings, one database query, in `session` if given)
        and the hits by listing id."""
        hits = self.engine.search(kinds=kinds, visibilities=acc.visible_levels(viewer), today=ctx.today, limit=depth,
                                  exclude_ids=exclude, exact=self.exact, **self._engine_args(qterms, bigrams))
        if not hits:
            return [], {}
        if session is not None:
            found = repo.fetch_listings(session, [h.id for h in hits], self.registry)
        else:
            with self.db.transaction(write=False) as s:
                found = repo.fetch_listings(s, [h.id for h in hits], self.registry)
        return [Candidate(found[h.id], h.score) for h in hits if h.id in found], {h.id: h for h in hits}

    @staticmethod
    def _engine_args(qterms: Sequence[QueryTerm], bigrams: Sequence[tuple[str, float]] = ()) -> dict[str, Any]:
        """What the engine scores for these query terms (SearchEngine.search / scoring_query arguments)."""
        terms, groups = engine_query(qterms)
        return {"terms": terms, "bigrams": bigrams, "groups": groups, "tie_breaker": GROUP_TIE}

    def scoring_query(self, qterms: Sequence[QueryTerm]) -> Any:
        """The engine's scoring query for these terms, without filters (the benchmark's bare-engine reference)."""
        return self.engine.scoring_query(**self._engine_args(qterms))

    def text_qterms(self, text: str) -> list[QueryTerm]:
        """The weighted query terms of free text (what `search` retrieves with)."""
        eng = self.engine
        return text_query(text, self.analyzer, self._df(), eng.num_docs(), ngram_freq=lambda t: eng.doc_freq("bigrams", t))

    def listing_qterms(self, listing: Listing) -> list[QueryTerm]:
        """The weighted query terms of a listing (what `match` retrieves with)."""
        return listing_query(listing, self.registry.get(listing.kind), self.analyzer, self._df(), self.engine.num_docs())

    def _df(self) -> Callable[[str], int]:
        eng = self.engine
        return lambda t: eng.doc_freq("text", t)

    def _explainer(self, cands: Sequence[Candidate], hits: dict[int, SearchHit]) -> Analyzer:
        """An analyzer for rank's explanations of these candidates (see _Explainer)."""
        gen = self._generation()
        table: dict[str, list[str]] = {}
        n = 0
        for c in cands:
            h = hits.get(int(c.listing.id or 0))
            st = SearchEngine.stored_terms(h) if h is not None else None
            if st is None or st[0] != gen:
                continue
            n += 1
            for name, text in c.listing.search_text(self.registry.get(c.listing.kind)).items():
                if name in st[1]:
                    table[text] = st[1][name]
        self.stats["explained"] += len(cands)
        self.stats["explained_from_index"] += n
        return _Explainer(self.analyzer, table, self._explain_cache, gen)

    def _rank(self, cands: Sequence[Candidate], qterms: Sequence[QueryTerm], can_see: Callable[[Listing], bool],
              ctx: MatchContext, query: Listing | None = None, wanted_kind: str | None = None, limit: int = 10,
              hits: dict[int, SearchHit] | None = None) -> list[Match]:
        """`rank`, explaining only the listings it returns.

        Explanations (matched_terms) analyse every candidate's text, while the score does not
        depend on them. So a first pass ranks without query terms (scores and order only), and
        the explained pass runs on its top `limit` plus the best text score (which sets the
        text-points scale). If the two passes ever disagree (rank changed so that terms move
        scores), the full ranking is used: results are always those of `rank` over all
        candidates.
        """
        def full() -> list[Match]:
            an = self._explainer(cands, hits) if hits and not self.exact else self.analyzer
            return rank(cands, qterms, self.registry, an, ctx, can_see, query=query, wanted_kind=wanted_kind, limit=limit)

        if self.exact or len(cands) <= limit + 1:
            return full()
        reg: Any = _FitMemo(self.registry, query.kind) if query is not None else self.registry
        try:
            pre = rank(cands, (), reg, _NO_TERMS, ctx, can_see, query=query, wanted_kind=wanted_kind, limit=len(cands))
        except Exception:  # rank asked the stand-in analyzer for something else
            return full()
        if len(pre) <= limit:
            return full()
        by_obj = {id(c.listing): c for c in cands}
        live = [by_obj[id(m.listing)] for m in pre if id(m.listing) in by_obj]
        if len(live) != len(pre):
            return full()
        best = max(live, key=lambda c: c.text_score)
        keep = {id(m.listing) for m in pre[:limit]} | {id(best.listing)}
        subset = [c for c in cands if id(c.listing) in keep]
        an = self._explainer(subset, hits) if hits else self.analyzer
        out = rank(subset, qterms, reg, an, ctx, can_see, query=query, wanted_kind=wanted_kind, limit=limit)
        if [(m.listing.id, round(m.score, 9)) for m in out] != [(m.listing.id, round(m.score, 9)) for m in pre[:limit]]:
            return full()
        return out

    def search(self, text: str, kind: str | None = None, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
               ctx: MatchContext | None = None) -> tuple[list[QueryTerm], list[Match]]:
        """Free text → ranked listings of `kind` (all kinds when None)."""
        ctx = ctx or MatchContext()
        self._maybe_sync()
        qterms = self.text_qterms(text)
        kinds = allowed_kinds(self.registry, None, kind)
        cands, hits = self._retrieve_hits(qterms, kinds, viewer, ctx, depth=max(limit * 4, 40))
        return query_words(qterms), self._rank(cands, qterms, lambda x: acc.can_match(viewer, x), ctx, wanted_kind=kind, limit=limit, hits=hits)

    def match(self, listing_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10, kind: str | None = None,
              ctx: MatchContext | None = None) -> tuple[Listing, list[Match]]:
        """A listing → ranked counterparts (scenario → technologies, technology → scenarios)."""
        ctx = ctx or MatchContext()
        self._maybe_sync()
        with self.db.transaction(write=False) as s:  # one transaction (one round of BEGIN/COMMIT) per match
            listing = repo.fetch_listing(s, listing_id, self.registry)
            if acc.access(viewer, listing) < acc.Access.FULL:
                from ..core.errors import Message, NotFound

                raise NotFound(Message(f"资源 {listing_id} 不存在或无权查看", f"listing {listing_id} does not exist or is not visible to you"))
            qterms = self.listing_qterms(listing)
            kinds = allowed_kinds(self.registry, listing, kind)
            if not kinds:
                return listing, []
            cands, hits = self._retrieve_hits(qterms, kinds, viewer, ctx, depth=max(limit * 5, 50), exclude=[listing_id], session=s)
        return listing, self._rank(cands, qterms, lambda x: acc.can_match(viewer, x), ctx, query=listing, wanted_kind=kind,
                                   limit=limit, hits=hits)

    def counts(self) -> dict[str, int]:
        with self.db.transaction(write=False) as s:
            return repo.counts(s)

    def ids_by_external(self, ext: Iterable[str]) -> dict[str, int]:
        from sqlalchemy import select

        from ..storage.models import ListingRow

        ext = list(ext)
        with self.db.transaction(write=False) as s:
            return {e: i for e, i in s.execute(select(ListingRow.external_id, ListingRow.id).where(ListingRow.external_id.in_(ext)))}

