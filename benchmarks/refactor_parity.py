"""Matching results before and after a refactor, in one run: the baseline commit and this tree.

    .venv/bin/python benchmarks/refactor_parity.py [--baseline 3e040c2] [--sets kwgap2abs,problem2abs]
        [--bench ../shared/bench/csl] [--split dev] [--sample 200] [--encoder none|hash] [--noise] [--json OUT] [--keep]

The baseline is checked out into a temporary git worktree (`git worktree add --detach`) and run
from its own sources (PYTHONPATH=<worktree>/src, this venv's packages); this tree runs from its
own src/. Each side runs in a child process with TONGXIN_ENCODER=none (the words-only matcher:
the e5 model is not involved; `--encoder hash` fuses words with the model-free char-bigram
encoder instead), one side after the other, on the same machine in the same run:

(a) CSL sets (BEIR folders): `tongxin.bench.quality.run_tongxin` — validation → storage → index →
    `Exchange.search(text, kind="technology")` by a visitor, the path `tongxin bench quality` takes;
(b) the demo data (loaded with the tree's own demo loader, index rebuilt): for `--sample` published
    listings (half technologies, half scenarios, every visibility) the counterparts through
    `Exchange.match` and through the service the pages and the API call (`Listings.matches`,
    plus `Listings.listing_page` where the tree has it), as the listing's owner; and for every
    demo scenario with an expert pick, `Exchange.match` (nDCG@10 with the pick as the answer).

It prints nDCG@10 of both sides, the share of identical top-10 lists (same ids, same order),
the share of identical top-10 sets, the largest score difference on identical lists, and with
`--noise` the share of the baseline's own lists that repeat in a second run of it. Results
are compared by external id, so row ids assigned in another order do not count as a change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TODAY = "2026-06-01"  # the demo tests' day (tests/test_demo_matching.py)


# -- child: one tree ----------------------------------------------------------------------------

def _top(matches: list[Any], back: dict[int, str] | None = None) -> list[list[Any]]:
    out = []
    for m in matches:
        x = m.listing
        key = back[int(x.id)] if back is not None else (x.external_id or f"#{x.id}")
        out.append([key, round(float(m.score), 6), round(float(m.explanation.relevance), 6)])
    return out


def _csl(path: str, tmp: str, encoder: str) -> dict[str, Any]:
    from tongxin.bench.quality import bench_encoder, load_dataset, run_tongxin

    ds = load_dataset(path)
    top10: dict[str, list[list[Any]]] = {}

    def on_query(qid: str, matches: list[Any], back: dict[int, str]) -> None:
        top10[qid] = _top(matches[:10], back)

    t0 = time.perf_counter()
    runs, stats, _ = run_tongxin(ds, tmp, encoder=bench_encoder(encoder, None), on_query=on_query)
    return {"runs": {q: r[:100] for q, r in runs.items()}, "top10": top10, "qrels": {q: sorted(r) for q, r in ds.qrels.items()},
            "stats": stats, "seconds": round(time.perf_counter() - t0, 1)}


def _load_demo(ex: Any) -> None:
    try:
        from tongxin.demo.load import load_demo  # after the service convention (demo above services)
    except ImportError:
        from tongxin.services.demo_loader import load_demo  # type: ignore[no-redef]  # the baseline's place
    load_demo(ex)


def _demo(tmp: str, sample: int) -> dict[str, Any]:
    import datetime as dt

    from tongxin.core.access import Viewer
    from tongxin.core.matching.fit import MatchContext
    from tongxin.demo import generate
    from tongxin.services import Exchange
    from tongxin.services.listings import Listings
    from tongxin.storage.db import Database

    data = generate()
    digest = hashlib.sha256(json.dumps(data.listings, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()[:16]
    t0 = time.perf_counter()
    ex = Exchange(Database("sqlite:///" + os.path.join(tmp, "demo.db")), os.path.join(tmp, "idx"))
    try:
        ex.init_db()
        _load_demo(ex)
        if getattr(ex.semantic, "enabled", False):  # an encoder without shipped vectors: embed the queue now
            ex.semantic.drain()
        ex.rebuild_index()
        t_load = time.perf_counter() - t0
        ctx = MatchContext(today=dt.date.fromisoformat(TODAY))
        published = [x for x in data.listings if x["status"] == "published"]
        half = sample // 2
        picked = []
        for kind, n in (("technology", sample - half), ("scenario", half)):
            xs = [x for x in published if x["kind"] == kind]
            step = max(1, len(xs) // n)
            picked += [x["external_id"] for x in xs[::step][:n]]
        picks = data.expert_picks
        ids = ex.ids_by_external(sorted(set(picked) | set(picks) | set(picks.values())))
        ls = Listings(ex)
        owner_of: dict[str, int] = {}
        admin = Viewer(role="admin")

        def viewer(ext: str) -> Any:
            if ext not in owner_of:
                owner_of[ext] = int(ex.get(ids[ext], admin)[0].owner_id)
            return Viewer(org_id=owner_of[ext], org_verified=True, role="member")  # the listing's own organisation asks

        out: dict[str, Any] = {"match": {}, "service": {}, "page": {}, "picks": {}}
        for ext in picked:
            v = viewer(ext)
            out["match"][ext] = _top(ex.match(ids[ext], v, limit=10, ctx=ctx)[1])
            out["service"][ext] = _top([s.match for s in ls.matches(v, ids[ext], limit=10, ctx=ctx)])
            if hasattr(ls, "listing_page"):
                out["page"][ext] = _top([s.match for s in ls.listing_page(v, ids[ext], ctx=ctx, limit=10).matches])
        for scen in picks:
            out["picks"][scen] = _top(ex.match(ids[scen], viewer(scen), limit=10, ctx=ctx)[1])
        out["qrels"] = {s: [t] for s, t in picks.items()}
        out["data_digest"] = digest
        out["load_s"] = round(t_load, 1)
        out["seconds"] = round(time.perf_counter() - t0, 1)
        return out
    finally:
        ex.close()


def child(args: argparse.Namespace) -> int:
    import tongxin

    report: dict[str, Any] = {"tongxin_file": tongxin.__file__, "csl": {}}
    for name in filter(None, args.sets.split(",")):
        path = os.path.join(args.bench, name, args.split)
        with tempfile.TemporaryDirectory(prefix="tongxin-parity-") as tmp:
            report["csl"][name] = _csl(path, tmp, args.encoder)
        print(f"  {name}/{args.split}: {report['csl'][name]['seconds']} s", file=sys.stderr)
    if args.sample:
        with tempfile.TemporaryDirectory(prefix="tongxin-parity-") as tmp:
            report["demo"] = _demo(tmp, args.sample)
        print(f"  demo: {report['demo']['seconds']} s", file=sys.stderr)
    with open(args.child, "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False)
    return 0


# -- parent: both trees, compared ---------------------------------------------------------------

def _run_side(label: str, src: str, args: argparse.Namespace, out: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=src, TONGXIN_ENCODER=args.encoder)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", out, "--sets", args.sets, "--bench", args.bench,
           "--split", args.split, "--sample", str(args.sample), "--encoder", args.encoder]
    print(f"{label}: {src}", file=sys.stderr)
    subprocess.run(cmd, env=env, check=True, cwd=os.path.dirname(src))
    with open(out, encoding="utf-8") as fh:
        rep: dict[str, Any] = json.load(fh)
    if not os.path.abspath(rep["tongxin_file"]).startswith(os.path.abspath(src) + os.sep):
        raise SystemExit(f"{label} imported tongxin from {rep['tongxin_file']}, not from {src}")
    return rep


def _ndcg(top: dict[str, list[list[Any]]], qrels: dict[str, list[str]]) -> float:
    from tongxin.bench.metrics import ndcg_at  # this tree's metric for both sides

    return sum(ndcg_at([r[0] for r in top.get(q, [])], set(rel)) for q, rel in qrels.items()) / max(len(qrels), 1)


def compare(a: dict[str, list[list[Any]]], b: dict[str, list[list[Any]]]) -> dict[str, Any]:
    """Top-10 lists of the same queries on two sides: identical lists, identical sets, score gaps."""
    keys = sorted(set(a) | set(b))
    same_list = same_set = 0
    max_diff = 0.0
    differ = []
    for k in keys:
        x, y = a.get(k, [])[:10], b.get(k, [])[:10]
        ix, iy = [r[0] for r in x], [r[0] for r in y]
        if ix == iy:
            same_list += 1
            max_diff = max([max_diff] + [abs(p[1] - q[1]) for p, q in zip(x, y, strict=True)])
        else:
            differ.append(k)
        same_set += set(ix) == set(iy)
    n = max(len(keys), 1)
    return {"n": len(keys), "identical_lists": same_list / n, "identical_sets": same_set / n,
            "max_score_diff_identical": max_diff, "differ": differ[:10]}


def parent(args: argparse.Namespace) -> int:
    base_dir = tempfile.mkdtemp(prefix=f"tongxin-base-{args.baseline}-")
    os.rmdir(base_dir)
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", base_dir, args.baseline], check=True,
                   stdout=subprocess.DEVNULL)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"], check=True, capture_output=True,
                                text=True).stdout.strip())
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="tongxin-parity-out-") as out:
            base = _run_side(f"baseline {args.baseline}", os.path.join(base_dir, "src"), args, os.path.join(out, "base.json"))
            again = (_run_side(f"baseline {args.baseline} again (noise)", os.path.join(base_dir, "src"), args, os.path.join(out, "again.json"))
                     if args.noise else None)
            cur = _run_side(f"this tree {head}{' (+ uncommitted changes)' if dirty else ''}", os.path.join(ROOT, "src"), args,
                            os.path.join(out, "cur.json"))
    finally:
        if not args.keep:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", base_dir], check=False)
    what = "words only" if args.encoder == "none" else "words and meaning fused"
    print(f"\nrefactor parity: baseline {args.baseline} vs this tree {head}{'+' if dirty else ''}, TONGXIN_ENCODER={args.encoder} "
          f"({what}), one run, {time.perf_counter() - t0:.0f} s")
    print(f"{'set':44s} {'n':>5s} {'nDCG@10 base':>12s} {'nDCG@10 now':>12s} {'same top-10':>12s} {'same set':>9s} {'max Δscore':>11s}"
          + (f" {'base vs base':>12s}" if again else ""))
    rows = []
    for name in filter(None, args.sets.split(",")):
        b, c = base["csl"][name], cur["csl"][name]
        rows.append((f"CSL {name}/{args.split} (search)", b["top10"], c["top10"], b["qrels"], again["csl"][name]["top10"] if again else None))
    if args.sample:
        bd, cd = base["demo"], cur["demo"]
        if bd["data_digest"] != cd["data_digest"]:
            print(f"! the demo listings differ between the trees ({bd['data_digest']} vs {cd['data_digest']})")
        ad = again["demo"] if again else {}
        rows.append(("demo expert picks (Exchange.match)", bd["picks"], cd["picks"], bd["qrels"], ad.get("picks")))
        rows.append((f"demo {len(bd['match'])} listings (Exchange.match)", bd["match"], cd["match"], None, ad.get("match")))
        rows.append((f"demo {len(bd['service'])} listings (Listings.matches)", bd["service"], cd["service"], None, ad.get("service")))
        if cd["page"]:
            rows.append((f"demo {len(cd['page'])} listings (page now vs matches base)", bd["service"], cd["page"], None, ad.get("service")))
    report = []
    for label, b, c, qrels, b2 in rows:
        cmp = compare(b, c)
        nb = f"{_ndcg(b, qrels):.4f}" if qrels else "—"
        nc = f"{_ndcg(c, qrels):.4f}" if qrels else "—"
        noise = compare(b, b2) if b2 is not None else None
        print(f"{label:44s} {cmp['n']:5d} {nb:>12s} {nc:>12s} {cmp['identical_lists']:12.1%} {cmp['identical_sets']:9.1%} "
              f"{cmp['max_score_diff_identical']:11.2g}" + (f" {noise['identical_lists']:12.1%}" if noise else ""))
        if cmp["differ"]:
            print(f"    differ, e.g.: {', '.join(cmp['differ'][:5])}")
        if noise and noise["differ"]:
            print(f"    base vs base differ, e.g.: {', '.join(noise['differ'][:5])}")
        report.append({"label": label, **cmp, "noise": noise})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"baseline": base, "current": cur, "compare": report}, fh, ensure_ascii=False)
    return 0


def _default_bench() -> str:
    for up in ("..", os.path.join("..", "..")):  # /work/main/../shared or /work/wt/NAME/../../shared
        path = os.path.normpath(os.path.join(ROOT, up, "shared", "bench", "csl"))
        if os.path.isdir(path):
            return path
    return os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "csl"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="3e040c2", help="the commit before the refactors (default 3e040c2)")
    ap.add_argument("--bench", default=_default_bench(), help="folder of the CSL sets (default: shared/bench/csl beside the checkout)")
    ap.add_argument("--sets", default="kwgap2abs,problem2abs", help="comma-separated CSL sets (1,000 documents each)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--sample", type=int, default=200, help="demo listings to match (0: no demo)")
    ap.add_argument("--encoder", default="none", choices=("none", "hash"),
                    help="none: the words-only matcher (default); hash: words and meaning fused with the model-free "
                         "char-bigram encoder (exercises the fusion and cosine path without e5)")
    ap.add_argument("--json", help="write both sides' results and the comparison here")
    ap.add_argument("--noise", action="store_true", help="run the baseline twice: the share of its own top-10 lists that "
                    "repeat is the run-to-run noise (an index built anew may split exact score ties differently)")
    ap.add_argument("--keep", action="store_true", help="keep the baseline worktree")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.bench = os.path.abspath(args.bench)
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
