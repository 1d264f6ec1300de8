"""Small hand-written Chinese fixtures for tests (the demo generator has its own tests)."""

from __future__ import annotations

from typing import Any

from tongxin.core import credit_code

ORGS: list[dict[str, Any]] = [
    {"external_id": "ORG-BJTU", "name": "北京交通大学", "credit_code": credit_code.make("12100000400000624"), "org_type": "university", "region": "110108", "industry": "P83"},
    {"external_id": "ORG-WQ", "name": "交控技术装备有限公司", "credit_code": credit_code.make("91120114MA05JK0C1"), "org_type": "enterprise", "region": "120114", "industry": "C37"},
    {"external_id": "ORG-TIB", "name": "中国科学院天津工业生物技术研究所", "credit_code": credit_code.make("12100000MB0R12345"), "org_type": "research_institute", "region": "120116", "industry": "M73"},
    {"external_id": "ORG-HOSP", "name": "天津市第一中心医院", "credit_code": credit_code.make("12120000401200000"), "org_type": "hospital", "region": "120101", "industry": "Q84"},
    {"external_id": "ORG-SJZ", "name": "石家庄药业集团有限公司", "credit_code": credit_code.make("91130100MA0CXK1L2"), "org_type": "enterprise", "region": "130100", "industry": "C27"},
]


def tech(ext: str, title: str, description: str, keywords: str, owner: str = "ORG-BJTU", industry: str = "C37", trl: int = 7, **over: Any) -> dict[str, Any]:
    d = {"external_id": ext, "kind": "technology", "title": title, "description": description, "keywords": keywords, "industry": industry,
         "region": "110108", "owner": owner, "trl": trl, "transfer_modes": "许可;合作开发", "price_min": 100, "price_max": 300,
         "valid_from": "2025-01-01", "valid_until": "2030-12-31"}
    d.update(over)
    return d


def scen(ext: str, title: str, description: str, keywords: str, owner: str = "ORG-WQ", industry: str = "C37", required_trl: int = 6, **over: Any) -> dict[str, Any]:
    d = {"external_id": ext, "kind": "scenario", "title": title, "description": description, "keywords": keywords, "industry": industry,
         "region": "120114", "owner": owner, "required_trl": required_trl, "budget_min": 50, "budget_max": 400,
         "problem": "", "valid_from": "2025-01-01", "valid_until": "2030-12-31"}
    d.update(over)
    return d


LISTINGS: list[dict[str, Any]] = [
    tech("T-CBTC", "基于通信的列车控制系统（CBTC）", "自主研发的城轨CBTC列车控制系统，支持全自动运行，已在多条地铁线路应用。", "列车控制系统;CBTC;轨道交通信号"),
    tech("T-PEPT", "AI筛选海洋活性肽及毕赤酵母细胞工厂合成", "利用人工智能高效筛选海洋源抗氧化肽，在毕赤酵母细胞工厂中高产率合成牡蛎肽。", "海洋活性肽;毕赤酵母;合成生物学",
         owner="ORG-TIB", industry="M73", trl=5),
    tech("T-AIDX", "人工智能辅助诊断软件", "基于深度学习的医学影像人工智能辅助诊断软件，可识别肺结节等病灶。", "人工智能辅助诊断;医学影像", industry="I65", trl=6),
    tech("T-OLD", "过期的列车信号技术", "已经过期的列车控制信号技术。", "列车控制系统", valid_from="2018-01-01", valid_until="2020-01-01"),
    scen("S-WQ", "城轨列车控制系统产业化场景", "武清产业园需要引进成熟的CBTC列车控制系统技术，实现轨道交通信号系统产业化。", "列车控制系统;轨道交通信号;产业化"),
    scen("S-HOSP", "人工智能辅助诊断临床验证场景", "医院提供临床验证场景，寻求医学影像人工智能辅助诊断产品开展验证。", "临床验证;人工智能辅助诊断", owner="ORG-HOSP",
         industry="Q84", region="120101"),
    scen("S-PEPT", "海洋活性肽绿色生物制造需求", "企业希望采用细胞工厂绿色制造抗氧化肽，替代传统提取工艺。", "活性肽;生物制造", owner="ORG-SJZ", industry="C27", region="130100", required_trl=4),
]


def load(ex: Any, orgs: list[dict[str, Any]] | None = None, listings: list[dict[str, Any]] | None = None) -> dict[str, int]:
    """Load fixtures through the normal validation path; returns external id → listing id."""
    from tongxin.core.listing import validate_listing
    from tongxin.core.organisation import validate_organisation
    from tongxin.storage import repo

    with ex.db.transaction() as s:
        for o in orgs if orgs is not None else ORGS:
            repo.upsert_organisation(s, validate_organisation(o))
        for x in listings if listings is not None else LISTINGS:
            repo.upsert_listing(s, validate_listing(x, ex.registry), ex.registry)
    ex.sync()
    return ex.ids_by_external([x["external_id"] for x in (listings if listings is not None else LISTINGS)])
