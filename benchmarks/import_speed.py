"""Import speed: a 10,000-row XLSX of technology listings through `services.importing.import_file`
(read → validate every row → one transaction → index sync), against the named baseline
"openpyxl read only" (just reading the same workbook's cells) in the same run.

    .venv/bin/python benchmarks/import_speed.py [--rows 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import openpyxl

from tongxin.core import credit_code
from tongxin.core.kinds import default_registry
from tongxin.fileio.columns import listing_columns, organisation_columns
from tongxin.services import Exchange
from tongxin.services.importing import import_file
from tongxin.storage.db import Database

TOPICS = ["列车控制系统", "工业机器人", "毕赤酵母", "碳纤维复合材料", "医学影像", "自动化码头", "水下生产系统", "储能", "盐碱地水稻", "工业互联网"]


def make_workbook(path: str, rows: int) -> None:
    reg = default_registry()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("机构 organisations")
    ws.append([c.header for c in organisation_columns()])
    for i in range(50):
        code = credit_code.make(f"91120116MA{i:07d}")
        ws.append([f"ORG-B{i}", f"基准测试企业{i}", code, "enterprise", "120116", "C37", "", "", "", ""])
    cols = listing_columns(reg.get("technology"), reg)
    ws = wb.create_sheet("科技成果 technology")
    ws.append([c.header for c in cols])
    for i in range(rows):
        t = TOPICS[i % len(TOPICS)]
        rec = {"external_id": f"T-B{i}", "kind": "technology", "title": f"{t}关键技术第{i}号", "description": f"面向京津冀产业的{t}成套技术，已完成中试验证，指标达到国内领先水平。编号{i}。",
               "keywords": f"{t};京津冀", "industry": "C37", "region": "110108", "owner": f"ORG-B{i % 50}", "trl": 1 + i % 9, "transfer_modes": "许可;合作开发",
               "price_min": 100, "price_max": 300}
        ws.append([rec.get(c.key, "") for c in cols])
    wb.save(path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--database-url", default="")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.xlsx")
        make_workbook(path, a.rows)
        t0 = time.perf_counter()
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        n = sum(1 for ws in wb.worksheets for _ in ws.iter_rows(values_only=True))
        wb.close()
        t_read = time.perf_counter() - t0
        ex = Exchange(Database(a.database_url or "sqlite:///" + os.path.join(tmp, "b.db")), os.path.join(tmp, "idx"))
        ex.init_db()
        t0 = time.perf_counter()
        rep = import_file(ex.db, ex.registry, path)
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        ex.sync()
        t_index = time.perf_counter() - t0
        ex.close()
    print(f"rows: {a.rows} listings (+50 organisations), cells read by baseline: {n} rows")
    print(f"baseline 'openpyxl read only': {t_read:.2f} s  ({a.rows / t_read:,.0f} rows/s)")
    print(f"tongxin import (read+validate+write, one transaction): {t_import:.2f} s  ({a.rows / t_import:,.0f} rows/s)  = {t_import / t_read:.1f}x the baseline")
    print(f"index sync after import: {t_index:.2f} s  ({a.rows / t_index:,.0f} listings/s)")
    print(f"end to end: {(t_import + t_index):.2f} s  ({a.rows / (t_import + t_index):,.0f} rows/s); created {rep.listings_created}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
