"""`tongxin bench speed`: indexing throughput, match latency and memory at scale, with the
bare search engine measured in the same run, on the same corpus, as the reference.

Steps (one process unless workers are asked for):

1. generate N deterministic synthetic listings (bench.synthetic) and bulk-load them into
   a temporary database (SQLite file by default; PostgreSQL in a throw-away schema when
   TONGXIN_BENCH_DATABASE_URL is set) in one transaction;
2. build the index through the normal path, `Exchange.rebuild_index` (analyse, index,
   commit);
3. time `Exchange.search` (free text, top 10, ranking and explanations included) and
   `Exchange.match` (listing → counterparts) per query, and the engine alone (tantivy,
   the same weighted query terms, top 10, no filters, ranking, explanations or database);
4. publish / change / withdraw a listing and time until results show it; reopen the index
   as after a restart;
5. optionally (TONGXIN_BENCH_WORKERS=k ≥ 2) start k worker processes on the same database
   and index directory, check that they rank identically, time cross-worker freshness and
   measure throughput with all workers querying at once.

With an encoder (the default: e5), step 1 also writes one synthetic vector per listing
(bench.vectors: built from real e5 embeddings of the corpus's topics and words, not of each
listing) and step 3b times the hybrid path (words and meaning fused, queries embedded for
real) next to the words-only figures of step 3 (bench.speed_semantic).

Environment: TONGXIN_BENCH_DATABASE_URL (default: a temporary SQLite file),
TONGXIN_BENCH_WORKERS (default 0), TONGXIN_BENCH_QUERIES (default 1000 of each kind),
TONGXIN_BENCH_SEED, TONGXIN_BENCH_DIR (where the temporary files go; default $TMPDIR),
TONGXIN_BENCH_ENCODER (e5 by default; hash: the fast test encoder; none: words only),
TONGXIN_BENCH_ANN_THRESHOLD (vectors per kind from which the vector index is approximate).
"""

from __future__ import annotations

import gc
import itertools
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from . import speed_semantic as sem
from .synthetic import TODAY, Generator, listing_record

DEFAULT_SEED = 20260601
LOAD_BATCH = 5000
TARGETS = {
    "index_seconds_1m": 300.0,  # 1,000,000 listings indexed in under 5 minutes
    "match_p99_ms": 10.0,  # top-10 match with explanations
    "p50_vs_engine": 3.0,  # p50 within 3x the bare engine
    "peak_rss_mb": 4096.0,  # 4 GiB
    "freshness_ms": 1000.0,  # publish / change / withdraw visible within 1 s
    "hybrid_text_p99_ms": 60.0,  # free text on the hybrid path, query embedding included
    "vector_recall": 0.9,  # the vector index's candidates: recall@100 against the exact scan
}


# -- small helpers -----------------------------------------------------------------------------

def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def peak_rss_children_mb() -> float:
    """getrusage of waited-for children (on Linux it includes the parent's pages at fork: an upper bound)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def vm_hwm_mb() -> float:
    """This process's peak RSS since exec (Linux VmHWM), else getrusage."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return peak_rss_mb()


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / 1024 / 1024
                    break
    except OSError:
        pass
    import sqlite3

    try:
        from importlib.metadata import version

        tv = version("tantivy")
    except Exception:  # pragma: no cover
        tv = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_gib, 1), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "tantivy": tv, "load_avg_1m": round(os.getloadavg()[0], 2)}


def _dir_mb(path: str) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with suppress(OSError):
                total += os.path.getsize(os.path.join(root, f))
    return total / 1e6


class Advance(Protocol):
    """Report progress: `done` items of `tot` (default: the task's total)."""

    def __call__(self, done: int, tot: int | None = None) -> None: ...


