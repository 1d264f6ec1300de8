"""The exchange service: publish, find and match, keeping the search index in step with the database.

Every write goes through the database (one transaction) and appends to the change log;
the index applies the log before answering (`sync`), so a change is visible at the next
query, survives restarts (the index remembers the last change it applied) and a lost or
corrupt index is rebuilt from the database.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable, Iterable, Sequence

from ..core import access as acc
from ..core.kinds import Registry, default_registry
from ..core.listing import Listing
from ..core.matching.fit import MatchContext
from ..core.matching.query import QueryTerm, index_bigrams, index_terms, listing_query, text_query
from ..core.matching.rank import Candidate, Match, allowed_kinds, rank
from ..core.text import Analyzer, default_analyzer
from ..search import IndexDoc, SearchEngine
from ..settings import Config
from ..storage import repo
from ..storage.db import Database
from ..storage.migrate import upgrade

Progress = Callable[[int, int], None]


class Exchange:
    def __init__(self, db: Database, index_dir: str | None, registry: Registry | None = None, analyzer: Analyzer | None = None) -> None:
        self.db = db
        self.registry = registry or default_registry()
        self.analyzer = analyzer or default_analyzer()
        self.index_dir = index_dir
        self._engine: SearchEngine | None = None
        self._lock = threading.RLock()
        self._last_check = 0.0

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
                    self._engine = SearchEngine(self.index_dir)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self.db.dispose()

    # -- index ------------------------------------------------------------------------------
    def _doc(self, listing: Listing) -> IndexDoc:
        spec = self.registry.get(listing.kind)
        return IndexDoc(
            id=int(listing.id or 0), kind=listing.kind, visibility=listing.visibility,
            valid_from=listing.valid_from, valid_until=listing.valid_until,
            text_terms=index_terms(listing, spec, self.analyzer), bigrams=index_bigrams(listing, spec, self.analyzer),
        )

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Full rebuild from the database (first start, lost or corrupt index, `tongxin index --rebuild`)."""
        with self._lock:
            eng = self.engine
            with self.db.transaction(write=False) as s:
                last = repo.last_change_id(s)
                total = repo.count_listings(s, repo.ListingFilter(status="published"))
                listings = repo.iter_listings(s, self.registry)
                # learned terms first, so every document is segmented with the same dictionary
                published = [x for x in listings if x.status == "published"]
            self.analyzer.add_terms(k for x in published for k in x.keywords)
            eng.clear()
            done = 0
            batch: list[IndexDoc] = []
            for x in published:
                batch.append(self._doc(x))
                if len(batch) >= 1000:
                    done += eng.add_new(batch)
                    batch = []
                    if progress:
                        progress(done, total)
            done += eng.add_new(batch)
            if progress:
                progress(done, total)
            eng.commit(last)
            eng.fresh = False
            return done

    def sync(self) -> int:
        """Apply database changes the index has not seen. Cheap when there are none."""
        with self._lock:
            eng = self.engine
            if eng.fresh:
                return self.rebuild_index()
            with self.db.transaction(write=False) as s:
                newest, ids = repo.changes_since(s, eng.last_change)
                if not ids:
                    return 0
                current = repo.get_listings(s, ids, self.registry)
            live = [current[i] for i in ids if i in current and current[i].status == "published"]
            gone = [i for i in ids if i not in current or current[i].status != "published"]
            self.analyzer.add_terms(k for x in live for k in x.keywords)
            eng.delete(gone)
            eng.upsert(self._doc(x) for x in live)
            eng.commit(newest)
            return len(ids)

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
            listing = repo.get_listing(s, listing_id, self.registry)
        return listing, acc.access(viewer, listing)

    def listings(self, f: repo.ListingFilter, viewer: acc.Viewer = acc.VISITOR) -> list[Listing]:
        with self.db.transaction(write=False) as s:
            rows = repo.find_listings(s, f, self.registry)
        return [x for x in rows if acc.access(viewer, x) > acc.Access.NONE]

    def _retrieve(self, qterms: Sequence[QueryTerm], kinds: Sequence[str], viewer: acc.Viewer, ctx: MatchContext,
                  depth: int, exclude: Sequence[int] = (), bigrams: Sequence[tuple[str, float]] = ()) -> list[Candidate]:
        hits = self.engine.search([(q.term, q.weight) for q in qterms], kinds, acc.visible_levels(viewer), ctx.today,
                                  limit=depth, bigrams=bigrams, exclude_ids=exclude)
        with self.db.transaction(write=False) as s:
            found = repo.get_listings(s, [h.id for h in hits], self.registry)
        return [Candidate(found[h.id], h.score) for h in hits if h.id in found]

    def _df(self) -> Callable[[str], int]:
        eng = self.engine
        return lambda t: eng.doc_freq("text", t)

    def search(self, text: str, kind: str | None = None, viewer: acc.Viewer = acc.VISITOR, limit: int = 10,
               ctx: MatchContext | None = None) -> tuple[list[QueryTerm], list[Match]]:
        """Free text → ranked listings of `kind` (all kinds when None)."""
        ctx = ctx or MatchContext()
        self.sync()
        n = self.engine.num_docs()
        qterms = text_query(text, self.analyzer, self._df(), n)
        kinds = allowed_kinds(self.registry, None, kind)
        bigrams = [] if qterms else [(b, 1.0) for b in dict.fromkeys(self.analyzer.bigrams(text))]
        cands = self._retrieve(qterms, kinds, viewer, ctx, depth=max(limit * 4, 40), bigrams=bigrams)
        return qterms, rank(cands, qterms, self.registry, self.analyzer, ctx, lambda x: acc.can_match(viewer, x),
                            wanted_kind=kind, limit=limit)

    def match(self, listing_id: int, viewer: acc.Viewer = acc.VISITOR, limit: int = 10, kind: str | None = None,
              ctx: MatchContext | None = None) -> tuple[Listing, list[Match]]:
        """A listing → ranked counterparts (scenario → technologies, technology → scenarios)."""
        ctx = ctx or MatchContext()
        self.sync()
        listing, level = self.get(listing_id, viewer)
        if level < acc.Access.FULL:
            from ..core.errors import Message, NotFound

            raise NotFound(Message(f"资源 {listing_id} 不存在或无权查看", f"listing {listing_id} does not exist or is not visible to you"))
        spec = self.registry.get(listing.kind)
        qterms = listing_query(listing, spec, self.analyzer, self._df(), self.engine.num_docs())
        kinds = allowed_kinds(self.registry, listing, kind)
        if not kinds:
            return listing, []
        cands = self._retrieve(qterms, kinds, viewer, ctx, depth=max(limit * 5, 50), exclude=[listing_id])
        return listing, rank(cands, qterms, self.registry, self.analyzer, ctx, lambda x: acc.can_match(viewer, x),
                             query=listing, wanted_kind=kind, limit=limit)

    def counts(self) -> dict[str, int]:
        with self.db.transaction(write=False) as s:
            return repo.counts(s)

    def ids_by_external(self, ext: Iterable[str]) -> dict[str, int]:
        from sqlalchemy import select

        from ..storage.models import ListingRow

        ext = list(ext)
        with self.db.transaction(write=False) as s:
            return {e: i for e, i in s.execute(select(ListingRow.external_id, ListingRow.id).where(ListingRow.external_id.in_(ext)))}
