"""How long the operators' facts import takes (`services.org_facts.import_facts`: parse, check every
row, write, verify, notify, one policy re-check) for N organisations on a fresh SQLite database
(or PostgreSQL with --url), with a few live policies whose rules read the facts.

    .venv/bin/python benchmarks/facts_import.py [--orgs 1000] [--policies 20] [--url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
os.environ.setdefault("TONGXIN_ENCODER", "none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orgs", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=20)
    ap.add_argument("--url", default="")
    a = ap.parse_args()

    from factories import load
    from test_kinds_resources import row

    from tongxin.core import credit_code
    from tongxin.core.access import SYSTEM
    from tongxin.fileio.org_facts import write_facts_template
    from tongxin.services import Exchange
    from tongxin.services import org_facts as F
    from tongxin.storage.db import Database

    with tempfile.TemporaryDirectory() as d:
        ex = Exchange(Database(a.url or f"sqlite:///{d}/bench.db"), f"{d}/idx")
        ex.init_db()
        orgs = [{"external_id": f"ORG-B{i:05d}", "name": f"基准测试企业{i:05d}有限公司", "credit_code": credit_code.make(f"9112011{i:05d}BENCH"[:17]),
                 "org_type": "enterprise", "region": "120116", "industry": "C37"} for i in range(a.orgs)]
        policies = [row(f"PL-B{j}", "policy", f"研发奖励政策{j}", "按研发投入给予奖励。", "研发;奖励", "ORG-B00000", "120000", "S92",
                        issuing_body="天津市科学技术局", benefit_type="subsidy", benefit="奖励 10 万元",
                        eligibility=f"employees <= {200 + j}; rd_spending >= {50 + j}", valid_until="2099-12-31") for j in range(a.policies)]
        load(ex, orgs, policies)
        rows = [[o["credit_code"], "", 50 + i % 400, 1000 + i, "2015-06-01", 60 + i % 100, "高新技术企业"] for i, o in enumerate(orgs)]
        path = f"{d}/facts.xlsx"
        t0 = time.perf_counter()
        write_facts_template(path, rows)
        t1 = time.perf_counter()
        rep = F.import_facts(ex, SYSTEM, path)
        t2 = time.perf_counter()
        print(f"{rep.organisations} organisations, {a.policies} policies: template written in {t1 - t0:.1f} s, "
              f"import (parse, check, write, verify, notify, policy re-check) {t2 - t1:.1f} s "
              f"({(t2 - t1) / max(1, rep.organisations) * 1000:.1f} ms a row) on {'PostgreSQL' if a.url else 'SQLite'}")
        ex.close()


if __name__ == "__main__":
    main()
