"""Stored vectors and the embedding queue. Helpers flush, never commit (like repo.py).

The queue: a listing whose embedded text changed gets a row in the transaction that saves it.
Workers claim rows with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single
writer), embed outside any transaction, then write the vectors and delete the rows they still
hold in one transaction per batch. A crash leaves the rows queued (the lease runs out); a row
saved again meanwhile loses its lease, so the newer text is embedded too. A row that failed
`max_attempts` times stays with its last error and is skipped.

Sentence vectors (evidence: the closest sentence of a need and of a technology) have their own
queue, `sentence_queue`, with the same claim, lease and attempts (the queue functions take it as
`queue`); a listing is queued there when its sentences change, and the worker takes sentence work
only when no listing vector is waiting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from .models import ListingRow
from .models_vectors import EmbeddingQueueRow, ListingSentenceVectorRow, ListingVectorRow, SentenceQueueRow

MAX_ATTEMPTS = 3
ID_CHUNK = 900

Q = EmbeddingQueueRow
V = ListingVectorRow
SQ = SentenceQueueRow
SV = ListingSentenceVectorRow


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- vectors as bytes ---------------------------------------------------------------------------

def to_bytes(vector: Any) -> bytes:
    """float16 little-endian bytes of a vector."""
    import numpy as np

    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(blob: bytes, dim: int) -> Any:
    import numpy as np

    v = np.frombuffer(blob, dtype="<f2")
    if v.shape[0] != dim:
        raise ValueError(f"stored vector has {v.shape[0]} values, expected {dim}")
    return v


# -- enqueueing -----------------------------------------------------------------------------------

def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ids = [int(i) for i in ids]
    for i in range(0, len(ids), ID_CHUNK):
        yield ids[i : i + ID_CHUNK]


def enqueue(s: Session, ids: Sequence[int], queue: Any = Q) -> int:
    """Queue these listings (again): fresh attempts, no lease (an in-flight embedding of an older
    text no longer removes the row). Returns how many were newly queued."""
    added = 0
    for chunk in _chunks(sorted(set(ids))):
        s.execute(update(queue).where(queue.listing_id.in_(chunk)).values(attempts=0, last_error=None, leased_until=None, lease_owner=None,
                                                                          enqueued_at=func.now()))
        have = set(s.scalars(select(queue.listing_id).where(queue.listing_id.in_(chunk))))
        new = [i for i in chunk if i not in have]
        if new:
            s.execute(_insert_ignore(s, queue), [{"listing_id": i} for i in new])
            added += len(new)
    return added


def _insert_ignore(s: Session, queue: Any = Q) -> Any:
    """INSERT that skips rows already queued by a concurrent transaction."""
    if s.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(queue).on_conflict_do_nothing(index_elements=["listing_id"])
    return insert(queue).prefix_with("OR IGNORE")


def note_saved(s: Session, listing_id: int, hash_: str) -> bool:
    """Called where a listing is saved: queue it when its embedded text differs from its stored vector's."""
    stored = s.scalar(select(V.text_hash).where(V.listing_id == listing_id))
    if stored == hash_:
        return False
    enqueue(s, [listing_id])
    return True


def note_sentences_saved(s: Session, listing_id: int, hash_: str) -> bool:
    """Called where a listing is saved: queue its sentence vectors when its sentences differ from the stored ones'."""
    stored = s.scalar(select(SV.text_hash).where(SV.listing_id == listing_id))
    if stored == hash_:
        return False
    enqueue(s, [listing_id], SQ)
    return True


def enqueue_new(s: Session, ids: Sequence[int]) -> None:
    """Queue freshly inserted listings (bulk paths: they have no vector yet), for both vectors."""
    for chunk in _chunks(ids):
        s.execute(_insert_ignore(s), [{"listing_id": i} for i in chunk])
        s.execute(_insert_ignore(s, SQ), [{"listing_id": i} for i in chunk])


