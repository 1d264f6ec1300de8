"""Tests of the deterministic demo data generator (tongxin.demo)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from tongxin.core import credit_code
from tongxin.demo import DemoData, generate
from tongxin.demo.content import DOMAINS
from tongxin.demo.generator import REFERENCE_DATE, TRANSFER_MODES, is_pickable

REGIONS_BJ = {f"1101{n:02d}" for n in (1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19)}
REGIONS_TJ = {f"1201{n:02d}" for n in (1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)}
REGIONS_HE = {f"13{n:02d}00" for n in range(1, 12)} | {"133100"}
ORG_TYPES = {"university", "research_institute", "enterprise", "park", "government",
             "financial_institution", "hospital", "school", "association"}
INDUSTRY = re.compile(r"^[A-T]\d{2}$")
PATENT = re.compile(r"^CN(\d{4})([123])(\d{7})\.([0-9X])$")
PHONE = re.compile(r"^0\d{2,3}-\d{7,8}$")


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate()


@pytest.fixture(scope="module")
def by_id(data):
    return {x["external_id"]: x for x in data.organisations + data.listings}


def _kind(data, kind):
    return [x for x in data.listings if x["kind"] == kind]


def test_deterministic(data):
    again = generate()
    assert again == data
    assert generate(seed=7).listings != data.listings


def test_counts(data):
    assert len(data.organisations) >= 300
    assert len(data.listings) >= 2000
    assert len(_kind(data, "technology")) == 1300
    assert len(_kind(data, "scenario")) == 800
    assert len(data.expert_picks) >= 600


def test_unique_ids_and_names(data):
    ids = [x["external_id"] for x in data.organisations + data.listings]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"ORG-\d{4}", o["external_id"]) for o in data.organisations)
    assert all(re.fullmatch(r"(TECH|SCEN)-\d{5}", x["external_id"]) for x in data.listings)
    assert len({o["name"] for o in data.organisations}) == len(data.organisations)
    assert len({o["credit_code"] for o in data.organisations}) == len(data.organisations)


def test_organisations(data):
    for o in data.organisations:
        code = o["credit_code"]
        assert len(code) == 18 and credit_code.is_valid(code), o
        assert code[2:8] == o["region"]
        if o["org_type"] in ("enterprise", "financial_institution"):
            assert code[0] == "9"
        elif o["org_type"] == "association":
            assert code[:2] == "51"
        elif o["org_type"] not in ("park", "research_institute"):
            assert code[0] == "1"
        assert o["org_type"] in ORG_TYPES
        assert o["region"] in REGIONS_BJ | REGIONS_TJ | REGIONS_HE
        assert INDUSTRY.match(o["industry"]), o
        assert o["name"] and o["description"] and o["contact_name"]
        assert PHONE.match(o["contact_phone"]), o["contact_phone"]
    share = Counter(o["region"][:2] for o in data.organisations)
    n = len(data.organisations)
    assert 0.35 <= share["11"] / n <= 0.45
    assert 0.30 <= share["12"] / n <= 0.40
    assert 0.20 <= share["13"] / n <= 0.30
    types = Counter(o["org_type"] for o in data.organisations)
    assert set(types) == ORG_TYPES


def test_listing_fields(data, by_id):
    for x in data.listings:
        assert (x["kind"], x["side"]) in {("technology", "offer"), ("scenario", "need")}
        owner = by_id[x["owner"]]
        assert owner["external_id"].startswith("ORG-")
        assert x["region"] == owner["region"]
        assert INDUSTRY.match(x["industry"])
        assert 80 <= len(x["description"]) <= 250, (len(x["description"]), x["description"])
        assert 3 <= len(x["keywords"]) <= 6 and all(isinstance(k, str) and k for k in x["keywords"])
        assert x["visibility"] in {"public", "members", "confidential"}
        assert x["status"] in {"published", "draft", "closed"}
        start, end = date.fromisoformat(x["valid_from"]), date.fromisoformat(x["valid_until"])
        assert start <= end
    vis = Counter(x["visibility"] for x in data.listings)
    status = Counter(x["status"] for x in data.listings)
    n = len(data.listings)
    assert vis["public"] / n > 0.75 and 0.05 < vis["members"] / n < 0.15 and 0.02 < vis["confidential"] / n < 0.08
    assert status["published"] / n > 0.85 and status["draft"] > 0 and status["closed"] > 0
    assert any(x["valid_until"] < "2025-01-01" for x in data.listings)  # a few expired in 2024
    # descriptions are not clones
    assert len({x["description"] for x in data.listings}) == n
    assert len({x["title"] for x in _kind(data, "technology")}) > 0.95 * 1300


def test_owner_types(data, by_id):
    tech_owners = Counter(by_id[x["owner"]]["org_type"] for x in _kind(data, "technology"))
    scen_owners = Counter(by_id[x["owner"]]["org_type"] for x in _kind(data, "scenario"))
    main_t = tech_owners["university"] + tech_owners["research_institute"] + tech_owners["enterprise"]
    main_s = sum(scen_owners[t] for t in ("enterprise", "park", "hospital", "government"))
    assert main_t / sum(tech_owners.values()) > 0.9
    assert main_s / sum(scen_owners.values()) > 0.95


def _patent_check(digits: str) -> str:
    total = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=False))
    return "X" if total % 11 == 10 else str(total % 11)


def test_technology_attrs(data):
    for x in _kind(data, "technology"):
        a = x["attrs"]
        assert isinstance(a["trl"], int) and 1 <= a["trl"] <= 9
        for p in a["patents"]:
            m = PATENT.match(p["number"])
            assert m, p
            assert m[4] == _patent_check(m[1] + m[2] + m[3])
            assert p["status"] in {"granted", "pending", "expired"}
        assert a["transfer_modes"] and set(a["transfer_modes"]) <= set(TRANSFER_MODES)
        if a["price_min"] is None:
            assert a["price_max"] is None
        else:
            assert isinstance(a["price_min"], int) and a["price_min"] <= a["price_max"]
        assert a["team"] and a["contact"]


def test_scenario_attrs(data):
    for x in _kind(data, "scenario"):
        a = x["attrs"]
        assert a["problem"] and a["expected_outcome"] and a["site"]
        assert isinstance(a["required_trl"], int) and 1 <= a["required_trl"] <= 9
        if a["budget_min"] is None:
            assert a["budget_max"] is None
        else:
            assert isinstance(a["budget_min"], int) and a["budget_min"] <= a["budget_max"]
        assert x["valid_from"] <= date.fromisoformat(a["deadline"]).isoformat() <= x["valid_until"]


def test_expert_picks(data, by_id):
    published = [x for x in _kind(data, "scenario") if x["status"] == "published"]
    assert len(data.expert_picks) > 0.85 * len(published)
    for sid, tid in data.expert_picks.items():
        s, t = by_id[sid], by_id[tid]
        assert s["kind"] == "scenario" and s["status"] == "published"
        assert t["kind"] == "technology"
        assert t["status"] == "published" and t["visibility"] == "public"
        assert t["valid_from"] <= REFERENCE_DATE.isoformat() <= t["valid_until"]
        assert is_pickable(t)
        assert t["attrs"]["trl"] >= s["attrs"]["required_trl"]
    # several different technologies are picked (not one per topic)
    assert len(set(data.expert_picks.values())) > 400


def test_catalogue():
    assert len(DOMAINS) >= 12
    for d in DOMAINS:
        assert len(d.topics) >= 8
        for t in d.topics:
            siblings = {w for s in d.topics if s is not t for w in s.terms}
            own = [w for w in t.terms if w not in siblings]
            assert len(own) >= 8, (t.key, own)


def _find(data, kind, needle):
    return [x for x in _kind(data, kind) if needle in x["title"]]


def test_seed_cases(data, by_id):
    names = {o["name"]: o for o in data.organisations}
    for name in ("交控科技股份有限公司", "北京交通大学", "中国科学院天津工业生物技术研究所", "国投生物制造创新研究院有限公司",
                 "国机智能装备产业园", "中国资源循环集团有限公司", "中海油能源发展股份有限公司装备技术分公司",
                 "中海石油（中国）有限公司天津分公司", "京津冀国家技术创新中心", "国家合成生物技术创新中心",
                 "天津电子信息技术实验室", "天津信创产业创新中心", "北京怀柔科学城管理委员会", "雄安宣武医院"):
        assert name in names, name
    assert names["交控技术装备有限公司"]["region"] == "120114"
    assert names["天津滨海—中关村科技园"]["region"] == "120116"
    assert names["天津市津南区盛坤田园家庭农场"]["region"] == "120112"
    assert names["天津烯创新材料科技有限公司"]["region"] == "120104"
    assert names["雄安宣武医院"]["region"] == "133100"

    # 北京研发、天津转化: Beijing technology, Wuqing scenario, expert pick links them
    tct = [x for x in _find(data, "technology", "列车") if by_id[x["owner"]]["name"] == "交控科技股份有限公司"]
    wq = [x for x in _find(data, "scenario", "列车控制") if by_id[x["owner"]]["name"] == "交控技术装备有限公司"]
    assert tct and wq and "武清" in wq[0]["attrs"]["site"]
    assert data.expert_picks[wq[0]["external_id"]] == tct[0]["external_id"]
    assert tct[0]["region"].startswith("11")

    # Beijing medical AI, Tianjin hospital clinical validation
    ai = [x for x in _find(data, "technology", "人工智能辅助诊断") if x["region"].startswith("11")]
    hosp = [x for x in _find(data, "scenario", "人工智能辅助诊断")
            if by_id[x["owner"]]["org_type"] == "hospital" and x["region"].startswith("12")]
    assert ai and hosp and data.expert_picks[hosp[0]["external_id"]] == ai[0]["external_id"]

    peptide = _find(data, "technology", "海洋活性肽")
    assert any("毕赤酵母" in x["description"] and "牡蛎肽" in x["description"] for x in peptide)
    graphene = [x for x in _kind(data, "technology") if by_id[x["owner"]]["name"] == "天津烯创新材料科技有限公司"]
    assert graphene and all(w in graphene[0]["description"] for w in ("信用担保", "天使投资", "银行贷款"))
    for kind, needle in (("scenario", "水下生产系统"), ("scenario", "岸电"), ("scenario", "小站稻"),
                         ("scenario", "废钢"), ("scenario", "设备资产循环"), ("scenario", "远程会诊"),
                         ("technology", "信创"), ("technology", "5G专网")):
        assert _find(data, kind, needle), needle
    xiongan = _find(data, "scenario", "远程会诊")
    assert any(x["region"] == "133100" for x in xiongan)


def test_bm25_finds_expert_pick_in_top5(data, by_id):
    """A plain BM25 over published technologies ranks the expert pick in the top 5 for ≥ 85 %."""
    rjieba = pytest.importorskip("rjieba")
    bm25s = pytest.importorskip("bm25s")
    keep = re.compile(r"[\w\u4e00-\u9fff]")

    def tok(text: str) -> list[str]:
        return [w.lower() for w in rjieba.cut(text) if keep.search(w)]

    techs = [x for x in _kind(data, "technology") if x["status"] == "published"]
    ids = [x["external_id"] for x in techs]
    retriever = bm25s.BM25()
    retriever.index([tok(" ".join([x["title"], x["description"], *x["keywords"]])) for x in techs],
                    show_progress=False)
    sids = list(data.expert_picks)
    queries = []
    for sid in sids:
        s = by_id[sid]
        queries.append(tok(" ".join([s["title"], s["description"], s["attrs"]["problem"], *s["keywords"]])))
    results, _ = retriever.retrieve(queries, k=5, show_progress=False)
    hits = sum(data.expert_picks[sid] in {ids[j] for j in results[i]} for i, sid in enumerate(sids))
    rate = hits / len(sids)
    assert rate >= 0.85, rate


def test_demo_names_and_keywords_are_whole_words() -> None:
    """No doubled word in a generated firm name ("再生再生资源有限公司"), and policy keywords are
    the policy's subject as a whole phrase, not its title cut after eight characters."""
    from tongxin.demo.resources import policy_keyword

    assert policy_keyword("唐山市再生资源回收利用项目补助") == "再生资源回收利用"
    assert policy_keyword("河北省科技型中小企业研发费用后补助") == "科技型中小企业研发费用"  # 后补助 is the benefit
    assert policy_keyword("京津冀创新券互认互通") == "京津冀创新券互认互通"
    from tongxin.demo.resources import generate_resources

    d = generate()
    res = generate_resources(7, d.organisations, REFERENCE_DATE)
    names = [o["name"] for o in d.organisations] + [str(o.get("name", "")) for o in res["organisations"]]
    assert len(names) > 300 and not [n for n in names if re.search(r"(..)\1", n)]
    policies = [x for x in res["listings"] if x["kind"] == "policy"]
    assert len(policies) >= 10
    for x in policies:
        kw = x["keywords"][0] if isinstance(x["keywords"], list) else str(x["keywords"]).split(";")[0]
        assert kw == policy_keyword(x["title"]) and len(kw) >= 2
