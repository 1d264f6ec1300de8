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

One index directory can be shared by several processes (web workers, a CLI import next to
a running server). Exactly one of them is the *writer*: it holds an advisory lock on
`tongxin-writer.lock` (fcntl.flock, released by the kernel when the process ends, even on a
crash) and is the only one that changes the index. The others are *readers*: they reload
when the writer's `tongxin-meta.json` changes, and take over the lock when the writer goes
away. Beside the tantivy files the directory holds:

* `tongxin-meta.json`: schema version, the last change-log id applied, and `state`
  ("ok", or "building" while a full build is in progress: an interrupted build is redone);
* `tongxin-terms.txt`: the terms the analyzer learned from listings' keywords, one per
  line, so a restarted process and every reader segment text with the same dictionary as
  the index was built with.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Sequence

import logging

import tantivy

try:  # POSIX; elsewhere every process is a writer (one process per index directory)
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)
NO_END = 10**6
NO_START = -(10**6)
SCHEMA_VERSION = 5  # 3: stored explanation terms; 4: single characters in `bigrams`; 5: packed filter column
# (an index of another version is rebuilt on open)

META_FILE = "tongxin-meta.json"
TERMS_FILE = "tongxin-terms.txt"
LOCK_FILE = "tongxin-writer.lock"
OWN_FILES = (META_FILE, TERMS_FILE, LOCK_FILE)

PREFILTER_MARGIN = 10  # survivors beyond `limit` whose exact scores bound the rest
PREFILTER_FETCH = 3  # OR hits fetched per wanted survivor at first (filters drop some)
PREFILTER_MAX_FETCH = 4000  # beyond this (filters dropping almost everything, huge ties): exact query
SAFE_OR_SCORE = 2.01  # see SearchEngine._settle
FILTER_CLAUSES = 4  # constant-score clauses of _filtered(): kind, visibility, valid_until, valid_from
SPOT_CHECK_FIRST = 200  # _settle checks its arithmetic on every one of the first queries …
SPOT_CHECK_EVERY = 16  # … then on one in this many
WRITER_HEAP_MB = 64  # incremental updates: a few listings per commit
BULK_HEAP_MB = 1024  # full builds: fewer, larger segments (split between the threads)
BULK_THREADS = 2


def day_number(d: dt.date | None, default: int) -> int:
    return default if d is None else (d - EPOCH).days