def stale_ids(s: Session, model: str, version: str) -> list[int]:
    """Listings without a vector of this model and version, and not queued."""
    q = (select(ListingRow.id).outerjoin(V, V.listing_id == ListingRow.id).outerjoin(Q, Q.listing_id == ListingRow.id)
         .where(Q.listing_id.is_(None), or_(V.listing_id.is_(None), V.model != model, V.model_version != version)))
    return [int(i) for i in s.scalars(q)]


def hashed_texts(s: Session, after: int = 0, batch: int = 5000) -> Iterator[list[tuple[int, str, list[str], str, str | None]]]:
    """(id, title, keywords, description, stored text hash) of every listing, in id order, in lists of `batch`."""
    while True:
        rows = s.execute(select(ListingRow.id, ListingRow.title, ListingRow.keywords, ListingRow.description, V.text_hash)
                         .outerjoin(V, V.listing_id == ListingRow.id).where(ListingRow.id > after)
                         .order_by(ListingRow.id).limit(batch)).all()
        if not rows:
            return
        yield [(int(r[0]), r[1], list(r[2] or []), r[3], r[4]) for r in rows]
        after = int(rows[-1][0])


# -- the worker's side ----------------------------------------------------------------------------

def claim(s: Session, owner: str, limit: int, lease_seconds: float, max_attempts: int = MAX_ATTEMPTS,
          now: dt.datetime | None = None, queue: Any = Q) -> list[int]:
    """Lease up to `limit` queued rows to `owner` (oldest first) and count an attempt on each."""
    now = now or utcnow()
    q = (select(queue.listing_id).where(queue.attempts < max_attempts, or_(queue.leased_until.is_(None), queue.leased_until < now))
         .order_by(queue.enqueued_at, queue.listing_id).limit(limit).with_for_update(skip_locked=True))
    ids = [int(i) for i in s.scalars(q)]
    if ids:
        s.execute(update(queue).where(queue.listing_id.in_(ids)).values(
            leased_until=now + dt.timedelta(seconds=lease_seconds), lease_owner=owner, attempts=queue.attempts + 1))
    return ids


def texts_of(s: Session, ids: Sequence[int]) -> dict[int, tuple[str, list[str], str]]:
    out: dict[int, tuple[str, list[str], str]] = {}
    for chunk in _chunks(ids):
        for i, t, k, d in s.execute(select(ListingRow.id, ListingRow.title, ListingRow.keywords, ListingRow.description)
                                    .where(ListingRow.id.in_(chunk))):
            out[int(i)] = (t, list(k or []), d)
    return out


@dataclass(frozen=True)
class StoredVector:
    listing_id: int
    text_hash: str
    vector: bytes


def write_vectors(s: Session, model: str, version: str, dim: int, rows: Sequence[StoredVector]) -> list[int]:
    """Store (replace) these vectors for listings that still exist; returns the ids written."""
    ids = [r.listing_id for r in rows]
    exist: set[int] = set()
    for chunk in _chunks(ids):
        exist.update(int(i) for i in s.scalars(select(ListingRow.id).where(ListingRow.id.in_(chunk))))
        s.execute(delete(V).where(V.listing_id.in_(chunk)))
    keep = [r for r in rows if r.listing_id in exist]
    if keep:
        s.execute(insert(V), [{"listing_id": r.listing_id, "model": model, "model_version": version, "dim": dim,
                               "text_hash": r.text_hash, "vector": r.vector} for r in keep])
    return [r.listing_id for r in keep]


def complete(s: Session, owner: str, ids: Sequence[int], queue: Any = Q) -> int:
    """Delete the queue rows `owner` still holds (a row re-queued meanwhile has lost its lease and stays)."""
    n = 0
    for chunk in _chunks(ids):
        n += s.execute(delete(queue).where(queue.listing_id.in_(chunk), queue.lease_owner == owner)).rowcount or 0  # type: ignore[attr-defined]
    return n


def fail(s: Session, owner: str, ids: Sequence[int], error: str, queue: Any = Q) -> None:
    """Record the error on the rows `owner` holds and release them (retried until MAX_ATTEMPTS)."""
    for chunk in _chunks(ids):
        s.execute(update(queue).where(queue.listing_id.in_(chunk), queue.lease_owner == owner)
                  .values(last_error=error[:2000], leased_until=None, lease_owner=None))


