"""Step 3c of `tongxin bench speed`: the hybrid path as a deployed exchange runs it, in a fresh
process that only opens what a server opens (the database, the saved word index, the saved
vector index, the encoder) and answers queries.

The benchmark's own process also holds the synthetic corpus generator, the load and build
machinery and a second copy of the vector index for the restart check, so its peak RSS says
little about what a server needs. This process reports its own: the start-up time (indexes
opened and loaded, nothing rebuilt), the peak RSS after start-up and after the queries
(Linux VmHWM), and hybrid free-text and listing-match latency (query embedding included, its
cache empty; explanations included).

Run by `speed.run_speed` as `python -m tongxin.bench.serve_probe ARGS.json`; prints one JSON
object on stdout.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from typing import Any


def _pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))], 3)


def probe(url: str, index_dir: str, text_qs: list[tuple[str, str | None]], match_ids: list[int],
          ann_threshold: int | None = None, encoder: str = "e5") -> dict[str, Any]:
    from ..core.access import VISITOR
    from ..core.matching.fit import MatchContext
    from ..services import Exchange
    from ..services.semantic import Semantic
    from ..storage.db import Database
    from .speed import TODAY, vm_hwm_mb

    ctx = MatchContext(today=TODAY)
    t0 = time.perf_counter()
    db = Database(url)
    semantic = Semantic(db, encoder=encoder, index_dir=index_dir, ann_threshold=ann_threshold, refresh_interval=3600)
    ex = Exchange(db, index_dir, semantic=semantic, background_sync=False)
    try:
        ex.engine  # noqa: B018 - open the saved word index
        semantic.candidates(semantic.encode_query("启动"), [], 1)  # load the saved vector index (and the model)
        start_s = time.perf_counter() - t0
        out: dict[str, Any] = {"startup_seconds": round(start_s, 2), "vector_index_loaded_from_disk": semantic.index_loaded,
                               "rss_after_startup_mb": round(vm_hwm_mb(), 1)}
        for q, k in text_qs[:20]:  # warm-up, then every timed query is embedded afresh
            ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)
        for i in match_ids[:20]:
            ex.match(i, VISITOR, limit=10, ctx=ctx)
        gc.collect()
        gc.freeze()  # as `tongxin serve` does after start-up
        semantic._queries.clear()
        text_ms: list[float] = []
        for q, k in text_qs:
            t = time.perf_counter()
            ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)
            text_ms.append((time.perf_counter() - t) * 1000)
        match_ms: list[float] = []
        for i in match_ids:
            t = time.perf_counter()
            ex.match(i, VISITOR, limit=10, ctx=ctx)
            match_ms.append((time.perf_counter() - t) * 1000)
        out.update(text_p50_ms=_pct(text_ms, 50), text_p99_ms=_pct(text_ms, 99), listing_match_p50_ms=_pct(match_ms, 50),
                   listing_match_p99_ms=_pct(match_ms, 99), queries=len(text_ms), listing_queries=len(match_ms),
                   peak_rss_mb=round(vm_hwm_mb(), 1))
        return out
    finally:
        semantic.stop()
        ex.close()


def encoder_key(encoder: Any) -> str:
    """The key of core.semantic.ENCODERS that builds an encoder of this model (what the probe loads)."""
    from ..core.semantic import ENCODERS

    for key, make in ENCODERS.items():
        if make().name == encoder.name:
            return key
    raise ValueError(f"no encoder key for the model {encoder.name!r}")


def run(url: str, index_dir: str, text_qs: list[tuple[str, str | None]], match_ids: list[int], ann_threshold: int | None,
        workdir: str, encoder: str = "e5") -> dict[str, Any]:
    """Run `probe` in a fresh interpreter; its figures (or {"error": …} when it failed)."""
    import os
    import subprocess

    path = os.path.join(workdir, "serve-probe.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"url": url, "index_dir": index_dir, "text_qs": text_qs, "match_ids": match_ids, "ann_threshold": ann_threshold,
                   "encoder": encoder}, fh)
    r = subprocess.run([sys.executable, "-m", "tongxin.bench.serve_probe", path], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout)[-2000:]}
    got: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        a = json.load(fh)
    text_qs = [(q, k) for q, k in a["text_qs"]]
    print(json.dumps(probe(a["url"], a["index_dir"], text_qs, [int(i) for i in a["match_ids"]], a.get("ann_threshold"),
                           a.get("encoder", "e5"))))


if __name__ == "__main__":
    main()