@dataclass(frozen=True)
class IndexDoc:
    id: int
    kind: str
    visibility: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    text_terms: Sequence[str]
    bigrams: Sequence[str]
    expl: bytes = b""  # encode_expl(...): stored analysed terms for explanations


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float
    addr: Any = field(default=None, compare=False, repr=False)  # tantivy DocAddress (valid for `searcher`)
    searcher: Any = field(default=None, compare=False, repr=False)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("kind", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("vis", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("valid_from", stored=False, indexed=True, fast=True)
    sb.add_integer_field("valid_until", stored=False, indexed=True, fast=True)
    sb.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("bigrams", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_bytes_field("expl", stored=True, indexed=False, fast=False)
    sb.add_unsigned_field("flt", stored=False, indexed=False, fast=True)  # pack_filter(): the filters in one column
    return sb.build()


_F32 = struct.Struct("<f")
_DAY_BITS = 20
_DAY_OFF = 1 << (_DAY_BITS - 1)


def _h12(value: str) -> int:
    """12-bit fingerprint of a kind or visibility (stable across processes; collisions only
    let a document through the pre-filter, the exact query still drops it)."""
    return zlib.crc32(value.encode("utf-8")) & 0xFFF


def _day_code(days: int) -> int:
    return min(max(days, -_DAY_OFF), _DAY_OFF - 1) + _DAY_OFF


def _f32(x: float) -> float:
    return _F32.unpack(_F32.pack(x))[0]  # type: ignore[no-any-return]


def _plus_ones(or_score: float, n: int) -> float:
    """float32 score of a document whose OR scores `or_score` (>= 2) with n constant 1.0 filter
    clauses added one at a time (any order gives this; see SearchEngine._settle)."""
    x = or_score
    for _ in range(n):
        x = _f32(x + 1.0)
    return x


def pack_filter(kind: str, visibility: str, valid_from: dt.date | None, valid_until: dt.date | None) -> int:
    """kind, visibility and validity of a document in one u64 fast field (see SearchEngine.search)."""
    return (_h12(visibility) | _h12(kind) << 12 | _day_code(day_number(valid_from, NO_START)) << 24
            | _day_code(day_number(valid_until, NO_END)) << 44)


def encode_expl(generation: int, field_terms: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """The stored explanation terms: generation, then one line per field (name, then terms)."""
    return "\n".join([str(generation)] + [name + " " + " ".join(terms) for name, terms in field_terms]).encode("utf-8")


def decode_expl(data: bytes) -> tuple[int, dict[str, list[str]]]:
    lines = data.decode("utf-8").split("\n")
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, rest = line.partition(" ")
        out[name] = rest.split(" ") if rest else []
    return int(lines[0] or -1), out


def make_document(id: int, kind: str, visibility: str, valid_from: dt.date | None, valid_until: dt.date | None,
                  text: str, bigrams: str, expl: bytes = b"") -> tantivy.Document:
    """One tantivy document; `text` and `bigrams` are space-joined, already analysed terms."""
    doc = tantivy.Document()
    doc.add_unsigned("id", id)
    doc.add_unsigned("flt", pack_filter(kind, visibility, valid_from, valid_until))
    doc.add_text("kind", kind)
    doc.add_text("vis", visibility)
    doc.add_integer("valid_from", day_number(valid_from, NO_START))
    doc.add_integer("valid_until", day_number(valid_until, NO_END))
    doc.add_text("text", text)
    doc.add_text("bigrams", bigrams)
    if expl:
        doc.add_bytes("expl", expl)
    return doc


class SearchEngine:
    """One index directory (or RAM when path is None), one writer process, many searches.

    `last_change` is the last change-log id the index reflects; `fresh` is True when the
    index must be (re)built from the database (new, corrupt, outdated or half-built).
    `writable` tells whether this process holds the writer lock.
    """

    def __init__(self, path: str | None, heap_mb: int = WRITER_HEAP_MB, threads: int = 1) -> None:
        self.path = path
        self.schema = _schema()
        self._lock = threading.RLock()
        self._heap = heap_mb * 1_000_000
        self._threads = threads
        self.last_change = 0
        self.fresh = False
        self.writable = True
        self._lease: IO[bytes] | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._pending = 0
        self._searcher: tantivy.Searcher | None = None
        self._df_cache: dict[tuple[str, str], int] = {}
        self.stats = {"exact_fallbacks": 0, "spot_check_failures": 0}
        self._pass_rate: dict[tuple[tuple[str, ...], tuple[str, ...]], float] = {}
        self._settled = 0
        self._arithmetic = True  # _settle may compute filtered scores (turned off by a failed spot check)
        self._consts: dict[tuple[Any, ...], dict[int, int]] = {}  # filters → segment → filter constant (see _settle)
        self._meta_sig: tuple[int, int, int] | None = None
        self._terms_read = 0  # bytes of the terms file already handed out (readers) …
        self._terms_ino = -1  # … of this file (inode)
        self._broken = False  # reader: the directory could not be opened yet
        # kinds / visibilities of the indexed documents (None: unknown); filters that every one passes are free
        self.present: dict[str, set[str] | None] = {"kind": set(), "vis": set()}
        self._present_dirty = False
        self._state = "ok"
        if path is None:
            self.index = tantivy.Index(self.schema)
            self.fresh = True
        else:
            os.makedirs(path, exist_ok=True)
            self.writable = self._take_lease()
            if self.writable:
                self._open_writable(path)
            else:
                self._open_reader(path)

    # -- the writer lock ---------------------------------------------------------------------
    def _take_lease(self) -> bool:
        if fcntl is None or self.path is None:
            return True
        if self._lease is None:
            self._lease = open(os.path.join(self.path, LOCK_FILE), "a+b")  # noqa: SIM115 - held while we write
        try:
            fcntl.flock(self._lease.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        try:  # who holds it (for messages); the content is informational only
            self._lease.seek(0)
            self._lease.truncate()
            self._lease.write(str(os.getpid()).encode())
            self._lease.flush()
        except OSError:
            pass
        return True

    def _release_lease(self) -> None:
        if self._lease is not None:
            try:
                if fcntl is not None:
                    fcntl.flock(self._lease.fileno(), fcntl.LOCK_UN)
            finally:
                self._lease.close()
                self._lease = None

    def __del__(self) -> None:  # an engine dropped without close(): let the lock go quietly
        lease = getattr(self, "_lease", None)
        if lease is not None:
            try:
                lease.close()
            except Exception:  # pragma: no cover - interpreter shutdown
                pass

    def writer_pid(self) -> int | None:
        """The pid recorded by the process holding the writer lock (informational)."""
        if self.path is None:
            return os.getpid()
        try:
            with open(os.path.join(self.path, LOCK_FILE), "rb") as fh:
                return int(fh.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def try_promote(self) -> bool:
        """Reader: become the writer if the writer went away. True if this process now writes."""
        with self._lock:
            if self.writable:
                return True
            if not self._take_lease():
                return False
            assert self.path is not None
            self.writable = True
            self._broken = False
            self._open_writable(self.path)
            return True

    # -- opening -----------------------------------------------------------------------------
    def _wipe(self, path: str) -> None:
        """Remove everything but the lock file (which we hold)."""
        for name in os.listdir(path):
            if name == LOCK_FILE:
                continue
            p = os.path.join(path, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    os.remove(p)
                except OSError:
                    pass

    def _open_writable(self, path: str) -> None:
        meta = self._read_meta(path)
        try:
            if meta is None or meta.get("schema") != SCHEMA_VERSION:
                raise ValueError("no or old metadata")
            self.index = tantivy.Index(self.schema, path=path, reuse=True)
            int(self.index.searcher().num_docs)  # opens every segment: corrupt files fail here
            self.last_change = int(meta.get("last_change", 0))  # type: ignore[call-overload]
            self.fresh = meta.get("state", "ok") != "ok"  # a build was interrupted: redo it
            self._load_present(meta)
        except Exception:  # missing, corrupt or outdated index: start afresh, caller reloads
            self._wipe(path)
            self.index = tantivy.Index(self.schema, path=path, reuse=False)
            self.last_change = 0
            self.fresh = True
            self.present = {"kind": set(), "vis": set()}
            self._write_meta(state="building")
        self._searcher = None
        self._df_cache.clear()
        self._meta_sig = self._stat_meta()

    def _open_reader(self, path: str) -> None:
        meta = self._read_meta(path)
        try:
            if meta is None or meta.get("schema") != SCHEMA_VERSION:
                raise ValueError("no or old metadata")
            self.index = tantivy.Index(self.schema, path=path, reuse=True)
            self.last_change = int(meta.get("last_change", 0))  # type: ignore[call-overload]
            self._load_present(meta)
            self._broken = False
        except Exception:  # the writer is (re)creating it: serve nothing until it is there
            self.index = tantivy.Index(self.schema)
            self.last_change = 0
            self._broken = True
        self._searcher = None
        self._df_cache.clear()
        self._meta_sig = self._stat_meta()

    # -- metadata ----------------------------------------------------------------------------
    def _load_present(self, meta: dict[str, object]) -> None:
        for key in ("kind", "vis"):
            v = meta.get("present_" + key)
            self.present[key] = set(v) if isinstance(v, list) else None  # type: ignore[arg-type]

    @staticmethod
    def _read_meta(path: str) -> dict[str, object] | None:
        try:
            with open(os.path.join(path, META_FILE), encoding="utf-8") as fh:
                data = json.load(fh)
                return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def _write_meta(self, state: str = "ok") -> None:
        self._state = state
        self._present_dirty = False
        if self.path is None:
            return
        tmp = os.path.join(self.path, META_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"schema": SCHEMA_VERSION, "last_change": self.last_change, "state": state, "at": time.time(),
                       **{"present_" + k: sorted(v) for k, v in self.present.items() if v is not None}}, fh)
        os.replace(tmp, os.path.join(self.path, META_FILE))
        self._meta_sig = self._stat_meta()

    def _stat_meta(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(os.path.join(self.path, META_FILE))
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self) -> bool:
        """Reader: pick up the writer's newest commit if its metadata changed. Cheap (one stat)."""
        if self.writable or self.path is None:
            return False
        sig = self._stat_meta()
        if sig == self._meta_sig and not self._broken:
            return False
        with self._lock:
            if self._broken:
                self._open_reader(self.path)
                if self._broken:
                    return False
            # the writer commits, then records last_change: read it before reloading (never ahead
            # of what we load); it records new kinds/visibilities before committing: read them after
            before = self._read_meta(self.path) or {}
            for attempt in range(5):
                try:
                    self.index.reload()
                    break
                except Exception:  # a merge removed a file between meta and open: retry
                    time.sleep(0.01 * (attempt + 1))
            after = self._read_meta(self.path) or before
            self._meta_sig = sig
            self.last_change = int(before.get("last_change", self.last_change))  # type: ignore[call-overload]
            self._load_present(after)
            self._searcher = None
            self._df_cache.clear()
            return True

    # -- learned terms -----------------------------------------------------------------------
    def save_terms(self, terms: Iterable[str], replace: bool = False) -> None:
        """Writer: persist learned terms (appended; `replace` rewrites the file for a full build)."""
        if self.path is None:
            return
        terms = [t for t in terms if t and "\n" not in t]
        p = os.path.join(self.path, TERMS_FILE)
        if replace:
            tmp = p + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("".join(t + "\n" for t in terms))
            os.replace(tmp, p)
        elif terms:
            with open(p, "a", encoding="utf-8") as fh:
                fh.write("".join(t + "\n" for t in terms))

    def load_terms(self, all_terms: bool = False) -> list[str]:
        """Terms learned by the writer (all of them, or those added since the last call)."""
        if self.path is None:
            return []
        p = os.path.join(self.path, TERMS_FILE)
        try:
            with open(p, "rb") as fh:
                st = os.fstat(fh.fileno())
                # a full build replaces the file (new inode): read it from the start
                same = st.st_ino == self._terms_ino and st.st_size >= self._terms_read
                start = self._terms_read if same and not all_terms else 0
                fh.seek(start)
                data = fh.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # whole lines only (the writer may be appending)
        self._terms_read = start + end
        self._terms_ino = st.st_ino
        return [t for t in data[:end].decode("utf-8", errors="ignore").split("\n") if t]

    # -- writing -----------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if not self.writable:
            pid = self.writer_pid()
            raise RuntimeError(f"the search index {self.path} is written by another process (pid {pid})")

    def _w(self) -> tantivy.IndexWriter:
        self._check_writable()
        if self._writer is None:
            self._writer = self.index.writer(heap_size=self._heap, num_threads=self._threads)
        return self._writer

    def begin_bulk(self, heap_mb: int = BULK_HEAP_MB, threads: int = BULK_THREADS) -> None:
        """Switch to a big multi-threaded writer for a full build (until end_bulk)."""
        with self._lock:
            self._check_writable()
            self._drop_writer()
            self._writer = self.index.writer(heap_size=heap_mb * 1_000_000, num_threads=threads)
            self._write_meta(state="building")

    def end_bulk(self, committed: bool = True) -> None:
        """After the build's commit: let merges finish, back to the small incremental writer.
        When the build failed (committed False), its uncommitted documents are rolled back."""
        with self._lock:
            if not committed and self._writer is not None:
                try:
                    self._writer.rollback()
                except Exception:  # pragma: no cover - dropped below anyway
                    pass
                self._pending = 0
                self.fresh = True
            self._drop_writer(wait=committed)

    def _drop_writer(self, wait: bool = False) -> None:
        if self._writer is not None:
            if self._pending:
                self._writer.commit()
                self._pending = 0
            if wait:
                self._writer.wait_merging_threads()
            self._writer = None

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        n = 0
        with self._lock:
            w = self._w()
            for d in docs:
                w.delete_documents_by_query(tantivy.Query.term_query(self.schema, "id", d.id))
                w.add_document(self._doc(d))
                self.note_present(d.kind, d.visibility)
                n += 1
            self._pending += n
        return n

    def add_new(self, docs: Iterable[IndexDoc]) -> int:
        """Bulk load of documents known to be absent (no delete per document)."""
        n = 0
        with self._lock:
            w = self._w()
            for d in docs:
                w.add_document(self._doc(d))
                self.note_present(d.kind, d.visibility)
                n += 1
            self._pending += n
        return n

    def note_present(self, kind: str, visibility: str) -> None:
        """Record a kind and a visibility held by the index (add_documents callers do this themselves)."""
        for key, v in (("kind", kind), ("vis", visibility)):
            p = self.present[key]
            if p is not None and v not in p:
                p.add(v)
                self._present_dirty = True

    def add_documents(self, docs: Iterable[tantivy.Document]) -> int:
        """Bulk load of ready-made documents (make_document) known to be absent; see note_present."""
        n = 0
        with self._lock:
            w = self._w()
            add = w.add_document
            for d in docs:
                add(d)
                n += 1
            self._pending += n
        return n

    def delete(self, ids: Iterable[int]) -> None:
        with self._lock:
            w = self._w()
            for i in ids:
                # by query: delete_documents_by_term would take the id as i64 and match nothing
                w.delete_documents_by_query(tantivy.Query.term_query(self.schema, "id", i))
                self._pending += 1

    def clear(self) -> None:
        with self._lock:
            self._w().delete_all_documents()  # `present` stays a superset: readers may still search the old documents
            self._pending += 1

    def commit(self, last_change: int | None = None) -> None:
        with self._lock:
            self._check_writable()
            if self._pending and self._writer is not None:
                if self._present_dirty:  # readers must know the new kinds/visibilities before they see them
                    self._write_meta(state=self._state)
                self._writer.commit()
                self._pending = 0
            if last_change is not None:
                self.last_change = last_change
            self._write_meta(state="ok")
            self.fresh = False
            self.index.reload()
            self._searcher = None
            self._df_cache.clear()

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                if self._pending:
                    self._writer.commit()
                    self._pending = 0
                self._writer.wait_merging_threads()
                self._writer = None
            self._searcher = None
            self._release_lease()
            self.writable = self.path is None

    @staticmethod
    def _doc(d: IndexDoc) -> tantivy.Document:
        return make_document(d.id, d.kind, d.visibility, d.valid_from, d.valid_until, " ".join(d.text_terms), " ".join(d.bigrams),
                             getattr(d, "expl", b""))

    # -- reading -----------------------------------------------------------------------------
    def searcher(self) -> tantivy.Searcher:
        """The current searcher (one per commit, shared by queries until the next reload)."""
        s = self._searcher
        if s is None:
            s = self._searcher = self.index.searcher()
            self._consts = {}
        return s

    def num_docs(self) -> int:
        return int(self.searcher().num_docs)

    def num_segments(self) -> int:
        return int(self.searcher().num_segments)

    def doc_freq(self, field: str, term: str) -> int:
        key = (field, term)
        cache = self._df_cache
        v = cache.get(key)
        if v is None:
            v = int(self.searcher().doc_freq(field, term))
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = v
        return v

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
        present = self.present.get(field)
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

    @staticmethod
    def _hits(searcher: tantivy.Searcher, hits: Sequence[tuple[float, Any]]) -> list[SearchHit]:
        if not hits:
            return []
        ids = searcher.fast_field_values("id", [addr for _, addr in hits])
        return [SearchHit(int(i), float(score), addr, searcher) for (score, addr), i in zip(hits, ids)]

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
        fetch = max(int((limit + PREFILTER_MARGIN) / max(rate, 0.02) * 1.25) + 1, limit + PREFILTER_MARGIN)
        fetch = min(fetch, PREFILTER_MAX_FETCH)
        while True:
            raw = searcher.search(union, fetch, count=False).hits
            exhausted = len(raw) < fetch
            addrs = [a for _, a in raw]
            flts = searcher.fast_field_values("flt", addrs)
            ids = searcher.fast_field_values("id", addrs) if excluded else None
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
            if raw and not exhausted:
                if len(self._pass_rate) > 1000:
                    self._pass_rate.clear()
                self._pass_rate[key] = max(len(keep) / len(raw), 0.001)
            settled = self._settle(searcher, full, keep, limit, exhausted, (key, day))
            if settled is not None:
                return settled
            if exhausted or fetch >= PREFILTER_MAX_FETCH:
                return None
            fetch = min(fetch * 4, PREFILTER_MAX_FETCH)

    def _fingerprints_unique(self, kinds: Sequence[str], visibilities: Sequence[str]) -> bool:
        """The `flt` fingerprints tell the indexed kinds (visibilities) apart and from the asked ones."""
        for field, asked in (("kind", kinds), ("vis", visibilities)):
            present = self.present.get(field)
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
                    return self._settle_by_query(searcher, full, keep, limit, exhausted)
                consts[seg] = c
        if any(a.segment_ord not in consts for _, a in top_or):
            return self._settle_by_query(searcher, full, keep, limit, exhausted)
        scored = sorted(((_plus_ones(sc, consts[a.segment_ord]), a) for sc, a in keep if a.segment_ord in consts),
                        key=lambda x: (-x[0], x[1].segment_ord, x[1].doc))
        top = scored[:limit]
        if len(top) < limit and not exhausted:
            return None
        if not exhausted or len(scored) < len(keep):
            last_or = keep[-1][0]
            bound_c = max(consts.values()) if len(consts) >= searcher.num_segments else FILTER_CLAUSES
            kth = top[-1][0]
            if last_or >= SAFE_OR_SCORE:
                if not _plus_ones(last_or, bound_c) < kth:
                    return None
            elif not last_or + bound_c + 0.01 < kth:
                return None
        # spot check of the arithmetic against the engine (the returned limit-th document)
        self._settled += 1
        if self._settled <= SPOT_CHECK_FIRST or self._settled % SPOT_CHECK_EVERY == 0:
            sc, a = top[-1]
            got = self._exact_scores(searcher, full, [a])
            if got.get((a.segment_ord, a.doc)) != sc:
                self.stats["spot_check_failures"] += 1
                self._arithmetic = False
                log.warning("engine scores differ from OR score + filters (%s vs %s): exact restricted queries from now on",
                            got.get((a.segment_ord, a.doc)), sc)
                return self._settle_by_query(searcher, full, keep, limit, exhausted)
        return self._hits(searcher, top)

    def _exact_scores(self, searcher: tantivy.Searcher, full: tantivy.Query, addrs: Sequence[Any]) -> dict[tuple[int, int], float]:
        """The filtered query's scores of a few documents (one seek each)."""
        ids = searcher.fast_field_values("id", list(addrs))
        Q, O = tantivy.Query, tantivy.Occur
        only = Q.const_score_query(Q.boolean_query([(O.Should, Q.term_query(self.schema, "id", int(i))) for i in ids]), 0.0)
        hits = searcher.search(Q.boolean_query([(O.Must, full), (O.Must, only)]), len(ids), count=False).hits
        return {(a.segment_ord, a.doc): sc for sc, a in hits}

    def _settle_by_query(self, searcher: tantivy.Searcher, full: tantivy.Query, keep: list[tuple[float, Any]], limit: int,
                         exhausted: bool) -> list[SearchHit] | None:
        """_settle for weak matches: the exact filtered query restricted to the survivors (slower)."""
        cand = keep if exhausted else keep[: limit + PREFILTER_MARGIN]
        ids = searcher.fast_field_values("id", [a for _, a in cand])
        Q, O = tantivy.Query, tantivy.Occur
        only = Q.const_score_query(Q.boolean_query([(O.Should, Q.term_query(self.schema, "id", int(i))) for i in ids]), 0.0)
        exact = searcher.search(Q.boolean_query([(O.Must, full), (O.Must, only)]), len(cand), count=False).hits
        if len(exact) != len(cand):
            return None
        if not exhausted:
            by_addr = {(a.segment_ord, a.doc): sc for sc, a in exact}
            order = [by_addr.get((a.segment_ord, a.doc)) for _, a in cand]
            if any(x is None for x in order) or any(order[j] < order[j + 1] for j in range(len(order) - 1)):  # type: ignore[operator]
                return None
            if not order[-1] < exact[limit - 1][0]:  # type: ignore[operator]
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
