"""Administrative divisions (行政区划), GB/T 2260 codes, at county level for all of China.

The full list (province, prefecture and county level) is data: data/gbt2260.tsv, with its
sources and date in its header. Beijing, Tianjin and Hebei (京津冀) are the platform's own
region; every other code belongs to the national "OTHER" group.

`_DATA` below is the curated part: English names and representative coordinates for the
province-level units, every district of Beijing and Tianjin, every prefecture-level city of
Hebei and the Xiong'an New Area. They override the generated ones. Coordinates are
approximate representative points (lat, lon in WGS-84 degrees), good to about 10 km (a code
without its own takes its parent's), only meant for rough distance scoring, never for mapping.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .memo import memo

PROVINCES = ("BJ", "TJ", "HE", "OTHER")

PROVINCE_LABELS: dict[str, tuple[str, str]] = {
    "BJ": ("北京", "Beijing"),
    "TJ": ("天津", "Tianjin"),
    "HE": ("河北", "Hebei"),
    "OTHER": ("其他地区", "Other regions"),
}

OTHER_CODE = "000000"


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    province: str  # "BJ" | "TJ" | "HE" | "OTHER"
    lat: float | None = None
    lon: float | None = None
    parent: str = ""  # the code of the unit above ("" for province level)

    @property
    def is_province_level(self) -> bool:
        """True for 北京市 / 天津市 / 河北省 and the national "other" entries."""
        return self.code.endswith("0000")

    @property
    def level(self) -> int:
        """1 province, 2 prefecture (or a district of a municipality), 3 county."""
        return 1 if not self.parent else 2 if REGIONS[self.parent].level == 1 else 3

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


# (code, 中文名, English name, province, lat, lon)
_DATA: tuple[tuple[str, str, str, str, float | None, float | None], ...] = (
    # --- province level -------------------------------------------------------------
    ("110000", "北京市", "Beijing", "BJ", 39.904, 116.407),
    ("120000", "天津市", "Tianjin", "TJ", 39.125, 117.190),
    ("130000", "河北省", "Hebei", "HE", 38.042, 114.515),  # provincial capital Shijiazhuang
    # --- Beijing: 16 districts --------------------------------------------------------
    ("110101", "东城区", "Dongcheng District", "BJ", 39.929, 116.416),
    ("110102", "西城区", "Xicheng District", "BJ", 39.912, 116.366),
    ("110105", "朝阳区", "Chaoyang District", "BJ", 39.948, 116.486),
    ("110106", "丰台区", "Fengtai District", "BJ", 39.858, 116.260),
    ("110107", "石景山区", "Shijingshan District", "BJ", 39.915, 116.200),
    ("110108", "海淀区", "Haidian District", "BJ", 40.000, 116.250),
    ("110109", "门头沟区", "Mentougou District", "BJ", 39.960, 115.860),
    ("110111", "房山区", "Fangshan District", "BJ", 39.720, 115.960),
    ("110112", "通州区", "Tongzhou District", "BJ", 39.840, 116.700),
    ("110113", "顺义区", "Shunyi District", "BJ", 40.130, 116.650),
    ("110114", "昌平区", "Changping District", "BJ", 40.220, 116.230),
    ("110115", "大兴区", "Daxing District", "BJ", 39.690, 116.400),
    ("110116", "怀柔区", "Huairou District", "BJ", 40.550, 116.570),
    ("110117", "平谷区", "Pinggu District", "BJ", 40.150, 117.120),
    ("110118", "密云区", "Miyun District", "BJ", 40.490, 116.950),
    ("110119", "延庆区", "Yanqing District", "BJ", 40.500, 116.080),
    # --- Tianjin: 16 districts --------------------------------------------------------
    ("120101", "和平区", "Heping District", "TJ", 39.117, 117.215),
    ("120102", "河东区", "Hedong District", "TJ", 39.128, 117.252),
    ("120103", "河西区", "Hexi District", "TJ", 39.090, 117.223),
    ("120104", "南开区", "Nankai District", "TJ", 39.138, 117.150),
    ("120105", "河北区", "Hebei District", "TJ", 39.148, 117.197),
    ("120106", "红桥区", "Hongqiao District", "TJ", 39.167, 117.151),
    ("120110", "东丽区", "Dongli District", "TJ", 39.100, 117.350),
    ("120111", "西青区", "Xiqing District", "TJ", 39.070, 117.050),
    ("120112", "津南区", "Jinnan District", "TJ", 38.950, 117.400),
    ("120113", "北辰区", "Beichen District", "TJ", 39.220, 117.150),
    ("120114", "武清区", "Wuqing District", "TJ", 39.390, 117.050),
    ("120115", "宝坻区", "Baodi District", "TJ", 39.620, 117.380),
    ("120116", "滨海新区", "Binhai New Area", "TJ", 39.000, 117.700),
    ("120117", "宁河区", "Ninghe District", "TJ", 39.400, 117.720),
    ("120118", "静海区", "Jinghai District", "TJ", 38.870, 116.950),
    ("120119", "蓟州区", "Jizhou District", "TJ", 40.000, 117.400),
    # --- Hebei: 11 prefecture-level cities --------------------------------------------
    ("130100", "石家庄市", "Shijiazhuang", "HE", 38.042, 114.515),
    ("130200", "唐山市", "Tangshan", "HE", 39.630, 118.180),
    ("130300", "秦皇岛市", "Qinhuangdao", "HE", 39.935, 119.600),
    ("130400", "邯郸市", "Handan", "HE", 36.625, 114.539),
    ("130500", "邢台市", "Xingtai", "HE", 37.070, 114.505),
    ("130600", "保定市", "Baoding", "HE", 38.874, 115.465),
    ("130700", "张家口市", "Zhangjiakou", "HE", 40.768, 114.886),
    ("130800", "承德市", "Chengde", "HE", 40.952, 117.963),
    ("130900", "沧州市", "Cangzhou", "HE", 38.304, 116.839),
    ("131000", "廊坊市", "Langfang", "HE", 39.538, 116.684),
    ("131100", "衡水市", "Hengshui", "HE", 37.739, 115.670),
    # 雄安新区: not a prefecture-level city in GB/T 2260 (its counties 容城/安新/雄县 are
    # still listed under 保定市), but the code 133100 is in common administrative use.
    ("133100", "雄安新区", "Xiong'an New Area", "HE", 38.990, 115.950),
    # --- other (national) -------------------------------------------------------------
    ("310000", "上海市", "Shanghai", "OTHER", 31.230, 121.474),
    ("320000", "江苏省", "Jiangsu", "OTHER", 32.060, 118.797),  # Nanjing
    ("370000", "山东省", "Shandong", "OTHER", 36.651, 117.120),  # Jinan
    ("440000", "广东省", "Guangdong", "OTHER", 23.130, 113.264),  # Guangzhou
    (OTHER_CODE, "其他地区", "Other regions", "OTHER", None, None),
)

_PREFIX_PROVINCE = {"11": "BJ", "12": "TJ", "13": "HE"}
_PROVINCE_CODE = {"BJ": "110000", "TJ": "120000", "HE": "130000"}
DATA_FILE = Path(__file__).resolve().parent / "data" / "gbt2260.tsv"


def _load() -> dict[str, Region]:
    """The generated table, with the curated names and coordinates laid over it."""
    curated = {row[0]: row for row in _DATA}
    out: dict[str, Region] = {}
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, parent, zh, en, lat_text, lon_text = line.split("\t")
        lat = float(lat_text) if lat_text else None
        lon = float(lon_text) if lon_text else None
        c = curated.get(code)
        if c is not None:
            zh, en, lat, lon = c[1], c[2], c[4], c[5]
        out[code] = Region(code, zh, en or zh, _PREFIX_PROVINCE.get(code[:2], "OTHER"), lat, lon, parent)
    for code, zh, en, prov, lat, lon in _DATA:  # 雄安新区 and 其他地区 are not in the official list
        if code not in out:
            out[code] = Region(code, zh, en, prov, lat, lon, "" if code.endswith("0000") else _PROVINCE_CODE.get(prov, ""))
    return out


REGIONS: dict[str, Region] = _load()


def _ancestors(region: Region) -> list[Region]:
    """The units above a region, nearest first."""
    out = []
    r = region
    while r.parent and r.parent in REGIONS:
        r = REGIONS[r.parent]
        out.append(r)
    return out


def _full_name_zh(region: Region) -> str:
    return "".join(r.name_zh for r in reversed(_ancestors(region))) + region.name_zh


def _full_name_en(region: Region) -> str:
    return ", ".join([region.name_en] + [r.name_en for r in _ancestors(region)])


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip()).casefold()


def _short(name: str) -> str:
    """石家庄市 → 石家庄, 河北省 → 河北 (names of two characters keep their suffix: 赵县)."""
    return name[:-1] if len(name) > 2 and name[-1] in "市省" else name


def _build_name_index() -> tuple[dict[str, str], dict[str, str]]:
    """Full names (unique) and other spellings (bare names, short forms), the latter only where
    they name one unit: 京津冀 first, then the higher level (吉林 is the province); a name that
    stays ambiguous (桥西区 is in 石家庄 and in 张家口) is left out, so the code must be given."""
    full: dict[str, str] = {}
    loose: dict[str, list[Region]] = {}
    for region in REGIONS.values():
        full.setdefault(_key(_full_name_zh(region)), region.code)
        full.setdefault(_key(_full_name_en(region)), region.code)
        names = {region.name_zh, region.name_en, _short(region.name_zh)}
        ups = _ancestors(region)
        if len(ups) == 2:  # 唐山市路北区, 唐山路北区
            names |= {ups[0].name_zh + region.name_zh, _short(ups[0].name_zh) + region.name_zh}
        for name in names:
            loose.setdefault(_key(name), []).append(region)
    index: dict[str, str] = {}
    for k, cands in loose.items():
        best = min((r.province == "OTHER", r.level) for r in cands)
        top = [r for r in cands if (r.province == "OTHER", r.level) == best]
        if len(top) == 1:
            index[k] = top[0].code
    index.update(full)
    index.setdefault(_key("雄安"), "133100")
    index.setdefault(_key("河北雄安新区"), "133100")
    return index, full


_NAME_INDEX, _FULL_NAMES = _build_name_index()
_CODE_RE = re.compile(r"^\d{6}$")
_FLOATISH_RE = re.compile(r"^(\d{6})\.0*$")


@memo
def normalise(value: object) -> str:
    """Canonical 6-digit code for an int, a code string or an exact Chinese/English name.

    >>> normalise(110108), normalise(" 110108 "), normalise("天津市武清区")
    ('110108', '110108', '120114')

    Unknown values are returned stripped (so validation can report them verbatim).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:06d}" if 0 <= value <= 999999 else str(value)
    if isinstance(value, float):
        if value.is_integer() and 0 <= value <= 999999:
            return f"{int(value):06d}"
        return str(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()  # full-width digits: １１０１０８
    if _CODE_RE.match(text):
        return text
    m = _FLOATISH_RE.match(text)  # "110108.0" from a spreadsheet
    if m:
        return m.group(1)
    compact = text.replace(" ", "").replace("\u3000", "")
    if _CODE_RE.match(compact):
        return compact
    code = _NAME_INDEX.get(_key(text)) or _NAME_INDEX.get(_key(compact))
    return code if code else text


def get(code: object) -> Region | None:
    return REGIONS.get(normalise(code))


@memo
def province_of(code: object) -> str:
    """"BJ", "TJ", "HE" or "OTHER"; codes not in the table are classified by prefix."""
    c = normalise(code)
    region = REGIONS.get(c)
    if region is not None:
        return region.province
    if _CODE_RE.match(c):
        return _PREFIX_PROVINCE.get(c[:2], "OTHER")
    return "OTHER"


@memo
def label(code: object, lang: str = "zh") -> str:
    """Display label: "北京市海淀区" (zh), "Haidian District, Beijing" (en), or both.

    Unknown codes are returned as normalised.
    """
    c = normalise(code)
    region = REGIONS.get(c)
    if region is None:
        return c
    if lang == "zh":
        return _full_name_zh(region)
    if lang == "en":
        return _full_name_en(region)
    if lang == "both":
        return f"{_full_name_zh(region)} {_full_name_en(region)}"
    raise ValueError(f"unknown language {lang!r}; use 'zh', 'en' or 'both'")


def in_region(code: object) -> bool:
    """True when the code is in Beijing, Tianjin or Hebei (京津冀)."""
    return province_of(code) != "OTHER"


EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_km(code_a: object, code_b: object) -> float:
    """Great-circle distance between two regions' representative points.

    Raises KeyError for codes not in REGIONS; returns math.inf when a region has no
    coordinates (000000 其他地区).
    """
    a, b = normalise(code_a), normalise(code_b)
    ra, rb = REGIONS.get(a), REGIONS.get(b)
    if ra is None or rb is None:
        raise KeyError(a if ra is None else b)
    if ra.code == rb.code:
        return 0.0 if ra.has_coordinates else math.inf
    if not (ra.has_coordinates and rb.has_coordinates):
        return math.inf
    return haversine_km(ra.lat, ra.lon, rb.lat, rb.lon)  # type: ignore[arg-type]


def codes_in(province: str, include_province_level: bool = False, counties: bool = False) -> list[str]:
    """Codes of one province ("BJ"/"TJ"/"HE"/"OTHER"), in table order: the districts of Beijing
    and Tianjin, the cities of Hebei (and 雄安新区); with `counties`, the county level too."""
    return [
        r.code
        for r in REGIONS.values()
        if r.province == province and (include_province_level or not r.is_province_level)
        and (counties or r.level <= 2)
    ]


normalise.cache_clear()  # nothing cached from before the tables were complete
label.cache_clear()
province_of.cache_clear()
