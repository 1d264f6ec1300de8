"""A tantivy index of pre-analysed listing text.

Text is analysed by tongxin's own analyzer (rjieba + domain dictionary) and handed to
tantivy as space-separated terms with its whitespace tokenizer, so the engine ranks with
BM25 over exactly the terms the explanations talk about.

Document fields: id (u64, fast), kind, vis (raw strings), valid_from / valid_until (days
since 1970-01-01 as i64), text (title ×3, keywords ×2, body ×1: a cheap BM25F), bigrams,
and expl (stored only): the analysed terms of title, keywords and body, stamped with the
analyzer's dictionary generation, so explanations need not re-analyse candidates.

Filters (kind, visibility, validity) are constant-score clauses worth 1.0 each, exactly as
tantivy scores its term-set and range queries; a filter that every indexed document passes
(the index records which kinds and visibilities it holds) is an all-documents clause, and
a one-value filter is a single term, because term sets materialise a bitset of every
matching document per query, which dominates at a million documents.

The on-disk index lifecycle (writer lock and takeover, metadata, learned terms, crash-safe
builds) is search.store; the documents and schema are search.documents.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import tantivy

from .documents import (  # noqa: F401 - re-exported: callers import these from search.engine
    _DAY_BITS,
    _DAY_OFF,
    EPOCH,
    NO_END,
    NO_START,
    SCHEMA_VERSION,
    IndexDoc,
    SearchHit,
    _day_code,
    _h12,
    _schema,
    day_number,
    decode_expl,
    encode_expl,
    make_document,
    pack_filter,
)
from .store import (  # noqa: F401 - re-exported
    BULK_HEAP_MB,
    BULK_THREADS,
    LOCK_FILE,
    META_FILE,
    OWN_FILES,
    TERMS_FILE,
    WRITER_HEAP_MB,
    IndexStore,
    fcntl,
)

log = logging.getLogger(__name__)

PREFILTER_MARGIN = 10  # survivors beyond `limit` whose exact scores bound the rest
PREFILTER_FETCH = 3  # OR hits fetched per wanted survivor at first (filters drop some)
PREFILTER_SLACK = 1.6  # first fetch: this many times the OR hits the last pass rate says are needed (1.25 sent 1 in 20
# listing queries at 1M round a second, 4x larger fetch: engine p99 9-14 ms; 1.6: 4.5-5 ms, p50 unchanged)
PREFILTER_MAX_FETCH = 20000  # beyond this (filters dropping almost everything, huge ties): exact query
KIND_BOOST = 4096.0  # boost of the kind clause in _kind_boosted (above any OR score)
KIND_BOOST_ABOVE = 2000  # OR hits needed for the survivors wanted beyond which _kind_boosted is tried
SAFE_OR_SCORE = 2.01  # see SearchEngine._settle
FILTER_CLAUSES = 4  # constant-score clauses of _filtered(): kind, visibility, valid_until, valid_from
SPOT_CHECK_FIRST = 20  # _settle checks its arithmetic on every one of the first queries …
SPOT_CHECK_EVERY = 16  # … then on one in this many

_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    v: float = _F32.unpack(_F32.pack(x))[0]
    return v


def _ids(searcher: tantivy.Searcher, addrs: list[Any]) -> list[int]:
    """The documents' ids (the u64 fast field every document has; tantivy's stub types every
    fast field's values alike, as int, float, bool or None)."""
    return cast(list[int], searcher.fast_field_values("id", addrs))


def _flts(searcher: tantivy.Searcher, addrs: list[Any]) -> list[int | None]:
    """The documents' packed filter words (u64; None for a document indexed without one)."""
    return cast(list[int | None], searcher.fast_field_values("flt", addrs))


def _ulp(x: float) -> float:
    """Spacing of float32 values at x (x > 0)."""
    return 2.0 ** (math.frexp(x)[1] - 24)


def _plus_ones(or_score: float, n: int) -> float:
    """float32 score of a document whose OR scores `or_score` (>= 2) with n constant 1.0 filter
    clauses added one at a time (any order gives this; see SearchEngine._settle).

    A float32 x in [2^e, 2^(e+1)) with e < 24 is a multiple of its ulp (at most 1), so while
    x + k stays in that binade every sum is exact: no rounding to do. Only a sum that crosses
    into the next binade is rounded, step by step as the engine does."""
    y = or_score + n
    if math.frexp(y)[1] == math.frexp(or_score)[1] and 1.0 <= or_score < 16_777_216.0:
        return y
    return _plus_ones_stepwise(or_score, n)


