"""Reference data: GB/T 2260 regions, GB/T 4754-2017 industries, text dictionaries."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from tongxin.core import industries, regions

DATA_DIR = Path(regions.__file__).resolve().parent / "text" / "data"


# --------------------------------------------------------------------------- regions


def _level2(province: str) -> list[regions.Region]:
    return [
        r
        for r in regions.REGIONS.values()
        if r.province == province and r.level == 2 and r.code != "133100"
    ]


def test_region_counts():
    assert len(_level2("BJ")) == 16
    assert len(_level2("TJ")) == 16
    assert len(_level2("HE")) == 11


def test_hebei_counties_are_in_the_table():
    """GB/T 2260 at county level: 唐山市路北区 is a real district, not an unknown code."""
    r = regions.get("130203")
    assert r is not None and (r.name_zh, r.parent, r.province, r.level) == ("路北区", "130200", "HE", 3)
    assert regions.label("130203") == "河北省唐山市路北区"
    assert regions.label("130203", "en") == "Lubei District, Tangshan, Hebei"
    assert regions.normalise("唐山市路北区") == regions.normalise("路北区") == regions.normalise("１３０２０３") == "130203"
    he = regions.codes_in("HE", counties=True)
    assert len(he) > 150 and {"130203", "130284", "130681", "131182"} <= set(he)  # 滦州市 (2018), 涿州市, 深州市
    assert regions.codes_in("HE") == [f"13{n:02d}00" for n in range(1, 12)] + ["133100"]  # cities only by default
    # a county without curated coordinates still has some (its own or its city's) for distance scoring
    assert 150 < regions.distance_km("130203", "110108") < 200
    assert regions.province_of("130203") == "HE" and regions.in_region("130203")


def test_the_whole_country_at_county_level():
    assert len(regions.REGIONS) > 3000
    assert regions.label("330106") == "浙江省杭州市西湖区"
    assert regions.province_of("330106") == "OTHER"
    assert regions.get("653228").name_zh == "和康县"  # a county created in 2024
    assert regions.normalise("710000") == "710000" and regions.get("710000").name_zh == "台湾省"
    for r in regions.REGIONS.values():
        assert r.parent == "" or r.parent in regions.REGIONS, r


def test_ambiguous_bare_names_need_the_code_or_the_city():
    assert regions.normalise("朝阳区") == "110105"  # 京津冀 first: 北京市朝阳区, not 长春市朝阳区
    assert regions.normalise("吉林省长春市朝阳区") == "220104"
    assert regions.get(regions.normalise("桥西区")) is None  # 石家庄 and 张家口 both have one
    assert regions.normalise("张家口市桥西区") == "130703"
    assert regions.normalise("吉林") == "220000"  # the province, not 吉林市


def test_beijing_district_codes_are_the_real_ones():
    expected = {
        "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
        "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
    }
    assert {r.code for r in _level2("BJ")} == expected


def test_tianjin_and_hebei_codes():
    tj = {r.code for r in _level2("TJ")}
    assert {"120101", "120116", "120114", "120119"} <= tj
    assert all(c.startswith("12") for c in tj)
    he = sorted(r.code for r in _level2("HE"))
    assert he == [f"13{n:02d}00" for n in range(1, 12)]


@pytest.mark.parametrize(
    "code, zh, en, province",
    [
        ("110101", "东城区", "Dongcheng District", "BJ"),
        ("110108", "海淀区", "Haidian District", "BJ"),
        ("110119", "延庆区", "Yanqing District", "BJ"),
        ("120116", "滨海新区", "Binhai New Area", "TJ"),
        ("120114", "武清区", "Wuqing District", "TJ"),
        ("120119", "蓟州区", "Jizhou District", "TJ"),
        ("130100", "石家庄市", "Shijiazhuang", "HE"),
        ("131100", "衡水市", "Hengshui", "HE"),
        ("133100", "雄安新区", "Xiong'an New Area", "HE"),
        ("110000", "北京市", "Beijing", "BJ"),
        ("120000", "天津市", "Tianjin", "TJ"),
        ("130000", "河北省", "Hebei", "HE"),
        ("310000", "上海市", "Shanghai", "OTHER"),
        ("440000", "广东省", "Guangdong", "OTHER"),
        ("320000", "江苏省", "Jiangsu", "OTHER"),
        ("370000", "山东省", "Shandong", "OTHER"),
        ("000000", "其他地区", "Other regions", "OTHER"),
    ],
)
def test_specific_regions(code, zh, en, province):
    r = regions.get(code)
    assert r is not None
    assert (r.code, r.name_zh, r.name_en, r.province) == (code, zh, en, province)


def test_region_is_frozen_and_well_formed():
    r = regions.get("110108")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.name_zh = "x"  # type: ignore[misc]
    for code, region in regions.REGIONS.items():
        assert code == region.code
        assert re.fullmatch(r"\d{6}", code)
        assert region.province in ("BJ", "TJ", "HE", "OTHER")
        if region.has_coordinates:
            assert 3 < region.lat < 54 and 73 < region.lon < 135  # 三沙市 lies at 16.8° N
    # every Beijing/Tianjin/Hebei entry has coordinates
    assert all(r.has_coordinates for r in regions.REGIONS.values() if r.province != "OTHER")


@pytest.mark.parametrize(
    "value, expected",
    [
        (110108, "110108"),
        ("110108", "110108"),
        (" 110108 ", "110108"),
        (110108.0, "110108"),
        ("110108.0", "110108"),
        ("海淀区", "110108"),
        ("北京市海淀区", "110108"),
        ("天津市武清区", "120114"),
        ("武清区", "120114"),
        (" 滨海新区 ", "120116"),
        ("石家庄市", "130100"),
        ("河北省石家庄市", "130100"),
        ("雄安新区", "133100"),
        ("北京市", "110000"),
        ("北京", "110000"),
        ("河北", "130000"),
        ("河北区", "120105"),
        ("Haidian District", "110108"),
        ("haidian district, beijing", "110108"),
        (0, "000000"),
        ("  火星区 ", "火星区"),
        ("999999", "999999"),
        (None, ""),
    ],
)
def test_region_normalise(value, expected):
    assert regions.normalise(value) == expected


def test_province_of():
    assert regions.province_of("110108") == "BJ"
    assert regions.province_of(120116) == "TJ"
    assert regions.province_of("130600") == "HE"
    assert regions.province_of("133100") == "HE"
    assert regions.province_of("130102") == "HE"  # a Shijiazhuang district, not in the table
    assert regions.province_of("310000") == "OTHER"
    assert regions.province_of("000000") == "OTHER"
    assert regions.province_of("海淀区") == "BJ"
    assert regions.province_of("nonsense") == "OTHER"


def test_region_labels():
    assert regions.label("110108") == "北京市海淀区"
    assert regions.label("110108", lang="en") == "Haidian District, Beijing"
    assert regions.label("120114") == "天津市武清区"
    assert regions.label("130100") == "河北省石家庄市"
    assert regions.label("130100", "en") == "Shijiazhuang, Hebei"
    assert regions.label("110000") == "北京市"
    assert regions.label("310000", "en") == "Shanghai"
    assert regions.label("110108", "both") == "北京市海淀区 Haidian District, Beijing"
    assert regions.label("123456") == "123456"
    with pytest.raises(ValueError):
        regions.label("110108", "fr")
    # labels round-trip through normalise
    for code in regions.REGIONS:
        assert regions.normalise(regions.label(code)) == code
        assert regions.normalise(regions.label(code, "en")) == code


def test_province_labels():
    assert regions.PROVINCE_LABELS["BJ"] == ("北京", "Beijing")
    assert regions.PROVINCE_LABELS["TJ"] == ("天津", "Tianjin")
    assert regions.PROVINCE_LABELS["HE"] == ("河北", "Hebei")
    assert set(regions.PROVINCE_LABELS) == {"BJ", "TJ", "HE", "OTHER"}


def test_distances():
    d = regions.distance_km("110108", "120114")
    assert 50 < d < 150
    assert regions.distance_km("120114", "110108") == pytest.approx(d)
    assert regions.distance_km("110108", "110108") == 0.0
    # Beijing–Shijiazhuang ~ 270 km, Beijing–Tianjin ~ 110 km, Beijing–Shanghai ~ 1070 km
    assert 230 < regions.distance_km("110000", "130100") < 310
    assert 90 < regions.distance_km("110000", "120000") < 135
    assert 1000 < regions.distance_km("110000", "310000") < 1150
    # neighbouring central districts are close
    assert regions.distance_km("110101", "110102") < 10
    assert regions.distance_km(110108, "天津市武清区") == pytest.approx(d)
    assert math.isinf(regions.distance_km("110108", "000000"))
    with pytest.raises(KeyError):
        regions.distance_km("110108", "999999")


# --------------------------------------------------------------------------- industries


def test_industry_counts():
    sections = [i for i in industries.INDUSTRIES.values() if i.is_section]
    divisions = [i for i in industries.INDUSTRIES.values() if not i.is_section]
    assert len(sections) == 20
    assert [s.code for s in sections] == list("ABCDEFGHIJKLMNOPQRST")
    assert len(divisions) == 97
    assert sorted(d.number for d in divisions) == list(range(1, 98))
    for d in divisions:
        assert re.fullmatch(r"[A-T]\d{2}", d.code)
        assert d.code[0] == d.section
        assert d.name_zh and d.name_en


@pytest.mark.parametrize(
    "code, zh, section",
    [
        ("A", "农、林、牧、渔业", "A"),
        ("A01", "农业", "A"),
        ("A05", "农、林、牧、渔专业及辅助性活动", "A"),
        ("B11", "开采专业及辅助性活动", "B"),
        ("C", "制造业", "C"),
        ("C13", "农副食品加工业", "C"),
        ("C25", "石油、煤炭及其他燃料加工业", "C"),
        ("C27", "医药制造业", "C"),
        ("C35", "专用设备制造业", "C"),
        ("C37", "铁路、船舶、航空航天和其他运输设备制造业", "C"),
        ("C39", "计算机、通信和其他电子设备制造业", "C"),
        ("C42", "废弃资源综合利用业", "C"),
        ("C43", "金属制品、机械和设备修理业", "C"),
        ("D", "电力、热力、燃气及水生产和供应业", "D"),
        ("G58", "多式联运和运输代理业", "G"),
        ("G59", "装卸搬运和仓储业", "G"),
        ("I", "信息传输、软件和信息技术服务业", "I"),
        ("I65", "软件和信息技术服务业", "I"),
        ("J69", "其他金融业", "J"),
        ("M73", "研究和试验发展", "M"),
        ("M75", "科技推广和应用服务业", "M"),
        ("N79", "土地管理业", "N"),
        ("P83", "教育", "P"),
        # GB/T 4754-2017: 卫生 is 84 (it was 83 in the 2011 edition)
        ("Q84", "卫生", "Q"),
        ("Q85", "社会工作", "Q"),
        ("S96", "基层群众自治组织及其他组织", "S"),
        ("T97", "国际组织", "T"),
    ],
)
def test_specific_industries(code, zh, section):
    ind = industries.get(code)
    assert ind is not None
    assert (ind.code, ind.name_zh, ind.section) == (code, zh, section)


def test_section_division_ranges():
    ranges = {
        "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50),
        "F": (51, 52), "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69),
        "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82),
        "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
    }
    for section, (lo, hi) in ranges.items():
        got = [d.number for d in industries.divisions_of(section)]
        assert got == list(range(lo, hi + 1)), section


@pytest.mark.parametrize(
    "value, expected",
    [
        ("C37", "C37"),
        ("c37", "C37"),
        (" C37 ", "C37"),
        ("37", "C37"),
        (37, "C37"),
        (37.0, "C37"),
        ("37.0", "C37"),
        (1, "A01"),
        ("01", "A01"),
        ("1", "A01"),
        ("A1", "A01"),
        ("C3711", "C37"),
        ("3711", "C37"),
        ("C", "C"),
        ("c", "C"),
        ("Ｃ３７", "C37"),
        ("制造业", "C"),
        ("铁路、船舶、航空航天和其他运输设备制造业", "C37"),
        ("软件和信息技术服务业", "I65"),
        ("卫生", "Q84"),
        ("教育", "P83"),
        ("Manufacturing", "C"),
        ("C37 铁路、船舶、航空航天和其他运输设备制造业", "C37"),
        ("A37", "A37"),  # letter does not match division: left alone
        (98, "98"),
        ("Z", "Z"),
        ("  不存在的行业 ", "不存在的行业"),
        (None, ""),
    ],
)
def test_industry_normalise(value, expected):
    assert industries.normalise(value) == expected


def test_industry_helpers():
    assert industries.section_of("C37") == "C"
    assert industries.section_of("C") == "C"
    assert industries.section_of(65) == "I"
    assert industries.section_of("nothing") is None
    assert industries.is_section("C")
    assert not industries.is_section("C37")
    assert not industries.is_section("nothing")
    assert len(industries.divisions_of("C")) == 31
    assert len(industries.divisions_of("c")) == 31
    assert industries.divisions_of("nothing") == []
    assert industries.label("C37") == "C37 铁路、船舶、航空航天和其他运输设备制造业"
    assert industries.label("37", "en").startswith("C37 Manufacture of railway")
    assert industries.label("C") == "C 制造业"
    assert industries.label("nope") == "nope"
    for code in industries.INDUSTRIES:
        assert industries.normalise(industries.label(code)) == code
        assert industries.normalise(industries.label(code, "en")) == code
    with pytest.raises(dataclasses.FrozenInstanceError):
        industries.get("C37").name_zh = "x"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("C37", "C37", "same_division"),
        ("C37", 37, "same_division"),
        ("C37", "C38", "same_section"),
        ("C", "C37", "same_section"),
        ("C37", "C", "same_section"),
        ("C", "C", "same_section"),
        ("C37", "I65", "different"),
        ("C", "I", "different"),
        ("A01", "C13", "different"),
        ("C37", "nonsense", "different"),
        ("nonsense", "nonsense", "different"),
    ],
)
def test_industry_relation(a, b, expected):
    assert industries.relation(a, b) == expected


# --------------------------------------------------------------------------- text data

_DICT_LINE = re.compile(r"^(\S+) (\d+)(?: ([a-z]+))?$")


def _dict_entries() -> list[tuple[str, int, str | None]]:
    text = (DATA_DIR / "domain_dict.txt").read_text(encoding="utf-8")
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _DICT_LINE.match(line)
        assert m, f"line {n} does not parse: {line!r}"
        entries.append((m.group(1), int(m.group(2)), m.group(3)))
    return entries


def test_domain_dict_parses_and_is_big_enough():
    entries = _dict_entries()
    assert len(entries) >= 600
    for word, freq, _pos in entries:
        assert freq > 0
        assert word == word.lower(), word  # ASCII entries are lower-cased


def test_domain_dict_has_no_duplicates():
    words = [w for w, _, _ in _dict_entries()]
    assert len(words) == len(set(words))


def test_domain_dict_covers_key_terms():
    words = {w for w, _, _ in _dict_entries()}
    for term in [
        "cbtc", "列车控制系统", "轨道交通信号", "城轨", "联锁",
        "工业机器人", "数控机床", "机器视觉", "数字孪生",
        "合成生物学", "毕赤酵母", "细胞工厂", "海洋活性肽", "牡蛎肽", "发酵工艺",
        "peek", "碳纤维复合材料", "石墨烯", "高温合金",
        "人工智能辅助诊断", "医学影像", "临床验证",
        "自动化码头", "集装箱", "无人集卡",
        "水下生产系统", "钻完井", "海上油田",
        "碳捕集", "岸电", "光伏", "储能", "氢能",
        "小站稻", "盐碱地", "智慧农业",
        "信创", "5g", "工业互联网", "大模型",
        "废钢", "再生资源",
        "质谱仪", "蛋白质组", "电子显微镜", "高温拉伸",
        "信用担保", "天使投资", "知识产权质押融资",
        "gb/t",
    ]:
        assert term in words, term


def test_stopwords():
    text = (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8")
    words = [w for w in text.splitlines()]
    assert all(w and w == w.strip() for w in words)
    assert len(words) >= 300
    assert len(words) == len(set(words))
    for w in ["的", "了", "和", "与", "及", "等", "进行", "实现", "一种", "相关", "我们",
              "需要", "希望", "寻求", "提供", "具有", "可以", "通过", "基于", "以及",
              "the", "and", "of", "，", "。", ","]:
        assert w in words, w
    # stopwords never swallow domain terms
    dict_words = {w for w, _, _ in _dict_entries()}
    assert not dict_words & set(words)
