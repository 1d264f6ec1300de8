"""A VectorIndex on disk, next to the search index (TONGXIN_INDEX_DIR):

    vectors.json                  pointer: {"folder": "vectors-<token>"} (replaced atomically)
    vectors-<token>/meta.json     dimension, kinds (name, approximate, count, sum of vectors), the caller's meta
    vectors-<token>/listings.npz  listing ids, their kind (position in meta's kinds) and text hashes
    vectors-<token>/block-<i>.usearch   a large kind's HNSW graph (usearch file; keys = listing ids)
    vectors-<token>/block-<i>.npy       a small kind's float16 rows, in the order of its ids

A save writes a new folder, then replaces the pointer, then removes folders of earlier saves
older than KEEP_SECONDS: a reader sees the old save or the new one, never half of one (several
processes may save into one directory; the last pointer wins). Loading checks every part against the
others (counts, dimension, keys) and answers None on any mismatch: the caller rebuilds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from . import ann

if TYPE_CHECKING:
    from .index import VectorIndex

log = logging.getLogger("tongxin.core.semantic.persist")
POINTER = "vectors.json"
FORMAT = 1
KEEP_SECONDS = 600.0  # an earlier save younger than this stays (another process may be loading it)


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save(idx: VectorIndex, directory: str, meta: dict[str, Any]) -> str:
    import numpy as np

    os.makedirs(directory, exist_ok=True)
    name = f"vectors-{uuid.uuid4().hex[:12]}"
    folder = os.path.join(directory, name)
    os.makedirs(folder)
    kinds = sorted(k for k, b in idx._blocks.items() if b.n)
    all_ids, all_codes, info = [], [], []
    for i, kind in enumerate(kinds):
        b = idx._blocks[kind]
        ids = b.ids_array()
        if b.approximate:
            b.save(os.path.join(folder, f"block-{i}.usearch"))  # type: ignore[union-attr]
        else:
            np.save(os.path.join(folder, f"block-{i}.npy"), b.m[: b.n].astype(np.float16))  # type: ignore[union-attr]
        all_ids.append(ids)
        all_codes.append(np.full(len(ids), i, dtype=np.int16))
        info.append({"name": kind, "approximate": b.approximate, "n": int(b.n), "total": b.total.tolist()})
    ids = np.concatenate(all_ids) if all_ids else np.zeros(0, dtype=np.int64)
    hashes = np.array([idx._hash_of.get(int(x), "").encode("ascii") for x in ids], dtype="S")  # hex: 40 bytes a listing
    np.savez(os.path.join(folder, "listings.npz"), ids=ids, codes=np.concatenate(all_codes) if all_codes else np.zeros(0, np.int16),
             hashes=hashes)
    _write_json(os.path.join(folder, "meta.json"), {"format": FORMAT, "dim": idx.dim, "kinds": info, "meta": meta})
    _write_json(os.path.join(directory, POINTER), {"folder": name})
    _clean(directory, name)
    return folder


def _clean(directory: str, keep: str) -> None:
    """Remove earlier saves, except those another process may still be writing or reading (recent)."""
    now = time.time()
    for old in os.listdir(directory):
        path = os.path.join(directory, old)
        if old.startswith("vectors-") and old != keep and os.path.isdir(path):
            with suppress(OSError):
                if now - os.path.getmtime(path) > KEEP_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)


def saved_meta(directory: str) -> dict[str, Any] | None:
    """The caller's meta of the current save (None: no readable save)."""
    try:
        with open(os.path.join(directory, POINTER), encoding="utf-8") as fh:
            folder = os.path.join(directory, json.load(fh)["folder"])
        with open(os.path.join(folder, "meta.json"), encoding="utf-8") as fh:
            return dict(json.load(fh)["meta"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(idx: VectorIndex, directory: str) -> tuple[VectorIndex, dict[str, Any]] | None:
    try:
        return _load(idx, directory)
    except FileNotFoundError:
        return None
    except Exception as e:  # corrupt, truncated, another format: rebuild
        log.warning("saved vector index in %s is unreadable (%s: %s); rebuilding", directory, type(e).__name__, e)
        return None


def _load(idx: VectorIndex, directory: str) -> tuple[VectorIndex, dict[str, Any]] | None:
    import numpy as np

    from .index import _Block

    with open(os.path.join(directory, POINTER), encoding="utf-8") as fh:
        folder = os.path.join(directory, json.load(fh)["folder"])
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as fh:
        head = json.load(fh)
    if head.get("format") != FORMAT or head.get("dim") != idx.dim:
        log.info("saved vector index is of format %s, dimension %s: rebuilding", head.get("format"), head.get("dim"))
        return None
    with np.load(os.path.join(folder, "listings.npz")) as z:
        ids, codes, hashes = z["ids"], z["codes"], z["hashes"]
    for i, k in enumerate(head["kinds"]):
        mine = ids[codes == i]
        total = np.asarray(k["total"], dtype=np.float64)
        if k["approximate"]:
            b: Any = ann.AnnBlock.load(os.path.join(folder, f"block-{i}.usearch"), idx.dim, total, idx.ef)
            if b.n != len(mine) or not np.array_equal(np.sort(b.ids_array()), np.sort(mine)):
                raise ValueError(f"block {i} ({k['name']}): {b.n} vectors in the graph, {len(mine)} listings")
        else:
            m = np.load(os.path.join(folder, f"block-{i}.npy"))
            if m.shape != (len(mine), idx.dim):
                raise ValueError(f"block {i} ({k['name']}): rows of shape {m.shape}, {len(mine)} listings")
            b = _Block(idx.dim)
            b.add_many(mine, m)
        idx._blocks[k["name"]] = b
        for lid in mine.tolist():
            idx._kind_of[lid] = k["name"]
    idx._hash_of = {lid: h.decode("ascii") for lid, h in zip(ids.tolist(), hashes.tolist(), strict=True)}
    return idx, dict(head.get("meta") or {})
