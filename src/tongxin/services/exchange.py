"""The exchange service: publish, find and match, keeping the search index in step with the database.

Every write goes through the database (one transaction) and appends to the change log;
the index applies the log (`sync`), so a change is visible to the next query of the
process that made it, survives restarts (the index remembers the last change it applied)
and a lost, corrupt or half-built index is rebuilt from the database.

Freshness across processes (several web workers, a CLI import next to a server): the
processes share one index directory. One process holds the writer lock (see
search.engine) and applies the change log: before answering a query when the last check is
older than `sync_interval`, and from a background thread every `sync_interval`, so changes
made through any process are indexed within `sync_interval` plus the time to apply them.
The other processes reload when the writer commits (one stat of its metadata file per
query), take over the lock when the writer process ends (checked every `sync_interval`),
and wait for the writer after their own writes, so a listing saved through any worker is
matchable through it at once and through every worker within `sync_interval` plus the
writer's commit (measured: tens of milliseconds).

Query path (see search.engine for the engine side): one database query per search or
match (the candidates' rows, plain SQL); explanations only for the listings returned, from
analysed terms stored in the index; structured fit computed once per candidate.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..core import access as acc
from ..core.kinds import Registry, default_registry
from ..core.listing import Listing
from ..core.matching.fit import MatchContext
from ..core.matching.query import GROUP_TIE, QueryTerm, engine_query, index_bigrams, index_terms, listing_query, query_words, text_query
from ..core.matching.rank import Candidate, Match, allowed_kinds, rank
from ..core.text import Analyzer, default_analyzer
from ..core.text.analyzer import normalise
from ..search import IndexDoc, SearchEngine, SearchHit
from ..search.engine import encode_expl, make_document
from ..settings import Config
from ..storage import repo
from ..storage.db import Database
from ..storage.migrate import upgrade

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

SYNC_INTERVAL = 0.2  # seconds between change-log checks (query path and background thread)
WRITER_WAIT = 5.0  # a reader waits at most this long for the writer to index its own write
LOOKBACK = 1000  # change ids re-checked below the newest applied one (late commits on PostgreSQL)
REBUILD_MIN_CHANGES = 50_000  # sync: a backlog larger than this and than …
REBUILD_FRACTION = 0.25  # … this share of the index is applied by a full build instead
BUILD_BATCH = 2000
PARALLEL_MIN_LISTINGS = 20_000  # full builds analyse text in worker processes above this size


class _NoTerms(Analyzer):
    """Analyzer stand-in for a ranking pass that needs scores, not explanations."""

    def __init__(self) -> None:  # noqa: D107 - nothing to load
        pass

    def terms(self, text: str) -> list[str]:
        return []


_NO_TERMS = _NoTerms()


class _Memo(Analyzer):
    """Indexing: remembers terms() per text, so the fields analysed for the index are stored
    for explanations without analysing them twice. Everything else goes to the real analyzer."""

    def __init__(self, base: Analyzer) -> None:  # noqa: D107
        self._base = base
        self._memo: dict[str, list[str]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_base"], name)

    def terms(self, text: str) -> list[str]:
        v = self._memo.get(text)
        if v is None:
            v = self._memo[text] = self._base.terms(text)
        return v


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


class Exchange:
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

    def _start_poller(self) -> None:
        eng = self._engine
        if (self._poller is not None or not self.background_sync or eng is None or not eng.writable
                or self.index_dir is None or self._stop.is_set()):
            return
        self._poller = threading.Thread(target=_poll, args=(weakref.ref(self), self._stop, self.sync_interval),
                                        name="tongxin-index-sync", daemon=True)
        self._poller.start()

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

    def _learn_keywords(self, listings: Iterable[Listing]) -> None:
        """Learn the listings' keywords (before indexing them) and record the new terms for readers."""
        learned = self.analyzer.learned
        cand = []
        for x in listings:
            for k in x.keywords:
                w = normalise(k).strip()
                if w not in learned:
                    cand.append(w)
        if not cand:
            return
        self._learn(cand)
        new = [w for w in dict.fromkeys(cand) if w in learned]
        if new and self._engine is not None and self._engine.writable:
            self._engine.save_terms(new)

    def _generation(self) -> int:
        """The analyzer's dictionary generation: learned terms only ever grow, so equal counts
        mean the same dictionary (stored explanation terms are valid only for their generation)."""
        return len(self.analyzer.learned)

    def _doc(self, listing: Listing) -> IndexDoc:
        t, b, e = _analyse(listing.search_text(self.registry.get(listing.kind)), self.registry.get(listing.kind), listing,
                           self.analyzer, self._generation())
        return IndexDoc(
            id=int(listing.id or 0), kind=listing.kind, visibility=listing.visibility,
            valid_from=listing.valid_from, valid_until=listing.valid_until,
            text_terms=t, bigrams=b, expl=e,
        )

    # -- full build -------------------------------------------------------------------------
    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Full rebuild from the database (first start, lost or corrupt index, `tongxin index --rebuild`).

        Streams the published listings in id order (Core queries, no ORM objects), analyses
        them (in worker processes for big builds), and indexes them with a large
        multi-threaded writer, in one commit: readers see the old index until it is done.
        """
        with self._lock:
            eng = self.engine
            if not eng.writable and not eng.try_promote():
                raise RuntimeError(f"the search index {self.index_dir} is maintained by another process (pid {eng.writer_pid()}); "
                                   "rebuild it there, or stop that process first")
            self._start_poller()
            t0 = time.perf_counter()
            with self.db.transaction(write=False) as s:
                last = repo.last_change_id(s)
                total = repo.count_status(s, "published")
                keywords = repo.distinct_keywords(s)
            # learned terms first, so every document is segmented with the same dictionary
            self._learn(sorted(keywords))
            eng.save_terms(sorted(self.analyzer.learned), replace=True)
            t1 = time.perf_counter()
            workers = self.build_workers
            if workers is None:
                workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_MIN_LISTINGS else 0
            eng.begin_bulk()
            ok = False
            try:
                eng.clear()
                done = 0
                if progress:
                    progress(0, total)
                with self.db.transaction(write=False) as s:
                    batches = repo.scan_listings_for_index(s, self.registry, batch=BUILD_BATCH)
                    for docs in self._analysed(self._noting(batches), workers):
                        done += eng.add_documents(docs)
                        if progress:
                            progress(done, total)
                t2 = time.perf_counter()
                eng.commit(last)
                ok = True
            finally:
                eng.end_bulk(ok)  # on failure: roll back; the index stays "building" and is rebuilt on next open
            self._seen_ready = False
            t3 = time.perf_counter()
            self.last_build = {"learn_seconds": t1 - t0, "analyse_index_seconds": t2 - t1, "commit_merge_seconds": t3 - t2,
                               "workers": float(workers), "segments": float(eng.num_segments()),
                               "worker_peak_rss_mb": self._pool.peak_rss_mb if self._pool is not None else 0.0}
            self._pool = None
            return done

    def _noting(self, batches: Iterator[list[Listing]]) -> Iterator[list[Listing]]:
        eng = self.engine
        for batch in batches:
            for x in batch:
                eng.note_present(x.kind, x.visibility)
            yield batch

    def _analysed(self, batches: Iterator[list[Listing]], workers: int) -> Iterator[list[Any]]:
        """tantivy documents for batches of listings, analysed here or in `workers` processes.

        The worker processes are plain `python -c` subprocesses fed over pipes (not a
        multiprocessing pool, which re-imports the caller's main module under `spawn`);
        they are checked on a probe batch and replaced by in-process analysis on any trouble.
        """
        if workers <= 0:
            for batch in batches:
                yield [self._document(x) for x in batch]
            return
        first = next(batches, None)
        if first is None:
            return
        pool = _AnalysisPool(workers, sorted(self.analyzer.learned), self.analyzer.search_mode, self._generation())
        self._pool = pool
        try:
            probe = first[:50]
            if not pool.start() or pool.probe([self._fields(x) for x in probe]) != [self._fields_analysed(x) for x in probe]:
                log.warning("analysis worker processes unavailable or different from this process; analysing in-process")
                pool.close()
                for batch in itertools.chain([first], batches):
                    yield [self._document(x) for x in batch]
                return
            # a bounded window of batches in flight: memory stays flat however big the build
            inflight: deque[list[Listing]] = deque()
            rest = itertools.chain([first], batches)
            try:
                for batch in rest:
                    pool.submit([self._fields(x) for x in batch])
                    inflight.append(batch)
                    if len(inflight) >= 2 * workers + 1:
                        yield self._documents(inflight[0], pool.result())
                        inflight.popleft()
                while inflight:
                    yield self._documents(inflight[0], pool.result())
                    inflight.popleft()
            except (OSError, EOFError, RuntimeError, ValueError) as e:  # a worker died: finish here
                log.warning("analysis worker failed (%s); analysing in-process", e)
                pool.close()
                for batch in itertools.chain(inflight, rest):
                    yield [self._document(x) for x in batch]
        finally:
            pool.close()

    @staticmethod
    def _documents(batch: list[Listing], result: list[tuple[str, str, bytes]]) -> list[Any]:
        return [make_document(int(x.id or 0), x.kind, x.visibility, x.valid_from, x.valid_until, t, b, e)
                for x, (t, b, e) in zip(batch, result)]

    def _fields(self, listing: Listing) -> tuple[str, str, str]:
        f = listing.search_text(self.registry.get(listing.kind))
        return f["title"], f["keywords"], f["body"]

    def _fields_analysed(self, listing: Listing) -> tuple[str, str, bytes]:
        spec = self.registry.get(listing.kind)
        t, b, e = _analyse(listing.search_text(spec), spec, listing, self.analyzer, self._generation())
        return " ".join(t), " ".join(b), e

    def _document(self, listing: Listing) -> Any:
        t, b, e = self._fields_analysed(listing)
        return make_document(int(listing.id or 0), listing.kind, listing.visibility, listing.valid_from, listing.valid_until, t, b, e)

    # -- incremental sync -------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the index up to date with the database as of now.

        The writer applies the changes it has not seen (cheap when there are none); a reader
        waits (at most WRITER_WAIT seconds) until the writer has applied them, taking over
        when the writer process is gone. Returns the number of listings (re)indexed here.
        """
        with self._lock:
            eng = self.engine
            self._last_check = time.monotonic()
            if not eng.writable and not eng.try_promote():
                return self._wait_for_writer()
            self._start_poller()
            if eng.fresh:
                return self.rebuild_index()
            return self._apply_changes()

    def _window(self, eng: SearchEngine) -> int:
        return max(eng.last_change - LOOKBACK, 0)

    def _pending_changes(self) -> bool:
        """Writer: are there changes the index has not applied? One small indexed query."""
        eng = self.engine
        low = self._window(eng)
        with self.db.engine.connect() as c:
            n, newest = repo.count_changes_above(c, low)
        if newest > eng.last_change:
            return True
        if not self._seen_ready:
            self._init_seen()
        return n != sum(1 for i in self._seen if i > low)

    def _init_seen(self) -> None:
        """After a start or a build: the changes in the look-back window the index already reflects."""
        eng = self.engine
        with self.db.transaction(write=False) as s:
            rows = repo.change_rows_above(s, self._window(eng))
        self._seen = {cid for cid, _ in rows if cid <= eng.last_change}
        self._seen_ready = True

    def _apply_changes(self) -> int:
        eng = self.engine
        low = self._window(eng)
        with self.db.transaction(write=False) as s:
            rows = repo.change_rows_above(s, low)  # (change id, listing id), id order
            if not self._seen_ready:  # after a start or a build: what the index already reflects
                self._seen = {cid for cid, _ in rows if cid <= eng.last_change}
                self._seen_ready = True
            todo = [(cid, lid) for cid, lid in rows if cid not in self._seen]
            if not todo:
                return 0
            newest = max(eng.last_change, rows[-1][0])
            ids = sorted({lid for _, lid in todo})
            if len(ids) > REBUILD_MIN_CHANGES and len(ids) > REBUILD_FRACTION * max(eng.num_docs(), 1):
                big = True
                current: dict[int, Listing] = {}
            else:
                big = False
                current = repo.fetch_listings(s, ids, self.registry)
        if big:
            return self.rebuild_index()
        live = [current[i] for i in ids if i in current and current[i].status == "published"]
        gone = [i for i in ids if i not in current or current[i].status != "published"]
        self._learn_keywords(live)
        eng.delete(gone)
        eng.upsert(self._doc(x) for x in live)
        eng.commit(newest)
        self._seen.update(cid for cid, _ in todo)
        low = self._window(eng)
        self._seen = {i for i in self._seen if i > low}
        return len(ids)

    def _wait_for_writer(self, timeout: float = WRITER_WAIT) -> int:
        """Reader: wait until the writer has applied every change made so far."""
        eng = self.engine
        with self.db.engine.connect() as c:
            target = repo.newest_change(c)
        deadline = time.monotonic() + timeout
        while True:
            self._refresh_reader()
            if eng.last_change >= target:
                return 0
            if eng.try_promote():
                self._start_poller()
                return self.sync()
            if time.monotonic() > deadline:
                log.warning("the index writer (pid %s) has not applied change %s after %.1f s", eng.writer_pid(), target, timeout)
                return 0
            time.sleep(0.01)

    def _refresh_reader(self) -> None:
        eng = self.engine
        if eng.refresh():
            self._learn(eng.load_terms())

    def _maybe_sync(self) -> None:
        """Query path: at most one freshness check per `sync_interval` (cheap), applying changes if any;
        a reader also picks up the writer's newest commit (one stat per query)."""
        eng = self.engine
        if not eng.writable and eng.refresh():
            self._learn(eng.load_terms())
        now = time.monotonic()
        if now - self._last_check < self.sync_interval:
            return
        self._last_check = now
        self._check()

    def _check(self) -> None:
        with self._lock:
            eng = self.engine
            if not eng.writable:
                if not eng.try_promote():
                    self._refresh_reader()
                    return
                self._start_poller()
            if eng.fresh or self._pending_changes():
                self.sync()

    def _background_check(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a sync or build is running
        try:
            if self._engine is not None and self._engine.writable:
                self._last_check = time.monotonic()
                if self._engine.fresh or self._pending_changes():
                    self.sync()
        finally:
            self._lock.release()

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


# -- background freshness thread (writer process) ----------------------------------------------

def _poll(ref: "weakref.ReferenceType[Exchange]", stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        ex = ref()
        if ex is None:  # the Exchange was dropped without close()
            return
        try:
            ex._background_check()
        except Exception:  # the database may be briefly unavailable: try again next tick
            log.debug("background index sync failed", exc_info=True)
        finally:
            del ex


# -- analysis worker processes (full builds) ---------------------------------------------------

class _Fields:
    """What index_terms / index_bigrams read from a listing: its searchable text per field."""

    __slots__ = ("f",)

    def __init__(self, title: str, keywords: str, body: str) -> None:
        self.f = {"title": title, "keywords": keywords, "body": body}

    def search_text(self, spec: Any) -> dict[str, str]:
        return self.f


def _analyse(fields: dict[str, str], spec: Any, listing: Any, analyzer: Analyzer, gen: int) -> tuple[list[str], list[str], bytes]:
    """Index terms, bigrams and stored explanation terms of one listing, each field analysed once."""
    memo = _Memo(analyzer)
    t = index_terms(listing, spec, memo)
    b = index_bigrams(listing, spec, memo)
    return t, b, encode_expl(gen, [(name, memo.terms(text)) for name, text in fields.items()])


class _AnalysisPool:
    """Analysis in `n` worker processes (`python -c`, pickles over stdin/stdout).

    Batches go round-robin and come back in submission order; one feeder thread per worker
    writes jobs, so a full pipe never blocks the reading side.
    """

    def __init__(self, n: int, learned: list[str], search_mode: bool, gen: int) -> None:
        self.n = n
        self.init = (learned, search_mode, gen)
        self.procs: list[Any] = []
        self.queues: list[Any] = []
        self.threads: list[threading.Thread] = []
        self.sent = 0
        self.received = 0
        self.peak_rss_mb = 0.0

    def start(self) -> bool:
        import queue
        import subprocess
        import sys

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            for _ in range(self.n):
                p = subprocess.Popen([sys.executable, "-c", "from tongxin.services.exchange import _worker_main; _worker_main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                q: queue.Queue[Any] = queue.Queue()
                t = threading.Thread(target=_feed, args=(p.stdin, q), daemon=True)
                t.start()
                q.put(self.init)
                self.procs.append(p)
                self.queues.append(q)
                self.threads.append(t)
        except OSError:
            return False
        return True

    def submit(self, rows: list[tuple[str, str, str]]) -> None:
        self.queues[self.sent % self.n].put(rows)
        self.sent += 1

    def result(self) -> list[tuple[str, str, bytes]]:
        import pickle

        p = self.procs[self.received % self.n]
        self.received += 1
        out = pickle.load(p.stdout)
        if isinstance(out, BaseException):
            raise out
        return out  # type: ignore[no-any-return]

    def probe(self, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, bytes]] | None:
        try:
            outs = []
            for _ in range(self.n):  # every worker must agree
                self.submit(rows)
                outs.append(self.result())
            return outs[0] if all(o == outs[0] for o in outs) else None
        except Exception:
            return None

    def close(self) -> None:
        for p in self.procs:  # peak memory of each worker (VmHWM: getrusage would count the parent's pages at fork)
            try:
                with open(f"/proc/{p.pid}/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
            except (OSError, ValueError):
                pass
        for q in self.queues:
            q.put(None)
        for p in self.procs:
            try:
                p.stdout.close()
                p.wait(timeout=10)
            except Exception:
                p.kill()
        self.procs = []
        self.queues = []


def _feed(pipe: Any, q: Any) -> None:
    import pickle

    try:
        while True:
            job = q.get()
            if job is None:
                break
            pickle.dump(job, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()
    except (OSError, ValueError):  # the worker went away; the reader sees EOF
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _worker_main() -> None:
    """Entry point of an analysis worker process: init message, then batches until EOF."""
    import pickle
    import sys

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the result stream
    learned, search_mode, gen = pickle.load(inp)
    a = Analyzer(search_mode=search_mode)
    a.add_terms(learned)
    while True:
        try:
            rows = pickle.load(inp)
        except EOFError:
            return
        try:
            res: Any = _analyse_rows(a, gen, rows)
        except Exception as e:  # reported to the parent, which gives up on workers
            res = RuntimeError(repr(e))
        pickle.dump(res, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


def _analyse_rows(a: Analyzer, gen: int, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, bytes]]:
    out = []
    for title, kw, body in rows:
        f = _Fields(title, kw, body)
        t, b, e = _analyse(f.f, None, f, a, gen)
        out.append((" ".join(t), " ".join(b), e))
    return out
