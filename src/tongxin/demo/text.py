"""Sentence templates for technology (offer) and scenario (need) listings.

Technologies speak as the developer ("本成果……"); scenarios speak as the enterprise,
hospital or park that has the problem ("我单位……"): problem, conditions, indicators.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .topic import Metric, Topic

MIN_LEN, MAX_LEN = 80, 250

MODE_NAMES = {"transfer": "技术转让", "license": "许可使用", "equity": "作价入股",
              "co_develop": "合作开发", "service": "技术服务"}


@dataclass
class TechSpec:
    """What a generated technology is about; scenarios are phrased from the pick's spec."""
    topic: Topic
    product: str
    terms: list[str]
    uses: list[str]
    metrics: list[tuple[Metric, float]]
    pain: str
    trl: int
    title: str = ""
    extra: dict = field(default_factory=dict)


def short(pain: str) -> str:
    return pain.split("，")[0]


def achieved(m: Metric, v: float, rng: random.Random) -> str:
    val = f"{m.fmt(v)}{m.unit}"
    if m.lower_is_better:
        return rng.choice((f"{m.name}可控制在{val}以内", f"{m.name}不超过{val}", f"{m.name}降至{val}"))
    return rng.choice((f"{m.name}达到{val}", f"{m.name}可达{val}", f"{m.name}达{val}以上"))


def required(m: Metric, v: float, rng: random.Random) -> str:
    val = f"{m.fmt(v)}{m.unit}"
    if m.lower_is_better:
        return rng.choice((f"{m.name}不大于{val}", f"{m.name}控制在{val}以内", f"{m.name}低于{val}"))
    return rng.choice((f"{m.name}不低于{val}", f"{m.name}达到{val}以上", f"{m.name}不少于{val}"))


def _fit(sentences: list[str], optional: list[int], filler: list[str]) -> str:
    """Join sentences, dropping optional ones (by index) while too long, padding while too short."""
    keep = list(sentences)
    for i in optional:
        if len("".join(s for s in keep if s)) <= MAX_LEN:
            break
        keep[i] = ""
    text = "".join(s for s in keep if s)
    for f in filler:
        if len(text) >= MIN_LEN:
            break
        if len(text) + len(f) <= MAX_LEN:
            text += f
    if len(text) > MAX_LEN:  # last resort: cut at a sentence end
        cut = text[:MAX_LEN].rfind("。")
        text = text[: cut + 1]
    return text


# --------------------------------------------------------------------------- technologies

def tech_title(spec: TechSpec, rng: random.Random) -> str:
    p, u, t = spec.product, spec.uses[0], spec.terms[0]
    return rng.choice((f"面向{u}的{p}", f"基于{t}的{p}", f"{p}关键技术及应用", f"{p}研制与产业化",
                       f"{p}（{t}方向）", f"{u}用{p}"))


def _stage(spec: TechSpec, rng: random.Random, region: str, patents: int) -> str:
    trl, use = spec.trl, spec.uses[-1]
    if trl <= 3:
        s = rng.choice(("目前已完成原理验证，处于实验室研究阶段", "目前已完成关键原理验证，正在开展样机研制"))
    elif trl <= 5:
        s = rng.choice(("已完成实验室样机和小试验证", "已完成小试，正在寻找中试合作单位",
                        f"已完成面向{use}的样机测试"))
    elif trl <= 7:
        s = rng.choice((f"已在{region}的{use}完成中试验证", f"已在{rng.randint(2, 6)}家单位开展示范应用",
                        f"已在{use}完成工程示范"))
    else:
        s = rng.choice((f"已在{rng.randint(5, 40)}个项目中规模化应用，运行稳定", "产品已批量生产并实现销售",
                        f"已在{use}等场景实现商业化应用"))
    if patents:
        s += rng.choice((f"，拥有相关专利{patents}项", f"，已申请专利{patents}项"))
    return s + "。"


def tech_description(spec: TechSpec, rng: random.Random, *, owner_kind: str, domain_name: str,
                     region: str, patents: int, modes: list[str]) -> str:
    p = spec.product
    u = spec.uses[0]
    u2 = spec.uses[1] if len(spec.uses) > 1 else spec.uses[0]
    t1, t2, t3 = spec.terms[:3]
    ps = short(spec.pain)
    (m1, v1), (m2, v2) = spec.metrics[:2]
    opener = rng.choice((
        f"本成果面向{u}，研制了{p}。",
        f"针对{u}中{ps}的问题，团队开发了{p}。",
        f"{p}是{owner_kind}在{domain_name}领域的代表性成果，主要服务于{u}" + (f"和{u2}。" if u2 != u else "。"),
        f"围绕{u}的实际需求，项目组经过多年攻关，形成了{p}成套技术。",
        f"该成果以{t1}为核心，提供适用于{u}的{p}。",
        f"{u}长期存在{ps}等问题，本项目研发的{p}为此提供了新的解决方案。",
    ))
    method = rng.choice((
        f"技术方案融合了{t1}、{t2}和{t3}。",
        f"系统采用{t1}与{t2}相结合的技术路线，并在{t3}方面取得突破。",
        f"关键技术包括{t1}、{t2}、{t3}等，已形成自主知识产权。",
        f"通过{t2}和{t3}的协同优化，显著改善了{t1}环节的性能。",
        f"项目突破了{t1}、{t2}两项关键技术，并配套形成{t3}方案。",
        f"核心创新点在于{t1}，同时集成了{t2}和{t3}。",
    ))
    a1, a2 = achieved(m1, v1, rng), achieved(m2, v2, rng)
    perf = rng.choice((f"经第三方检测，{a1}，{a2}。", f"主要技术指标：{a1}；{a2}。",
                       f"与传统方案相比，{a1}，{a2}。", f"实测数据显示，{a1}，{a2}。"))
    stage = _stage(spec, rng, region, patents)
    mode_txt = "、".join(MODE_NAMES[m] for m in modes)
    coop = rng.choice((f"可采用{mode_txt}等方式合作。", "欢迎京津冀相关企业洽谈合作。",
                       f"希望与{u2}相关单位开展示范应用。", ""))
    body = [opener, method, perf] if rng.random() < 0.6 else [opener, perf, method]
    sentences = body + [stage, coop]
    filler = [f"适用于{u2}等场景。", f"团队长期从事{t3}相关研究。", "可根据用户需求进行定制化开发。"]
    return _fit(sentences, [4, 3], filler)


