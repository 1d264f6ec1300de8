"""`tongxin bench quality DATASET_DIR`: ranking quality of tongxin next to a plain BM25 baseline.

The dataset is a BEIR-style folder: corpus.jsonl ({"id", "title", "text", ...}),
queries.jsonl ({"id", "text"}) and qrels.tsv (query_id TAB doc_id TAB relevance, no header).

tongxin is measured through the path every user's listing takes: each corpus document
becomes a raw listing record (a published, public technology owned by one benchmark
organisation), goes through `validate_listing`, is stored with `repo.upsert_listing` in a
temporary SQLite database, and reaches the search index through `Exchange.sync`. Each query
is a free-text `Exchange.search(text, kind="technology", limit=100)` by an anonymous visitor.

The text the engines see is the same: title + text. A blank title becomes a placeholder
made only of punctuation (PLACEHOLDER_TITLE), which the analyzer turns into no terms at
all, so it adds nothing to the index. Corpus documents get no keywords (in several sets
the keywords are the queries) and the same structured attributes, so structured fit
cannot tell them apart.

The baseline (tongxin.bench.baseline) is bm25s over jieba tokens, in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadFile, FieldError, Message, TongxinError
from . import metrics

PLACEHOLDER_TITLE = "—"  # punctuation only: no index terms, no bigrams
BENCH_ORG = "ORG-BENCH"
LIMIT = 100
BATCH = 500
TODAY = dt.date(2026, 1, 1)  # corpus listings have no validity window; any fixed day will do

Advance = Callable[[str, int, int | None], None]  # (task, advance by, total or None)


@dataclass
class Dataset:
    name: str
    corpus: list[dict[str, Any]]
    queries: list[tuple[str, str]]
    qrels: dict[str, set[str]] = field(default_factory=dict)


def _dataset_name(path: str) -> str:
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    if len(parts) >= 2 and parts[-1] in ("dev", "test", "train", "validation"):
        return f"{parts[-2]}/{parts[-1]}"
    return parts[-1]


def _jsonl(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    raise BadFile(Message(f"{path} 第 {n} 行不是有效的 JSON：{e}", f"{path} line {n} is not valid JSON: {e}")) from None
                if not isinstance(obj, dict) or "id" not in obj or "text" not in obj:
                    raise BadFile(Message(f"{path} 第 {n} 行缺少 id 或 text", f"{path} line {n} lacks id or text"))
                yield n, obj
    except FileNotFoundError:
        raise BadFile(Message(f"找不到文件 {path}", f"file not found: {path}")) from None


def load_dataset(path: str) -> Dataset:
    """Read corpus.jsonl, queries.jsonl and qrels.tsv (relevance > 0 counts as relevant)."""
    corpus = [
        {"id": str(o["id"]), "title": str(o.get("title") or ""), "text": str(o["text"] or "")}
        for _, o in _jsonl(os.path.join(path, "corpus.jsonl"))
    ]
    queries = [(str(o["id"]), str(o["text"] or "")) for _, o in _jsonl(os.path.join(path, "queries.jsonl"))]
    qrels: dict[str, set[str]] = {}
    qpath = os.path.join(path, "qrels.tsv")
    try:
        with open(qpath, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                parts = line.rstrip("\n").split("\t")
                if not line.strip():
                    continue
                if len(parts) < 3:
                    raise BadFile(Message(f"{qpath} 第 {n} 行应为 query_id<TAB>doc_id<TAB>相关度",
                                          f"{qpath} line {n} should be query_id<TAB>doc_id<TAB>relevance"))
                try:
                    rel = int(float(parts[2]))
                except ValueError:
                    raise BadFile(Message(f"{qpath} 第 {n} 行相关度不是数字", f"{qpath} line {n}: relevance is not a number")) from None
                if rel > 0:
                    qrels.setdefault(parts[0], set()).add(parts[1])
    except FileNotFoundError:
        raise BadFile(Message(f"找不到文件 {qpath}", f"file not found: {qpath}")) from None
    asked = {q for q, _ in queries}
    qrels = {q: r for q, r in qrels.items() if q in asked}
    return Dataset(_dataset_name(path), corpus, queries, qrels)


# -- tongxin --------------------------------------------------------------------------------

def corpus_record(doc: dict[str, Any]) -> dict[str, Any]:
    """The raw listing record for one corpus document (what an import row would carry)."""
    return {
        "external_id": doc["id"],
        "kind": "technology",
        "title": doc["title"].strip() or PLACEHOLDER_TITLE,
        "description": doc["text"],
        "keywords": "",
        "industry": "M73",  # research and experimental development
        "region": "110108",
        "owner": BENCH_ORG,
        "visibility": "public",
        "status": "published",
        "trl": 6,
        "transfer_modes": "许可",
    }


def bench_organisation() -> dict[str, Any]:
    from ..core import credit_code

    return {"external_id": BENCH_ORG, "name": "同心检索质量基准机构", "credit_code": credit_code.make("12110000MB0T0NGX1"),
            "org_type": "research_institute", "region": "110108", "industry": "M73"}


def _noop(task: str, n: int, total: int | None) -> None:
    return None



def run_tongxin(ds: Dataset, workdir: str, advance: Advance = _noop, encoder: Any = None,
                on_query: Callable[[str, list[Any], dict[int, str]], None] | None = None,
                ) -> tuple[dict[str, list[str]], dict[str, Any], dict[str, list[str]]]:
    """Load the corpus through validation → storage → index (and the embedding queue when an
    encoder is given), run every query; returns the runs (words and meaning fused; words only
    when there is no encoder), stats, and the words-only runs of the same index (the lexical
    matcher of this commit, for the same-run comparison)."""
    from ..core.access import VISITOR
    from ..core.listing import validate_listing
    from ..core.matching.fit import MatchContext
    from ..core.organisation import validate_organisation
    from ..core.text import Analyzer
    from ..services import Exchange
    from ..services.hybrid import NoSemantic
    from ..services.semantic import Semantic
    from ..storage import repo
    from ..storage.db import Database

    t0 = time.perf_counter()
    # a fresh analyzer: terms learned from this corpus stay in this run
    db = Database("sqlite:///" + os.path.join(workdir, "bench.db"))
    semantic = Semantic(db, encoder=encoder if encoder is not None else "none")
    ex = Exchange(db, os.path.join(workdir, "index"), analyzer=Analyzer(), semantic=semantic)
    try:
        ex.init_db()
        with ex.db.transaction() as s:
            repo.upsert_organisation(s, validate_organisation(bench_organisation()))
        total = len(ds.corpus)
        problems: list[FieldError] = []
        for start in range(0, total, BATCH):
            chunk = ds.corpus[start : start + BATCH]
            with ex.db.transaction() as s:
                for i, doc in enumerate(chunk, start + 1):
                    try:
                        listing = validate_listing(corpus_record(doc), ex.registry, row=i)
                    except TongxinError as e:
                        problems.extend(e.errors)
                        continue
                    repo.upsert_listing(s, listing, ex.registry, row=i)
            advance("store", len(chunk), total)
        if problems:
            raise BadFile(Message(f"{len(problems)} 篇语料无法作为资源发布", f"{len(problems)} corpus documents are not valid listings"), problems)
        t1 = time.perf_counter()
        ex.sync()  # the index catches up from the change log, as after any import
        advance("index", total, total)
        te = time.perf_counter()
        if semantic.enabled:  # the queue the save filled, drained in the foreground
            seen = [0]

            def embedded(done: int, n: int) -> None:
                advance("embed", done - seen[0], n)
                seen[0] = done

            semantic.drain(embedded)
        t2 = time.perf_counter()
        ids = {}
        ext = [d["id"] for d in ds.corpus]
        for start in range(0, len(ext), BATCH):
            ids.update(ex.ids_by_external(ext[start : start + BATCH]))
        back = {v: k for k, v in ids.items()}
        ctx = MatchContext(today=TODAY)
        runs: dict[str, list[str]] = {}
        words: dict[str, list[str]] = {}
        bad_explanations = 0
        via_terms = 0
        for qid, text in ds.queries:
            _, matches = ex.search(text, kind="technology", viewer=VISITOR, limit=LIMIT, ctx=ctx)
            runs[qid] = [back[m.listing.id] for m in matches if m.listing.id in back]
            if on_query is not None:
                on_query(qid, matches, back)
            for m in matches:
                expl = m.explanation
                if expl.terms and abs(sum(t.points for t in expl.terms) - expl.text_points) > 1e-6:
                    bad_explanations += 1
                if abs(expl.text_points + expl.semantic_points + sum(f.points for f in expl.fit) - m.score) > 1e-6:
                    bad_explanations += 1
                via_terms += sum(1 for t in expl.terms if t.via)
            advance("tongxin", 1, len(ds.queries))
        t3 = time.perf_counter()
        if semantic.enabled:  # the same index, words only
            ex.semantic = NoSemantic()
            for qid, text in ds.queries:
                _, matches = ex.search(text, kind="technology", viewer=VISITOR, limit=LIMIT, ctx=ctx)
                words[qid] = [back[m.listing.id] for m in matches if m.listing.id in back]
            ex.semantic = semantic
        else:
            words = runs
        enc = semantic.encoder
        stats = {"store_s": round(t1 - t0, 2), "index_s": round(te - t1, 2), "embed_s": round(t2 - te, 2),
                 "search_s": round(t3 - t2, 2), "ms_per_query": round(1000 * (t3 - t2) / max(len(ds.queries), 1), 2),
                 "explanations_not_adding_up": bad_explanations, "related_term_hits": via_terms,
                 "encoder": f"{enc.name} {enc.version}" if enc is not None else "none"}
        return runs, stats, words
    finally:
        ex.close()


def run_bm25(ds: Dataset, advance: Advance = _noop) -> tuple[dict[str, list[str]], dict[str, Any]]:
    from .baseline import BM25Baseline, doc_text

    t0 = time.perf_counter()
    total = len(ds.corpus)
    base = BM25Baseline([d["id"] for d in ds.corpus], [doc_text(d["title"], d["text"]) for d in ds.corpus],
                        progress=lambda n: advance("bm25-index", n, total))
    t1 = time.perf_counter()
    runs = {}
    for qid, text in ds.queries:
        runs[qid] = base.search(text, LIMIT)
        advance("bm25", 1, len(ds.queries))
    t2 = time.perf_counter()
    return runs, {"index_s": round(t1 - t0, 2), "search_s": round(t2 - t1, 2)}


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in d.items()}


def _paired_report(p: dict[str, float | int]) -> dict[str, float | int]:
    out: dict[str, float | int] = dict(p)
    out["mean_diff"] = round(float(p["mean_diff"]), 4)
    out["sign_test_p"] = float(f"{float(p['sign_test_p']):.3g}")
    return out


def run_quality(dataset_dir: str, advance: Advance = _noop, workdir: str | None = None, encoder: Any = None) -> dict[str, Any]:
    """The whole benchmark; returns the report that `--json` prints. With an `encoder`,
    "tongxin" is words and meaning fused and "tongxin_words" the words alone, same index."""
    ds = load_dataset(dataset_dir)
    if not ds.corpus or not ds.queries:
        raise BadFile(Message(f"{dataset_dir} 的语料或查询为空", f"{dataset_dir} has an empty corpus or no queries"))
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="tongxin-bench-") as tmp:
            tx_runs, tx_stats, words_runs = run_tongxin(ds, tmp, advance, encoder)
    else:
        tx_runs, tx_stats, words_runs = run_tongxin(ds, workdir, advance, encoder)
    bm_runs, bm_stats = run_bm25(ds, advance)
    tx = metrics.evaluate(tx_runs, ds.qrels)
    bm = metrics.evaluate(bm_runs, ds.qrels)
    wd = metrics.evaluate(words_runs, ds.qrels)
    tx_mean, bm_mean, wd_mean = metrics.mean_scores(tx), metrics.mean_scores(bm), metrics.mean_scores(wd)
    gain = {k: (tx_mean[k] - bm_mean[k]) / bm_mean[k] if bm_mean[k] else 0.0 for k in tx_mean}
    per_query = {
        q: {"tongxin_rank": tx[q].rank, "bm25_rank": bm[q].rank,
            "tongxin_ndcg@10": round(tx[q].ndcg10, 4), "bm25_ndcg@10": round(bm[q].ndcg10, 4)}
        for q in tx
    }
    return {
        "dataset": ds.name,
        "docs": len(ds.corpus),
        "queries": len(tx),
        "tongxin": _rounded(tx_mean),
        "tongxin_words": _rounded(wd_mean),
        "bm25": _rounded(bm_mean),
        "relative_gain": _rounded(gain),
        "gain_over_words": _rounded({k: (tx_mean[k] - wd_mean[k]) / wd_mean[k] if wd_mean[k] else 0.0 for k in tx_mean}),
        "paired_ndcg@10": _paired_report(metrics.paired({q: s.ndcg10 for q, s in tx.items()}, {q: s.ndcg10 for q, s in bm.items()})),
        "paired_mrr@10": _paired_report(metrics.paired({q: s.mrr10 for q, s in tx.items()}, {q: s.mrr10 for q, s in bm.items()})),
        "paired_ndcg@10_vs_words": _paired_report(metrics.paired({q: s.ndcg10 for q, s in tx.items()}, {q: s.ndcg10 for q, s in wd.items()})),
        "timings": {"tongxin": tx_stats, "bm25": bm_stats},
        "per_query": per_query,
    }


# -- command line ---------------------------------------------------------------------------

LABELS = {"store": "存储 / storing listings", "index": "索引 / indexing", "embed": "向量 / embedding", "tongxin": "tongxin 查询 / queries",
          "bm25-index": "BM25 分词 / tokenising", "bm25": "BM25 查询 / queries"}


def bench_encoder(name: str, cache: str | None) -> Any:
    """The encoder a benchmark runs with: a key of core.semantic.ENCODERS or "none", optionally
    behind a vector cache file (bench.vector_cache) so repeated runs do not embed again."""
    from ..core.semantic import get_encoder

    enc = get_encoder(name)
    if enc is None or not cache:
        return enc if enc is not None else "none"
    from .vector_cache import CachedEncoder

    return CachedEncoder(enc, cache)


def cli_quality(dataset_dir: str, as_json: bool, encoder: str = "e5", vector_cache: str | None = None) -> None:
    import typer
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    err = Console(stderr=True, soft_wrap=True)
    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=as_json) as progress:

        def advance(task: str, n: int, total: int | None) -> None:
            if task not in tasks:
                tasks[task] = progress.add_task(LABELS.get(task, task), total=total)
            progress.update(tasks[task], advance=n, total=total)

        try:
            report = run_quality(dataset_dir, advance, encoder=bench_encoder(encoder, vector_cache))
        except TongxinError as e:
            from ..fileio.importer import describe

            progress.stop()
            err.print(f"[red]✗[/red] {describe(e)}", highlight=False)
            raise typer.Exit(4 if isinstance(e, BadFile) else 5) from None
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    out = Console()
    table = Table(title=f"检索质量 / ranking quality: {report['dataset']} ({report['docs']} docs, {report['queries']} queries)")
    table.add_column("metric")
    table.add_column("tongxin", justify="right")
    table.add_column("tongxin (words only)", justify="right")
    table.add_column("BM25 (jieba, bm25s)", justify="right")
    table.add_column("gain over BM25", justify="right")
    for k in ("ndcg@10", "mrr@10", "recall@100", "hit@5"):
        table.add_row(k, f"{report['tongxin'][k]:.3f}", f"{report['tongxin_words'][k]:.3f}", f"{report['bm25'][k]:.3f}",
                      f"{100 * report['relative_gain'][k]:+.1f}%")
    out.print(table)
    p = report["paired_ndcg@10"]
    out.print(f"nDCG@10 per query: tongxin better {p['wins']}, worse {p['losses']}, same {p['ties']} "
              f"(sign test p = {p['sign_test_p']:.3g})")
    t = report["timings"]
    out.print(f"tongxin: store {t['tongxin']['store_s']} s, index {t['tongxin']['index_s']} s, "
              f"{t['tongxin']['ms_per_query']} ms/query; bm25: index {t['bm25']['index_s']} s, search {t['bm25']['search_s']} s")
