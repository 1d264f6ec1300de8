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
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..core import access as acc
from ..core.kinds import Registry, default_registry
from ..core.listing import Listing, ListingFilter
from ..core.matching.fit import MatchContext
from ..core.matching.query import GROUP_TIE, MAX_GROUPS, QueryTerm, engine_query, listing_query, query_words, text_query
from ..core.matching.rank import Candidate, Match, allowed_kinds, rank, worth_reading
from ..core.matching.relevance import lexical_ceiling
from ..core.text import Analyzer, default_analyzer
from ..search import SearchEngine, SearchHit
from ..settings import Config
from ..storage import alerts_repo, repo
from ..storage.db import Database
from ..storage.migrate import upgrade
from .hybrid import SEMANTIC_DEPTH, SemanticSource
from .indexing import SYNC_INTERVAL, IndexMaintainer, Progress
from .semantic import Semantic

log = logging.getLogger(__name__)


class _Explainer(Analyzer):
    """Explaining: terms() from the analysed fields stored in the index with the document, else
    analysed now (and cached).

    The stored terms are what the engine scored: a document is not re-indexed when the
    dictionary learns a new term, so its indexed terms (and its BM25 score) stay those of the
    dictionary it was analysed with. Explaining with them says why the engine scored it; a
    fresh analysis would name terms the engine never matched. So they are used whatever the
    generation they were stamped with (the `exact` reference analyses afresh; the two differ
    only for a text holding a term learned after it was indexed)."""

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


_EMBED_POOL: ThreadPoolExecutor | None = None
_EMBED_POOL_LOCK = threading.Lock()


def _embed_pool() -> ThreadPoolExecutor:
    """Threads that embed free-text queries, or search the nearest vectors of a listing, beside
    the word lookup (the encoder serialises the model; the vector search releases the GIL)."""
    global _EMBED_POOL
    if _EMBED_POOL is None:
        with _EMBED_POOL_LOCK:
            if _EMBED_POOL is None:
                _EMBED_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tongxin-query-embed")
    return _EMBED_POOL


SEARCH_MARGIN = 5  # free-text search: candidates fetched beyond the results asked for
SEARCH_MAX_DEPTH = 2000  # … and at most this many (hard rules dropping almost every candidate)
EXPLAIN_CACHE = 20_000  # analysed candidate texts kept for explanations (fallback path)