def dequeue(s: Session, ids: Sequence[int], queue: Any = Q) -> None:
    """Drop queue rows outright (their vectors were stored by other means, e.g. the shipped demo vectors)."""
    for chunk in _chunks(ids):
        s.execute(delete(queue).where(queue.listing_id.in_(chunk)))


def queued(s: Session, queue: Any = Q) -> list[int]:
    return [int(i) for i in s.scalars(select(queue.listing_id).order_by(queue.listing_id))]


# -- reading vectors (the index) -----------------------------------------------------------------

def scan_vectors(s: Session, model: str, version: str, after: int = 0, batch: int = 20000
                 ) -> Iterator[list[tuple[int, str, str, str, bytes]]]:
    """(listing id, kind, status, text hash, vector bytes) of every vector of this model, in id order."""
    while True:
        rows = s.execute(select(V.listing_id, ListingRow.kind, ListingRow.status, V.text_hash, V.vector)
                         .join(ListingRow, ListingRow.id == V.listing_id)
                         .where(V.model == model, V.model_version == version, V.listing_id > after)
                         .order_by(V.listing_id).limit(batch)).all()
        if not rows:
            return
        yield [(int(a), b, c, d, bytes(e)) for a, b, c, d, e in rows]
        after = int(rows[-1][0])


def vectors_for(s: Session, model: str, version: str, ids: Sequence[int]) -> dict[int, tuple[str, str, str, bytes]]:
    """listing id → (kind, status, text hash, vector bytes), for these ids (with a vector of this model)."""
    out: dict[int, tuple[str, str, str, bytes]] = {}
    for chunk in _chunks(ids):
        for a, b, c, d, e in s.execute(select(V.listing_id, ListingRow.kind, ListingRow.status, V.text_hash, V.vector)
                                       .join(ListingRow, ListingRow.id == V.listing_id)
                                       .where(V.model == model, V.model_version == version, V.listing_id.in_(chunk))):
            out[int(a)] = (b, c, d, bytes(e))
    return out


def recent_vectors(s: Session, model: str, version: str, since: dt.datetime | None) -> list[tuple[int, str]]:
    """(listing id, text hash) of vectors written at or after `since` (all when None): another process's worker."""
    q = select(V.listing_id, V.text_hash).where(V.model == model, V.model_version == version)
    if since is not None:
        q = q.where(V.created_at >= since)
    return [(int(a), b) for a, b in s.execute(q)]


def recent_signature(s: Session, model: str, version: str, since: dt.datetime | None) -> tuple[int, Any]:
    """(how many, the newest time) of the vectors `recent_vectors` would return: one aggregate
    row, so a refresh re-reads the window only when it changed."""
    q = select(func.count(), func.max(V.created_at)).where(V.model == model, V.model_version == version)
    if since is not None:
        q = q.where(V.created_at >= since)
    n, newest = s.execute(q).one()
    return int(n or 0), newest


def newest_vector_time(s: Session) -> dt.datetime | None:
    return s.scalar(select(func.max(V.created_at)))


def status_counts(s: Session, model: str, version: str, max_attempts: int = MAX_ATTEMPTS) -> dict[str, int]:
    cur = and_(V.model == model, V.model_version == version)
    return {
        "listings": int(s.scalar(select(func.count()).select_from(ListingRow)) or 0),
        "vectors": int(s.scalar(select(func.count()).select_from(V).where(cur)) or 0),
        "other_model_vectors": int(s.scalar(select(func.count()).select_from(V).where(~cur)) or 0),
        "waiting": int(s.scalar(select(func.count()).select_from(Q).where(Q.attempts < max_attempts)) or 0),
        "failed": int(s.scalar(select(func.count()).select_from(Q).where(Q.attempts >= max_attempts)) or 0),
    }


# -- sentence vectors (evidence) -----------------------------------------------------------------

@dataclass(frozen=True)
class StoredSentences:
    listing_id: int
    text_hash: str  # of the sentences, one a line (core.semantic.text.sentences_hash)
    sentences: list[str]
    vectors: bytes  # len(sentences) × dim float16


