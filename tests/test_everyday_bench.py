"""The everyday-words benchmark (issue #13): the shipped BEIR files are in sync with the
hand-written source in benchmarks/everyday_source*.py and well formed, the split is stratified,
needs do not leak into their answers, and `tongxin bench quality` reads the set."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

import pytest

from tongxin.bench.quality import load_dataset
from tongxin.core import industries, regions
from tongxin.core.text import Analyzer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import everyday_source as src  # noqa: E402

DATA = os.path.join(ROOT, "src", "tongxin", "bench", "data", "everyday")
SPLITS = ("dev", "test")


def _jsonl(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _qrels(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8") as fh:
        return [line.rstrip("\n").split("\t") for line in fh if line.strip()]


@pytest.fixture(scope="module")
def source() -> tuple[list[src.Pair], list[dict[str, str]]]:
    return src.load()


def test_shipped_files_are_built_from_the_source(source) -> None:
    pairs, distractors = source
    stale = src.stale(src.render(pairs, distractors))
    assert stale == [], f"run .venv/bin/python benchmarks/everyday_source.py to rebuild {stale}"


def test_sizes_and_industry_balance(source) -> None:
    pairs, distractors = source
    assert len(pairs) >= 240 and len(distractors) >= 400
    assert len(pairs) + len(distractors) >= 640
    per = Counter(p.industry for p in pairs)
    assert len(per) >= 12 and set(per) <= set(src.INDUSTRIES)
    assert max(per.values()) <= 2 * min(per.values()), per  # roughly balanced


def test_texts_are_unique_and_non_trivial(source) -> None:
    pairs, distractors = source
    needs = [p.need for p in pairs]
    titles = [p.title for p in pairs] + [d["title"] for d in distractors]
    assert len(set(needs)) == len(needs)
    assert len(set(titles)) == len(titles), [t for t, n in Counter(titles).items() if n > 1]
    for p in pairs:
        assert 10 <= len(p.need) <= 120, p.qid
        assert p.title and len(p.abstract) >= 60, p.did
    for d in distractors:
        assert d["title"] and len(d["text"]) >= 25, d["id"]


@pytest.mark.parametrize("split", SPLITS)
def test_split_files_are_well_formed(split: str) -> None:
    corpus = _jsonl(os.path.join(DATA, split, "corpus.jsonl"))
    queries = _jsonl(os.path.join(DATA, split, "queries.jsonl"))
    qrels = _qrels(os.path.join(DATA, split, "qrels.tsv"))
    doc_ids = [d["id"] for d in corpus]
    query_ids = [q["id"] for q in queries]
    assert len(set(doc_ids)) == len(doc_ids) and len(set(query_ids)) == len(query_ids)
    assert all(set(d) == {"id", "title", "text", "category"} and d["title"] and d["text"] for d in corpus)
    assert all(q["text"] and q["category"] in src.INDUSTRIES for q in queries)
    assert all(len(r) == 3 and r[2] == "1" for r in qrels)
    assert Counter(r[0] for r in qrels) == Counter(query_ids)  # exactly one relevant per query
    assert {r[1] for r in qrels} <= set(doc_ids)
    assert len({r[1] for r in qrels}) == len(qrels)  # no document answers two needs


@pytest.mark.parametrize("split", SPLITS)
def test_queries_import_as_scenario_listings(split: str) -> None:
    """Each need carries a title, a GB/T 4754 division and a region code that exist."""
    for q in _jsonl(os.path.join(DATA, split, "queries.jsonl")):
        assert q["title"] and q["text"].startswith(q["title"]) and len(q["title"]) <= 30, q["id"]
        assert industries.get(q["industry"]) is not None, q["id"]
        assert regions.get(q["region"]) is not None, q["id"]


def test_split_is_stratified_and_disjoint(source) -> None:
    pairs, distractors = source
    parts = src.split(pairs)
    dev, test = ({p.qid for p in parts[s]} for s in SPLITS)
    assert not dev & test and dev | test == {p.qid for p in pairs}
    for ind in src.INDUSTRIES:
        n_dev = sum(p.industry == ind for p in parts["dev"])
        n_test = sum(p.industry == ind for p in parts["test"])
        assert abs(n_dev - n_test) <= 1, ind
    assert abs(len(dev) - len(test)) <= 1
    # each split's corpus: its own answers plus every distractor, nothing else
    for s in SPLITS:
        ids = {d["id"] for d in _jsonl(os.path.join(DATA, s, "corpus.jsonl"))}
        assert ids == {p.did for p in parts[s]} | {d["id"] for d in distractors}


def test_split_is_fixed_by_the_seed(source) -> None:
    pairs, _ = source
    assert [p.qid for p in src.split(pairs)["dev"]] == [p.qid for p in src.split(list(pairs))["dev"]]


def test_needs_do_not_leak_into_their_answers(source) -> None:
    pairs, _ = source
    a = Analyzer(search_mode=False)
    for p in pairs:
        answer = p.title + p.abstract
        assert p.need not in answer, p.qid
        for clause in p.need.replace("，", "。").split("。"):
            assert len(clause) < 8 or clause not in answer, (p.qid, clause)
    overlap = src.overlaps(pairs)
    mean = sum(overlap.values()) / len(overlap)
    assert mean < 0.15, f"needs share {mean:.1%} of their words with their answers"
    assert max(overlap.values()) <= 0.6
    assert sum(v == 0 for v in overlap.values()) >= len(pairs) // 3  # many pairs share no word at all
    assert src.content_words("食堂油烟太大总被投诉", a) >= {"食堂", "油烟"}


def test_overlap_counts_shared_words() -> None:
    pair = src.Pair("catering", 1, "食堂油烟太大", "静电油烟净化", "高压电场捕集颗粒物。")
    assert src.overlaps([pair])[pair.qid] == pytest.approx(0.5)  # 油烟 of {食堂, 油烟}


def test_quality_harness_reads_the_set() -> None:
    ds = load_dataset(os.path.join(DATA, "dev"))
    assert ds.name == "everyday/dev"
    assert len(ds.queries) == len(ds.qrels) >= 120
    assert len(ds.corpus) >= 520
    assert all(len(r) == 1 for r in ds.qrels.values())
