"""Readiness: can this process answer correctly right now? (/readyz, /metrics, `tongxin status`).

Ready means: the database answers, the search index is open, and the index is at most
MAX_BEHIND changes behind the database's change log. Each check reports its own figure, so an
operator sees why a host is not ready (a slow catch-up after a restore, a lost database).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from ..storage import repo
from ..storage import vectors_repo as vr

if TYPE_CHECKING:
    from .exchange import Exchange

log = logging.getLogger("tongxin.health")

MAX_BEHIND = 1000  # changes the index may lag before the host stops taking traffic


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks, "seconds": round(self.seconds, 4)}


def _check_database(ex: Exchange) -> dict[str, Any]:
    try:
        with ex.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return {"ok": True, "dialect": ex.db.dialect}
    except Exception as e:  # a probe reports, never raises
        return {"ok": False, "error": type(e).__name__}


def _check_index(ex: Exchange) -> dict[str, Any]:
    try:
        eng = ex.engine
        docs = int(eng.num_docs())
        last = int(eng.store.last_change)
    except Exception as e:
        return {"ok": False, "error": type(e).__name__}
    try:
        with ex.db.engine.connect() as c:
            behind, newest = repo.count_changes_above(c, last)
    except Exception as e:
        return {"ok": False, "documents": docs, "error": type(e).__name__}
    return {"ok": behind <= MAX_BEHIND, "documents": docs, "last_change": last, "newest_change": newest,
            "behind": behind, "writer": bool(eng.store.writable)}


def queue_depth(ex: Exchange) -> int | None:
    """Listings waiting for a vector (None when the semantic layer is off)."""
    enc = getattr(ex.semantic, "encoder", None)
    if enc is None:
        return None
    try:
        with ex.db.transaction(write=False) as s:
            return int(vr.status_counts(s, enc.name, enc.version)["waiting"])
    except Exception:
        log.warning("could not count the embedding queue", exc_info=True)
        return None


def readiness(ex: Exchange) -> Readiness:
    t0 = time.perf_counter()
    checks = {"database": _check_database(ex)}
    checks["index"] = _check_index(ex) if checks["database"]["ok"] else {"ok": False, "error": "database unavailable"}
    depth = queue_depth(ex) if checks["database"]["ok"] else None
    checks["embedding_queue"] = {"ok": True, "waiting": depth}
    ready = all(c["ok"] for c in checks.values())
    return Readiness(ready, checks, time.perf_counter() - t0)
