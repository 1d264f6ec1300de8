"""Fixtures for the resource kinds: an instrument and helpers to load listings (Chinese data)."""

from __future__ import annotations

from typing import Any

from factories import ORGS, load


def instrument(ext: str = "I-MS", owner: str = "ORG-TIB", region: str = "120116", **over: Any) -> dict[str, Any]:
    d = {"external_id": ext, "kind": "instrument", "title": "液相色谱-质谱联用仪（Orbitrap Exploris 480）",
         "description": "高分辨液质联用系统，面向蛋白质组学与代谢组学研究开放共享。", "keywords": "液质联用;蛋白质组;质谱",
         "industry": "M73", "region": region, "owner": owner, "category": "analytical", "manufacturer": "赛默飞世尔",
         "model": "Orbitrap Exploris 480", "specs": "分辨率 480000；质量范围 40–8000 m/z",
         "capabilities": "蛋白质组定性定量分析；翻译后修饰鉴定；代谢组学", "samples": "蛋白质酶解液、血清、组织提取物",
         "accreditation": "CMA;CNAS", "fee_unit": "hour", "fee_internal": 300, "fee_same_region": 450, "fee_cross_region": 500,
         "service_mode": "operator", "notice_hours": 24, "open_from": 8, "open_to": 20, "instrument_status": "available"}
    d.update(over)
    return d


def load_instrument(ex: Any, **over: Any) -> int:
    row = instrument(**over)
    return load(ex, ORGS, [row])[row["external_id"]]


def org_ids(ex: Any) -> dict[str, int]:
    from sqlalchemy import select

    from tongxin.storage.models import OrganisationRow

    with ex.db.transaction(write=False) as s:
        return {e: i for e, i in s.execute(select(OrganisationRow.external_id, OrganisationRow.id))}
