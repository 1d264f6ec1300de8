"""Several hosts on one machine (loopback): a PostgreSQL primary and a streaming hot standby, host A
on the primary and host B reading the standby, each with its own index directory and no shared
files. A listing published through A is found through B within 2 s; B keeps answering when A is
killed; A's index catches up after a restart without a full rebuild.

Needs the PostgreSQL server binaries (Debian postgresql); with CI=true they are required."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import pytest
from conftest import IN_CI

from tongxin.bench import cluster as C

N_PUBLISHES = int(os.environ.get("TONGXIN_TEST_MULTIHOST_N", "30"))  # benchmarks/multihost.py does 200


def _require_binaries() -> None:
    if C.pg_bin() is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries are required in CI (/usr/lib/postgresql/*/bin)")
        pytest.skip("PostgreSQL server binaries not installed")


@pytest.mark.slow
def test_two_hosts_primary_and_standby() -> None:
    _require_binaries()
    root = tempfile.mkdtemp(prefix="tongxin-hosts-")
    with C.pg_pair() as pg, C.two_hosts(pg, root) as (a, b):
        assert a.env["TONGXIN_INDEX_DIR"] != b.env["TONGXIN_INDEX_DIR"]

        # A → B within 2 s (and B → A: writes through B go to the primary)
        lags = [C.visible_after(a, b, i) for i in range(N_PUBLISHES)]
        back = C.visible_after(b, a, 10_000)
        p99 = sorted(lags)[max(0, int(len(lags) * 0.99) - 1)]
        print(f"\nA→B visible: p50 {statistics.median(lags) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms "
              f"over {len(lags)} publishes; B→A {back * 1000:.0f} ms")
        assert p99 <= 2.0 and back <= 2.0

        # kill -9 of A: B keeps answering, and still sees what A published
        a.kill9()
        st, res = C.request("GET", b.url + "/api/v1/search?q=QZX00000K&kind=technology")
        assert st == 200 and res["results"], res
        st, _ = C.request("GET", b.url + "/readyz")
        assert st == 200
        # while A is down, B publishes 3 more; A restarted catches up from the change log, no rebuild
        for i in range(3):
            assert C.visible_after(b, b, 20_000 + i) < 2.0
        a.start()
        a.wait_ready()
        for i in range(3):
            deadline = time.monotonic() + 5
            while True:
                st, res = C.request("GET", a.url + f"/api/v1/search?q=QZX{20_000 + i:05d}K&kind=technology")
                if st == 200 and res["results"]:
                    break
                assert time.monotonic() < deadline, f"A did not catch up with listing {i}"
                time.sleep(0.05)
        log = Path(a.log).read_text()
        restart = log.split("index caught up")
        assert log.count("index rebuilt") == 1 and len(restart) == 2, log  # built once at first start, caught up after kill -9
        assert "3 条变更已应用" in restart[0].rsplit("\n", 1)[-1] or "3 条变更已应用" in log, log