def stale_sentence_ids(s: Session, model: str, version: str) -> list[int]:
    """Listings without sentence vectors of this model and version, and not queued for them."""
    q = (select(ListingRow.id).outerjoin(SV, SV.listing_id == ListingRow.id).outerjoin(SQ, SQ.listing_id == ListingRow.id)
         .where(SQ.listing_id.is_(None), or_(SV.listing_id.is_(None), SV.model != model, SV.model_version != version)))
    return [int(i) for i in s.scalars(q)]


def hashed_sentence_texts(s: Session, after: int = 0, batch: int = 5000) -> Iterator[list[tuple[int, str, str, str | None]]]:
    """(id, title, description, stored sentences hash) of every listing, in id order, in lists of `batch`."""
    while True:
        rows = s.execute(select(ListingRow.id, ListingRow.title, ListingRow.description, SV.text_hash)
                         .outerjoin(SV, SV.listing_id == ListingRow.id).where(ListingRow.id > after)
                         .order_by(ListingRow.id).limit(batch)).all()
        if not rows:
            return
        yield [(int(r[0]), r[1], r[2], r[3]) for r in rows]
        after = int(rows[-1][0])


def sentence_texts_of(s: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """listing id → (title, description)."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        for i, t, d in s.execute(select(ListingRow.id, ListingRow.title, ListingRow.description).where(ListingRow.id.in_(chunk))):
            out[int(i)] = (t, d)
    return out


def write_sentence_vectors(s: Session, model: str, version: str, dim: int, rows: Sequence[StoredSentences]) -> list[int]:
    """Store (replace) the sentence vectors of listings that still exist; returns the ids written."""
    ids = [r.listing_id for r in rows]
    exist: set[int] = set()
    for chunk in _chunks(ids):
        exist.update(int(i) for i in s.scalars(select(ListingRow.id).where(ListingRow.id.in_(chunk))))
        s.execute(delete(SV).where(SV.listing_id.in_(chunk)))
    keep = [r for r in rows if r.listing_id in exist]
    if keep:
        s.execute(insert(SV), [{"listing_id": r.listing_id, "model": model, "model_version": version, "dim": dim,
                                "text_hash": r.text_hash, "sentences": list(r.sentences), "vectors": r.vectors} for r in keep])
    return [r.listing_id for r in keep]


def sentence_vectors_for(s: Session, model: str, version: str, ids: Sequence[int]) -> dict[int, tuple[str, list[str], bytes]]:
    """listing id → (sentences hash, sentences, vector bytes) of these listings' sentence vectors of
    this model: one query for up to ID_CHUNK ids."""
    out: dict[int, tuple[str, list[str], bytes]] = {}
    for chunk in _chunks(ids):
        for a, h, sents, blob in s.execute(select(SV.listing_id, SV.text_hash, SV.sentences, SV.vectors)
                                           .where(SV.model == model, SV.model_version == version, SV.listing_id.in_(chunk))):
            out[int(a)] = (h, list(sents or []), bytes(blob))
    return out


def sentence_matrix(blob: bytes, n: int, dim: int) -> Any:
    """The (n, dim) float16 matrix of stored sentence vectors."""
    import numpy as np

    m = np.frombuffer(blob, dtype="<f2")
    if m.shape[0] != n * dim:
        raise ValueError(f"stored sentence vectors have {m.shape[0]} values, expected {n} × {dim}")
    return m.reshape(n, dim)


def sentence_status_counts(s: Session, model: str, version: str, max_attempts: int = MAX_ATTEMPTS) -> dict[str, int]:
    cur = and_(SV.model == model, SV.model_version == version)
    return {
        "sentence_vectors": int(s.scalar(select(func.count()).select_from(SV).where(cur)) or 0),
        "sentences_waiting": int(s.scalar(select(func.count()).select_from(SQ).where(SQ.attempts < max_attempts)) or 0),
        "sentences_failed": int(s.scalar(select(func.count()).select_from(SQ).where(SQ.attempts >= max_attempts)) or 0),
    }
