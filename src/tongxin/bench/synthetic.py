"""Deterministic synthetic listings for speed benchmarks (`tongxin bench speed`).

Text is Chinese technical prose built from a vocabulary, not real data:

* topic terms: the project's domain dictionary (core/text/data/domain_dict.txt) cut into
  runs of consecutive entries (the file is ordered by field: rail, manufacturing, biotech,
  …), so listings of one topic share distinctive terms, as real technologies and needs do;
* general words: nouns, verbs and verbal nouns of jieba's dict.txt (when jieba is
  installed; a small built-in list otherwise), Zipf-weighted by their dictionary
  frequency, which gives the heavy mid-frequency vocabulary ("系统", "方法", "平台") of
  real technical text;
* connectives ("基于", "通过", "实现", …) and punctuation.

Everything comes from one `random.Random(seed)`: the same seed and N give the same
organisations, listings and queries, in the same order, on every machine.
Listings are produced as validated-shape core records (`Listing`), ready for bulk load;
`listing_record` gives the same listing as an import row for the normal validation path.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..core import credit_code, industries, regions
from ..core.listing import Listing
from ..core.organisation import Organisation
from ..core.text.analyzer import _CJK_RE, domain_dictionary, stopwords

TOPIC_SIZE = 24
TODAY = dt.date(2026, 6, 1)  # the benchmark's "today": some listings are expired or not yet valid on it

_FALLBACK_GENERAL = ["系统", "技术", "方法", "平台", "装置", "设备", "工艺", "材料", "数据", "模型", "算法", "控制", "监测", "检测", "分析", "设计", "制造", "生产", "应用", "研发", "优化", "集成", "测试", "验证", "运行", "管理", "服务", "网络", "传感", "信号", "结构", "性能", "效率", "成本", "能耗", "精度", "安全", "可靠性", "质量", "标准", "产品", "项目", "企业", "产业", "示范", "推广", "改造", "升级", "智能", "自动化", "数字化", "信息化", "模块", "接口", "软件", "硬件", "终端", "平台化", "协同", "调度", "评估", "预测", "识别", "定位", "处理", "存储", "传输", "计算", "仿真", "试验", "工程", "产线", "工况", "参数", "指标", "方案", "流程", "环节", "部件", "组件"]
_CONNECTIVES = ("基于", "通过", "采用", "实现", "提高", "降低", "用于", "面向", "结合", "支持", "提升", "形成", "完成", "开展", "构建")
_JOIN = ("的", "和", "与", "及", "中", "")
_TECH_SUFFIX = ("系统", "技术", "平台", "装置", "方法", "工艺", "设备", "解决方案", "关键技术", "集成应用")
_SCEN_SUFFIX = ("应用场景", "技术需求", "改造需求", "示范场景", "升级需求", "验证场景", "合作需求")
_SITES = ("产业园", "开发区", "示范区", "生产基地", "医院", "港区", "物流园", "科技园", "工厂", "研究院")
_ORG_WORDS = ("科技", "智能", "装备", "材料", "生物", "信息", "能源", "环保", "医疗", "制造", "电子", "数据")
_TRANSFER = ("transfer", "license", "equity", "co_develop", "service")
_ORG_TYPES = ("enterprise", "enterprise", "enterprise", "university", "research_institute", "hospital", "park")


@dataclass(frozen=True)
class Vocabulary:
    topics: tuple[tuple[str, ...], ...]
    general: tuple[str, ...]
    general_cum: tuple[float, ...]
    source: str


def _jieba_dict_path() -> str | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("jieba")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "dict.txt")
    return path if os.path.exists(path) else None


@lru_cache(maxsize=1)
def vocabulary(max_general: int = 40_000) -> Vocabulary:
    """The benchmark vocabulary (cached): topic term lists and Zipf-weighted general words."""
    stop = stopwords()
    domain = [w for w, _ in domain_dictionary() if _CJK_RE.fullmatch(w) and w not in stop]
    topics = tuple(tuple(domain[i : i + TOPIC_SIZE]) for i in range(0, len(domain), TOPIC_SIZE) if len(domain[i : i + TOPIC_SIZE]) >= 8)
    domain_set = set(domain)
    words: list[tuple[int, str]] = []
    path = _jieba_dict_path()
    if path:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3 or parts[2] not in ("n", "vn", "v", "nz", "an"):
                    continue
                w = parts[0]
                if not (2 <= len(w) <= 4) or not _CJK_RE.fullmatch(w) or w in stop or w in domain_set:
                    continue
                words.append((int(parts[1]), w))
        words.sort(key=lambda x: (-x[0], x[1]))
        words = words[100:max_general + 100]  # drop the very top (light verbs like 进行, 没有)
        source = "jieba dict.txt"
    if not words:
        words = [(1, w) for w in _FALLBACK_GENERAL]
        source = "built-in list"
    general = tuple(w for _, w in words)
    cum = tuple(itertools.accumulate(1.0 / (r + 20) for r in range(len(general))))  # Zipf, s = 1
    return Vocabulary(topics, general, cum, source)


def _codes() -> tuple[list[str], list[str]]:
    divisions = sorted(c for c in industries.INDUSTRIES if len(c) == 3)
    regs = regions.codes_in("BJ") + regions.codes_in("TJ") + regions.codes_in("HE")
    return divisions, regs


class Generator:
    """Seeded generator of organisations, listings and queries (see the module docstring)."""

    def __init__(self, seed: int = 20260601) -> None:
        self.seed = seed
        self.vocab = vocabulary()
        self.divisions, self.regions = _codes()
        r = random.Random(seed)
        # each topic leans to one industry division, as real fields do
        self.topic_industry = [r.choice(self.divisions) for _ in self.vocab.topics]
        self.topic_cum = list(itertools.accumulate(1.0 / (i + 3) ** 0.7 for i in range(len(self.vocab.topics))))

    # -- organisations ----------------------------------------------------------------------
    @staticmethod
    def n_organisations(n_listings: int) -> int:
        return max(10, n_listings // 100)

    def organisations(self, n: int) -> Iterator[Organisation]:
        r = random.Random(self.seed * 7 + 1)
        for i in range(n):
            region = r.choice(self.regions)
            name = f"{regions.label(region)}{r.choice(_ORG_WORDS)}{r.choice(_ORG_WORDS)}第{i + 1}有限公司"
            code = credit_code.make(f"91{region}{i:09d}")
            yield Organisation(
                name=name, credit_code=code, org_type=r.choice(_ORG_TYPES), region=region,
                industry=r.choice(self.divisions), external_id=f"SYN-ORG-{i + 1}",
            )

    # -- text -------------------------------------------------------------------------------
    def _general(self, r: random.Random, k: int) -> list[str]:
        return r.choices(self.vocab.general, cum_weights=self.vocab.general_cum, k=k)

    def _prose(self, r: random.Random, topic: tuple[str, ...], n_chars: int) -> str:
        """Sentences of topic terms, general words and connectives, about n_chars long."""
        out: list[str] = []
        size = 0
        rand = r.random
        nt, nc, nj = len(topic), len(_CONNECTIVES), len(_JOIN)
        general = self._general(r, n_chars // 3)
        gi = 0
        while size < n_chars:
            clause: list[str] = [_CONNECTIVES[int(rand() * nc)]]
            for _ in range(3 + int(rand() * 4)):
                x = rand()
                if x < 0.32:
                    clause.append(topic[int(rand() * nt)])
                else:
                    if gi >= len(general):
                        general = self._general(r, 16)
                        gi = 0
                    clause.append(general[gi])
                    gi += 1
                if x > 0.85:
                    clause.append(_JOIN[int(rand() * nj)])
            s = "".join(clause)
            out.append(s)
            out.append("，" if rand() < 0.7 else "。")
            size += len(s) + 1
        if out:
            out[-1] = "。"
        return "".join(out)

    # -- listings ---------------------------------------------------------------------------
    def listings(self, n: int, n_orgs: int, start: int = 0) -> Iterator[Listing]:
        """Listings start … n-1 (each from its own seeded stream, so any slice is reproducible)."""
        for i in range(start, n):
            yield self.listing(i, n_orgs)

    def _topic(self, r: random.Random) -> int:
        return r.choices(range(len(self.vocab.topics)), cum_weights=self.topic_cum, k=1)[0]

    def topic_of(self, i: int) -> int:
        """The topic (position in vocab.topics) listing i was written about."""
        return self._topic(random.Random(self.seed * 1_000_003 + i))

    def listing(self, i: int, n_orgs: int) -> Listing:
        r = random.Random(self.seed * 1_000_003 + i)
        t = self._topic(r)
        topic = self.vocab.topics[t]
        kind = "technology" if r.random() < 0.6 else "scenario"
        industry = self.topic_industry[t] if r.random() < 0.7 else r.choice(self.divisions)
        region = r.choice(self.regions)
        owner = r.randrange(n_orgs)
        kws = r.sample(topic, r.randint(2, 4))
        head = "".join(r.sample(topic, 2))
        desc = self._prose(r, topic, r.randint(100, 200))
        attrs: dict[str, Any]
        if kind == "technology":
            title = head + r.choice(_TECH_SUFFIX)
            pmin = float(r.randrange(10, 500, 10))
            attrs = {"trl": r.randint(3, 9), "transfer_modes": r.sample(_TRANSFER, r.randint(1, 2)), "price_min": pmin,
                     "price_max": pmin + float(r.randrange(0, 500, 10))}
            if r.random() < 0.3:
                attrs["team"] = f"{r.choice(topic)}研究团队，长期从事{r.choice(topic)}与{self._general(r, 1)[0]}研究"
        else:
            title = regions.label(region) + head + r.choice(_SCEN_SUFFIX)
            bmin = float(r.randrange(10, 400, 10))
            attrs = {"required_trl": r.randint(3, 8), "budget_min": bmin, "budget_max": bmin + float(r.randrange(10, 600, 10)),
                     "site": regions.label(region) + r.choice(_SITES)}
            if r.random() < 0.5:
                attrs["problem"] = self._prose(r, topic, r.randint(30, 60))
        x = r.random()
        valid_from: dt.date | None = dt.date(2025, 1, 1)
        valid_until: dt.date | None = dt.date(2030, 12, 31)
        if x < 0.04:  # expired on TODAY
            valid_from, valid_until = dt.date(2022, 1, 1), dt.date(2025, 12, 31)
        elif x < 0.06:  # not yet valid on TODAY
            valid_from = dt.date(2027, 1, 1)
        elif x < 0.30:
            valid_from = valid_until = None
        y = r.random()
        visibility = "public" if y < 0.9 else ("members" if y < 0.97 else "confidential")
        z = r.random()
        status = "published" if z < 0.97 else ("draft" if z < 0.99 else "closed")
        return Listing(
            kind=kind, side="offer" if kind == "technology" else "need", title=title, description=desc,
            industry=industry, region=region, owner=f"SYN-ORG-{owner + 1}", owner_id=None, keywords=kws,
            visibility=visibility, status=status, valid_from=valid_from, valid_until=valid_until,
            summary=title if visibility == "confidential" else "", attrs=attrs, external_id=f"SYN-{i + 1}",
        )

    # -- queries ----------------------------------------------------------------------------
    def text_queries(self, n: int) -> list[tuple[str, str | None]]:
        """Free-text queries as a person types them: 2–5 topic terms and general words, with a kind or None."""
        r = random.Random(self.seed * 31 + 7)
        out: list[tuple[str, str | None]] = []
        kinds: tuple[str | None, ...] = (None, "technology", "scenario")
        for _ in range(n):
            topic = self.vocab.topics[r.choices(range(len(self.vocab.topics)), cum_weights=self.topic_cum, k=1)[0]]
            words = r.sample(topic, r.randint(1, 3)) + self._general(r, r.randint(1, 2))
            r.shuffle(words)
            sep = " " if r.random() < 0.6 else ""
            out.append((sep.join(words), r.choice(kinds)))
        return out


def listing_record(x: Listing) -> dict[str, Any]:
    """The listing as an import row (for `validate_listing`): checks that generated records are valid."""
    d: dict[str, Any] = {
        "external_id": x.external_id, "kind": x.kind, "side": x.side, "title": x.title, "description": x.description,
        "keywords": ";".join(x.keywords), "industry": x.industry, "region": x.region, "owner": x.owner,
        "visibility": x.visibility, "status": x.status, "summary": x.summary,
        "valid_from": x.valid_from.isoformat() if x.valid_from else None,
        "valid_until": x.valid_until.isoformat() if x.valid_until else None,
    }
    d.update(x.attrs)
    return d
