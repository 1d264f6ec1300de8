"""Keeping the search index in step with the database (IndexMaintainer, held by Exchange as `ex.index`).

Every write goes through the database (one transaction) and appends to the change log;
the index applies the log (`sync`), so a change is visible to the next query of the
process that made it, survives restarts (the index remembers the last change it applied)
and a lost, corrupt or half-built index is rebuilt from the database (`rebuild_index`).

Freshness across processes (several web workers, a CLI import next to a server): the
processes share one index directory. One process holds the writer lock (see
search.store) and applies the change log: before answering a query when the last check is
older than `sync_interval`, and from a background thread every `sync_interval`, so changes
made through any process are indexed within `sync_interval` plus the time to apply them.
The other processes reload when the writer commits (one stat of its metadata file per
query), take over the lock when the writer process ends (checked every `sync_interval`),
and wait for the writer after their own writes, so a listing saved through any worker is
matchable through it at once and through every worker within `sync_interval` plus the
writer's commit (measured: tens of milliseconds).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..core.listing import Listing
from ..core.text.analyzer import normalise
from ..search import IndexDoc, SearchEngine
from ..search.engine import make_document
from ..storage import repo
from .analysis_workers import _analyse, _AnalysisPool

if TYPE_CHECKING:
    from ..core.kinds import Registry
    from ..core.text import Analyzer
    from ..search.store import IndexStore
    from ..storage.db import Database

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

SYNC_INTERVAL = 0.2  # seconds between change-log checks (query path and background thread)
WRITER_WAIT = 5.0  # a reader waits at most this long for the writer to index its own write
LOOKBACK = 1000  # change ids re-checked below the newest applied one (late commits on PostgreSQL)
REBUILD_MIN_CHANGES = 50_000  # sync: a backlog larger than this and than …
REBUILD_FRACTION = 0.25  # … this share of the index is applied by a full build instead
BUILD_BATCH = 2000
PARALLEL_MIN_LISTINGS = 20_000  # full builds analyse text in worker processes above this size


class IndexMaintainer:
    """Keeps one search index in step with the database (held by Exchange as `ex.index`).

    Owns the SearchEngine (opened on first use: writer or reader of `index_dir`), the
    analyzer's learned terms (the index's dictionary), full builds, the change-log catch-up,
    the query-path freshness check and the background poller. It reads the database and the
    registry it is given and knows nothing of searching or ranking.
    """

    def __init__(self, db: Database, registry: Registry, analyzer: Analyzer, index_dir: str | None,
                 sync_interval: float = SYNC_INTERVAL, background_sync: bool = True) -> None:
        self.db = db
        self.registry = registry
        self.analyzer = analyzer
        self.index_dir = index_dir
        self.sync_interval = sync_interval
        self.background_sync = background_sync
        self.build_workers: int | None = None  # analysis processes for full builds; None: automatic
        self.last_build: dict[str, float] = {}  # timings of the last full build (benchmarks)
        self._engine: SearchEngine | None = None
        self._lock = threading.RLock()
        self._last_check = 0.0
        self._seen: set[int] = set()  # change ids in (last_change - LOOKBACK, last_change] already applied
        self._seen_ready = False
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._pool: _AnalysisPool | None = None

    # -- the engine ---------------------------------------------------------------------------
    @property
    def engine(self) -> SearchEngine:
        """The search engine of `index_dir`, opened on first use (and the poller started)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    eng = SearchEngine(self.index_dir)
                    if not eng.store.fresh:  # segment like the index was built (restart, reader)
                        self.learn(eng.store.load_terms(all_terms=True))
                    self._engine = eng
                    self._start_poller()
        return self._engine

    @property
    def store(self) -> IndexStore:
        """The engine's index directory (opened on first use)."""
        return self.engine.store

    @property
    def is_writer(self) -> bool:
        """True when this process maintains the index (holds the writer lock)."""
        return self.store.writable

    def close(self) -> None:
        """Stop the poller and close the engine (releasing the writer lock)."""
        self._stop.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(timeout=5)
        self._poller = None
        if self._engine is not None:
            self._engine.close()

    # -- the analyzer's dictionary --------------------------------------------------------------
    def learn(self, terms: Iterable[str]) -> None:
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

    def generation(self) -> int:
        """The analyzer's dictionary generation: learned terms only ever grow, so equal counts
        mean the same dictionary (stored explanation terms are valid only for their generation)."""
        return len(self.analyzer.learned)

    def _start_poller(self) -> None:
        eng = self._engine
        if (self._poller is not None or not self.background_sync or eng is None or not eng.store.writable
                or self.index_dir is None or self._stop.is_set()):
            return
        self._poller = threading.Thread(target=_poll, args=(weakref.ref(self), self._stop, self.sync_interval),
                                        name="tongxin-index-sync", daemon=True)
        self._poller.start()

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
        self.learn(cand)
        new = [w for w in dict.fromkeys(cand) if w in learned]
        if new and self._engine is not None and self._engine.store.writable:
            self._engine.store.save_terms(new)

    def _doc(self, listing: Listing) -> IndexDoc:
        t, b, e = _analyse(listing.search_text(self.registry.get(listing.kind)), self.registry.get(listing.kind), listing,
                           self.analyzer, self.generation())
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
            st = eng.store
            if not st.writable and not st.try_promote():
                raise RuntimeError(f"the search index {self.index_dir} is maintained by another process (pid {st.writer_pid()}); "
                                   "rebuild it there, or stop that process first")
            self._start_poller()
            t0 = time.perf_counter()
            with self.db.transaction(write=False, replica=True) as s:
                last = repo.last_change_id(s)
                total = repo.count_status(s, "published")
                keywords = repo.distinct_keywords(s)
            # learned terms first, so every document is segmented with the same dictionary
            self.learn(sorted(keywords))
            st.save_terms(sorted(self.analyzer.learned), replace=True)
            t1 = time.perf_counter()
            workers = self.build_workers
            if workers is None:
                workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_MIN_LISTINGS else 0
            st.begin_bulk()
            ok = False
            try:
                st.clear()
                done = 0
                if progress:
                    progress(0, total)
                with self.db.transaction(write=False, replica=True) as s:
                    batches = repo.scan_listings_for_index(s, self.registry, batch=BUILD_BATCH)
                    for docs in self._analysed(self._noting(batches), workers):
                        done += st.add_documents(docs)
                        if progress:
                            progress(done, total)
                t2 = time.perf_counter()
                st.commit(last)
                ok = True
            finally:
                st.end_bulk(ok)  # on failure: roll back; the index stays "building" and is rebuilt on next open
            self._seen_ready = False
            t3 = time.perf_counter()
            self.last_build = {"learn_seconds": t1 - t0, "analyse_index_seconds": t2 - t1, "commit_merge_seconds": t3 - t2,
                               "workers": float(workers), "segments": float(eng.num_segments()),
                               "worker_peak_rss_mb": self._pool.peak_rss_mb if self._pool is not None else 0.0}
            self._pool = None
            return done

    def _noting(self, batches: Iterator[list[Listing]]) -> Iterator[list[Listing]]:
        st = self.store
        for batch in batches:
            for x in batch:
                st.note_present(x.kind, x.visibility)
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
        pool = _AnalysisPool(workers, sorted(self.analyzer.learned), self.analyzer.search_mode, self.generation())
        self._pool = pool
        try:
            probe = first[:50]
            here = [self._fields_analysed(x) for x in probe]
            kinds_here: dict[str, set[str]] = {}
            for x, (t, _, _) in zip(probe, here, strict=False):
                kinds_here.setdefault(x.kind, set()).update(t.split(" ") if t else ())
            if not pool.start() or pool.probe([self._fields(x) for x in probe]) != (here, kinds_here):
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

    def _documents(self, batch: list[Listing], result: tuple[list[tuple[str, str, bytes]], dict[str, set[str]]]) -> list[Any]:
        rows, kinds = result
        for kind, terms in kinds.items():
            self.store.note_terms(kind, terms)
        return [make_document(int(x.id or 0), x.kind, x.visibility, x.valid_from, x.valid_until, t, b, e)
                for x, (t, b, e) in zip(batch, rows, strict=False)]

    def _fields(self, listing: Listing) -> tuple[str, str, str, str, Any]:
        spec = self.registry.get(listing.kind)
        f = listing.search_text(spec)
        return f["title"], f["keywords"], f["body"], listing.kind, spec.text_weights

    def _fields_analysed(self, listing: Listing) -> tuple[str, str, bytes]:
        spec = self.registry.get(listing.kind)
        t, b, e = _analyse(listing.search_text(spec), spec, listing, self.analyzer, self.generation())
        return " ".join(t), " ".join(b), e

    def _document(self, listing: Listing) -> Any:
        t, b, e = self._fields_analysed(listing)
        self.store.note_terms(listing.kind, t)
        return make_document(int(listing.id or 0), listing.kind, listing.visibility, listing.valid_from, listing.valid_until, t, b, e)

    # -- incremental sync -------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the index up to date with the database as of now.

        The writer applies the changes it has not seen (cheap when there are none); a reader
        waits (at most WRITER_WAIT seconds) until the writer has applied them, taking over
        when the writer process is gone. Returns the number of listings (re)indexed here.
        """
        with self._lock:
            st = self.store
            self._last_check = time.monotonic()
            if not st.writable and not st.try_promote():
                return self._wait_for_writer()
            self._start_poller()
            if st.fresh:
                return self.rebuild_index()
            return self._apply_changes()

    def _window(self, st: IndexStore) -> int:
        return max(st.last_change - LOOKBACK, 0)

    def pending_changes(self) -> bool:
        """Writer: are there changes the index has not applied? One small indexed query."""
        st = self.store
        low = self._window(st)
        with self.db.read_engine.connect() as c:
            n, newest = repo.count_changes_above(c, low)
        if newest > st.last_change:
            return True
        if not self._seen_ready:
            self._init_seen()
        return n != sum(1 for i in self._seen if i > low)

    def _init_seen(self) -> None:
        """After a start or a build: the changes in the look-back window the index already reflects."""
        st = self.store
        with self.db.transaction(write=False, replica=True) as s:
            rows = repo.change_rows_above(s, self._window(st))
        self._seen = {cid for cid, _ in rows if cid <= st.last_change}
        self._seen_ready = True

    def _apply_changes(self) -> int:
        st = self.store
        low = self._window(st)
        with self.db.transaction(write=False, replica=True) as s:
            rows = repo.change_rows_above(s, low)  # (change id, listing id), id order
            if not self._seen_ready:  # after a start or a build: what the index already reflects
                self._seen = {cid for cid, _ in rows if cid <= st.last_change}
                self._seen_ready = True
            todo = [(cid, lid) for cid, lid in rows if cid not in self._seen]
            if not todo:
                return 0
            newest = max(st.last_change, rows[-1][0])
            ids = sorted({lid for _, lid in todo})
            if len(ids) > REBUILD_MIN_CHANGES and len(ids) > REBUILD_FRACTION * max(int(st.searcher().num_docs), 1):
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
        st.delete(gone)
        st.upsert(self._doc(x) for x in live)
        st.commit(newest)
        self._seen.update(cid for cid, _ in todo)
        low = self._window(st)
        self._seen = {i for i in self._seen if i > low}
        return len(ids)

    def _wait_for_writer(self, timeout: float = WRITER_WAIT) -> int:
        """Reader: wait until the writer has applied every change made so far."""
        st = self.store
        with self.db.read_engine.connect() as c:
            target = repo.newest_change(c)
        deadline = time.monotonic() + timeout
        while True:
            self._refresh_reader()
            if st.last_change >= target:
                return 0
            if st.try_promote():
                self._start_poller()
                return self.sync()
            if time.monotonic() > deadline:
                log.warning("the index writer (pid %s) has not applied change %s after %.1f s", st.writer_pid(), target, timeout)
                return 0
            time.sleep(0.01)

    def _refresh_reader(self) -> None:
        st = self.store
        if st.refresh():
            self.learn(st.load_terms())

    def settled(self) -> bool:
        """`maybe_sync` would do nothing now but look: no database check is due and the writer has
        not committed since this reader loaded. Callers on an event loop may then call it inline."""
        return time.monotonic() - self._last_check < self.sync_interval and not self.store.changed_on_disk()

    def maybe_sync(self) -> None:
        """Query path: at most one freshness check per `sync_interval` (cheap), applying changes if any;
        a reader also picks up the writer's newest commit (one stat per query)."""
        st = self.store
        if not st.writable and st.refresh():
            self.learn(st.load_terms())
        now = time.monotonic()
        if now - self._last_check < self.sync_interval:
            return
        self._last_check = now
        self._check()

    def _check(self) -> None:
        with self._lock:
            st = self.store
            if not st.writable:
                if not st.try_promote():
                    self._refresh_reader()
                    return
                self._start_poller()
            if st.fresh or self.pending_changes():
                self.sync()

    def background_check(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a sync or build is running
        try:
            if self._engine is not None and self._engine.store.writable:
                self._last_check = time.monotonic()
                if self._engine.store.fresh or self.pending_changes():
                    self.sync()
        finally:
            self._lock.release()


# -- background freshness thread (writer process) ----------------------------------------------

def _poll(ref: weakref.ReferenceType[IndexMaintainer], stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        maintainer = ref()
        if maintainer is None:  # dropped (with its Exchange) without close()
            return
        try:
            maintainer.background_check()
        except Exception:  # the database may be briefly unavailable: try again next tick
            log.debug("background index sync failed", exc_info=True)
        finally:
            del maintainer
