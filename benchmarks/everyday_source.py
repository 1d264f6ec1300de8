"""The everyday-words benchmark: needs in staff words → technologies in lab words (issue #13).

The texts are hand-written Python literals in benchmarks/everyday_source_*.py, one module per
group of industries:

- PAIRS[industry]: (need, technology title, technology abstract) — the need as enterprise,
  hospital, park or farm staff would say it; the technology as a lab or patent would write it.
- DISTRACTORS[industry]: (title, abstract) — results that answer none of the needs (lexical
  false friends, near-misses in the same domain, results from other fields).

This module splits the pairs 50/50 per industry with a fixed seed and writes the BEIR-style
folders src/tongxin/bench/data/everyday/{dev,test}/ (corpus.jsonl, queries.jsonl, qrels.tsv).
Each split's corpus is its own answers plus every distractor, so each split stands alone.

    .venv/bin/python benchmarks/everyday_source.py           # (re)write the shipped files
    .venv/bin/python benchmarks/everyday_source.py --check   # exit 1 if they are out of date
    .venv/bin/python benchmarks/everyday_source.py --stats   # counts and the word-overlap figure

Queries carry what a scenario listing needs (title, industry, region) so that a later
benchmark can import each need as a scenario listing for listing → listing matching.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "src", "tongxin", "bench", "data", "everyday")
SEED = 20260113  # issue #13
SPLITS = ("dev", "test")

# slug -> (中文, GB/T 4754 division, region code of a typical asker)
INDUSTRIES: dict[str, tuple[str, str, str]] = {
    "manufacturing": ("装备制造", "C34", "120116"),
    "medical": ("医院医疗", "Q84", "110105"),
    "agriculture": ("农业种植养殖", "A01", "120118"),
    "logistics": ("港口物流", "G59", "120116"),
    "energy": ("能源电力", "D44", "130600"),
    "chemicals": ("石油化工", "C26", "130100"),
    "environment": ("生态环境", "N77", "130200"),
    "materials": ("新材料", "C30", "131000"),
    "transport": ("交通运输", "G54", "110106"),
    "eldercare": ("养老服务", "Q85", "120104"),
    "food": ("食品加工", "C14", "130900"),
    "construction": ("建筑施工", "E47", "110112"),
    "textiles": ("纺织服装", "C17", "130500"),
    "water": ("水务水利", "D46", "120110"),
    "steel": ("钢铁矿山", "C31", "130200"),
    "pharma": ("医药制造", "C27", "130100"),
    "electronics": ("电子信息制造", "C39", "120116"),
    "retail": ("商贸零售", "F52", "110105"),
    "parks": ("园区校园物业", "K70", "120116"),
    "catering": ("餐饮酒店", "H62", "110101"),
}
MODULES = ("everyday_source_a", "everyday_source_b", "everyday_source_c", "everyday_source_d", "everyday_source_e")


@dataclass(frozen=True)
class Pair:
    industry: str
    n: int  # 1-based position within its industry
    need: str
    title: str
    abstract: str

    @property
    def qid(self) -> str:
        return f"ed-q-{self.industry}-{self.n:02d}"

    @property
    def did(self) -> str:
        return f"ed-t-{self.industry}-{self.n:02d}"


def _modules() -> Iterator[object]:
    import importlib

    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    for name in MODULES:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise


def load() -> tuple[list[Pair], list[dict[str, str]]]:
    """Every pair and every distractor document, in source order."""
    pairs: list[Pair] = []
    docs: list[dict[str, str]] = []
    for mod in _modules():
        for ind, rows in getattr(mod, "PAIRS", {}).items():
            if ind not in INDUSTRIES:
                raise ValueError(f"unknown industry {ind!r} in {mod.__name__}")
            pairs.extend(Pair(ind, i, *(s.strip() for s in row)) for i, row in enumerate(rows, 1))
        for ind, rows in getattr(mod, "DISTRACTORS", {}).items():
            if ind not in INDUSTRIES:
                raise ValueError(f"unknown industry {ind!r} in {mod.__name__}")
            docs.extend({"id": f"ed-x-{ind}-{i:02d}", "title": t.strip(), "text": a.strip(), "category": ind}
                        for i, (t, a) in enumerate(rows, 1))
    return pairs, docs


def split(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """Stratified 50/50 by industry; an odd industry's extra pair alternates between splits."""
    rng = random.Random(SEED)
    out: dict[str, list[Pair]] = {s: [] for s in SPLITS}
    odd = 0
    for ind in INDUSTRIES:
        group = [p for p in pairs if p.industry == ind]
        rng.shuffle(group)
        half = len(group) // 2
        if len(group) % 2:
            half += odd
            odd = 1 - odd
        out["dev"].extend(sorted(group[:half], key=lambda p: p.n))
        out["test"].extend(sorted(group[half:], key=lambda p: p.n))
    return out


