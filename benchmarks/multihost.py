"""Two hosts on loopback: how fast a listing published through host A is found through host B.

    .venv/bin/python benchmarks/multihost.py            # 200 publishes (A on the primary, B on a hot standby)
    .venv/bin/python benchmarks/multihost.py --n 50

Starts a PostgreSQL primary and a streaming hot standby on free ports (Debian's PostgreSQL
binaries, as tests/test_multihost.py does), two `tongxin serve` hosts with separate index
directories (B reads the standby), publishes N listings through A's API and polls B's search API
until each appears. Baseline in the same run: the same publishes read back through A itself.
Prints p50/p99/max of both and the standby's replay lag at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from tongxin.bench import cluster as C


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[max(0, int(len(s) * p) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="tongxin-hosts-")
    with C.pg_pair() as pg, C.two_hosts(pg, root) as (a, b):
        same = [C.visible_after(a, a, 50_000 + i) for i in range(args.n // 4)]
        cross = [C.visible_after(a, b, i) for i in range(args.n)]
        lag = pg.replay_lag_bytes()
    for name, xs in (("A → A (baseline, same host)", same), ("A → B (other host, hot standby)", cross)):
        print(f"{name:<34} n={len(xs):<4} p50 {statistics.median(xs) * 1000:6.0f} ms   p99 {pct(xs, 0.99) * 1000:6.0f} ms   "
              f"max {max(xs) * 1000:6.0f} ms")
    print(f"standby replay lag at the end: {lag} bytes; goal: A → B p99 ≤ 2000 ms: {'met' if pct(cross, 0.99) <= 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
