"""The semantic layer's service (services.hybrid.SemanticSource over the vector store): query encoding, stored vectors, the embedding queue's worker and
the per-process vector index. Exchange owns one (`ex.semantic`); the match path asks it for
`candidates(vector, kinds, k)` and `vector_of(listing_id)`.

Degrades, never fails: with `TONGXIN_ENCODER=none`, an unknown encoder, a model that cannot
load, or a listing without a vector, the answers are "no vector" and "no candidates".

Freshness (like the search index, per process): the index is built from the stored vectors on
first use (or loaded from the copy saved next to the search index, then caught up), then kept
current from the listing change log (status and kind changes, removals)
and from the vectors written since (by any process's worker), checked at most every
`refresh_interval` seconds on the query path; this process's worker adds its vectors at once.

Sentence vectors (evidence, services.evidence): each listing's sentences (its title, then its
description, core.text.sentences) embedded by the same worker from their own queue once no listing
vector is waiting, stored per listing (`listing_sentence_vectors`) and read for the results shown,
never loaded into the index.

Large kinds (core.semantic.index.ANN_THRESHOLD vectors or more) are searched approximately
(HNSW): such an index takes minutes to build at a million listings, so it is saved under
`index_dir` (TONGXIN_INDEX_DIR) after a build and when the service stops, with the change and
vector watermarks it reflects; a restart loads it and catches up from the watermarks. A save of
another model, of a database whose change log is behind it, or one that cannot be read is
rebuilt from the stored vectors.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.semantic import Encoder, encoder_from_setting, get_encoder, persist
from ..core.semantic.index import VectorIndex
from ..core.semantic.text import embed_text, sentences_hash, text_hash
from ..core.text.sentences import listing_sentences
from ..storage import repo
from ..storage import vectors_repo as vr
from ..storage.db import Database

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("tongxin.services.semantic")
Progress = Callable[[int, int], None]

BATCH = 16  # listings per embedding batch (one transaction each; ~2 s of one core with e5)
SENTENCE_BATCH = 4  # listings per sentence batch (up to 4 × 12 sentences, each shorter than a listing's text)
LEASE_SECONDS = 600.0  # a claimed batch is someone else's for this long (then a crashed worker's rows come back)
IDLE_WAIT = 2.0  # the worker's pause when the queue is empty
REFRESH_INTERVAL = 1.0  # the query path's freshness check
RECENT_MARGIN = dt.timedelta(minutes=5)  # vectors re-checked below the newest seen (late commits, clock steps)
QUERY_CACHE = 512


class Semantic:
    def __init__(self, db: Database, encoder: Encoder | str | None = None, batch: int = BATCH, lease_seconds: float = LEASE_SECONDS,
                 refresh_interval: float = REFRESH_INTERVAL, index_dir: str | None = None, ann_threshold: int | None = None,
                 sentence_batch: int = SENTENCE_BATCH) -> None:
        """`encoder`: an Encoder, a key of core.semantic.ENCODERS ("none": off), or None for TONGXIN_ENCODER.
        `index_dir`: where a large index is saved (None: not saved). `ann_threshold`: vectors per kind
        from which a kind is searched approximately (None: the default; 0: always exact)."""
        self.db = db
        self.index_dir = index_dir
        self.ann_threshold = ann_threshold
        self.index_loaded = False  # the last index came from disk (not rebuilt)
        self._dirty = 0  # vectors applied since the last save
        self._version = 0  # moves whenever the vectors the query path sees change (result cache key)
        self.batch = batch
        self.sentence_batch = sentence_batch
        self.lease_seconds = lease_seconds
        self.refresh_interval = refresh_interval
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._encoder_arg = encoder
        self._encoder: Encoder | None = None
        self._resolved = False
        self._index: VectorIndex | None = None
        self._change_wm = 0
        self._vec_wm: dt.datetime | None = None
        self._recent_sig: Any = None  # (window start, (count, newest)) of the vectors last re-checked
        self._last_refresh = 0.0
        self._lock = threading.RLock()
        self._queries: OrderedDict[str, Any] = OrderedDict()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.stale_sentences = 0  # listings queued for sentence vectors by the last enqueue_stale

    # -- the encoder --------------------------------------------------------------------------
    @property
    def encoder(self) -> Encoder | None:
        if not self._resolved:
            arg = self._encoder_arg
            try:
                self._encoder = encoder_from_setting() if arg is None else get_encoder(arg) if isinstance(arg, str) else arg
            except ValueError as e:
                log.error("semantic layer off: %s", e)
                self._encoder = None
            self._resolved = True
        return self._encoder

    @property
    def enabled(self) -> bool:
        return self.encoder is not None

    def version(self) -> int:
        """Moves whenever the vectors that searches and matches use change (after the refresh that
        is due, as a query would do it); 0 when the semantic layer is off. Part of
        `Exchange.watermark`, the result cache's key."""
        idx = self._ensure_index()
        return 0 if idx is None else self._version

    def settled(self) -> bool:
        """`version` would not read the database now (no refresh due, the index built)."""
        return self.encoder is None or (self._index is not None and time.monotonic() - self._last_refresh < self.refresh_interval)

    def encode_query(self, text: str) -> np.ndarray | None:
        """The query vector of free text (None when the semantic layer is off or the model fails)."""
        enc = self.encoder
        if enc is None or not text.strip():
            return None
        with self._lock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return self._queries[text]
        try:
            v = enc.encode_query(text)
        except Exception:
            log.exception("query encoding failed; no semantic candidates for this query")
            return None
        with self._lock:
            self._queries[text] = v
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return v

    # -- the index ------------------------------------------------------------------------------
    def _ensure_index(self) -> VectorIndex | None:
        enc = self.encoder
        if enc is None:
            return None
        with self._lock:
            if self._index is None:
                self._index = self._build_index(enc)
                self._version += 1
                self._last_refresh = time.monotonic()
            elif time.monotonic() - self._last_refresh >= self.refresh_interval:
                self.refresh()
            return self._index

    def _build_index(self, enc: Encoder) -> VectorIndex:
        idx = self._load_saved(enc)
        if idx is not None:
            self.refresh_index(idx)
            return idx
        idx = VectorIndex(enc.dim, self.ann_threshold)
        with self.db.transaction(write=False) as s:
            self._change_wm = repo.last_change_id(s)
            self._vec_wm = vr.newest_vector_time(s)
            rows_of: dict[str, tuple[list[int], list[Any], list[str]]] = {}
            for rows in vr.scan_vectors(s, enc.name, enc.version):
                self._gather(rows_of, rows, enc.dim)
        self._bulk_load(idx, rows_of)
        self.index_loaded = False
        if idx.approximate_kinds():
            self.save_index(idx)
        return idx

    @staticmethod
    def _gather(rows_of: dict[str, tuple[list[int], list[Any], list[str]]], rows: Sequence[tuple[int, str, str, str, bytes]],
                dim: int) -> None:
        """One scanned batch, grouped by kind: ids, one float16 matrix, hashes (published listings only)."""
        import numpy as np

        by_kind: dict[str, list[tuple[int, str, bytes]]] = {}
        for lid, kind, status, h, blob in rows:
            if status == "published":
                by_kind.setdefault(kind, []).append((lid, h, blob))
        for kind, got in by_kind.items():
            ids, chunks, hashes = rows_of.setdefault(kind, ([], [], []))
            ids.extend(x[0] for x in got)
            hashes.extend(x[1] for x in got)
            chunks.append(np.frombuffer(b"".join(x[2] for x in got), dtype="<f2").reshape(len(got), dim))

    @staticmethod
    def _bulk_load(idx: VectorIndex, rows_of: dict[str, tuple[list[int], list[Any], list[str]]]) -> None:
        import numpy as np

        for kind in sorted(rows_of):
            ids, chunks, hashes = rows_of.pop(kind)
            m = np.concatenate(chunks)
            chunks.clear()
            idx.put_many(kind, ids, m, hashes)

    def _meta(self, enc: Encoder) -> dict[str, Any]:
        return {"model": enc.name, "version": enc.version, "change_wm": self._change_wm,
                "vec_wm": self._vec_wm.isoformat() if self._vec_wm is not None else None}

    def save_index(self, idx: VectorIndex | None = None) -> str | None:
        """Save the index (with the watermarks it reflects) under index_dir; None when there is nowhere to save."""
        enc, idx = self.encoder, idx or self._index
        if enc is None or idx is None or not self.index_dir:
            return None
        with self._lock:
            try:
                folder = idx.save(self.index_dir, self._meta(enc))
            except OSError:
                log.exception("could not save the vector index under %s", self.index_dir)
                return None
            self._dirty = 0
            return folder

    def _load_saved(self, enc: Encoder) -> VectorIndex | None:
        """The saved index, when it is of this model and not ahead of the database; sets the watermarks."""
        if not self.index_dir:
            return None
        meta = persist.saved_meta(self.index_dir)
        if not meta or meta.get("model") != enc.name or meta.get("version") != enc.version:
            return None
        with self.db.transaction(write=False) as s:
            change_wm, vec_wm = repo.last_change_id(s), vr.newest_vector_time(s)
        saved_vec = dt.datetime.fromisoformat(meta["vec_wm"]) if meta.get("vec_wm") else None
        if int(meta.get("change_wm", 0)) > change_wm or (saved_vec is not None and (vec_wm is None or _naive(saved_vec) > _naive(vec_wm))):
            log.warning("saved vector index is ahead of the database (another database?): rebuilding")
            return None
        got = VectorIndex.load(self.index_dir, enc.dim, self.ann_threshold)
        if got is None:
            return None
        self._change_wm, self._vec_wm = int(meta.get("change_wm", 0)), saved_vec
        self.index_loaded = True
        return got[0]

    def refresh(self) -> int:
        """Catch up with changed listings and vectors written since the last check; returns how many were applied."""
        return self.refresh_index(self._index)

    def refresh_index(self, idx: VectorIndex | None) -> int:
        enc = self.encoder
        if enc is None or idx is None:
            return 0
        with self._lock, self.db.transaction(write=False) as s:
            self._last_refresh = time.monotonic()
            self._change_wm, changed = repo.changes_since(s, self._change_wm)
            since = self._vec_wm - RECENT_MARGIN if self._vec_wm is not None else None
            sig = (since, vr.recent_signature(s, enc.name, enc.version, since))
            # the look-back window re-read only when it changed (after a bulk load every vector is
            # in it: re-reading them all each second cost ~70 ms per process on the demo)
            recent = vr.recent_vectors(s, enc.name, enc.version, since) if sig != self._recent_sig else []
            self._recent_sig = sig
            self._vec_wm = vr.newest_vector_time(s) or self._vec_wm
            todo = set(changed) | {lid for lid, h in recent if idx.text_hash(lid) != h}
            return self._apply(s, enc, idx, sorted(todo))

    def _apply(self, s: Any, enc: Encoder, idx: VectorIndex, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        found = vr.vectors_for(s, enc.name, enc.version, ids)
        changed = False
        for lid in ids:
            got = found.get(lid)
            if got is None or got[1] != "published":
                changed = idx.remove(lid) or changed  # a draft's vector re-checked: nothing changes
            else:
                idx.put(lid, got[0], vr.from_bytes(got[3], enc.dim), got[2])
                changed = True
        self._dirty += len(ids)
        if changed:
            self._version += 1
        return len(ids)

    def vector_of(self, listing_id: int) -> np.ndarray | None:
        """The stored vector of a listing (float32, unit length), or None (no vector yet, semantic off)."""
        idx = self._ensure_index()
        if idx is None:
            return None
        v = idx.get(listing_id)
        if v is not None:
            return v
        enc = self.encoder
        assert enc is not None
        with self.db.transaction(write=False) as s:  # not published (not indexed) but embedded
            got = vr.vectors_for(s, enc.name, enc.version, [listing_id]).get(listing_id)
        import numpy as np

        return None if got is None else vr.from_bytes(got[3], enc.dim).astype(np.float32)

    def candidates(self, vector: np.ndarray | None, kinds: Sequence[str] = (), k: int = 100,
                   exclude: Sequence[int] = ()) -> list[tuple[int, float]]:
        """(listing id, cosine) of the k published listings of `kinds` nearest to `vector`, best first.
        Visibility and expiry are the caller's to check: ask for more than you show."""
        if vector is None:
            return []
        idx = self._ensure_index()
        if idx is None:
            return []
        return idx.search(vector, kinds, k, exclude)

    def cosines(self, vector: np.ndarray | None, listing_ids: Sequence[int]) -> dict[int, float]:
        """Cosine of `vector` with each listing's stored vector (listings not indexed are left out)."""
        idx = self._ensure_index() if vector is not None else None
        return {} if idx is None else idx.cosines(vector, listing_ids)  # type: ignore[arg-type]

    def background(self, vector: np.ndarray | None, kinds: Sequence[str] = ()) -> float:
        """The mean cosine of `vector` with the stored vectors of these kinds: what an unrelated listing scores."""
        idx = self._ensure_index() if vector is not None else None
        return 0.0 if idx is None else idx.mean_cosine(vector, kinds)  # type: ignore[arg-type]

    # -- the queue ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        enc = self.encoder
        name, version = (enc.name, enc.version) if enc is not None else ("none", "")
        with self.db.transaction(write=False) as s:
            out: dict[str, Any] = vr.status_counts(s, name, version)
            out.update(vr.sentence_status_counts(s, name, version))
            out["published"] = repo.count_status(s, "published")
        out.update(model=name, model_version=version, dim=enc.dim if enc is not None else 0,
                   indexed=len(self._index) if self._index is not None else None)
        return out

    def enqueue_stale(self, check_text: bool = True) -> int:
        """Queue every listing without a current vector: none, another model or version, or (with
        `check_text`) a text hash that no longer matches its text. The same for sentence vectors
        (`stale_sentences`). Returns how many listing vectors were queued."""
        enc = self.encoder
        if enc is None:
            return 0
        with self.db.transaction() as s:
            ids = set(vr.stale_ids(s, enc.name, enc.version))
            if check_text:
                for rows in vr.hashed_texts(s):
                    ids.update(lid for lid, t, k, d, h in rows if h is not None and h != text_hash(embed_text(t, k, d)))
            vr.enqueue(s, sorted(ids))
            sids = set(vr.stale_sentence_ids(s, enc.name, enc.version))
            if check_text:
                for srows in vr.hashed_sentence_texts(s):
                    sids.update(lid for lid, t, d, h in srows if h is not None and h != sentences_hash(listing_sentences(t, d)))
            vr.enqueue(s, sorted(sids), vr.SQ)
        self.stale_sentences = len(sids)
        return len(ids)

    def embed_batch(self) -> int:
        """Claim one batch, embed it, store the vectors and drop the queue rows (one transaction).
        Returns the number of rows claimed (0: nothing to do)."""
        enc = self.encoder
        if enc is None:
            return 0
        with self.db.transaction() as s:
            ids = vr.claim(s, self.owner, self.batch, self.lease_seconds)
            texts = vr.texts_of(s, ids) if ids else {}
        if not ids:
            return 0
        items = [(lid, embed_text(*texts[lid])) for lid in ids if lid in texts]
        try:
            self._store(enc, items, enc.encode_passages([t for _, t in items]))
        except Exception:  # one poison text must not hold back the others: one by one
            log.warning("embedding a batch of %d failed; retrying one by one", len(items), exc_info=True)
            for lid, t in items:
                self._embed_one(enc, lid, t)
        with self.db.transaction() as s:  # rows of listings deleted meanwhile
            vr.complete(s, self.owner, [lid for lid in ids if lid not in texts])
        return len(ids)

    def _embed_one(self, enc: Encoder, lid: int, text: str) -> None:
        try:
            self._store(enc, [(lid, text)], enc.encode_passages([text]))
        except Exception as e:
            with self.db.transaction() as s:
                vr.fail(s, self.owner, [lid], f"{type(e).__name__}: {e}")

    def _store(self, enc: Encoder, items: Sequence[tuple[int, str]], vectors: np.ndarray) -> None:
        if vectors.shape != (len(items), enc.dim):
            raise ValueError(f"encoder returned {vectors.shape}, expected {(len(items), enc.dim)}")
        rows = [vr.StoredVector(lid, text_hash(t), vr.to_bytes(v)) for (lid, t), v in zip(items, vectors, strict=True)]
        with self.db.transaction() as s:
            written = vr.write_vectors(s, enc.name, enc.version, enc.dim, rows)
            vr.complete(s, self.owner, [lid for lid, _ in items])
        self._landed(enc, rows, set(written))

    def _landed(self, enc: Encoder, rows: Sequence[vr.StoredVector], written: set[int]) -> None:
        """This process's new vectors go into its index at once (when built): the published ones."""
        if self._index is None or not written:
            return
        with self._lock, self.db.transaction(write=False) as s:
            self._apply(s, enc, self._index, sorted(written))

    def drain(self, progress: Progress | None = None, limit: int | None = None) -> int:
        """Embed queued listings in the foreground until the queue is empty (or `limit` rows); returns rows claimed.
        Sentence vectors are `drain_sentences`' work."""
        return self._drain(self.embed_batch, "waiting", progress, limit)

    def drain_sentences(self, progress: Progress | None = None, limit: int | None = None) -> int:
        """Embed the sentences of queued listings in the foreground (or `limit` listings); returns rows claimed."""
        return self._drain(self.embed_sentence_batch, "sentences_waiting", progress, limit)

    def _drain(self, step: Callable[[], int], waiting: str, progress: Progress | None, limit: int | None) -> int:
        if self.encoder is None:
            return 0
        total = self.status()[waiting]
        if limit is not None:
            total = min(total, limit)
        done = 0
        if progress:
            progress(0, total)
        while limit is None or done < limit:
            n = step()
            if n == 0:
                break
            done += n
            if progress:
                progress(min(done, max(total, done)), max(total, done))
        return done

    # -- sentence vectors (evidence) ----------------------------------------------------------------
    def embed_sentence_batch(self) -> int:
        """Claim one batch of the sentence queue, split each listing into sentences, embed them all
        at once, store them and drop the queue rows. Returns the number of rows claimed (0: nothing to do)."""
        enc = self.encoder
        if enc is None:
            return 0
        with self.db.transaction() as s:
            ids = vr.claim(s, self.owner, self.sentence_batch, self.lease_seconds, queue=vr.SQ)
            texts = vr.sentence_texts_of(s, ids) if ids else {}
        if not ids:
            return 0
        items = [(lid, listing_sentences(*texts[lid])) for lid in ids if lid in texts]
        try:
            self._store_sentences(enc, items)
        except Exception:  # one poison text must not hold back the others: one by one
            log.warning("embedding the sentences of %d listings failed; retrying one by one", len(items), exc_info=True)
            for item in items:
                try:
                    self._store_sentences(enc, [item])
                except Exception as e:
                    with self.db.transaction() as s:
                        vr.fail(s, self.owner, [item[0]], f"{type(e).__name__}: {e}", queue=vr.SQ)
        with self.db.transaction() as s:  # rows of listings deleted meanwhile
            vr.complete(s, self.owner, [lid for lid in ids if lid not in texts], queue=vr.SQ)
        return len(ids)

    def _store_sentences(self, enc: Encoder, items: Sequence[tuple[int, list[str]]]) -> None:
        flat = [t for _, sents in items for t in sents]
        vectors = enc.encode_passages(flat)
        if vectors.shape != (len(flat), enc.dim):
            raise ValueError(f"encoder returned {vectors.shape}, expected {(len(flat), enc.dim)}")
        rows, at = [], 0
        for lid, sents in items:
            rows.append(vr.StoredSentences(lid, sentences_hash(sents), list(sents), vr.to_bytes(vectors[at : at + len(sents)])))
            at += len(sents)
        with self.db.transaction() as s:
            vr.write_sentence_vectors(s, enc.name, enc.version, enc.dim, rows)
            vr.complete(s, self.owner, [lid for lid, _ in items], queue=vr.SQ)

    def sentence_vectors(self, listing_ids: Sequence[int]) -> dict[int, tuple[list[str], np.ndarray]]:
        """listing id → (its sentences, their float32 vectors) stored for the current model, in one
        query; listings without them (not embedded yet, another model, semantic off) are left out."""
        enc = self.encoder
        if enc is None or not listing_ids:
            return {}
        import numpy as np

        with self.db.transaction(write=False) as s:
            got = vr.sentence_vectors_for(s, enc.name, enc.version, listing_ids)
        out: dict[int, tuple[list[str], np.ndarray]] = {}
        for lid, (_, sents, blob) in got.items():
            if sents:
                out[lid] = (sents, vr.sentence_matrix(blob, len(sents), enc.dim).astype(np.float32))
        return out

    def preload(self, path: str) -> dict[str, int]:
        """Store shipped vectors (an .npz of text hashes and float16 vectors, see
        benchmarks/make_demo_vectors.py) for queued listings whose text they match."""
        enc = self.encoder
        if enc is None or not os.path.exists(path):
            return {"stored": 0, "queued": self.status()["waiting"] if enc is not None else 0}
        import numpy as np

        with np.load(path) as z:
            if str(z["model"]) != enc.name or str(z["version"]) != enc.version:
                log.warning("shipped vectors %s are of %s %s, not %s %s: embedding in the background",
                            path, z["model"], z["version"], enc.name, enc.version)
                return {"stored": 0, "queued": self.status()["waiting"]}
            pos = {str(h): i for i, h in enumerate(z["hashes"])}
            vectors = z["vectors"]
        stored = 0
        with self.db.transaction() as s:
            ids = vr.queued(s)
            texts = vr.texts_of(s, ids)
            rows = []
            for lid, (t, k, d) in texts.items():
                h = text_hash(embed_text(t, k, d))
                if h in pos:
                    rows.append(vr.StoredVector(lid, h, vr.to_bytes(vectors[pos[h]])))
            written = vr.write_vectors(s, enc.name, enc.version, enc.dim, rows)
            vr.dequeue(s, written)
            stored = len(written)
        if self._index is not None:
            self._landed(enc, rows, set(written))
        return {"stored": stored, "queued": len(ids) - stored}

    # -- the background worker ----------------------------------------------------------------
    def start_worker(self) -> bool:
        """Start the daemon thread that drains the queue (publishing never waits for the model)."""
        if self.encoder is None or (self._worker is not None and self._worker.is_alive()):
            return False
        self._stop.clear()
        self._worker = threading.Thread(target=self._work, name="tongxin-embedding", daemon=True)
        self._worker.start()
        return True

    def work_step(self) -> int:
        """One batch of the worker: listing vectors first; sentence vectors only when no listing vector
        is waiting (they are evidence, listing vectors are matching). Returns rows claimed (0: idle)."""
        return self.embed_batch() or self.embed_sentence_batch()

    def _work(self) -> None:
        try:
            self.enqueue_stale(check_text=False)  # a model change: everything of the old model
        except Exception:
            log.exception("could not queue stale vectors")
        while not self._stop.is_set():
            try:
                n = self.work_step()
            except Exception:
                log.exception("embedding worker: batch failed")
                n = 0
            if n == 0:
                self._stop.wait(IDLE_WAIT)

    def stop(self) -> None:
        """Stop the worker; save a large index that changed since its last save (a quick restart)."""
        self._stop.set()
        idx = self._index
        if idx is not None and self._dirty and idx.approximate_kinds():
            self.save_index(idx)
        w = self._worker
        if w is not None and w is not threading.current_thread():
            w.join(timeout=30)
        self._worker = None


def _naive(t: dt.datetime) -> dt.datetime:
    """UTC without tzinfo (SQLite returns naive datetimes, PostgreSQL aware ones)."""
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo is not None else t