# --------------------------------------------------------------------------- scenarios

CONDITIONS = (
    "我方可提供现场测试环境和历史运行数据。",
    "可提供中试场地及水、电、气等公用工程条件。",
    "现场具备停产检修窗口，可用于设备安装和调试。",
    "我方将安排专职团队配合，验证通过后将在所属单位推广。",
    "愿意作为首台（套）应用单位，共同承担示范验证风险。",
    "可接受技术许可、联合开发或整体采购等多种合作方式。",
)


@dataclass
class NeedText:
    title: str
    description: str
    problem: str
    expected_outcome: str
    keywords: list[str]


def scenario_text(pick: TechSpec, rng: random.Random, *, who: str, place: str, proxy: str = "") -> NeedText:
    """Phrase a need that the technology ``pick`` answers, in the voice of ``who``.

    ``proxy`` is "park" or "government" when the publisher states the need on behalf of
    local enterprises."""
    topic = pick.topic
    u = pick.uses[0]
    # enterprises name the product class only some of the time; otherwise they describe the field
    named = rng.random() < 0.65
    p = pick.product if named else f"{topic.name}技术"
    shared = rng.sample(pick.terms, rng.choice((2, 3, 3)))
    others = [t for t in topic.terms if t not in pick.terms]
    terms = shared + rng.sample(others, 3 - len(shared))
    rng.shuffle(terms)
    t1, t2, t3 = terms
    pains = [pick.pain] + rng.sample([x for x in topic.pains if x != pick.pain], 1)
    pain = pains[0]
    (m1, v1), (m2, v2) = pick.metrics[:2]
    if rng.random() < 0.5:  # the second indicator is one the supplier did not advertise
        m2 = rng.choice([m for m in topic.metrics if m not in (m1, m2)])
        v2 = m2.value(rng)
    reqs = [required(m1, m1.relaxed(v1, rng), rng), required(m2, m2.relaxed(v2, rng), rng)]
    months = rng.choice((6, 9, 12, 18, 24))

    if named:
        title = rng.choice((f"{u}{p}应用需求", f"征集{u}{t1}技术解决方案", f"{p}引进与示范应用",
                            f"{u}{t1}技术攻关需求（揭榜挂帅）", f"寻求{p}技术合作", f"{p}升级改造需求"))
    else:
        title = rng.choice((f"{u}{topic.name}技术需求", f"征集{u}{t1}技术解决方案", f"{topic.name}领域技术合作需求",
                            f"{u}{t1}技术攻关需求（揭榜挂帅）", f"{u}{topic.name}升级改造需求"))
    opener = rng.choice((
        f"园区内从事{u}相关业务的企业反映，{pain}。",
        f"园区多家企业在{u}中面临{short(pain)}等问题，现由园区统一发布场景需求。",
    )) if proxy == "park" else rng.choice((
        f"本地区{u}领域企业普遍面临{short(pain)}等问题，现代为发布场景需求。",
        f"根据对辖区企业的调研，{u}环节{pain}。",
    )) if proxy == "government" else rng.choice((
        f"我单位在{u}方面业务量持续增长，但{pain}。",
        f"目前我单位{u}存在突出问题：{pain}。",
        f"在{u}中，{pain}，已成为制约生产经营的瓶颈。",
        f"我们是{place}的{who}，{u}环节{pain}。",
        f"随着业务扩展，{u}对{p}提出了更高要求，而现有条件下{pain}。",
    ))
    need = rng.choice((
        f"现公开征集{p}相关方案，要求具备{t1}、{t2}能力，并能结合{t3}给出整体方案。",
        f"拟引进成熟的{p}，技术路线需涵盖{t1}和{t2}，兼顾{t3}。",
        f"希望与掌握{t1}、{t2}及{t3}技术的团队合作，联合开发{p}。",
        f"寻求基于{t1}的{p}解决方案，重点关注{t2}与{t3}。",
        f"优先考虑已在同类场景应用过{t1}和{t2}的供应方，方案中应包含{t3}。",
    ))
    ind = rng.choice((f"验收指标：{reqs[0]}，{reqs[1]}。", f"期望实施后{reqs[0]}，{reqs[1]}。",
                      f"关键指标要求{reqs[0]}，同时{reqs[1]}。"))
    cond = rng.choice(CONDITIONS + (f"项目周期约{months}个月，首期拟开展小范围试点。",))
    description = _fit([opener, need, ind, cond], [3], [f"项目周期约{months}个月。"])
    problem = f"{pain}。" + (f"此外，{pains[1]}。" if rng.random() < 0.6 else "")
    expected = "；".join(reqs) + rng.choice((f"；形成可在{u}推广的应用方案。", "；完成现场验证并形成验收报告。",
                                              "；实现稳定运行不少于六个月。"))
    kw = [p if named else topic.name, t1, t2] + ([t3] if rng.random() < 0.6 else [])
    return NeedText(title, description, problem, expected, kw)
