"""Load the generated demo data through the same validation path that users' imports take."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..core.errors import Message, ValidationError
from ..core.listing import validate_listing
from ..core.organisation import validate_organisation
from ..storage import repo
from .exchange import Exchange
from .semantic import Semantic

Progress = Callable[[int, int], None]

# the demo's vectors, precomputed (benchmarks/make_demo_vectors.py): float16, keyed by text hash
DEMO_VECTORS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo", "data", "vectors-e5.npz")


def load_demo(ex: Exchange, seed: int = 20251225, progress: Progress | None = None) -> dict[str, int]:
    from ..demo.generator import generate

    data = generate(seed=seed)
    total = len(data.organisations) + len(data.listings)
    done = 0
    errors = []
    with ex.db.transaction() as s:
        for i, raw in enumerate(data.organisations, start=1):
            try:
                repo.upsert_organisation(s, validate_organisation(raw, row=i))
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
        if progress:
            progress(done, total)
        for i, raw in enumerate(data.listings, start=1):
            try:
                repo.upsert_listing(s, validate_listing(raw, ex.registry, row=i), ex.registry)
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
            if progress and done % 250 == 0:
                progress(done, total)
        if errors:
            raise ValidationError(Message(f"演示数据有 {len(errors)} 处错误", f"{len(errors)} error(s) in the demo data"), errors)
    if progress:
        progress(total, total)
    return {"organisations": len(data.organisations), "listings": len(data.listings)}


def load_demo_vectors(ex: Exchange, path: str = DEMO_VECTORS) -> dict[str, int]:
    """Store the shipped demo vectors for the queued listings whose embedded text they match (same
    model and version as the configured encoder); the rest stay queued for the background worker."""
    sem = ex.semantic
    if not isinstance(sem, Semantic):  # a stand-in source (NoSemantic): no stored vectors, nothing queued
        return {"stored": 0, "queued": 0}
    return sem.preload(path)