def need_title(need: str) -> str:
    """A scenario listing's title in the asker's words: the need's first clause, at most 30 characters."""
    for stop in "，。！？；,.!?;":
        need = need.split(stop)[0]
    return need[:30]


def query_row(p: Pair) -> dict[str, str]:
    _, industry, region = INDUSTRIES[p.industry]
    return {"id": p.qid, "text": p.need, "category": p.industry, "title": need_title(p.need),
            "industry": industry, "region": region}


def render(pairs: list[Pair], distractors: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """split -> file name -> file text."""
    files: dict[str, dict[str, str]] = {}
    for name, group in split(pairs).items():
        corpus = [{"id": p.did, "title": p.title, "text": p.abstract, "category": p.industry} for p in group]
        corpus += distractors
        files[name] = {
            "corpus.jsonl": "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus),
            "queries.jsonl": "".join(json.dumps(query_row(p), ensure_ascii=False) + "\n" for p in group),
            "qrels.tsv": "".join(f"{p.qid}\t{p.did}\t1\n" for p in group),
        }
    return files


def stale(files: dict[str, dict[str, str]]) -> list[str]:
    out = []
    for name, texts in files.items():
        for fname, text in texts.items():
            path = os.path.join(OUT, name, fname)
            try:
                with open(path, encoding="utf-8") as fh:
                    if fh.read() == text:
                        continue
            except FileNotFoundError:
                pass
            out.append(os.path.relpath(path, ROOT))
    return out


def write(files: dict[str, dict[str, str]]) -> None:
    for name, texts in files.items():
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        for fname, text in texts.items():
            with open(os.path.join(OUT, name, fname), "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)


# -- word overlap between a need and its answer ----------------------------------------------

def content_words(text: str, analyzer: object | None = None) -> set[str]:
    """rjieba words of ≥ 2 characters (product analyzer, precise mode), stop words left out."""
    from tongxin.core.text import Analyzer

    a = analyzer or Analyzer(search_mode=False)
    return {w for w in a.segment(text) if len(w) >= 2 and w not in a.stop}  # type: ignore[attr-defined]


def overlaps(pairs: list[Pair]) -> dict[str, float]:
    """Per query id: the share of the need's content words that occur in its answer (title + abstract)."""
    from tongxin.core.text import Analyzer

    a = Analyzer(search_mode=False)
    out = {}
    for p in pairs:
        need = content_words(p.need, a)
        answer = content_words(p.title + "。" + p.abstract, a)
        out[p.qid] = len(need & answer) / len(need) if need else 0.0
    return out


def bigram_overlaps(pairs: list[Pair]) -> dict[str, float]:
    """Per query id: the share of the need's CJK character bigrams that occur in its answer."""
    import re

    def grams(text: str) -> set[str]:
        return {run[i : i + 2] for run in re.findall(r"[\u4e00-\u9fff]+", text) for i in range(len(run) - 1)}

    out = {}
    for p in pairs:
        need = grams(p.need)
        out[p.qid] = len(need & grams(p.title + "。" + p.abstract)) / len(need) if need else 0.0
    return out


def stats(pairs: list[Pair], distractors: list[dict[str, str]]) -> dict[str, object]:
    ov = overlaps(pairs)
    bi = bigram_overlaps(pairs)
    parts = split(pairs)
    return {
        "pairs": len(pairs), "distractors": len(distractors),
        "per_industry": {i: sum(p.industry == i for p in pairs) for i in INDUSTRIES},
        "distractors_per_industry": {i: sum(d["category"] == i for d in distractors) for i in INDUSTRIES},
        "splits": {s: {"queries": len(g), "docs": len(g) + len(distractors)} for s, g in parts.items()},
        "mean_need_word_overlap": round(sum(ov.values()) / max(len(ov), 1), 4),
        "pairs_with_no_shared_word": sum(v == 0 for v in ov.values()),
        "mean_need_bigram_overlap": round(sum(bi.values()) / max(len(bi), 1), 4),
        "mean_chars": {"need": round(sum(len(p.need) for p in pairs) / max(len(pairs), 1), 1),
                       "answer": round(sum(len(p.title + p.abstract) for p in pairs) / max(len(pairs), 1), 1),
                       "distractor": round(sum(len(d["title"] + d["text"]) for d in distractors) / max(len(distractors), 1), 1)},
        "highest_overlap": sorted(ov.items(), key=lambda kv: -kv[1])[:10],
    }


def main(argv: list[str]) -> int:
    pairs, distractors = load()
    files = render(pairs, distractors)
    if "--stats" in argv:
        print(json.dumps(stats(pairs, distractors), ensure_ascii=False, indent=1))
        return 0
    if "--check" in argv:
        bad = stale(files)
        for path in bad:
            print(f"out of date / 已过期: {path} — run .venv/bin/python benchmarks/everyday_source.py")
        return 1 if bad else 0
    write(files)
    print(f"wrote {OUT}: {len(pairs)} pairs, {len(distractors)} distractors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
