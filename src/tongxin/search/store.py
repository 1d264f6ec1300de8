"""The on-disk life of an index directory: writer lock, metadata, learned terms, writing.

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
  the index was built with;
* `tongxin-kind-terms.txt`: the word terms each kind's documents hold ("kind<TAB>term" per
  line; a superset: terms of deleted documents stay until the next full build). A query
  term that no document of the wanted kinds holds scores nothing there, so the engine
  leaves it out (search.engine). Written before the commit that adds the documents, so a
  reader that loads a commit finds its terms; the metadata's `kind_terms` says the file is
  complete (an index built before it existed has none: nothing is left out).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable
from typing import IO

import tantivy

from .documents import SCHEMA_VERSION, IndexDoc, make_document

try:  # POSIX; elsewhere every process is a writer (one process per index directory)
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

META_FILE = "tongxin-meta.json"
TERMS_FILE = "tongxin-terms.txt"
KIND_TERMS_FILE = "tongxin-kind-terms.txt"
LOCK_FILE = "tongxin-writer.lock"
OWN_FILES = (META_FILE, TERMS_FILE, KIND_TERMS_FILE, LOCK_FILE)

WRITER_HEAP_MB = 64  # incremental updates: a few listings per commit
BULK_HEAP_MB = 1024  # full builds: fewer, larger segments (split between the threads)
BULK_THREADS = 2


class IndexStore:
    """One index directory (or RAM when path is None): its on-disk life, owned by SearchEngine.

    Opening (a missing, corrupt, outdated or half-built index is started afresh), the
    writer lock and its takeover, the metadata file, the learned-terms file, the writer
    (incremental updates, bulk builds marked "building" until committed, commits) and the
    current searcher, replaced at every reload.

    `last_change` is the last change-log id the index reflects; `fresh` is True when the
    index must be (re)built from the database (new, corrupt, outdated or half-built);
    `writable` tells whether this process holds the writer lock.
    """

    def __init__(self, path: str | None, schema: tantivy.Schema, heap_mb: int = WRITER_HEAP_MB, threads: int = 1) -> None:
        self.path = path
        self.schema = schema
        self._lock = threading.RLock()
        self._heap = heap_mb * 1_000_000  # writer heap, bytes
        self._threads = threads
        self.last_change = 0
        self.fresh = False
        self.writable = True
        self._lease: IO[bytes] | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._pending = 0
        self._searcher: tantivy.Searcher | None = None
        self._searcher_gen = 0  # moves at every commit or reload: a searcher opened before is never kept
        self._searcher_lock = threading.Lock()
        self.df_cache: dict[tuple[str, str], int] = {}  # document frequencies of the current searcher
        self._meta_sig: tuple[int, int, int] | None = None
        self._terms_read = 0  # bytes of the terms file already handed out (readers) …
        self._terms_ino = -1  # … of this file (inode)
        self._broken = False  # reader: the directory could not be opened yet
        # kinds / visibilities of the indexed documents (None: unknown); filters that every one passes are free
        self.present: dict[str, set[str] | None] = {"kind": set(), "vis": set()}
        # kind → the word terms its documents hold (None: unknown); see SearchEngine.known
        self.kind_terms: dict[str, set[str]] | None = {} if path is None else None
        self._kind_terms_building: dict[str, set[str]] | None = None  # a full build's, swapped in at its commit
        self._kind_terms_new: list[tuple[str, str]] = []  # noted since the last commit (appended then)
        self._kind_terms_read = 0  # bytes of the kind-terms file already read …
        self._kind_terms_ino = -1  # … of this file (inode)
        self._present_dirty = False
        self._state = "ok"
        self.index: tantivy.Index
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

    def searcher(self) -> tantivy.Searcher:
        """The current searcher (one per commit or reload, shared by queries until the next)."""
        s = self._searcher
        if s is None:
            gen = self._searcher_gen
            s = self.index.searcher()
            with self._searcher_lock:  # a commit or reload while it opened: use it once, keep none
                if gen == self._searcher_gen:
                    self._searcher = s
        return s

    def _reloaded(self) -> None:
        """A new commit is visible: the searcher and its document frequencies are out of date."""
        with self._searcher_lock:
            self._searcher_gen += 1
            self._searcher = None
        self.df_cache.clear()

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
            with contextlib.suppress(OSError):  # closing a lock file can only fail with an OS error
                lease.close()

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
                with contextlib.suppress(OSError):
                    os.remove(p)

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
            self._load_kind_terms(meta, from_start=True)
        except Exception:  # missing, corrupt or outdated index: start afresh, caller reloads
            self._wipe(path)
            self.index = tantivy.Index(self.schema, path=path, reuse=False)
            self.last_change = 0
            self.fresh = True
            self.present = {"kind": set(), "vis": set()}
            self.kind_terms = {}
            self._write_meta(state="building")
        self._reloaded()
        self._meta_sig = self._stat_meta()

    def _open_reader(self, path: str) -> None:
        meta = self._read_meta(path)
        try:
            if meta is None or meta.get("schema") != SCHEMA_VERSION:
                raise ValueError("no or old metadata")
            self.index = tantivy.Index(self.schema, path=path, reuse=True)
            self.last_change = int(meta.get("last_change", 0))  # type: ignore[call-overload]
            self._load_present(meta)
            self._load_kind_terms(meta, from_start=True)
            self._broken = False
        except Exception:  # the writer is (re)creating it: serve nothing until it is there
            self.index = tantivy.Index(self.schema)
            self.last_change = 0
            self._broken = True
        self._reloaded()
        self._meta_sig = self._stat_meta()

    # -- metadata ----------------------------------------------------------------------------
    def _load_present(self, meta: dict[str, object]) -> None:
        for key in ("kind", "vis"):
            v = meta.get("present_" + key)
            self.present[key] = {str(x) for x in v} if isinstance(v, list) else None

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
                       "kind_terms": self.kind_terms is not None,
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

    def changed_on_disk(self) -> bool:
        """Reader: the writer committed since this reader loaded (what `refresh` would pick up; one stat)."""
        if self.writable or self.path is None:
            return False
        return self._broken or self._stat_meta() != self._meta_sig

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
            self._load_present(after)
            self._load_kind_terms(after)
            self._reloaded()
            # last: a query that reads last_change (the result cache's watermark) gets the new searcher
            self.last_change = int(before.get("last_change", self.last_change))  # type: ignore[call-overload]
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
        got = _read_lines(os.path.join(self.path, TERMS_FILE), self._terms_read, self._terms_ino, all_terms)
        if got is None:
            return []
        lines, _, self._terms_read, self._terms_ino = got
        return [t for t in lines if t]

    # -- the word terms of each kind ----------------------------------------------------------
    def note_terms(self, kind: str, terms: str | Iterable[str]) -> None:
        """Writer: record the word terms of a document of `kind` being added (a space-joined
        string or a list); written to the file at the next commit, before the documents."""
        if isinstance(terms, str):
            terms = terms.split(" ") if terms else ()
        if self._kind_terms_building is not None:  # a full build collects afresh, swapped in at its commit
            self._kind_terms_building.setdefault(kind, set()).update(terms)
            return
        if self.kind_terms is None:
            return
        have = self.kind_terms.setdefault(kind, set())
        new = [t for t in set(terms) if t and t not in have]
        if new:
            have.update(new)
            self._kind_terms_new.extend((kind, t) for t in new)

    def _save_kind_terms(self) -> None:
        """Writer, before a commit: the whole file after a full build, else the new lines."""
        if self.path is None:
            if self._kind_terms_building is not None:
                self.kind_terms, self._kind_terms_building = self._kind_terms_building, None
            self._kind_terms_new = []
            return
        p = os.path.join(self.path, KIND_TERMS_FILE)
        if self._kind_terms_building is not None:
            self.kind_terms, self._kind_terms_building = self._kind_terms_building, None
            tmp = p + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                for kind in sorted(self.kind_terms):
                    fh.write("".join(f"{kind}\t{t}\n" for t in sorted(self.kind_terms[kind]) if _clean(t)))
            os.replace(tmp, p)
            self._kind_terms_new = []
            st = os.stat(p)
            self._kind_terms_ino, self._kind_terms_read = st.st_ino, st.st_size
        elif self._kind_terms_new:
            with open(p, "a", encoding="utf-8") as fh:
                fh.write("".join(f"{kind}\t{t}\n" for kind, t in self._kind_terms_new if _clean(t)))
                self._kind_terms_read = fh.tell()
            self._kind_terms_new = []

    def _load_kind_terms(self, meta: dict[str, object], from_start: bool = False) -> None:
        """The kinds' terms as the metadata and file say (None: unknown, nothing left out);
        a reader reads the lines added since its last call unless the file was replaced."""
        if self.path is None or not meta.get("kind_terms"):
            self.kind_terms = None
            return
        got = _read_lines(os.path.join(self.path, KIND_TERMS_FILE), self._kind_terms_read, self._kind_terms_ino,
                          from_start or self.kind_terms is None)
        if got is None:
            self.kind_terms = None
            return
        lines, appended, self._kind_terms_read, self._kind_terms_ino = got
        table: dict[str, set[str]] = self.kind_terms if appended and self.kind_terms is not None else {}
        for line in lines:
            kind, sep, term = line.partition("\t")
            if sep:
                table.setdefault(kind, set()).add(term)
        self.kind_terms = table

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
            self._kind_terms_building = {}
            self._write_meta(state="building")

    def end_bulk(self, committed: bool = True) -> None:
        """After the build's commit: let merges finish, back to the small incremental writer.
        When the build failed (committed False), its uncommitted documents are rolled back."""
        with self._lock:
            if not committed and self._writer is not None:
                try:
                    self._writer.rollback()
                except (ValueError, RuntimeError):  # pragma: no cover - tantivy's errors; the writer is dropped below anyway
                    log.warning("rolling back the failed build's documents failed; the index is rebuilt", exc_info=True)
                self._pending = 0
                self.fresh = True
            self._kind_terms_building = None
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
                self.note_terms(d.kind, d.text_terms)
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
                self.note_terms(d.kind, d.text_terms)
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
        """Bulk load of ready-made documents (make_document) known to be absent; see note_present, note_terms."""
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
                # readers must know the new kinds/visibilities and terms before they see the documents
                self._save_kind_terms()
                if self._present_dirty:
                    self._write_meta(state=self._state)
                self._writer.commit()
                self._pending = 0
            # the new searcher first, then the new last_change: a query that reads last_change (the
            # result cache's watermark) never gets the searcher of before the commit
            self.index.reload()
            self._reloaded()
            if last_change is not None:
                self.last_change = last_change
            self._write_meta(state="ok")
            self.fresh = False

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                if self._pending:
                    self._writer.commit()
                    self._pending = 0
                self._writer.wait_merging_threads()
                self._writer = None
            self._reloaded()
            self._release_lease()
            self.writable = self.path is None

    @staticmethod
    def _doc(d: IndexDoc) -> tantivy.Document:
        return make_document(d.id, d.kind, d.visibility, d.valid_from, d.valid_until, " ".join(d.text_terms), " ".join(d.bigrams),
                             getattr(d, "expl", b""))


def _clean(term: str) -> bool:
    """A term the kind-terms file can hold (one per line, tab-separated)."""
    return bool(term) and "\n" not in term and "\t" not in term


def _read_lines(path: str, read: int, ino: int, from_start: bool) -> tuple[list[str], bool, int, int] | None:
    """The whole lines of an append-only file added since `read` bytes of the file `ino` were
    read (all of them when `from_start`, or when a full build replaced the file: a new inode):
    (lines, whether they were appended to what was read before, bytes read now, inode).
    None when the file cannot be read. A line still being written is left for next time."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            appended = not from_start and st.st_ino == ino and st.st_size >= read
            start = read if appended else 0
            fh.seek(start)
            data = fh.read()
    except OSError:
        return None
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8", errors="ignore").split("\n")[:-1] if end else [], appended, start + end, st.st_ino