class _Bar:
    """A rich progress bar on stderr (or nothing when quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.p: Any = None

    def __enter__(self) -> _Bar:
        if not self.quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                              TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self.p.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.p is not None:
            self.p.__exit__(*exc)

    def task(self, name: str, total: int | None) -> Advance:
        if self.p is None:
            return lambda done, tot=None: None
        t = self.p.add_task(name, total=total)
        return lambda done, tot=None: self.p.update(t, completed=done, total=tot if tot is not None else total)


@contextmanager
def database(url: str | None, workdir: str) -> Iterator[tuple[str, str]]:
    """(database URL, backend name): a SQLite file in workdir, or a throw-away PostgreSQL schema."""
    if not url:
        yield "sqlite:///" + os.path.join(workdir, "bench.db"), "sqlite"
        return
    if url.startswith("sqlite"):
        yield url, "sqlite"
        return
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    base = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}", "postgresql"
    finally:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


# -- the benchmark -----------------------------------------------------------------------------

def load_corpus(ex: Any, gen: Generator, n: int, bar: _Bar | None = None, vectors: Any = None) -> tuple[int, float, float]:
    """Generate n listings (and their organisations) and bulk-load them in one transaction; with
    `vectors` (bench.vectors.SyntheticVectors) also their synthetic vectors, instead of queueing
    them for embedding. Returns (organisations, seconds generating, seconds in the database
    less the vectors' time, which `vectors.store_seconds` holds)."""
    from ..core.listing import validate_listing
    from ..storage import repo

    n_orgs = gen.n_organisations(n)
    t_gen = t_db = 0.0
    advance = bar.task("写入数据库 loading the database", n) if bar else (lambda done, tot=None: None)
    for x in itertools.islice(gen.listings(min(n, 2000), n_orgs), 2000):  # generator output is valid input
        validate_listing(listing_record(x), ex.registry)
    with ex.db.transaction() as s:
        t = time.perf_counter()
        orgs = list(gen.organisations(n_orgs))
        t_gen += time.perf_counter() - t
        t = time.perf_counter()
        ids = repo.bulk_insert_organisations(s, orgs)
        owners = {o.external_id: i for o, i in zip(orgs, ids, strict=False) if o.external_id}
        t_db += time.perf_counter() - t
        done = 0
        while done < n:
            t = time.perf_counter()
            batch = list(gen.listings(min(n, done + LOAD_BATCH), n_orgs, start=done))
            t_gen += time.perf_counter() - t
            t = time.perf_counter()
            ids = repo.bulk_insert_listings(s, batch, ex.registry, owners, enqueue_vectors=vectors is None)
            if vectors is not None:
                vectors.store(s, ids, batch, done)
            t_db += time.perf_counter() - t
            done += len(batch)
            advance(done)
        t = time.perf_counter()
    t_db += time.perf_counter() - t  # the commit
    return n_orgs, t_gen, t_db - (vectors.store_seconds if vectors is not None else 0.0)


def run_speed(listings: int, database_url: str | None = None, workers: int = 0, queries: int = 1000,
              seed: int = DEFAULT_SEED, quiet: bool = False, workdir: str | None = None, encoder: Any = None,
              ann_threshold: int | None = None) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures (see the module docstring). `encoder`: an
    Encoder or a name ("e5") to add synthetic vectors and time the hybrid path (None: words
    only); `ann_threshold`: vectors per kind from which the vector index is approximate."""
    from ..core.access import VISITOR
    from ..core.matching.fit import MatchContext
    from ..core.matching.rank import allowed_kinds
    from ..core.text import Analyzer
    from ..services import Exchange
    from ..services.hybrid import NoSemantic
    from ..storage import repo
    from ..storage.db import Database

    n = int(listings)
    out: dict[str, Any] = {"listings": n, "seed": seed, "machine": machine()}
    base_dir = tempfile.mkdtemp(prefix="tongxin-speed-", dir=workdir or os.environ.get("TONGXIN_BENCH_DIR") or None)
    ctx = MatchContext(today=TODAY)
    try:
        with database(database_url, base_dir) as (url, backend), _Bar(quiet) as bar:
            out["database"] = backend
            index_dir = os.path.join(base_dir, "index")
            analyzer = Analyzer()  # terms learned from this corpus stay in this run
            ex = Exchange(Database(url), index_dir, analyzer=analyzer, semantic=NoSemantic())  # words only until step 3b
            ex.init_db()
            gen = Generator(seed)
            sv = sem.SyntheticVectors(gen, sem.resolve(encoder), seed) if encoder is not None else None

            # 1. bulk load ------------------------------------------------------------------
            n_orgs, t_gen, t_db = load_corpus(ex, gen, n, bar, sv)
            out.update(organisations=n_orgs, generate_seconds=round(t_gen, 2), db_load_seconds=round(t_db, 2),
                       db_load_listings_per_s=round(n / t_db) if t_db else None)

            # 2. index build -----------------------------------------------------------------
            advance = bar.task("建立索引 building the index", None)
            t = time.perf_counter()
            indexed = ex.rebuild_index(progress=lambda d, tot: advance(d, tot))
            t_build = time.perf_counter() - t
            build_worker_rss = ex.index.last_build.get("worker_peak_rss_mb", 0.0)
            build_workers_n = int(ex.index.last_build.get("workers", 0))
            eng = ex.engine
            out.update(indexed=indexed, index_build_seconds=round(t_build, 2),
                       index_build_listings_per_s=round(n / t_build) if t_build else None,
                       index_seconds=round(t_db + t_build, 2), index_listings_per_s=round(n / (t_db + t_build)),
                       index_build_detail={k: round(v, 2) for k, v in ex.index.last_build.items()},
                       index_mb=round(_dir_mb(index_dir), 1), segments=eng.num_segments(), peak_rss_after_build_mb=round(peak_rss_mb(), 1))

            # 3. latency ---------------------------------------------------------------------
            r = random.Random(seed + 99)
            text_qs = gen.text_queries(queries)
            ext_ids = [f"SYN-{i + 1}" for i in r.sample(range(n), min(n, queries * 3))]
            id_of = ex.ids_by_external(ext_ids)
            match_ids: list[int] = []
            for e in ext_ids:
                i = id_of.get(e)
                if i is None:
                    continue
                x = gen.listing(int(e[4:]) - 1, n_orgs)
                if x.visibility == "public" and x.status == "published":
                    match_ids.append(i)
                if len(match_ids) >= queries:
                    break
            warm = min(50, len(text_qs))
            for q, k in text_qs[:warm]:
                ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)
            for i in match_ids[:warm]:
                ex.match(i, VISITOR, limit=10, ctx=ctx)

            # as `tongxin serve` does once started (cli/main.py): the objects of start-up (here also of
            # the load and the build) leave the cyclic collector's view, so no ~40 ms full collections
            gc.collect()
            gc.freeze()
            advance = bar.task("检索 free-text search", len(text_qs))
            search_ms: list[float] = []
            empty = 0
            for j, (q, k) in enumerate(text_qs):
                t = time.perf_counter()
                _, res = ex.search(q, kind=k, viewer=VISITOR, limit=10, ctx=ctx)
                search_ms.append((time.perf_counter() - t) * 1000)
                empty += not res
                if j % 50 == 0:
                    advance(j + 1)
            advance(len(text_qs))
            advance = bar.task("匹配 listing → listing", len(match_ids))
            match_ms: list[float] = []
            for j, i in enumerate(match_ids):
                t = time.perf_counter()
                ex.match(i, VISITOR, limit=10, ctx=ctx)
                match_ms.append((time.perf_counter() - t) * 1000)
                if j % 50 == 0:
                    advance(j + 1)
            advance(len(match_ids))

            # the reference: the engine alone, the same query terms (the very scoring query the
            # exchange searches), top 10, no filters, no ids, no database, no ranking
            text_terms = [ex.text_qterms(q) for q, _ in text_qs]
            with ex.db.transaction(write=False) as s:
                found = repo.fetch_listings(s, match_ids, ex.registry)
            listing_terms = [ex.listing_qterms(found[i]) for i in match_ids]
            # (as searched: less the terms that no document of the kinds asked for holds)
            text_refs = [ex.scoring_query(qt, allowed_kinds(ex.registry, None, k)) for qt, (_, k) in zip(text_terms, text_qs, strict=False)]
            listing_refs = [ex.scoring_query(qt, allowed_kinds(ex.registry, found[i], None)) for qt, i in zip(listing_terms, match_ids, strict=False)]
            engine_ms: list[float] = []
            engine_listing_ms: list[float] = []
            for ref in text_refs[:warm]:
                eng.search_bare(ref, 10)
            for ref in text_refs:
                t = time.perf_counter()
                eng.search_bare(ref, 10)
                engine_ms.append((time.perf_counter() - t) * 1000)
            for ref in listing_refs:
                t = time.perf_counter()
                eng.search_bare(ref, 10)
                engine_listing_ms.append((time.perf_counter() - t) * 1000)
            qterm_sets = text_terms
            out.update(
                queries=len(search_ms), listing_queries=len(match_ms), empty_results=empty,
                query_terms_mean=round(statistics.mean(len(x) for x in qterm_sets), 1) if qterm_sets else 0,
                listing_query_terms_mean=round(statistics.mean(len(x) for x in listing_terms), 1) if listing_terms else 0,
                engine_exact_fallbacks=eng.stats["exact_fallbacks"], engine_kind_boosted=eng.stats["kind_boosted"], explained_from_index=ex.stats["explained_from_index"],
                explained=ex.stats["explained"],
                match_p50_ms=round(_pct(search_ms, 50), 3), match_p99_ms=round(_pct(search_ms, 99), 3),
                match_mean_ms=round(statistics.mean(search_ms), 3),
                listing_match_p50_ms=round(_pct(match_ms, 50), 3), listing_match_p99_ms=round(_pct(match_ms, 99), 3),
                listing_match_mean_ms=round(statistics.mean(match_ms), 3) if match_ms else None,
                engine_p50_ms=round(_pct(engine_ms, 50), 3), engine_p99_ms=round(_pct(engine_ms, 99), 3),
                engine_listing_p50_ms=round(_pct(engine_listing_ms, 50), 3), engine_listing_p99_ms=round(_pct(engine_listing_ms, 99), 3),
            )
            out["match_vs_engine_p50"] = round(out["match_p50_ms"] / out["engine_p50_ms"], 2) if out["engine_p50_ms"] else None
            out["listing_match_vs_engine_p50"] = (round(out["listing_match_p50_ms"] / out["engine_listing_p50_ms"], 2)
                                                  if out["engine_listing_p50_ms"] else None)

            # 3b. the hybrid path: words and meaning (synthetic vectors; queries embedded for real) --
            if sv is not None:
                out["semantic"] = sem.semantic_phase(ex, sv, index_dir, ann_threshold, text_qs, match_ids, ctx)

            # 4. freshness and restart --------------------------------------------------------
            out.update(_freshness(ex, n_orgs, ctx))
            sample = [(q, k) for q, k in text_qs[:20]]
            before = [[(m.listing.id, round(m.score, 6)) for m in ex.search(q, kind=k, ctx=ctx)[1]] for q, k in sample]
            ex.close()
            t = time.perf_counter()
            ex = Exchange(Database(url), index_dir, analyzer=analyzer, semantic=NoSemantic())
            fresh = ex.engine.store.fresh
            ex.search(text_qs[0][0], kind=text_qs[0][1], ctx=ctx)
            out["reopen_ms"] = round((time.perf_counter() - t) * 1000, 1)
            after = [[(m.listing.id, round(m.score, 6)) for m in ex.search(q, kind=k, ctx=ctx)[1]] for q, k in sample]
            out["reopen_rebuilt"] = fresh
            out["reopen_same_results"] = before == after

            # 5. several worker processes -------------------------------------------------------
            if workers >= 2:
                # the reference ranking of this process, then it steps aside: one worker becomes the writer
                texts, ids = text_qs[:50], match_ids[:50]
                single = ([[(m.listing.id, round(m.score, 6), [t.term for t in m.explanation.terms]) for m in ex.search(q, kind=kk, ctx=ctx)[1]]
                           for q, kk in texts], [[(m.listing.id, round(m.score, 6)) for m in ex.match(i, ctx=ctx)[1]] for i in ids])
                ex.close()
                out["workers"] = _workers(url, index_dir, workers, text_qs, match_ids, single, n_orgs)
            else:
                ex.close()
            # 3c. the hybrid path in a fresh serving process (its own peak memory and latency) ---
            if sv is not None:
                from . import serve_probe

                out["serving"] = serve_probe.run(url, index_dir, list(text_qs), list(match_ids), ann_threshold, base_dir,
                                                 serve_probe.encoder_key(sv.enc))
            out["peak_rss_mb"] = round(peak_rss_mb(), 1)
            out["peak_rss_children_mb"] = round(peak_rss_children_mb(), 1)
            out["analysis_worker_peak_rss_mb"] = round(build_worker_rss, 1)
            # the whole build: this process plus its analysis workers at their peaks (an upper bound)
            out["peak_rss_total_mb"] = round(out["peak_rss_mb"] + build_workers_n * build_worker_rss, 1)
    finally:
        gc.unfreeze()
        if os.environ.get("TONGXIN_BENCH_KEEP"):  # keep the database and indexes (for profiling); say where
            out["kept_dir"] = base_dir
        else:
            shutil.rmtree(base_dir, ignore_errors=True)
    out["targets"] = TARGETS
    out["verdict"] = _verdict(out)
    return out


def _freshness(ex: Any, n_orgs: int, ctx: Any) -> dict[str, Any]:
    """Publish, change and withdraw one listing; time until search results show each."""
    from ..core.listing import validate_listing

    base = Generator(DEFAULT_SEED + 1).listing(0, n_orgs)
    rec = listing_record(base)
    rec.update(external_id="SYN-FRESH-1", title="青蒿素微流控连续合成装置", keywords="青蒿素连续合成;微流控反应器", visibility="public",
               status="published", valid_from=None, valid_until=None)
    found = lambda q: {m.listing.external_id for m in ex.search(q, ctx=ctx)[1]}  # noqa: E731
    out: dict[str, Any] = {}
    t = time.perf_counter()
    lid = ex.save_listing(validate_listing(rec, ex.registry))
    ok = "SYN-FRESH-1" in found("青蒿素连续合成")
    out["fresh_publish_ms"] = round((time.perf_counter() - t) * 1000, 1) if ok else None
    rec2 = dict(rec, title="钙钛矿叠层电池激光划线设备", keywords="钙钛矿叠层电池;激光划线")
    t = time.perf_counter()
    x = validate_listing(rec2, ex.registry)
    x.id = lid
    ex.save_listing(x)
    ok = "SYN-FRESH-1" in found("钙钛矿叠层电池 激光划线") and "SYN-FRESH-1" not in found("青蒿素连续合成")
    out["fresh_change_ms"] = round((time.perf_counter() - t) * 1000, 1) if ok else None
    t = time.perf_counter()
    ex.set_status(lid, "closed")
    ok = "SYN-FRESH-1" not in found("钙钛矿叠层电池 激光划线")
    out["fresh_withdraw_ms"] = round((time.perf_counter() - t) * 1000, 1) if ok else None
    ex.set_status(lid, "published")
    return out


# -- worker processes --------------------------------------------------------------------------

def _worker_main(url: str, index_dir: str, inbox: Any, outbox: Any) -> None:
    """A worker process: its own Exchange on the shared database and index directory."""
    from ..core.access import VISITOR
    from ..core.listing import validate_listing
    from ..core.matching.fit import MatchContext
    from ..services import Exchange
    from ..storage.db import Database

    ctx = MatchContext(today=TODAY)
    ex = Exchange(Database(url), index_dir)
    ex.engine  # noqa: B018 - open the index (writer or reader)
    outbox.put(("ready", os.getpid(), ex.is_writer))
    while True:
        cmd, arg = inbox.get()
        try:
            if cmd == "stop":
                break
            if cmd == "rank":
                texts, ids = arg
                a = [[(m.listing.id, round(m.score, 6), [t.term for t in m.explanation.terms]) for m in ex.search(q, kind=k, ctx=ctx)[1]]
                     for q, k in texts]
                b = [[(m.listing.id, round(m.score, 6)) for m in ex.match(i, VISITOR, ctx=ctx)[1]] for i in ids]
                outbox.put(("rank", a, b))
            elif cmd == "publish":
                t = time.perf_counter()
                lid = ex.save_listing(validate_listing(arg, ex.registry))
                outbox.put(("published", lid, time.perf_counter() - t))
            elif cmd == "withdraw":
                ex.set_status(arg, "closed")
                outbox.put(("withdrawn", arg))
            elif cmd == "poll":  # search until the external id shows (or disappears)
                query, ext, present, timeout = arg
                t0 = time.time()
                while True:
                    got = ext in {m.listing.external_id for m in ex.search(query, ctx=ctx)[1]}
                    if got == present or time.time() - t0 > timeout:
                        break
                    time.sleep(0.005)
                outbox.put(("polled", got == present, time.time()))
            elif cmd == "load":  # throughput: run queries until told the time is up
                texts, ids, seconds = arg
                lat: list[float] = []
                t_end = time.perf_counter() + seconds
                j = 0
                while time.perf_counter() < t_end:
                    t = time.perf_counter()
                    if j % 2 == 0:
                        q, k = texts[(j // 2) % len(texts)]
                        ex.search(q, kind=k, ctx=ctx)
                    else:
                        ex.match(ids[(j // 2) % len(ids)], VISITOR, ctx=ctx)
                    lat.append((time.perf_counter() - t) * 1000)
                    j += 1
                outbox.put(("load", lat))
        except Exception as e:  # report, keep serving
            outbox.put(("error", repr(e)))
    ex.close()
    outbox.put(("rss", vm_hwm_mb()))


def _workers(url: str, index_dir: str, k: int, text_qs: list[Any], match_ids: list[int], single: tuple[Any, Any],
             n_orgs: int) -> dict[str, Any]:
    mp = multiprocessing.get_context("spawn")
    procs = []
    boxes = []
    for _ in range(k):
        inbox, outbox = mp.Queue(), mp.Queue()
        p = mp.Process(target=_worker_main, args=(url, index_dir, inbox, outbox), daemon=True)
        p.start()
        procs.append(p)
        boxes.append((inbox, outbox))
    res: dict[str, Any] = {"processes": k}
    try:
        # the benchmark process has closed its Exchange: one worker becomes the writer
        ready = [b[1].get(timeout=120) for b in boxes]
        res["writers"] = sum(1 for r in ready if r[2])
        # the same ranking in every worker as in the single process before
        texts = text_qs[:50]
        ids = match_ids[:50]
        single_a, single_b = single
        for inbox, _ in boxes:
            inbox.put(("rank", (texts, ids)))
        ranks = [b[1].get(timeout=300) for b in boxes]
        res["same_ranking"] = all(r[0] == "rank" and r[1] == single_a and r[2] == single_b for r in ranks)
        # freshness across workers: publish through worker i, poll through every other worker
        delays: list[float] = []
        publish_ms: list[float] = []
        ok = True
        base = Generator(DEFAULT_SEED + 2).listing(0, n_orgs)
        for trial in range(6):
            src = trial % k
            rec = listing_record(base)
            term = ["石墨烯导热膜卷对卷", "氢燃料电池双极板冲压", "光伏组件回收热解", "锂电池极片激光清洗", "海水淡化反渗透膜", "磁悬浮离心鼓风机"][trial]
            ext = f"SYN-XW-{trial}"
            rec.update(external_id=ext, title=term + "技术", keywords=term, visibility="public", status="published",
                       valid_from=None, valid_until=None)
            others = [j for j in range(k) if j != src]
            t_pub = time.time()  # from the request: database write, index, commit, reload, query
            boxes[src][0].put(("publish", rec))
            msg = boxes[src][1].get(timeout=60)
            if msg[0] != "published":
                ok = False
                continue
            publish_ms.append(msg[2] * 1000)
            for j in others:
                boxes[j][0].put(("poll", (term, ext, True, 5.0)))
            for j in others:
                m = boxes[j][1].get(timeout=60)
                ok = ok and m[0] == "polled" and m[1]
                delays.append((m[2] - t_pub) * 1000)
            # withdraw through another worker, check it disappears everywhere
            t_w = time.time()
            boxes[others[0]][0].put(("withdraw", msg[1]))
            boxes[others[0]][1].get(timeout=60)
            boxes[src][0].put(("poll", (term, ext, False, 5.0)))
            m = boxes[src][1].get(timeout=60)
            ok = ok and m[0] == "polled" and m[1]
            delays.append((m[2] - t_w) * 1000)
        res["freshness_ok"] = ok
        res["freshness_max_ms"] = round(max(delays), 1) if delays else None
        res["freshness_p50_ms"] = round(_pct(delays, 50), 1) if delays else None
        res["publish_call_max_ms"] = round(max(publish_ms), 1) if publish_ms else None
        # throughput with every worker querying at once
        seconds = 10.0
        for inbox, _ in boxes:
            inbox.put(("load", (text_qs, match_ids, seconds)))
        lats: list[float] = []
        for _, outbox in boxes:
            m = outbox.get(timeout=120)
            if m[0] == "load":
                lats += m[1]
        res["throughput_qps"] = round(len(lats) / seconds, 1)
        res["p50_ms"] = round(_pct(lats, 50), 3)
        res["p99_ms"] = round(_pct(lats, 99), 3)
    finally:
        rss = []
        for inbox, outbox in boxes:  # noqa: B007
            inbox.put(("stop", None))
        for (inbox, outbox), p in zip(boxes, procs, strict=False):  # noqa: B007
            try:
                while True:
                    m = outbox.get(timeout=30)
                    if m[0] == "rss":
                        rss.append(m[1])
                        break
            except Exception:
                pass
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
        res["peak_rss_mb_per_worker"] = [round(x, 1) for x in rss]
    return res


# -- report ------------------------------------------------------------------------------------

def _verdict(o: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    if o["listings"] >= 1_000_000:
        v["index_under_5_min"] = o["index_seconds"] <= TARGETS["index_seconds_1m"]
    v["match_p99_le_10ms"] = o["match_p99_ms"] <= TARGETS["match_p99_ms"]
    v["listing_match_p99_le_10ms"] = o["listing_match_p99_ms"] <= TARGETS["match_p99_ms"]
    v["match_p50_within_3x_engine"] = (o["match_vs_engine_p50"] or 99) <= TARGETS["p50_vs_engine"]
    v["listing_match_p50_within_3x_engine"] = (o["listing_match_vs_engine_p50"] or 99) <= TARGETS["p50_vs_engine"]
    m = o.get("semantic")
    if m:
        v["hybrid_text_p99_le_60ms"] = (m["text_p99_ms"] or 1e9) <= TARGETS["hybrid_text_p99_ms"]
        v["hybrid_listing_match_p99_le_10ms"] = (m["listing_match_p99_ms"] or 1e9) <= TARGETS["match_p99_ms"]
        v["vector_recall_ge_0_9"] = m["recall_at_100"] >= TARGETS["vector_recall"]
    v["peak_rss_le_4gib"] = o.get("peak_rss_total_mb", o["peak_rss_mb"]) <= TARGETS["peak_rss_mb"]
    fr = [o.get("fresh_publish_ms"), o.get("fresh_change_ms"), o.get("fresh_withdraw_ms")]
    v["fresh_within_1s"] = all(x is not None and x <= TARGETS["freshness_ms"] for x in fr)
    v["restart_without_rebuild"] = not o.get("reopen_rebuilt", True) and bool(o.get("reopen_same_results"))
    w = o.get("workers")
    if w:
        v["workers_same_ranking"] = bool(w.get("same_ranking"))
        v["workers_fresh_within_1s"] = bool(w.get("freshness_ok")) and (w.get("freshness_max_ms") or 1e9) <= TARGETS["freshness_ms"]
    return v


def _table(o: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"tongxin bench speed — {o['listings']:,} listings, {o['database']}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        ("generate (not indexing)", f"{o['generate_seconds']} s"),
        ("DB load", f"{o['db_load_seconds']} s  ({o['db_load_listings_per_s']:,}/s)"),
        ("index build (analyse+index+commit)", f"{o['index_build_seconds']} s  ({o['index_build_listings_per_s']:,}/s)"),
        ("indexing total", f"{o['index_seconds']} s  ({o['index_listings_per_s']:,}/s)"),
        ("index size / segments", f"{o['index_mb']} MB / {o['segments']}"),
        ("free-text match p50 / p99", f"{o['match_p50_ms']} / {o['match_p99_ms']} ms"),
        ("listing match p50 / p99", f"{o['listing_match_p50_ms']} / {o['listing_match_p99_ms']} ms"),
        ("bare engine (free-text terms) p50 / p99", f"{o['engine_p50_ms']} / {o['engine_p99_ms']} ms"),
        ("bare engine (listing terms) p50 / p99", f"{o['engine_listing_p50_ms']} / {o['engine_listing_p99_ms']} ms"),
        ("p50 vs engine (free text / listing)", f"{o['match_vs_engine_p50']}x / {o['listing_match_vs_engine_p50']}x"),
        ("peak RSS: this process / each analysis worker / total", f"{o['peak_rss_mb']} / {o['analysis_worker_peak_rss_mb']} / "
                                                                f"{o['peak_rss_total_mb']} MB"),
        ("publish / change / withdraw visible after", f"{o.get('fresh_publish_ms')} / {o.get('fresh_change_ms')} / {o.get('fresh_withdraw_ms')} ms"),
        ("reopen (restart) + first query", f"{o['reopen_ms']} ms, rebuilt: {o['reopen_rebuilt']}"),
    ]
    m = o.get("semantic")
    if m:
        rows += [
            ("hybrid: vector index build / reload", f"{m['vector_index_build_seconds']} / {m.get('vector_index_reload_seconds')} s, "
                                                    f"approximate: {', '.join(m['approximate_kinds']) or '-'}"),
            ("hybrid: query embedding p50 / p99", f"{m['query_embed_p50_ms']} / {m['query_embed_p99_ms']} ms"),
            ("hybrid: free text p50 / p99", f"{m['text_p50_ms']} / {m['text_p99_ms']} ms"),
            ("hybrid: listing match p50 / p99", f"{m['listing_match_p50_ms']} / {m['listing_match_p99_ms']} ms"),
            ("hybrid: candidates recall@100 vs exact", str(m["recall_at_100"])),
        ]
    w = o.get("workers")
    if w:
        rows += [
            ("workers: same ranking", str(w.get("same_ranking"))),
            ("workers: cross-worker freshness max / p50", f"{w.get('freshness_max_ms')} / {w.get('freshness_p50_ms')} ms"),
            ("workers: throughput, p50 / p99", f"{w.get('throughput_qps')} q/s, {w.get('p50_ms')} / {w.get('p99_ms')} ms"),
        ]
    for a, b in rows:
        t.add_row(a, b)
    c = Console()
    c.print(t)
    c.print("targets: " + ", ".join(f"{k}={'✓' if v else '✗'}" for k, v in o["verdict"].items()))


def cli_speed(listings: int, as_json: bool) -> None:
    """Entry point of `tongxin bench speed --listings N [--json]`."""
    figures = run_speed(
        listings,
        database_url=os.environ.get("TONGXIN_BENCH_DATABASE_URL") or None,
        workers=int(os.environ.get("TONGXIN_BENCH_WORKERS", "0") or 0),
        queries=int(os.environ.get("TONGXIN_BENCH_QUERIES", "1000") or 1000),
        seed=int(os.environ.get("TONGXIN_BENCH_SEED", str(DEFAULT_SEED)) or DEFAULT_SEED),
        encoder=None if (enc := os.environ.get("TONGXIN_BENCH_ENCODER", "e5") or "e5") == "none" else enc,
        ann_threshold=int(a) if (a := os.environ.get("TONGXIN_BENCH_ANN_THRESHOLD")) else None,
    )
    if as_json:
        sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")
    else:
        _table(figures)


if __name__ == "__main__":  # pragma: no cover
    cli_speed(int(sys.argv[1]) if len(sys.argv) > 1 else 10000, "--json" in sys.argv)

