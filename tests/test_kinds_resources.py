"""Every resource kind, from one declaration table: validation (with the exact message), the import
template round trip (xlsx and csv), export → import round trip, and matching with explanations and
hard rules through the whole stack."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from factories import ORGS, load
from resource_factories import instrument

from tongxin.core.access import VISITOR
from tongxin.core.errors import ValidationError
from tongxin.core.kinds import default_registry
from tongxin.core.kinds.resources import SPECS
from tongxin.core.listing import validate_listing
from tongxin.core.matching.fit import MatchContext
from tongxin.fileio.exporter import write_template
from tongxin.fileio.importer import parse_file
from tongxin.services import Exchange

REG = default_registry()
CTX = MatchContext(today=dt.date(2026, 6, 1))


def row(ext: str, kind: str, title: str, desc: str, kw: str, owner: str, region: str, industry: str, **attrs: Any) -> dict[str, Any]:
    return {"external_id": ext, "kind": kind, "title": title, "description": desc, "keywords": kw, "industry": industry, "region": region,
            "owner": owner, "valid_from": "2025-01-01", "valid_until": "2030-12-31", **attrs}


# kind → (a valid record, (field, bad value, exact Chinese message))
VALID: dict[str, tuple[dict[str, Any], tuple[str, Any, str]]] = {
    "instrument": (instrument(), ("service_mode", "随便", "‘服务方式’‘随便’ 不是可选值，请从以下选择：机组人员操作（送样）、自主上机")),
    "testing_need": (row("TN-1", "testing_need", "血清蛋白质组定量分析", "需要对血清样品开展蛋白质组定量分析，使用高分辨质谱。", "蛋白质组;质谱", "ORG-SJZ", "130100", "C27",
                         category="analytical", samples="血清蛋白质组定量", sample_count=40, accreditation="CMA", max_fee=600),
                     ("sample_count", "四十", "‘样品数量’应为整数，实际为 ‘四十’")),
    "equipment": (row("EQ-1", "equipment", "转让五轴数控加工中心", "闲置五轴联动数控加工中心，2019 年出厂。", "数控加工中心;五轴", "ORG-WQ", "120114", "C34", side="offer",
                      equipment_type="数控加工中心", brand_model="DMG MORI DMU 65", spec="五轴联动", year=2019, condition="good", quantity=2, deals="出售", price=120),
                  ("deals", "", "‘交易方式’为必填项，请填写")),
    "material_lot": (row("ML-1", "material_lot", "重型废钢 500 吨", "现货重型废钢，按 GB/T 4223-2017 分类。", "废钢;重型废钢", "ORG-WQ", "120114", "N77",
                         material="废钢铁", grade="重型废钢", tonnage=500, price_per_tonne=2650),
                     ("grade", "", "废钢铁须注明 GB/T 4223-2017 品级（如 重型废钢）")),
    "material_need": (row("MN-1", "material_need", "采购重型废钢", "钢厂长期采购重型、中型废钢，送货到厂。", "废钢;采购", "ORG-SJZ", "130100", "C31",
                          material="scrap_steel", grades="重型废钢;中型废钢", tonnage_min=200, tonnage_max=2000, price_ceiling=2800, delivery_region="130200"),
                      ("delivery_region", "999999", "交货地区 ‘999999’ 不是有效的 GB/T 2260 代码（如 130200 唐山市）")),
    "expert": (row("EX-1", "expert", "心血管内科主任医师", "天津医疗人才，可赴雄安驻点帮扶或远程会诊。", "心血管内科;驻点帮扶", "ORG-HOSP", "120101", "Q84",
                   fields="心血管内科；介入治疗", title_level="senior", modes="驻点/挂职;远程会诊/咨询", available_from="2026-01-01", available_until="2026-12-31"),
               ("available_until", "2025-06-30", "‘可服务截止’上限 2025-06-30 小于下限 2026-01-01，请对调或更正")),
    "post": (row("PO-1", "post", "雄安医院招募心血管内科驻点专家", "需要心血管内科副高级以上专家驻点半年。", "心血管内科;驻点帮扶", "ORG-SJZ", "133100", "Q84",
                 fields="心血管内科", title_level="associate", modes="onsite", available_from="2026-03-01", available_until="2026-08-31"),
             ("modes", "出差", "‘工作方式’‘出差’ 不是可选值，请从以下选择：驻点/挂职、远程会诊/咨询、兼职/柔性引进")),
    "financial_service": (row("FS-1", "financial_service", "知识产权质押融资", "面向科技型企业的知识产权质押融资产品。", "知识产权质押;科技金融", "ORG-WQ", "120114", "J66",
                              product_type="ip_pledge", amount_min=100, amount_max=1000, stages="成长期", industries="C;I65", regions="TJ;HE"),
                          ("industries", "Z99", "‘支持行业’中 ‘Z99’ 不是 GB/T 4754-2017 门类或大类代码（如 C 或 C27）")),
    "financing_need": (row("FN-1", "financing_need", "药企融资 500 万元", "用于扩建生产线，拥有发明专利可质押。", "融资;知识产权质押", "ORG-SJZ", "130100", "C27",
                           product_types="知识产权质押融资;银行贷款", amount=500, stage="growth", has_ip="是", purpose="扩建生产线"),
                       ("amount", "", "‘融资金额’为必填项，请填写")),
    "policy": (row("PL-1", "policy", "河北省知识产权质押融资贴息", "知识产权质押贷款按实际利息的 50% 给予贴息。", "贴息;知识产权", "ORG-HOSP", "130000", "S92",
                   issuing_body="河北省市场监督管理局", benefit_type="interest", benefit="按实际利息的 50% 给予贴息", eligibility="region in 130000; org_type in enterprise"),
               ("eligibility", "size < 3", "‘资格条件’条件字段 ‘size’ 无效，可选：region, industry, org_type, age_years, employees, revenue, rd_spending, certifications")),
    "certified_product": (row("CP-1", "certified_product", "小站稻大米", "持小站稻地理标志证明商标许可的大米。", "小站稻;大米", "ORG-WQ", "120114", "A01",
                              mark_code="XZD-GI", product_name="小站稻大米", annual_output_tonnes=800, price=12),
                          ("mark_code", "XZD GI!", "‘标志编码’XZD GI! 只能含字母、数字和 -")),
    "retail_need": (row("RN-1", "retail_need", "超市采购小站稻大米", "长期采购持许可的小站稻大米。", "小站稻;大米;采购", "ORG-HOSP", "120101", "F52",
                        mark_code="XZD-GI", product_name="小站稻大米", channel="商超", quantity_tonnes=300, price_ceiling=15),
                    ("quantity_tonnes", -5, "‘采购量’应在 0– 之间，实际为 -5")),
}


def test_every_resource_kind_is_declared_and_tested() -> None:
    assert {s.name for s in SPECS} == set(VALID)
    for s in SPECS:
        assert s.name in REG and REG.counterparts(s.name) and all(k in REG for k in REG.counterparts(s.name))
        assert all(REG.pairing(s.name, k).fit is not None for k in REG.counterparts(s.name)), s.name
        assert s.searchable_attrs(), s.name


@pytest.mark.parametrize("kind", sorted(VALID))
def test_validation(kind: str) -> None:
    good, (field, bad, message) = VALID[kind]
    x = validate_listing(good, REG)
    assert x.kind == kind and x.attrs
    with pytest.raises(ValidationError) as e:
        validate_listing({**good, field: bad}, REG)
    assert [er.message.zh for er in e.value.errors if er.field == field] == [message]


@pytest.mark.parametrize("kind", sorted(VALID))
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_round_trip(kind: str, fmt: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / f"t.{fmt}")
    write_template(path, REG.get(kind), REG)
    _, listings, errors = parse_file(path, REG)
    assert errors == [] and len(listings) == 1
    x = listings[0][1]
    assert x.kind == kind and {a.key for a in REG.get(kind).attrs if a.example} <= set(x.attrs)


def _pair_listings() -> list[dict[str, Any]]:
    rows = [VALID[k][0] for k in VALID]
    rows += [
        # decoys: each breaks a hard rule of its counterpart or fits worse
        row("ML-DECOY", "material_lot", "废钢屑 800 吨", "现货钢屑，按 GB/T 4223-2017 分类。", "废钢;钢屑", "ORG-WQ", "120114", "N77",
            material="scrap_steel", grade="turnings", tonnage=800, price_per_tonne=2000),
        row("ML-SMALL", "material_lot", "重型废钢 50 吨", "现货重型废钢，按 GB/T 4223-2017 分类。", "废钢;重型废钢", "ORG-WQ", "120114", "N77",
            material="scrap_steel", grade="heavy", tonnage=50, price_per_tonne=2500),
        row("EQ-NEED", "equipment", "求购数控加工中心", "扩产需要五轴数控加工中心。", "数控加工中心;五轴", "ORG-SJZ", "130100", "C34", side="need",
            equipment_type="数控加工中心", deals="sale", price=150, quantity=1, condition="fair"),
        row("EQ-OTHER-NEED", "equipment", "求购数控加工中心二手", "求购五轴数控加工中心。", "数控加工中心;五轴", "ORG-HOSP", "120101", "C34", side="need",
            equipment_type="数控加工中心", deals="lease"),
        row("CP-OTHER", "certified_product", "普通大米", "普通粳米，无认证标志。", "大米", "ORG-TIB", "120116", "A01", mark_code="OTHER-1", product_name="大米"),
        row("PL-TJ", "policy", "天津市知识产权质押融资贴息", "知识产权质押贷款贴息。", "贴息;知识产权", "ORG-HOSP", "120000", "S92",
            issuing_body="天津市", benefit_type="interest", benefit="贴息", eligibility="region in 120000"),
        instrument("I-RETIRED", title="液相色谱-质谱联用仪（已停用）", instrument_status="retired"),
    ]
    return rows


# query external id → (expected best counterpart, fit keys that must be explained, external ids never shown)
EXPECT = {
    "TN-1": ("I-MS", {"category", "accreditation", "fee", "distance"}, {"I-RETIRED"}),
    "I-MS": ("TN-1", {"category", "fee"}, set()),
    "EQ-NEED": ("EQ-1", {"deal", "price", "quantity", "condition", "distance"}, {"EQ-OTHER-NEED"}),
    "MN-1": ("ML-1", {"grade", "tonnage", "price", "distance"}, {"ML-DECOY", "ML-SMALL"}),
    "PO-1": ("EX-1", {"title", "mode", "period", "distance"}, set()),
    "FN-1": ("FS-1", {"product", "amount", "stage", "industry", "region", "ip"}, {"PL-TJ"}),
    "RN-1": ("CP-1", {"mark", "quantity", "price", "distance"}, {"CP-OTHER"}),
    "PL-1": ("FN-1", {"rule:region"}, set()),
}


def test_matching_with_explanations_and_hard_rules(exchange: Exchange) -> None:
    rows = _pair_listings()
    ids = load(exchange, ORGS, rows)
    # the certified product is matched only because its owner holds a licence for the mark (the one match path checks it)
    from tongxin.core.certification import Mark
    from tongxin.storage import resources_repo as rr

    with exchange.db.transaction() as s:
        mid = rr.upsert_mark(s, Mark(code="XZD-GI", name="小站稻地理标志证明商标", holder="天津市小站稻产业协会", mark_type="gi_certification"))
        rr.add_licence(s, mid, rr.resolve_org(s, "ORG-WQ").id, "XZD-2025-001", dt.date(2025, 1, 1), dt.date(2030, 12, 31), "小站稻大米")
    for q, (best, keys, never) in EXPECT.items():
        _, res = exchange.match(ids[q], VISITOR, limit=10, ctx=CTX)
        got = [m.listing.external_id for m in res]
        assert got and got[0] == best, (q, got)
        assert not (never & set(got)), (q, got)
        top = res[0].explanation
        assert keys <= {f.key for f in top.fit}, (q, [f.key for f in top.fit])
        for m in res:
            assert sum(p for _, _, p in m.explanation.breakdown()) == pytest.approx(m.explanation.score)
            assert all(f.zh and f.en for f in m.explanation.fit)
    # searchable attributes are indexed: free-text search finds the instrument by its capability text
    _, res = exchange.search("翻译后修饰鉴定", kind="instrument", ctx=CTX)
    assert res and res[0].listing.external_id == "I-MS"