class Exchange:
    """Publish, find and match listings. Collaborators are attributes with typed interfaces:
    `index` (IndexMaintainer: the search engine and keeping it in step with the database) and
    `semantic` (SemanticSource: vectors and meaning candidates)."""

    def __init__(self, db: Database, index_dir: str | None, registry: Registry | None = None, analyzer: Analyzer | None = None,
                 sync_interval: float = SYNC_INTERVAL, background_sync: bool = True, semantic: SemanticSource | None = None) -> None:
        self.db = db
        # vectors, the embedding queue's worker, semantic candidates (TONGXIN_ENCODER=none: off, like NoSemantic)
        self.semantic: SemanticSource = semantic or Semantic(db, index_dir=index_dir)
        self.registry = registry or default_registry()
        self.analyzer = analyzer or default_analyzer()
        self.index_dir = index_dir
        self.index = IndexMaintainer(db, self.registry, self.analyzer, index_dir, sync_interval, background_sync)
        self.exact = False  # True: the plain path (filters in the engine query, every candidate explained), for comparisons
        self._explain_cache: dict[tuple[int, str], list[str]] = {}
        self._memo: tuple[Registry, repo.ListingMemo] | None = None  # candidates built once per identical row
        self.stats = {"explained": 0, "explained_from_index": 0}

    def _listing_memo(self) -> repo.ListingMemo:
        """The query path's memo of built listings, for the current registry (tests swap it)."""
        memo = self._memo
        if memo is None or memo[0] is not self.registry:
            memo = self._memo = (self.registry, repo.ListingMemo())
        return memo[1]

    @classmethod
    def from_config(cls, config: Config) -> Exchange:
        return cls(Database(config.database_url, config.database_read_url), config.index_dir)

    # -- lifecycle --------------------------------------------------------------------------
    def init_db(self) -> None:
        upgrade(self.db.engine)

    @property
    def engine(self) -> SearchEngine:
        """The search engine (opened on first use by the index maintainer)."""
        return self.index.engine

    @property
    def is_writer(self) -> bool:
        """True when this process maintains the index (holds the writer lock)."""
        return self.index.is_writer

    def sync(self) -> int:
        """Bring the index up to date with the database (IndexMaintainer.sync)."""
        return self.index.sync()

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Full rebuild of the index from the database (IndexMaintainer.rebuild_index)."""
        return self.index.rebuild_index(progress)

    def close(self) -> None:
        stop = getattr(self.semantic, "stop", None)  # the embedding worker, if this source has one
        if stop is not None:
            stop()
        self.index.close()
        self.db.dispose()

    def watermark(self) -> tuple[int, int, int]:
        """What an answer computed now is computed from, for the result cache's key: the last
        change-log id the search index reflects, the analyzer's dictionary generation and the
        vector index's version. Call after `index.maybe_sync()` (the query path's freshness)."""
        version = getattr(self.semantic, "version", None)
        return self.index.store.last_change, self.index.generation(), int(version()) if callable(version) else 0

    # -- writing ----------------------------------------------------------------------------
    def save_listing(self, listing: Listing) -> int:
        """Create or change a listing; a published one enters the alerts outbox in the same
        transaction (nothing published is missed by alerts, nothing unpublished is announced)."""
        with self.db.transaction() as s:
            row, _ = repo.upsert_listing(s, listing, self.registry)
            lid = row.id
            if row.status == "published":
                alerts_repo.enqueue(s, "listing.published", {"listing_id": lid})
        self.sync()
        return lid

    def set_status(self, listing_id: int, status: str) -> None:
        with self.db.transaction() as s:
            repo.set_status(s, listing_id, status)
            if status == "published":
                alerts_repo.enqueue(s, "listing.published", {"listing_id": listing_id})
        self.sync()

    # -- reading ----------------------------------------------------------------------------
    def get(self, listing_id: int, viewer: acc.Viewer = acc.VISITOR) -> tuple[Listing, acc.Access]:
        with self.db.transaction(write=False) as s:
            listing = repo.fetch_listing(s, listing_id, self.registry)
        return listing, acc.access(viewer, listing)

    def listings(self, f: ListingFilter, viewer: acc.Viewer = acc.VISITOR) -> list[Listing]:
        with self.db.transaction(write=False) as s:
            rows = repo.find_listings(s, f, self.registry)
        return [x for x in rows if acc.access(viewer, x) > acc.Access.NONE]

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
            found = repo.fetch_listings(session, [h.id for h in hits], self.registry, self._listing_memo())
        else:
            with self.db.transaction(write=False, replica=True) as s:
                found = repo.fetch_listings(s, [h.id for h in hits], self.registry, self._listing_memo())
        return [Candidate(found[h.id], h.score) for h in hits if h.id in found], {h.id: h for h in hits}

    @staticmethod
    def _engine_args(qterms: Sequence[QueryTerm], bigrams: Sequence[tuple[str, float]] = ()) -> dict[str, Any]:
        """What the engine scores for these query terms (SearchEngine.search / scoring_query arguments)."""
        terms, groups = engine_query(qterms)
        return {"terms": terms, "bigrams": bigrams, "groups": groups, "tie_breaker": GROUP_TIE}

    def scoring_query(self, qterms: Sequence[QueryTerm], kinds: Sequence[str] = ()) -> Any:
        """The engine's scoring query for these terms, without filters (the benchmark's bare-engine
        reference); with `kinds`, less the terms no document of those kinds holds, as searched."""
        args = self._engine_args(qterms)
        if kinds:
            args["terms"], args["groups"] = self.engine.known(args["terms"], args["groups"], kinds)
        return self.engine.scoring_query(**args)

    def text_qterms(self, text: str) -> list[QueryTerm]:
        """The weighted query terms of free text (what `search` retrieves with)."""
        eng = self.engine
        return text_query(text, self.analyzer, self._df(), eng.num_docs(), ngram_freq=eng.doc_freq_fn("bigrams"))

    def listing_qterms(self, listing: Listing) -> list[QueryTerm]:
        """The weighted query terms of a listing (what `match` retrieves with)."""
        return listing_query(listing, self.registry.get(listing.kind), self.analyzer, self._df(), self.engine.num_docs())

    def _df(self) -> Callable[[str], int]:
        return self.engine.doc_freq_fn("text")

    def _explainer(self, cands: Sequence[Candidate], hits: dict[int, SearchHit]) -> Analyzer:
        """An analyzer for rank's explanations of these candidates (see _Explainer)."""
        gen = self.index.generation()
        table: dict[str, list[str]] = {}
        n = 0
        for c in cands:
            h = hits.get(int(c.listing.id or 0))
            st = SearchEngine.stored_terms(h) if h is not None else None
            if st is None:
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
              hits: dict[int, SearchHit] | None = None, ceiling: float | None = None, background: float = 0.0,
              session: Any = None, explain: int | None = None) -> list[Match]:
        """`rank`, explaining the listings it returns from the terms stored in the index (see
        _explainer); `exact` analyses their text afresh instead (the reference for tests).
        Then the checks the candidates' kinds declare (KindSpec.checks) drop what fails them;
        when a kind has checks, more are ranked so that `limit` can still be filled (their facts
        read in `session` when given, else in a transaction of their own)."""
        explainer = None if self.exact or not hits else (lambda top: self._explainer(top, hits))
        kinds = allowed_kinds(self.registry, query, wanted_kind)
        checked = any(self.registry.get(k).checks for k in kinds)
        out = rank(cands, qterms, self.registry, self.analyzer, ctx, can_see, query=query, wanted_kind=wanted_kind,
                   limit=limit * 3 if checked else limit, explainer=explainer, ceiling=ceiling, background=background,
                   explain=explain)
        return self._checked(out, ctx, query, session)[:limit] if checked else out

    def _checked(self, matches: list[Match], ctx: MatchContext, query: Listing | None, session: Any = None) -> list[Match]:
        """Matches that pass every check their kind declares (KindSpec.checks), in order."""
        from .certification import check_claimed_marks

        providers: dict[str, Callable[[list[Match]], list[Match]]] = {
            "licence": lambda ms: check_claimed_marks(self, ms, ctx.today, query, session),
        }
        names = {n for m in matches for n in self.registry.get(m.listing.kind).checks}
        unknown = names - providers.keys()
        if unknown:
            raise RuntimeError(f"no provider for the checks {sorted(unknown)} declared by a kind")
        for name in sorted(names):
            declared = lambda m, name=name: name in self.registry.get(m.listing.kind).checks  # noqa: E731
            passed = {int(m.listing.id or 0): m for m in providers[name]([m for m in matches if declared(m)])}
            # a passing match may come back with a reason added (e.g. the licence it holds)
            matches = [passed.get(int(m.listing.id or 0), m) for m in matches if not declared(m) or int(m.listing.id or 0) in passed]
        return matches

    def text_ceiling(self, text: str, qterms: Sequence[QueryTerm]) -> float:
        """The word-evidence scale of free text, counting its words that no document holds."""
        words = set(self.analyzer.words(text))
        known = {q.group for q in qterms}
        unknown = len(words - known) if len(words) <= MAX_GROUPS else 0
        return lexical_ceiling(qterms, unknown, self.engine.num_docs())

    def _with_meaning(self, cands: list[Candidate], qvec: Any, kinds: Sequence[str], exclude: Sequence[int],
                      session: Any, worth: Callable[[list[Candidate], list[tuple[int, float]], float], list[int]] | None = None,
                      nearest: Future[list[tuple[int, float]]] | None = None) -> tuple[list[Candidate], float]:
        """The word candidates with their cosines, plus the nearest listings by meaning that the
        words did not find (word score 0), and the query's background cosine; see services.hybrid.
        `worth(word candidates, meaning-only (id, cosine), background)`: the meaning-only ids that
        could reach the results (rank.worth_reading); only those are read from the database.
        `nearest`: the meaning candidates already being looked up on another thread
        (`_counterpart_candidates` starts it before the word search)."""
        if qvec is None:
            return cands, 0.0
        sem = nearest.result() if nearest is not None else self.semantic.candidates(qvec, kinds, SEMANTIC_DEPTH + len(exclude))
        cos = {i: float(c) for i, c in sem}  # plain floats: numpy scalars make the fusion arithmetic slow
        have = {int(c.listing.id or 0) for c in cands}
        missing = [i for i in have if i not in cos]
        if missing:
            cos.update((i, float(c)) for i, c in self.semantic.cosines(qvec, missing).items())
        skip = set(exclude) | have
        background = float(self.semantic.background(qvec, kinds))
        out = [Candidate(c.listing, c.text_score, cos.get(int(c.listing.id or 0))) for c in cands]
        extra = [i for i, _ in sem if i not in skip]
        if extra and worth is not None:
            extra = worth(out, [(i, cos[i]) for i in extra], background)
        found = repo.fetch_listings(session, extra, self.registry, self._listing_memo()) if extra else {}
        out += [Candidate(found[i], 0.0, cos[i]) for i in extra if i in found]
        return out, background

    def _worth(self, qterms: Sequence[QueryTerm], can_see: Callable[[Listing], bool], ctx: MatchContext, query: Listing | None,
               wanted_kind: str | None, limit: int, ceiling: float | None = None
               ) -> Callable[[list[Candidate], list[tuple[int, float]], float], list[int]] | None:
        """The pruning of meaning-only candidates for one search or match (None: read them all,
        when a kind in play has checks that drop results after ranking)."""
        if any(self.registry.get(k).checks for k in allowed_kinds(self.registry, query, wanted_kind)):
            return None
        return lambda words, meaning, background: worth_reading(
            words, meaning, qterms, self.registry, ctx, can_see, query=query, wanted_kind=wanted_kind, limit=limit,
            ceiling=ceiling, background=background)

    def search(self, text: str, kind: str | None = None, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
               ctx: MatchContext | None = None, explain: int | None = None) -> tuple[list[QueryTerm], list[Match]]:
        """Free text → ranked listings of `kind` (all kinds when None): word and meaning candidates fused.
        `explain`: how many of the first results get their term list (all when None)."""
        ctx = ctx or MatchContext()
        self.index.maybe_sync()
        # the query's vector is computed while the words are looked up (the model runs outside the GIL)
        pending = _embed_pool().submit(self.semantic.encode_query, text) if self.semantic.enabled and text.strip() else None
        qterms = self.text_qterms(text)
        kinds = allowed_kinds(self.registry, None, kind)
        can_see = lambda x: acc.can_match(viewer, x)  # noqa: E731
        ceiling = self.text_ceiling(text, qterms)
        if pending is not None:
            with self.db.transaction(write=False, replica=True) as s:
                cands, hits = self._retrieve_hits(qterms, kinds, viewer, ctx, depth=max(limit * 5, 50), session=s)
                qvec = pending.result()
                if qvec is not None:
                    cands, background = self._with_meaning(cands, qvec, kinds, (), s,
                                                           self._worth(qterms, can_see, ctx, None, kind, limit, ceiling))
            if qvec is not None:
                return query_words(qterms), self._rank(cands, qterms, can_see, ctx, wanted_kind=kind, limit=limit, hits=hits,
                                                       ceiling=ceiling, background=background, explain=explain)
        # Words only: there is no structured fit, so the order is the engine's and the top
        # `limit` are the engine's first candidates that pass the hard rules. Fetch a few more
        # than asked; fetch more only when too few pass, or when the last one fetched ties the
        # last one returned (then a candidate not fetched could tie it too, and ties go by id).
        # (`exact`, the reference for tests: one deep fetch, every candidate ranked)
        depth = max(limit * 20, 200) if self.exact else limit + SEARCH_MARGIN
        while True:
            cands, hits = self._retrieve_hits(qterms, kinds, viewer, ctx, depth=depth)
            out = self._rank(cands, qterms, can_see, ctx, wanted_kind=kind, limit=limit, hits=hits, ceiling=ceiling, explain=explain)
            if self.exact or len(hits) < depth or depth >= SEARCH_MAX_DEPTH:
                return query_words(qterms), out
            if len(out) == limit:
                last = next(c.text_score for c in cands if c.listing is out[-1].listing)
                if last > cands[-1].text_score:
                    return query_words(qterms), out
            depth = min(depth * 4, SEARCH_MAX_DEPTH)

    def search_among(self, text: str, listings: Sequence[Listing], kind: str | None, visibilities: Sequence[str],
                     ctx: MatchContext | None = None) -> list[Match]:
        """`search` of free text scoring only `listings` (already read by the caller), for many
        queries against a few new listings (saved searches). Every one of them that the search
        finds among the given visibilities, best first, each with the relevance `search` gives
        it: relevance depends on the query and the listing only (the same engine query, with a
        clause that scores 0.0 restricting it to these ids; the same cosines and ranking).
        Not explained (no term hits): the caller keeps the relevance.
        Access is the caller's: it keeps, per viewer, what `core.access.can_match` allows."""
        ctx = ctx or MatchContext()
        if not listings or not text.strip():
            return []
        self.index.maybe_sync()
        qterms = self.text_qterms(text)
        kinds = allowed_kinds(self.registry, None, kind)
        vis = set(visibilities)
        pool = {int(x.id or 0): x for x in listings if x.kind in kinds and x.visibility in vis}
        if not pool:
            return []
        hits = {h.id: h for h in self.engine.search_within(kinds=kinds, visibilities=tuple(visibilities), today=ctx.today, ids=sorted(pool),
                                                           **self._engine_args(qterms))}
        qvec = self.semantic.encode_query(text)
        ceiling = self.text_ceiling(text, qterms)
        if qvec is None:
            cands = [Candidate(pool[i], hits[i].score) for i in sorted(hits, key=lambda i: -hits[i].score) if i in pool]
            background = 0.0
        else:
            cos = self.semantic.cosines(qvec, sorted(pool))
            cands = [Candidate(x, hits[i].score if i in hits else 0.0, cos.get(i)) for i, x in pool.items() if i in hits or i in cos]
            background = self.semantic.background(qvec, kinds)
        out = rank(cands, qterms, self.registry, self.analyzer, ctx, lambda x: True, wanted_kind=kind, limit=max(len(cands), 1),
                   ceiling=ceiling, background=background, explain=0)
        return self._checked(out, ctx, None) if any(self.registry.get(k).checks for k in kinds) else out

    def match(self, listing_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10, kind: str | None = None,
              ctx: MatchContext | None = None) -> tuple[Listing, list[Match]]:
        """A listing → ranked counterparts (scenario → technologies, technology → scenarios)."""
        ctx = ctx or MatchContext()
        self.index.maybe_sync()
        with self.db.transaction(write=False, replica=True) as s:  # one transaction (one round of BEGIN/COMMIT) per match
            listing = repo.fetch_listing(s, listing_id, self.registry)
            if acc.access(viewer, listing) < acc.Access.FULL:
                from ..core.errors import Message, NotFound

                raise NotFound(Message(f"资源 {listing_id} 不存在或无权查看", f"listing {listing_id} does not exist or is not visible to you"))
            found = self._counterpart_candidates(listing, viewer, kind, ctx, limit, s)
        return listing, self._rank_counterparts(listing, found, viewer, kind, ctx, limit)

    def match_read(self, listing: Listing, viewer: acc.Viewer, session: Any, limit: int = 10, kind: str | None = None,
                   ctx: MatchContext | None = None) -> list[Match]:
        """`match` of a listing the caller has already read in `session` and decided the viewer
        may see in full: candidates, ranking and the kinds' checks in the caller's unit of work
        (no read of the listing, no access decision about it, no transaction of its own).
        The caller brings the index up to date first (`ex.index.maybe_sync()`)."""
        ctx = ctx or MatchContext()
        found = self._counterpart_candidates(listing, viewer, kind, ctx, limit, session)
        return self._rank_counterparts(listing, found, viewer, kind, ctx, limit, session)

    def _counterpart_candidates(self, listing: Listing, viewer: acc.Viewer, kind: str | None, ctx: MatchContext, limit: int,
                                session: Any) -> tuple[list[QueryTerm], list[Candidate], dict[int, SearchHit], float] | None:
        """A listing's query terms, word and meaning candidates, their hits and the background
        cosine, read in `session`; None when no kind pairs with it."""
        lid = int(listing.id or 0)
        qterms = self.listing_qterms(listing)
        kinds = allowed_kinds(self.registry, listing, kind)
        if not kinds:
            return None
        qvec = self.semantic.vector_of(lid)
        # the nearest vectors are searched on another thread while the engine searches words
        # (both release the GIL): a listing's query vector is stored, nothing waits for a model
        nearest = (_embed_pool().submit(self.semantic.candidates, qvec, kinds, SEMANTIC_DEPTH + 1)
                   if qvec is not None and self.semantic.enabled else None)
        cands, hits = self._retrieve_hits(qterms, kinds, viewer, ctx, depth=max(limit * 5, 50), exclude=[lid], session=session)
        worth = self._worth(qterms, lambda x: acc.can_match(viewer, x), ctx, listing, kind, limit)
        cands, background = self._with_meaning(cands, qvec, kinds, [lid], session, worth, nearest)
        return qterms, cands, hits, background

    def _rank_counterparts(self, listing: Listing, found: tuple[list[QueryTerm], list[Candidate], dict[int, SearchHit], float] | None,
                           viewer: acc.Viewer, kind: str | None, ctx: MatchContext, limit: int, session: Any = None) -> list[Match]:
        if found is None:
            return []
        qterms, cands, hits, background = found
        return self._rank(cands, qterms, lambda x: acc.can_match(viewer, x), ctx, query=listing, wanted_kind=kind,
                          limit=limit, hits=hits, background=background, session=session)

    def counts(self) -> dict[str, int]:
        with self.db.transaction(write=False) as s:
            return repo.counts(s)

    def ids_by_external(self, ext: Iterable[str]) -> dict[str, int]:
        from sqlalchemy import select

        from ..storage.models import ListingRow

        ext = list(ext)
        with self.db.transaction(write=False) as s:
            rows = s.execute(select(ListingRow.external_id, ListingRow.id).where(ListingRow.external_id.in_(ext)))
            return {e: i for e, i in rows if e is not None}

