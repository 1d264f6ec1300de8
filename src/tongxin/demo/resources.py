"""Deterministic demo data for the resource kinds: ≥ 500 instruments across Beijing, Tianjin and Hebei,
equipment, scrap-steel lots and needs, experts and posts (天津医疗人才驻雄安), financial services,
policies with rules, the 小站稻 certification mark with 36 licensed producers (2025–2027),
vouchers, recognised labs, trainings and a booking history for the usage statistics.

`generate_resources(seed, organisations)` takes the organisations already in the database (core
`Organisation` records or dicts) and returns plain data; demo/load.py loads it through services.history.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable
from typing import Any

from tongxin.core import credit_code, regions

from ..core.clock import local_today
from .orgs import gb11714_check
from .resources_catalogue import BANKS, BUILDINGS, ENGINEER_FIELDS, EQUIPMENT, EXPERT_FIELDS, INSTRUMENTS, MATERIAL_SITES, POLICIES

N_INSTRUMENTS = {"BJ": 240, "TJ": 160, "HE": 140}
DEMO_USER_BASE = 9_000_000  # synthetic user ids of the demo booking history
MARK_CODE = "XZD-GI"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"


def _get(o: Any, key: str) -> Any:
    return o.get(key) if isinstance(o, dict) else getattr(o, key, None)


def _ref(o: Any) -> str:
    return str(_get(o, "external_id") or _get(o, "id"))


def _rows(block: str) -> list[list[str]]:
    return [line.split("|") for line in block.strip().splitlines() if line.strip()]


def _credit(rng: random.Random, prefix: str, region: str, used: set[str]) -> str:
    while True:
        body = "".join(rng.choice("0123456789") for _ in range(8))
        code = credit_code.make(prefix + region + body + gb11714_check(body))
        if code not in used:
            used.add(code)
            return code


class _Orgs:
    """The organisations to draw from, plus demo organisations added where the database has none.

    Draws only from organisations that this generator did not create (external ids RES-ORG-…), and
    makes credit codes from the name, so a second run over the same database yields the same data."""

    def __init__(self, rng: random.Random, organisations: Iterable[Any], seed: int) -> None:
        self.rng = rng
        self.seed = seed
        given = list(organisations)
        self.known = {_get(o, "name"): o for o in given}
        self.all = [o for o in given if not str(_get(o, "external_id") or "").startswith("RES-ORG-")]
        self.added: dict[str, Any] = {}
        self.used = {str(_get(o, "credit_code")) for o in given}
        self.new: list[dict[str, Any]] = []

    def pick(self, province: str | None, types: tuple[str, ...], k: int = 1) -> list[Any]:
        pool = [o for o in self.all if (province is None or regions.province_of(_get(o, "region")) == province) and _get(o, "org_type") in types]
        if not pool:
            pool = [o for o in self.all if province is None or regions.province_of(_get(o, "region")) == province] or self.all
        return [self.rng.choice(pool) for _ in range(k)]

    def ensure(self, ext: str, name: str, org_type: str, region: str, industry: str, description: str = "") -> Any:
        if name in self.added:
            return self.added[name]
        o = self.known.get(name)
        if o is None:
            prefix = {"government": "11", "hospital": "12", "university": "12", "research_institute": "12", "association": "51"}.get(org_type, "91")
            if "合作社" in name:
                prefix = "93"
            o = {"external_id": ext, "name": name, "credit_code": _credit(random.Random(f"{self.seed}:{name}"), prefix, region, self.used),
                 "org_type": org_type, "region": region, "industry": industry, "description": description or name}
            self.new.append(o)
        self.added[name] = o
        self.all.append(o)
        return o


def _listing(ext: str, kind: str, title: str, description: str, keywords: Iterable[str], industry: str, owner: Any, **attrs: Any) -> dict[str, Any]:
    d = {"external_id": ext, "kind": kind, "title": title[:120], "description": description, "keywords": ";".join(keywords),
         "industry": industry, "region": _get(owner, "region"), "owner": _ref(owner), "valid_from": "2025-01-01", "valid_until": "2028-12-31"}
    d.update({k: v for k, v in attrs.items() if v is not None})
    return d


def _instruments(rng: random.Random, orgs: _Orgs, out: dict[str, Any]) -> list[dict[str, Any]]:
    cat = _rows(INSTRUMENTS)
    rows = []
    n = 0
    for prov, count in N_INSTRUMENTS.items():
        owners = orgs.pick(prov, ("university", "research_institute", "hospital"), k=count // 3) + orgs.pick(prov, ("enterprise",), k=count // 6)
        for _ in range(count):
            n += 1
            name, category, models, specs, caps, samples, kws, industry, fee, unit, value = rng.choice(cat)
            owner = rng.choice(orgs.pick(prov, ("hospital", "university"), k=3)) if category == "medical" else rng.choice(owners)
            model = rng.choice(models.split(";"))
            base = float(fee) * rng.choice((0.8, 1.0, 1.0, 1.2, 1.5))
            mode = "self" if category in ("microscopy", "analytical", "testing", "computing") and rng.random() < 0.45 else "operator"
            status = rng.choices(("available", "maintenance", "retired"), (92, 6, 2))[0]
            open_from, open_to = rng.choice(((8, 20), (8, 20), (9, 17), (8, 22)))
            cross = base * rng.choice((1.0, 1.0, 1.1, 1.2))
            rows.append(_listing(
                f"RES-INS-{n:04d}", "instrument", f"{name}（{model}）",
                f"{_get(owner, 'name')}{rng.choice(BUILDINGS)}的{name}，型号 {model}，对外开放共享。主要用于{caps.split('；')[0]}等。",
                kws.split(";"), industry, owner, category=category, manufacturer=model.split(" ")[0], model=" ".join(model.split(" ")[1:]),
                specs=specs, capabilities=caps, samples=samples,
                accreditation=rng.choice(("", "CMA", "CMA;CNAS", "CNAS", "")), location=f"{rng.choice(BUILDINGS)} {rng.choice('ABCDE')}{rng.randint(101, 520)}",
                original_value=round(float(value) * rng.uniform(0.7, 1.3), 1), fee_unit=unit, fee_internal=round(base * 0.6),
                fee_same_region=round(base), fee_cross_region=round(cross), service_mode=mode,
                training_required="yes" if mode == "self" else "no", auto_approve_trained="yes" if mode == "self" and rng.random() < 0.7 else "no",
                notice_hours=rng.choice((12, 24, 24, 48)), weekly_quota_hours=rng.choice((None, 8, 12, 20)) if mode == "self" else None,
                open_from=open_from, open_to=open_to, instrument_status=status, contact=f"{rng.choice(SURNAMES)}老师 {_phone(rng, _get(owner, 'region'))}",
            ))
    # testing needs from enterprises
    for i in range(40):
        prov = rng.choice(("BJ", "TJ", "HE", "HE", "TJ"))
        owner = orgs.pick(prov, ("enterprise",))[0]
        name, category, _, _, caps, samples, kws, industry, fee, unit, _ = rng.choice(cat)
        what = caps.split("；")[rng.randrange(len(caps.split("；")))]
        rows.append(_listing(f"RES-TST-{i + 1:03d}", "testing_need", f"委托{what}（{samples.split('、')[0]}）",
                             f"{_get(owner, 'name')}需要对{samples.split('、')[0]}开展{what}，希望就近找到开放共享的{name}。", kws.split(";")[:3],
                             _get(owner, "industry") or "C35", owner, category=category, samples=f"{samples.split('、')[0]}{what}",
                             sample_count=rng.randint(5, 80), hours=rng.choice((4, 8, 16, 24)), accreditation=rng.choice(("", "CMA", "")),
                             max_fee=round(float(fee) * rng.uniform(0.9, 1.6)), deadline="2026-12-31"))
    out["n_instruments"] = sum(1 for r in rows if r["kind"] == "instrument")
    return rows


def _phone(rng: random.Random, region: str) -> str:
    area = {"BJ": "010", "TJ": "022"}.get(regions.province_of(region), "0311")
    return f"{area}-{rng.randint(6000_0000, 8999_9999)}"


def _equipment(rng: random.Random, orgs: _Orgs) -> list[dict[str, Any]]:
    cat = _rows(EQUIPMENT)
    rows = []
    for i in range(60):
        typ, model, spec, price, industry = rng.choice(cat)
        side = "offer" if i < 40 else "need"
        owner = orgs.pick(rng.choice(("BJ", "TJ", "HE")), ("enterprise", "park"))[0]
        year = rng.randint(2012, 2024)
        p = round(float(price) * (rng.uniform(0.3, 0.8) if side == "offer" else rng.uniform(0.5, 1.0)), 1)
        title = f"{'转让/出租' if side == 'offer' else '求购'}{typ}（{model}）" if side == "offer" else f"求购或租赁{typ}"
        desc = (f"{_get(owner, 'name')}闲置{typ}，{year} 年出厂，{spec}，设备状况良好，可现场看机。" if side == "offer"
                else f"{_get(owner, 'name')}扩产需要{typ}，要求{spec}，可接受二手设备。")
        rows.append(_listing(f"RES-EQP-{i + 1:03d}", "equipment", title, desc, [typ, model.split(" ")[0]], industry, owner, side=side,
                             equipment_type=typ, brand_model=model, spec=spec, year=year if side == "offer" else None,
                             condition=rng.choice(("like_new", "good", "good", "fair")) if side == "offer" else rng.choice(("good", "fair")),
                             quantity=rng.randint(1, 4), deals=rng.choice(("sale", "lease", "sale;lease")), price=p,
                             max_distance_km=rng.choice((150, 300, 500)) if side == "need" else None))
    return rows


GRADES = ("heavy", "medium", "small", "light", "shredded", "bales", "turnings", "alloy", "cast_iron")
GRADE_ZH = {"heavy": "重型废钢", "medium": "中型废钢", "small": "小型废钢", "light": "轻薄料型废钢", "shredded": "破碎废钢", "bales": "废钢压块",
            "turnings": "钢屑", "alloy": "合金废钢", "cast_iron": "废铸铁"}


def _materials(rng: random.Random, orgs: _Orgs) -> list[dict[str, Any]]:
    rows = []
    for i in range(45):
        site = rng.choice(MATERIAL_SITES)
        owner = orgs.ensure(f"RES-ORG-RECY-{site}-{i % 5}", f"{regions.label(site).split(' ')[-1]}{('恒通', '鑫源', '绿环', '永盛', '金泰')[i % 5]}再生资源有限公司",
                            "enterprise", site, "N77", "废钢铁回收、加工、配送")
        g = rng.choice(GRADES)
        t = rng.choice((80, 150, 300, 500, 1200, 3000))
        price = round(rng.uniform(2200, 3100) * (1.3 if g == "alloy" else 0.85 if g in ("turnings", "light") else 1.0))
        rows.append(_listing(f"RES-MAT-{i + 1:03d}", "material_lot", f"{GRADE_ZH[g]} {t} 吨（{regions.label(site).split(' ')[-1]}）",
                             f"现货{GRADE_ZH[g]}，按 GB/T 4223-2017 分类，已完成分拣与检验，可提供磅单与质检报告。", ["废钢", GRADE_ZH[g], "再生资源"],
                             "N77", owner, material="scrap_steel", grade=g, tonnage=t, price_per_tonne=price,
                             available_from=f"2026-0{rng.randint(1, 6)}-{rng.randint(1, 28):02d}", spec="厚度、尺寸符合 GB/T 4223-2017 对应品级要求"))
    mills = [("130200", "唐山"), ("130400", "邯郸"), ("120116", "天津滨海"), ("130900", "沧州"), ("130800", "承德")]
    for i in range(16):
        site, nm = mills[i % len(mills)]
        owner = orgs.ensure(f"RES-ORG-MILL-{site}", f"{nm}钢铁集团有限公司", "enterprise", site, "C31", "钢铁冶炼")
        grades = rng.sample(GRADES[:6], rng.randint(1, 3))
        lo = rng.choice((100, 200, 500))
        rows.append(_listing(f"RES-MTN-{i + 1:03d}", "material_need", f"电炉/转炉采购废钢：{'、'.join(GRADE_ZH[g] for g in grades)}",
                             f"{nm}钢厂长期采购废钢，要求符合 GB/T 4223-2017，送货到厂。", ["废钢", "采购"] + [GRADE_ZH[g] for g in grades], "C31", owner,
                             material="scrap_steel", grades=";".join(grades), tonnage_min=lo, tonnage_max=lo * 10,
                             price_ceiling=rng.choice((2600, 2800, 3000)), delivery_region=site, needed_by="2026-12-31"))
    return rows


def _talent(rng: random.Random, orgs: _Orgs) -> list[dict[str, Any]]:
    rows = []
    for i, (field, title, modes) in enumerate(_rows(EXPERT_FIELDS) * 4):
        owner = orgs.pick("TJ", ("hospital",))[0]
        name = rng.choice(SURNAMES) + rng.choice(("医生", "主任", "教授"))
        level = "senior" if title.startswith("主任") else "associate"
        rows.append(_listing(f"RES-EXP-{i + 1:03d}", "expert", f"天津医疗人才驻雄安：{field}{title}（{name}）",
                             f"{_get(owner, 'name')}{field}{title}，从事临床工作 {rng.randint(12, 30)} 年，可赴雄安新区驻点帮扶或远程会诊。",
                             [field, "医疗人才", "驻点帮扶"], "Q84", owner, fields=field, title_level=level, title_name=title,
                             available_from="2026-01-01", available_until=rng.choice(("2026-12-31", "2027-06-30")), modes=modes))
    for j, (field, title, modes) in enumerate(_rows(ENGINEER_FIELDS) * 2):
        owner = orgs.pick("BJ", ("university", "research_institute"))[0]
        rows.append(_listing(f"RES-EXP-{100 + j:03d}", "expert", f"{field}专家（{title}）", f"{_get(owner, 'name')}{title}，长期从事{field}研究与工程化。",
                             [field], "M73", owner, fields=field, title_level="senior", title_name=title, available_from="2026-01-01",
                             available_until="2027-12-31", modes=modes))
    hospitals = [orgs.ensure("RES-ORG-XA-H1", "雄安新区容城县人民医院", "hospital", "133100", "Q84"),
                 orgs.ensure("RES-ORG-XA-H2", "雄安新区安新县医院", "hospital", "133100", "Q84"),
                 orgs.ensure("RES-ORG-XA-H3", "雄安新区雄县医院", "hospital", "133100", "Q84")]
    for k, (field, title, modes) in enumerate(_rows(EXPERT_FIELDS)):  # noqa: B007
        owner = hospitals[k % 3]
        rows.append(_listing(f"RES-PST-{k + 1:03d}", "post", f"{_get(owner, 'name')}招募{field}驻点专家", f"雄安新区医疗帮扶：需要{field}副高级以上专家驻点半年，开展带教、手术与门诊。",
                             [field, "驻点帮扶", "雄安"], "Q84", owner, fields=field, title_level="associate", available_from="2026-03-01",
                             available_until="2026-08-31", modes=modes.split(";")[0], headcount=rng.randint(1, 3), support="提供周转住房与交通补贴"))
    return rows


def _finance(rng: random.Random, orgs: _Orgs) -> list[dict[str, Any]]:
    rows = []
    products = [("credit_guarantee", "科技企业信用担保", (100, 3000)), ("angel", "天使投资", (50, 500)), ("venture", "创业投资", (500, 5000)),
                ("bank_loan", "科技信用贷", (50, 2000)), ("ip_pledge", "知识产权质押融资", (100, 3000))]
    for i, bank in enumerate(BANKS):
        region = {"北京": "110102", "天津": "120101", "河北": "130100", "中关": "110108", "京津": "110105"}.get(bank[:2], "120116")
        owner = orgs.ensure(f"RES-ORG-FIN-{i + 1:02d}", bank if bank.endswith(("银行", "公司", "中心", "基金")) else bank + "（有限合伙）",
                            "financial_institution", region, "J66")
        for j in range(2):
            p, pname, (lo, hi) = products[(i + j * 2) % len(products)]
            rows.append(_listing(f"RES-FIN-{i + 1:02d}{j}", "financial_service", f"{bank}{pname}", f"{bank}面向京津冀科技型企业的{pname}产品，审批快、额度灵活。",
                                 [pname, "科技金融"], "J66", owner, product_type=p, amount_min=lo, amount_max=hi,
                                 stages={"angel": "seed;startup", "venture": "startup;growth"}.get(p, "startup;growth;mature"),
                                 industries=rng.choice(("", "C;I;M", "C37;C38;C39;I65")), regions=rng.choice(("BJ;TJ;HE", "BJ", "TJ", "HE", "TJ;HE")),
                                 rate="年化 3.2% 起" if p in ("bank_loan", "ip_pledge") else "", conditions="拥有核心知识产权；近两年无重大不良信用记录"))
    for i in range(24):
        owner = orgs.pick(rng.choice(("BJ", "TJ", "HE")), ("enterprise",))[0]
        amt = rng.choice((80, 200, 500, 1000, 3000))
        rows.append(_listing(f"RES-FND-{i + 1:03d}", "financing_need", f"{_get(owner, 'name')}融资 {amt} 万元", "用于扩大产能与研发投入，企业拥有多项发明专利。",
                             ["融资", "科技型企业"], _get(owner, "industry") or "C39", owner,
                             product_types=rng.choice(("bank_loan;ip_pledge", "angel;venture", "credit_guarantee;bank_loan")), amount=amt,
                             stage=rng.choice(("startup", "growth", "mature")), has_ip=rng.choice(("yes", "no")), purpose="扩产、研发与流动资金"))
    return rows


_PLACE = re.compile(r"^(?:北京市|天津市|河北省|[^市省区县]{1,5}[市省区县])")
_BENEFIT = re.compile(r"(?:项目)?(?:后补助|补助|补贴|奖励|贴息|资助|专项资金|支持|政策|办法)+$")


def policy_keyword(title: str) -> str:
    """A policy's subject as a whole phrase: its title without the place in front and the kind of
    benefit behind ("唐山市再生资源回收利用项目补助" → "再生资源回收利用"), never cut mid-word."""
    t = _BENEFIT.sub("", _PLACE.sub("", title))
    return t if len(t) >= 2 else title


def _policies(rng: random.Random, orgs: _Orgs) -> list[dict[str, Any]]:
    rows = []
    for i, (title, issuer, btype, benefit, amount, mode, rules, region) in enumerate(_rows(POLICIES)):
        owner = orgs.ensure(f"RES-ORG-GOV-{region}-{i}", issuer, "government", region, "S92")
        rows.append(_listing(f"RES-POL-{i + 1:03d}", "policy", title, benefit, [policy_keyword(title), "惠企政策"], "S92", owner, issuing_body=issuer,
                             policy_no=f"示例〔2025〕{i + 1}号", benefit_type=btype, benefit=benefit, amount_max=float(amount) or None,
                             apply_mode=mode, eligibility=rules))
    return rows


def _certification(rng: random.Random, orgs: _Orgs, out: dict[str, Any]) -> list[dict[str, Any]]:
    holder = orgs.ensure("RES-ORG-XZD-ASSOC", "天津市小站稻产业协会", "association", "120112", "S95", "小站稻地理标志证明商标注册人")
    out["marks"] = [{"code": MARK_CODE, "name": "小站稻地理标志证明商标", "holder": holder["name"] if isinstance(holder, dict) else _get(holder, "name"),
                     "mark_type": "gi_certification", "registration_no": "示例-GI-0001", "region": "120112",
                     "description": "天津小站稻地理标志证明商标：限定产区内按生产技术规程种植加工的稻米，经许可方可使用。"}]
    districts = ("120112", "120117", "120115", "120118", "120116")
    kinds = ("农民专业合作社", "米业有限公司", "农业科技有限公司", "家庭农场")
    words = ["稻香", "津沽", "小站", "海河", "金穗", "丰年", "玉粒", "沽上", "芦台", "七里海", "津南", "宝坻", "静海", "渤海", "新农", "鑫禾", "禾润", "田园"]
    licences, rows = [], []
    for i in range(38):
        d = districts[i % len(districts)]
        place = regions.label(d).split(' ')[-1].replace('区', '')
        word = words[i % len(words)]
        if word in place:  # not "津南津南…"
            word = words[(i + 7) % len(words)]
        name = f"{place}{word}{kinds[i % len(kinds)]}"
        if i >= len(words):
            name = f"{place}{word}{('二', '三')[i // len(words) - 1]}{kinds[i % len(kinds)]}"
        o = orgs.ensure(f"RES-ORG-XZD-{i + 1:02d}", name, "enterprise", d, "A01", "小站稻种植与加工")
        expired = i >= 36  # two former licensees, 2022–2024
        lic = f"XZD-{2022 if expired else 2025}-{i + 1:03d}"
        licences.append({"mark": MARK_CODE, "org": _ref(o), "licence_no": lic, "valid_from": "2022-01-01" if expired else "2025-01-01",
                         "valid_until": "2024-12-31" if expired else "2027-12-31", "products": "小站稻大米"})
        rows.append(_listing(f"RES-CRT-{i + 1:03d}", "certified_product", f"小站稻大米（{name}）", f"{name}生产的小站稻大米，{rng.choice(('当季新米', '真空包装', '可定制礼盒'))}。",
                             ["小站稻", "大米", "地理标志"], "A01", o, mark_code=MARK_CODE, product_name="小站稻大米", licence_no=lic,
                             annual_output_tonnes=rng.choice((200, 500, 800, 1500, 3000)), packaging=rng.choice(("5kg 真空包装", "10kg 编织袋", "2.5kg 礼盒")),
                             price=round(rng.uniform(8, 16), 1)))
    out["licences"] = licences
    for i, (nm, reg, ch) in enumerate((("京津冀鲜品连锁超市有限公司", "110105", "supermarket"), ("津门优选电子商务有限公司", "120104", "ecommerce"),
                                      ("雄安新区机关团餐服务中心", "133100", "canteen"), ("石家庄粮油批发市场有限公司", "130100", "wholesale"))):
        o = orgs.ensure(f"RES-ORG-RTL-{i + 1}", nm, "enterprise", reg, "F52")
        rows.append(_listing(f"RES-RTL-{i + 1:03d}", "retail_need", f"{nm}采购小站稻大米", f"{nm}长期采购持小站稻地理标志许可的大米，要求提供许可证明与质检报告。",
                             ["小站稻", "大米", "采购"], "F52", o, mark_code=MARK_CODE, product_name="小站稻大米", channel=ch,
                             quantity_tonnes=rng.choice((100, 300, 600)), price_ceiling=rng.choice((12, 14, 16))))
    return rows


def _facts_vouchers(rng: random.Random, orgs: _Orgs, instruments: list[dict[str, Any]], out: dict[str, Any]) -> None:
    facts, vouchers = [], []
    enterprises = [o for o in orgs.all if _get(o, "org_type") == "enterprise"]
    for o in enterprises:
        certs = [c for c, p in (("高新技术企业", 0.4), ("科技型中小企业", 0.5), ("专精特新中小企业", 0.15)) if rng.random() < p]
        facts.append({"org": _ref(o), "founded_on": dt.date(rng.randint(1998, 2025), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                      "employees": rng.choice((12, 35, 80, 150, 320, 800, 2500)), "revenue": float(rng.choice((300, 1500, 8000, 18000, 60000))),
                      "certifications": certs})
    for i, o in enumerate(rng.sample(enterprises, min(30, len(enterprises)))):
        prov = regions.province_of(_get(o, "region"))
        if prov not in ("BJ", "TJ", "HE"):
            continue
        vouchers.append({"code": f"{prov}-2026-{i + 1:04d}", "province": prov, "org": _ref(o), "amount": float(rng.choice((5000, 10000, 20000, 50000))),
                         "valid_from": "2026-01-01", "valid_until": "2026-12-31", "max_share": 0.5})
    owners = {x["owner"]: regions.province_of(x["region"]) for x in instruments if x["kind"] == "instrument"}
    providers = []
    for ref, prov in owners.items():
        providers.append({"province": prov, "org": ref})
        if rng.random() < 0.5:  # 京津冀互认: also recognised by another region
            providers.append({"province": rng.choice([p for p in ("BJ", "TJ", "HE") if p != prov]), "org": ref})
    out.update(facts=facts, vouchers=vouchers, providers=providers)


def _history(rng: random.Random, orgs: _Orgs, instruments: list[dict[str, Any]], today: dt.date, out: dict[str, Any]) -> None:
    """Past bookings (used / no-show / cancelled) for the statistics and upcoming ones for the calendars."""
    users = [o for o in orgs.all if _get(o, "org_type") in ("enterprise", "university", "research_institute", "hospital")] or orgs.all
    bookings, trainings = [], []
    monday = today - dt.timedelta(days=today.weekday())
    for x in instruments:
        if x["kind"] != "instrument" or x.get("instrument_status") != "available" or rng.random() < 0.35:
            continue
        lo, hi = x["open_from"], x["open_to"]
        taken: set[tuple[dt.date, int]] = set()
        for _ in range(rng.randint(3, 16)):
            day = monday + dt.timedelta(days=rng.randint(-56, 13))
            if day.weekday() >= 5:
                continue
            h = rng.randint(lo, hi - 2)
            length = rng.choice((1, 2, 2, 3, 4))
            hours = [(day, k) for k in range(h, min(h + length, hi))]
            if any(k in taken for k in hours):
                continue
            taken.update(hours)
            user = rng.choice(users) if rng.random() < 0.7 else next((o for o in orgs.all if _ref(o) == x["owner"]), rng.choice(users))
            past = day < today
            status = rng.choices(("used", "no_show", "cancelled"), (82, 6, 12))[0] if past else rng.choice(("approved", "approved", "pending"))
            bookings.append({"instrument": x["external_id"], "user_id": DEMO_USER_BASE + rng.randint(1, 400), "org": _ref(user),
                             "start": dt.datetime.combine(day, dt.time(h)).isoformat(), "end": dt.datetime.combine(day, dt.time(hours[-1][1] + 1)).isoformat(),
                             "status": status, "purpose": rng.choice(("课题组样品测试", "企业委托检测", "新产品研发验证", "毕业论文实验"))})
        if x.get("service_mode") == "self":
            for u in rng.sample(range(1, 401), 5):
                trainings.append({"instrument": x["external_id"], "user_id": DEMO_USER_BASE + u, "trained_on": (today - dt.timedelta(days=90)).isoformat()})
    out.update(bookings=bookings, trainings=trainings)


COST_CENTRES = ("CC-RD-01", "CC-QA-02", "CC-LAB-03", "CC-PILOT-04")
PROJECT_CODES = ("NSFC-2026-118", "KJ-2026-07", "JJJ-2026-031", "")


def _billing(instruments: list[dict[str, Any]], today: dt.date, out: dict[str, Any]) -> None:
    """Used bookings were checked in and out (times a little off the booking now and then), most with a cost
    centre and a project code; a few enterprises paid part with an innovation voucher at a recognised lab.
    Its own random stream, so the bookings drawn before stay as they were."""
    rng = random.Random(f"billing-{today.isoformat()}")
    owners = {x["external_id"]: x["owner"] for x in instruments}
    providers = {(p["province"], p["org"]) for p in out.get("providers", [])}
    vouchers = list(out.get("vouchers", []))
    claims = 0
    for b in out.get("bookings", []):
        if b["status"] != "used":
            continue
        if rng.random() < 0.7:
            b["cost_centre"], b["project_code"] = rng.choice(COST_CENTRES), rng.choice(PROJECT_CODES)
        start, end = dt.datetime.fromisoformat(b["start"]), dt.datetime.fromisoformat(b["end"])
        b["actual_start"] = (start + dt.timedelta(minutes=rng.choice((0, 0, 5, 10)))).isoformat()
        b["actual_end"] = (end + dt.timedelta(minutes=rng.choice((0, 0, -20, 15, 25)))).isoformat()
        if claims < 8 and vouchers:
            v = next((v for v in vouchers if (v["province"], owners.get(b["instrument"])) in providers), None)
            if v is not None:
                b["org"], b["voucher"] = v["org"], v["code"]
                vouchers.remove(v)
                vouchers.append(v)
                claims += 1


def generate_resources(seed: int, organisations: Iterable[Any], today: dt.date | None = None) -> dict[str, Any]:
    """Everything the resources demo needs, deterministic for (seed, organisations, today)."""
    rng = random.Random(seed)
    today = today or local_today()
    orgs = _Orgs(rng, organisations, seed)
    out: dict[str, Any] = {}
    instruments = _instruments(rng, orgs, out)
    listings = instruments + _equipment(rng, orgs) + _materials(rng, orgs) + _talent(rng, orgs) + _finance(rng, orgs) + _policies(rng, orgs)
    listings += _certification(rng, orgs, out)
    _facts_vouchers(rng, orgs, instruments, out)
    _history(rng, orgs, instruments, today, out)
    _billing(instruments, today, out)
    out["organisations"] = orgs.new
    out["listings"] = listings
    return out