def _plus_ones_stepwise(or_score: float, n: int) -> float:
    x = or_score
    for _ in range(n):
        x = _f32(x + 1.0)
    return x



class IndexView(Protocol):
    """What searching reads of an index (IndexStore provides it): the schema, the current
    searcher and its document-frequency cache, and what the indexed documents hold."""

    schema: tantivy.Schema
    df_cache: dict[tuple[str, str], int]
    present: dict[str, set[str] | None]
    kind_terms: dict[str, set[str]] | None

    def searcher(self) -> tantivy.Searcher: ...


class SearchEngine:
    """Searching one index: `store` (search.store.IndexStore) owns the directory, the writer
    lock, the writer and the metadata; this side builds queries and ranks (see the module doc).
    `SearchEngine(path)` opens the directory (or a RAM index when path is None)."""

    def __init__(self, path: str | None, heap_mb: int = WRITER_HEAP_MB, threads: int = 1) -> None:
        self.store = IndexStore(path, _schema(), heap_mb, threads)
        self.view: IndexView = self.store
        self.schema = self.store.schema
        self.stats = {"exact_fallbacks": 0, "spot_check_failures": 0, "kind_boosted": 0}
        self._pass_rate: dict[tuple[tuple[str, ...], tuple[str, ...]], float] = {}
        self._settled = 0
        self._arithmetic = True  # _settle may compute filtered scores (turned off by a failed spot check)
        self._current: tantivy.Searcher | None = None  # the searcher the caches below are of
        self._consts: dict[tuple[Any, ...], dict[int, int]] = {}  # filters → segment → filter constant (see _settle)
        self._kind_scores: dict[str, float] = {}  # kind → score of its boosted term (see _kind_boosted), per searcher

    def close(self) -> None:
        self.store.close()

    # -- reading -----------------------------------------------------------------------------
    def searcher(self) -> tantivy.Searcher:
        """The store's current searcher (one per commit, shared by queries until the next reload)."""
        s = self.view.searcher()
        if s is not self._current:
            self._current = s
            self._consts = {}
            self._kind_scores = {}
        return s

    def num_docs(self) -> int:
        return int(self.searcher().num_docs)

    def num_segments(self) -> int:
        return int(self.searcher().num_segments)

    def doc_freq(self, field: str, term: str) -> int:
        key = (field, term)
        cache = self.view.df_cache
        v = cache.get(key)
        if v is None:
            v = int(self.searcher().doc_freq(field, term))
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = v
        return v

    def doc_freq_fn(self, field: str) -> Callable[[str], int]:
        """doc_freq of one field as a function (for the many lookups of one query; same cache)."""
        cache = self.view.df_cache
        get = cache.get

        def df(term: str) -> int:
            v = get((field, term))
            return self.doc_freq(field, term) if v is None else v

        return df

    def build_query(
        self,
        terms: Sequence[tuple[str, float]],
        kinds: Sequence[str],
        visibilities: Sequence[str],
        today: dt.date,
        bigrams: Sequence[tuple[str, float]] = (),
        exclude_ids: Sequence[int] = (),
        groups: Sequence[Sequence[tuple[str, str, float]]] = (),
        tie_breaker: float = 0.0,
    ) -> tantivy.Query | None:
        """Ranked OR over weighted terms, filtered by kind, visibility and validity on `today`.

        Each of `groups` ((field, term, boost) triples) is one disjunction-max clause: its best
        term's score plus `tie_breaker` times the others' (a query word and its parts)."""
        union = self.scoring_query(terms, bigrams, groups, tie_breaker)
        if union is None:
            return None
        return self._filtered(union, kinds, visibilities, today, exclude_ids)

    def scoring_query(
        self,
        terms: Sequence[tuple[str, float]],
        bigrams: Sequence[tuple[str, float]] = (),
        groups: Sequence[Sequence[tuple[str, str, float]]] = (),
        tie_breaker: float = 0.0,
    ) -> tantivy.Query | None:
        """The scoring part of a query, without filters: the OR of the weighted terms and groups.
        Searched alone it is the benchmark's bare-engine reference."""
        should = self._scoring_clauses(terms, bigrams, groups, tie_breaker)
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, c) for c in should]) if should else None

    def known(self, terms: Sequence[tuple[str, float]], groups: Sequence[Sequence[tuple[str, str, float]]], kinds: Sequence[str]
              ) -> tuple[list[tuple[str, float]], list[list[tuple[str, str, float]]]]:
        """The query without the word terms that no document of `kinds` holds (kind_terms):
        they score nothing on any document the filters keep, so every result and score stays
        the same, but they no longer pull documents of other kinds to the top of the unfiltered
        OR (a need's place names, say, which no technology mentions). Unknown kind terms
        (an index built before they were recorded): the query as it is."""
        table = self.view.kind_terms
        if table is None or not kinds:
            return list(terms), [list(g) for g in groups]
        sets = [table.get(k) or set() for k in dict.fromkeys(kinds)]

        def held(t: str) -> bool:
            return any(t in v for v in sets)

        out_groups = []
        for g in groups:
            kept = [m for m in g if m[0] != "text" or held(m[1])]
            if kept:
                out_groups.append(kept)
        return [(t, w) for t, w in terms if held(t)], out_groups

    def _scoring_clauses(
        self,
        terms: Sequence[tuple[str, float]],
        bigrams: Sequence[tuple[str, float]] = (),
        groups: Sequence[Sequence[tuple[str, str, float]]] = (),
        tie_breaker: float = 0.0,
    ) -> list[tantivy.Query]:
        s = self.schema
        tq, bq = tantivy.Query.term_query, tantivy.Query.boost_query
        should = [bq(tq(s, "text", t), w) for t, w in terms]
        should += [bq(tq(s, "bigrams", t), w) for t, w in bigrams]
        for g in groups:
            subs = [bq(tq(s, f, t), w) for f, t, w in g]
            if len(subs) == 1:
                should.append(subs[0])
            elif subs:
                should.append(tantivy.Query.disjunction_max_query(subs, tie_breaker))
        return should

    def _filtered(self, union: tantivy.Query, kinds: Sequence[str], visibilities: Sequence[str], today: dt.date,
                  exclude_ids: Sequence[int] = ()) -> tantivy.Query:
        s = self.schema
        tq = tantivy.Query.term_query
        day = day_number(today, 0)
        clauses = [
            (tantivy.Occur.Must, union),
            (tantivy.Occur.Must, self._set_filter("kind", kinds)),
            (tantivy.Occur.Must, self._set_filter("vis", visibilities)),
            (tantivy.Occur.Must, tantivy.Query.range_query(s, "valid_until", tantivy.FieldType.Integer, day, NO_END)),
            (tantivy.Occur.Must, tantivy.Query.range_query(s, "valid_from", tantivy.FieldType.Integer, NO_START, day)),
        ]
        for i in exclude_ids:
            clauses.append((tantivy.Occur.MustNot, tq(s, "id", i)))
        return tantivy.Query.boolean_query(clauses)

    def _set_filter(self, field: str, values: Sequence[str]) -> tantivy.Query:
        """`field` ∈ values, scored 1.0 like term_set_query (results identical), but cheap:
        every indexed document passes → all documents; one value → one term; else an OR of terms."""
        Q = tantivy.Query
        wanted = list(dict.fromkeys(values))
        present = self.view.present.get(field)
        if present is not None and present <= set(wanted):
            return Q.const_score_query(Q.all_query(), 1.0)
        if present is not None:
            wanted = [v for v in wanted if v in present] or wanted[:1]
        if len(wanted) == 1:
            return Q.const_score_query(Q.term_query(self.schema, field, wanted[0]), 1.0)
        if not wanted:
            return Q.term_set_query(self.schema, field, [])
        return Q.const_score_query(Q.boolean_query([(tantivy.Occur.Should, Q.term_query(self.schema, field, v)) for v in wanted]), 1.0)

    def search(
        self,
        terms: Sequence[tuple[str, float]],
        kinds: Sequence[str],
        visibilities: Sequence[str],
        today: dt.date,
        limit: int = 10,
        bigrams: Sequence[tuple[str, float]] = (),
        exclude_ids: Sequence[int] = (),
        groups: Sequence[Sequence[tuple[str, str, float]]] = (),
        tie_breaker: float = 0.0,
        exact: bool = False,
    ) -> list[SearchHit]:
        """Ranked OR over weighted terms, filtered by kind, visibility and validity on `today`:
        the top `limit` of build_query(), same documents, scores and order.

        Filter clauses make tantivy visit every document of the OR (a filter of a million
        documents drives the intersection), so by default the OR is searched alone (cheap,
        top-k pruning), its hits are filtered on the packed `flt` column, and the exact
        filtered query is run on the survivors only, for their exact scores and order.
        Filters add the same constant to every score, so the OR's order is the filtered
        order; the survivors are taken until the last one scores strictly below the
        `limit`-th (so no document outside can tie or beat it), else more are fetched, and in
        the rare case that does not settle it (huge ties), the exact query runs as is.
        `exact=True` always runs build_query() as is (the reference for tests).
        """
        terms, groups = self.known(terms, groups, kinds)
        clauses = self._scoring_clauses(terms, bigrams, groups, tie_breaker)
        if not clauses:
            return []
        union = tantivy.Query.boolean_query([(tantivy.Occur.Should, c) for c in clauses])
        searcher = self.searcher()
        full = self._filtered(union, kinds, visibilities, today, exclude_ids)
        if not exact:
            filters = (kinds, visibilities, today, exclude_ids)
            hits = self._prefiltered(searcher, union, full, clauses, filters, limit)
            if hits is not None:
                return hits
            self.stats["exact_fallbacks"] += 1
        return self._hits(searcher, searcher.search(full, limit, count=False).hits)

    def search_within(
        self,
        terms: Sequence[tuple[str, float]],
        kinds: Sequence[str],
        visibilities: Sequence[str],
        today: dt.date,
        ids: Sequence[int],
        bigrams: Sequence[tuple[str, float]] = (),
        groups: Sequence[Sequence[tuple[str, str, float]]] = (),
        tie_breaker: float = 0.0,
    ) -> list[SearchHit]:
        """Every document among `ids` that build_query() finds, with the scores search() gives
        them (the filtered query restricted by a clause that scores 0.0), best first. For
        scoring a few new documents against many queries without searching the whole index."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return []
        terms, groups = self.known(terms, groups, kinds)
        clauses = self._scoring_clauses(terms, bigrams, groups, tie_breaker)
        if not clauses:
            return []
        Q, O = tantivy.Query, tantivy.Occur  # noqa: E741
        union = Q.boolean_query([(O.Should, c) for c in clauses])
        full = self._filtered(union, kinds, visibilities, today)
        only = Q.const_score_query(Q.term_set_query(self.schema, "id", wanted), 0.0)
        searcher = self.searcher()
        return self._hits(searcher, searcher.search(Q.boolean_query([(O.Must, full), (O.Must, only)]), len(wanted), count=False).hits)

    @staticmethod
    def _hits(searcher: tantivy.Searcher, hits: Sequence[tuple[float, Any]]) -> list[SearchHit]:
        if not hits:
            return []
        ids = _ids(searcher, [addr for _, addr in hits])
        return [SearchHit(int(i), float(score), addr, searcher) for (score, addr), i in zip(hits, ids, strict=False)]

    def _prefiltered(self, searcher: tantivy.Searcher, union: tantivy.Query, full: tantivy.Query, clauses: list[tantivy.Query],
                     filters: tuple[Sequence[str], Sequence[str], dt.date, Sequence[int]], limit: int) -> list[SearchHit] | None:
        """search() without filter clauses in the big query; None when it cannot be sure."""
        if limit <= 0:
            return []
        kinds, visibilities, today, exclude_ids = filters
        if not self._fingerprints_unique(kinds, visibilities):
            return None
        ok_kind = {_h12(k) for k in kinds}
        ok_vis = {_h12(v) for v in visibilities}
        day = _day_code(day_number(today, 0))
        excluded = {int(i) for i in exclude_ids}
        # OR hits to fetch: enough for `limit` survivors at the pass rate last seen for these filters
        key = (tuple(kinds), tuple(visibilities))
        rate = self._pass_rate.get(key, 1.0 / PREFILTER_FETCH)
        fetch = max(int((limit + PREFILTER_MARGIN) / max(rate, 0.02) * PREFILTER_SLACK) + 1, limit + PREFILTER_MARGIN)
        fetch = min(fetch, PREFILTER_MAX_FETCH)

        def survivors(raw: Sequence[tuple[float, Any]]) -> list[tuple[float, Any]] | None:
            """The hits that pass the filters, in order (None: a document without its filter column)."""
            addrs = [a for _, a in raw]
            flts = _flts(searcher, addrs)
            ids = _ids(searcher, addrs) if excluded else None
            keep: list[tuple[float, Any]] = []
            for j, (score, addr) in enumerate(raw):
                f = flts[j]
                if f is None:
                    return None
                if (f & 0xFFF) not in ok_vis or (f >> 12) & 0xFFF not in ok_kind:
                    continue
                if not ((f >> 24) & 0xFFFFF) <= day <= ((f >> 44) & 0xFFFFF):
                    continue
                if ids is not None and ids[j] in excluded:
                    continue
                keep.append((score, addr))
            return keep

        first = True
        while True:
            raw = searcher.search(union, fetch, count=False).hits
            exhausted = len(raw) < fetch
            got = survivors(raw)
            if got is None:
                return None
            keep = got
            if raw and not exhausted:
                if len(self._pass_rate) > 1000:
                    self._pass_rate.clear()
                self._pass_rate[key] = max(len(keep) / len(raw), 0.001)
            settled = self._settle(searcher, full, keep, limit, exhausted, (key, day))
            if settled is not None:
                return settled
            if exhausted or fetch >= PREFILTER_MAX_FETCH:
                return None
            # next: enough OR hits for the survivors wanted at this query's own pass rate
            want = (limit + PREFILTER_MARGIN) * len(raw) / max(len(keep), 1) * 1.5
            if first and len(kinds) == 1 and want > KIND_BOOST_ABOVE:
                # few hits of the OR are of the kind asked for: let the engine find that kind itself
                boosted = self._kind_boosted(searcher, full, clauses, kinds[0], survivors, limit)
                if boosted is not None:
                    self.stats["kind_boosted"] += 1
                    return boosted
            first = False
            fetch = int(min(max(fetch * 4, want), PREFILTER_MAX_FETCH))

    def _kind_boosted(self, searcher: tantivy.Searcher, full: tantivy.Query, clauses: list[tantivy.Query], kind: str,
                      survivors: Callable[[Sequence[tuple[float, Any]]], list[tuple[float, Any]] | None],
                      limit: int) -> list[SearchHit] | None:
        """The top `limit` of the filtered query `full` when the filters drop most OR hits
        because of their kind; None when that cannot be decided here.

        The OR gets one more clause, the kind's term with a boost that lifts every document
        of that kind (score K, the same for all: one raw token per document) above every
        other. The engine's top-k pruning then works for the kind: its top n are the n
        documents of that kind with the highest OR score, give or take float32 rounding of
        the sums (DELTA). Their exact filtered scores come from the filtered query itself.
        A document not fetched has OR score at most s_n - K + DELTA, so when the `limit`-th
        exact score beats that plus the filters' constants, nothing outside can enter."""
        Q, O = tantivy.Query, tantivy.Occur  # noqa: E741
        kind_q = Q.boost_query(Q.term_query(self.schema, "kind", kind), KIND_BOOST)
        k_score = self._kind_scores.get(kind)
        if k_score is None:  # K for this searcher (a single-term search must score every document: once)
            alone = searcher.search(kind_q, 1, count=False).hits
            if not alone:
                return []
            k_score = self._kind_scores[kind] = alone[0][0]
        boosted = Q.boolean_query([(O.Should, c) for c in clauses] + [(O.Should, kind_q)])
        n = (limit + PREFILTER_MARGIN) * 2
        for _ in range(3):
            raw = searcher.search(boosted, n, count=False).hits
            if not raw or raw[0][0] < k_score:
                return None  # the kind is not first: do not guess
            # float32 sums at the magnitude of K: one rounding per clause at most, plus the OR's own
            delta = (len(clauses) + 4) * _ulp(raw[0][0]) + 1e-4 * (raw[0][0] - k_score) + 1e-3
            text = [(sc, a) for sc, a in raw if sc > k_score + delta]  # hits with some OR score
            if len(text) < len(raw) and len(raw) == n:
                return None  # kind-only hits before the n-th: OR scores too small to tell apart
            keep = survivors(text)
            if keep is None:
                return None
            exact = self._exact_scores(searcher, full, [a for _, a in keep]) if keep else {}
            if len(exact) != len(keep):
                return None
            ranked = sorted(((exact[(a.segment_ord, a.doc)], a) for _, a in keep), key=lambda x: (-x[0], x[1].segment_ord, x[1].doc))
            if len(raw) < n:  # every document of the kind was fetched
                if len(ranked) < limit and len(text) < len(raw):
                    return None  # some OR scores too small to tell from none
                return self._hits(searcher, ranked[:limit])
            bound = raw[-1][0] - k_score + delta + FILTER_CLAUSES + 1e-3
            if len(ranked) >= limit and ranked[limit - 1][0] > bound:
                return self._hits(searcher, ranked[:limit])
            n *= 4
        return None

    def _fingerprints_unique(self, kinds: Sequence[str], visibilities: Sequence[str]) -> bool:
        """The `flt` fingerprints tell the indexed kinds (visibilities) apart and from the asked ones."""
        for field, asked in (("kind", kinds), ("vis", visibilities)):
            present = self.view.present.get(field)
            if present is None:
                return False
            values = present | set(asked)
            if len({_h12(v) for v in values}) != len(values):
                return False
        return True

    def _settle(self, searcher: tantivy.Searcher, full: tantivy.Query, keep: list[tuple[float, Any]], limit: int,
                exhausted: bool, sig: tuple[Any, ...] = ()) -> list[SearchHit] | None:
        """The top `limit` of the filtered query among the survivors `keep` (OR hits that pass the
        filters, in OR order), or None when that cannot be decided from them.

        The filtered query scores a document as its OR score plus C constant 1.0 filter
        clauses, added in an order tantivy picks by clause cost. C is 2 to 4: tantivy drops a
        range clause that every document of a segment satisfies (and its 1.0 with it), so C
        depends on the segment and the filters, not on the query terms; it is learned per
        segment and filter set by running the exact query on one survivor of the segment, and
        kept until the next reload. For an OR score of at least 2 every order of adding C ones
        gives the same float32 sum (checked exhaustively: one binade crossing at most), so exact
        scores are computed here; a returned document is checked against the engine on every
        query at first, then on one in SPOT_CHECK_EVERY. Below 2 (weak matches), the exact
        query runs on the survivors instead. Ties are ordered by document address, as tantivy
        does. The last survivor bounds every document not fetched (their OR scores are not
        higher, their C at most the largest): it must score strictly below the `limit`-th, else
        more survivors are needed."""
        if not keep:
            return [] if exhausted else None
        if not exhausted and len(keep) <= limit:
            return None
        top_or = keep[:limit]
        if not self._arithmetic or min(sc for sc, _ in top_or) < SAFE_OR_SCORE:
            return self._settle_by_query(searcher, full, keep, limit, exhausted)
        consts = self._filter_constants(searcher, full, keep, sig)
        if consts is None or any(a.segment_ord not in consts for _, a in top_or):
            return self._settle_by_query(searcher, full, keep, limit, exhausted)
        scored = sorted(((_plus_ones(sc, consts[a.segment_ord]), a) for sc, a in keep if a.segment_ord in consts),
                        key=lambda x: (-x[0], x[1].segment_ord, x[1].doc))
        top = scored[:limit]
        if len(top) < limit and not exhausted:
            return None
        if (not exhausted or len(scored) < len(keep)) and not self._below(searcher, keep[-1][0], top[-1][0], consts):
            return None
        if not self._spot_check(searcher, full, top[-1]):
            return self._settle_by_query(searcher, full, keep, limit, exhausted)
        return self._hits(searcher, top)

    def _filter_constants(self, searcher: tantivy.Searcher, full: tantivy.Query, keep: list[tuple[float, Any]],
                          sig: tuple[Any, ...]) -> dict[int, int] | None:
        """Segment → C (the filter clauses that add 1.0 there) for the filters `sig`, learned from
        one survivor of each segment not seen yet (its exact score is its OR score plus C ones)
        and kept until the next reload; None when a survivor's exact score fits no C."""
        consts = self._consts.setdefault(sig, {})
        unknown: dict[int, tuple[float, Any]] = {}
        for sc, a in keep:
            if a.segment_ord not in consts and a.segment_ord not in unknown and sc >= SAFE_OR_SCORE:
                unknown[a.segment_ord] = (sc, a)
        if unknown:
            got = self._exact_scores(searcher, full, [a for _, a in unknown.values()])
            for seg, (sc, a) in unknown.items():
                e = got.get((a.segment_ord, a.doc))
                c = next((c for c in range(FILTER_CLAUSES + 1) if e is not None and _plus_ones(sc, c) == e), None)
                if c is None:
                    return None
                consts[seg] = c
        return consts

    @staticmethod
    def _below(searcher: tantivy.Searcher, last_or: float, kth: float, consts: dict[int, int]) -> bool:
        """Whether every document not fetched (OR score at most the last survivor's `last_or`, C at
        most the largest learned, or FILTER_CLAUSES while a segment is unknown) scores strictly
        below the `limit`-th exact score `kth`."""
        bound_c = max(consts.values()) if len(consts) >= searcher.num_segments else FILTER_CLAUSES
        if last_or >= SAFE_OR_SCORE:
            return _plus_ones(last_or, bound_c) < kth
        return last_or + bound_c + 0.01 < kth

    def _spot_check(self, searcher: tantivy.Searcher, full: tantivy.Query, hit: tuple[float, Any]) -> bool:
        """The arithmetic against the engine on the returned `limit`-th document: on every query
        at first, then on one in SPOT_CHECK_EVERY. False (and exact restricted queries from now
        on) when the engine scores it differently."""
        self._settled += 1
        if not (self._settled <= SPOT_CHECK_FIRST or self._settled % SPOT_CHECK_EVERY == 0):
            return True
        sc, a = hit
        got = self._exact_scores(searcher, full, [a])
        if got.get((a.segment_ord, a.doc)) == sc:
            return True
        self.stats["spot_check_failures"] += 1
        self._arithmetic = False
        log.warning("engine scores differ from OR score + filters (%s vs %s): exact restricted queries from now on",
                    got.get((a.segment_ord, a.doc)), sc)
        return False

    def _exact_scores(self, searcher: tantivy.Searcher, full: tantivy.Query, addrs: Sequence[Any]) -> dict[tuple[int, int], float]:
        """The filtered query's scores of a few documents (one seek each)."""
        ids = _ids(searcher, list(addrs))
        Q, O = tantivy.Query, tantivy.Occur  # noqa: E741
        only = Q.const_score_query(Q.boolean_query([(O.Should, Q.term_query(self.schema, "id", int(i))) for i in ids]), 0.0)
        hits = searcher.search(Q.boolean_query([(O.Must, full), (O.Must, only)]), len(ids), count=False).hits
        return {(a.segment_ord, a.doc): sc for sc, a in hits}

    def _settle_by_query(self, searcher: tantivy.Searcher, full: tantivy.Query, keep: list[tuple[float, Any]], limit: int,
                         exhausted: bool) -> list[SearchHit] | None:
        """_settle for weak matches: the exact filtered query restricted to the survivors (slower)."""
        cand = keep if exhausted else keep[: limit + PREFILTER_MARGIN]
        ids = _ids(searcher, [a for _, a in cand])
        Q, O = tantivy.Query, tantivy.Occur  # noqa: E741
        only = Q.const_score_query(Q.boolean_query([(O.Should, Q.term_query(self.schema, "id", int(i))) for i in ids]), 0.0)
        exact = searcher.search(Q.boolean_query([(O.Must, full), (O.Must, only)]), len(cand), count=False).hits
        if len(exact) != len(cand):
            return None
        if not exhausted:
            by_addr = {(a.segment_ord, a.doc): sc for sc, a in exact}
            order = [by_addr.get((a.segment_ord, a.doc)) for _, a in cand]
            if any(x is None for x in order) or any(order[j] < order[j + 1] for j in range(len(order) - 1)):  # type: ignore[operator]
                return None
            if not order[-1] < exact[limit - 1][0]:
                return None
        return self._hits(searcher, exact[:limit])

    @staticmethod
    def stored_terms(hit: SearchHit) -> tuple[int, dict[str, list[str]]] | None:
        """(dictionary generation, analysed terms per field) stored with a hit's document, if any."""
        if hit.addr is None or hit.searcher is None:
            return None
        try:
            vals = hit.searcher.doc(hit.addr).get_all("expl")
        except Exception:
            return None
        return decode_expl(bytes(vals[0])) if vals else None

    def search_bare(self, query: tantivy.Query | None, limit: int = 10) -> list[tuple[float, tantivy.DocAddress]]:
        """Bare engine retrieval (the benchmark's reference): a scoring_query() alone, top `limit`,
        no filters, no ids, no stored fields."""
        if query is None:
            return []
        return list(self.searcher().search(query, limit, count=False).hits)
