"""Organisations of the demo data: real anchor organisations plus generated enterprises."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tongxin.core import credit_code

from .content import DOMAIN_BY_KEY, DOMAINS
from .regions import PROVINCE_SHARE, REGIONS, province_codes, site_of

# GB 11714 organisation-code characters (the brief's charset: no I, O, S, V, Z)
ORG_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_GB11714_W = (3, 7, 9, 10, 5, 8, 4, 2)

# org_type -> (default credit prefix, default industry)
TYPE_DEFAULTS = {
    "university": ("12", "P83"),
    "school": ("12", "P83"),
    "research_institute": ("12", "M73"),
    "hospital": ("12", "Q84"),
    "government": ("11", "S92"),
    "park": ("11", "L72"),
    "association": ("51", "S95"),
    "financial_institution": ("91", "J66"),
    "enterprise": ("91", "M75"),
}

# name | org_type | region | domains | credit prefix ("" = default) | industry ("" = default) | website | park
_REAL = """
北京交通大学|university|110108|rail it|||https://www.bjtu.edu.cn|
清华大学|university|110108|mfg mat it green med|||https://www.tsinghua.edu.cn|
北京大学|university|110108|med bio it|||https://www.pku.edu.cn|
北京航空航天大学|university|110108|mfg mat it|||https://www.buaa.edu.cn|
北京理工大学|university|110108|mfg it mat|||https://www.bit.edu.cn|
北京科技大学|university|110108|mat recy mfg|||https://www.ustb.edu.cn|
北京化工大学|university|110105|mat bio green|||https://www.buct.edu.cn|
中国农业大学|university|110108|agri food|||https://www.cau.edu.cn|
北京邮电大学|university|110108|it|||https://www.bupt.edu.cn|
北京工业大学|university|110105|mfg green recy||||
北京林业大学|university|110108|agri green||||
中国石油大学（北京）|university|110114|oil green||||
华北电力大学|university|110114|green||||
首都医科大学|university|110106|med||||
北京建筑大学|university|110102|rail recy||||
天津大学|university|120104|mat mfg bio green oil it|||https://www.tju.edu.cn|
南开大学|university|120104|bio mat it med|||https://www.nankai.edu.cn|
河北工业大学|university|120106|mfg mat green|||https://www.hebut.edu.cn|
天津科技大学|university|120116|food bio|||https://www.tust.edu.cn|
天津工业大学|university|120111|mat mfg||||
天津医科大学|university|120101|med|||https://www.tmu.edu.cn|
天津理工大学|university|120111|it mfg||||
天津中医药大学|university|120118|med food||||
中国民航大学|university|120110|mfg it||||
天津农学院|university|120111|agri food||||
河北大学|university|130600|med mat||||
燕山大学|university|130300|mfg mat recy|||https://www.ysu.edu.cn|
河北农业大学|university|130600|agri food|||https://www.hebau.edu.cn|
华北理工大学|university|130200|mat recy med||||
河北科技大学|university|130100|bio food mfg||||
河北医科大学|university|130100|med||||
石家庄铁道大学|university|130100|rail||||
河北工程大学|university|130400|green mfg||||
中国科学院天津工业生物技术研究所|research_institute|120116|bio food|||https://www.tib.cas.cn|天津空港经济区
国家合成生物技术创新中心|research_institute|120116|bio||||天津空港经济区
京津冀国家技术创新中心|research_institute|110108|mfg it mat||||
国投生物制造创新研究院有限公司|research_institute|120116|bio|91|||
天津电子信息技术实验室|research_institute|120116|it||||
天津信创产业创新中心|research_institute|120116|it||||
中国铁道科学研究院集团有限公司|research_institute|110108|rail|91|||
中国铁路设计集团有限公司|research_institute|120105|rail|91|M74||
交通运输部天津水运工程科学研究所|research_institute|120116|port||||
中国科学院自动化研究所|research_institute|110108|it med mfg||||
中国科学院过程工程研究所|research_institute|110108|recy green bio||||
中国科学院化学研究所|research_institute|110108|mat||||
中国科学院微生物研究所|research_institute|110105|bio food||||
中国科学院理化技术研究所|research_institute|110108|mat green||||
中国科学院计算技术研究所|research_institute|110108|it||||
北京市农林科学院|research_institute|110108|agri||||
中国农业科学院|research_institute|110108|agri food||||
天津市农业科学院|research_institute|120111|agri food||||
河北省农林科学院|research_institute|130100|agri||||
中国环境科学研究院|research_institute|110105|green recy||||
中国食品发酵工业研究院有限公司|research_institute|110105|food bio|91|||
中国电子科技集团公司第五十四研究所|research_institute|130100|it||||
中海油研究总院有限责任公司|research_institute|110105|oil green|91|||
中国石油集团工程技术研究院有限公司|research_institute|110114|oil|91|||
河北省科学院|research_institute|130100|mat it mfg||||
中国科学院雄安创新研究院|research_institute|133100|it green||||
中国医学科学院生物医学工程研究所|research_institute|120104|med||||
天津医科大学总医院|hospital|120101|med||||
天津市第一中心医院|hospital|120104|med||||
天津市胸科医院|hospital|120112|med||||
天津医科大学肿瘤医院|hospital|120103|med||||
天津市人民医院|hospital|120106|med||||
泰达国际心血管病医院|hospital|120116|med||||
天津市环湖医院|hospital|120112|med||||
天津医科大学第二医院|hospital|120103|med||||
天津市儿童医院|hospital|120113|med||||
雄安宣武医院|hospital|133100|med||||
首都医科大学宣武医院|hospital|110102|med||||
北京大学第三医院|hospital|110108|med||||
首都医科大学附属北京天坛医院|hospital|110106|med||||
河北医科大学第二医院|hospital|130100|med||||
唐山市工人医院|hospital|130200|med||||
保定市第一中心医院|hospital|130600|med||||
沧州市中心医院|hospital|130900|med||||
天津滨海—中关村科技园|park|120116|it mfg bio med||||天津滨海—中关村科技园
国机智能装备产业园|park|120116|mfg|91|||天津经济技术开发区
天开高教科创园|park|120104|mat it bio med||||天开高教科创园
京津产业新城|park|120114|rail mfg|91|||京津产业新城
中新天津生态城|park|120116|green it||||中新天津生态城
子牙循环经济产业区|park|120118|recy||||子牙循环经济产业区
京津中关村科技城|park|120115|mfg it|91|||京津中关村科技城
北京经济技术开发区|park|110115|mfg med bio it||||北京经济技术开发区
未来科学城|park|110114|green med bio||||未来科学城
曹妃甸经济技术开发区|park|130200|port mat recy oil||||曹妃甸经济技术开发区
沧州渤海新区|park|130900|port oil green||||沧州渤海新区
保定·中关村创新中心|park|130600|it mfg|91|||保定·中关村创新中心
石家庄高新技术产业开发区|park|130100|bio med it||||石家庄高新技术产业开发区
雄安新区中关村科技园|park|133100|it med|91|||雄安新区中关村科技园
天津港保税区|park|120116|port food||||天津港保税区
张家口可再生能源示范区|park|130700|green||||张家口可再生能源示范区
北京市科学技术委员会、中关村科技园区管理委员会|government|110102|it mfg med||||
天津市科学技术局|government|120103|it mfg green||||
河北省科学技术厅|government|130100|agri green it||||
天津市武清区人民政府|government|120114|rail mfg||||
天津市滨海新区科学技术局|government|120116|it bio oil||||
天津市津南区农业农村委员会|government|120112|agri||||
北京怀柔科学城管理委员会|government|110116|green it mat||||怀柔科学城
河北雄安新区管理委员会公共服务局|government|133100|med it||||
唐山市科学技术局|government|130200|mat recy port||||
沧州市科学技术局|government|130900|oil agri||||
天津市工业和信息化局|government|120103|it mfg||||
天津市宁河区人民政府|government|120117|agri green||||
中国银行天津市分行|financial_institution|120101|||||
北京银行中关村分行|financial_institution|110108|||||
天津银行股份有限公司|financial_institution|120103|||||
河北银行股份有限公司|financial_institution|130100|||||
天津市职业大学|school|120112|mfg it||||
天津轻工职业技术学院|school|120112|food mat||||
天津交通职业学院|school|120112|port rail||||
北京电子科技职业学院|school|110115|it mfg||||
河北工业职业技术大学|school|130100|mfg mat||||
唐山工业职业技术学院|school|130200|mfg||||
北京市轨道交通协会|association|110108|rail||||
天津市新材料行业协会|association|120103|mat||||
京津冀生物制造产业联盟|association|120116|bio||||
河北省现代农业产业技术创新联盟|association|130100|agri||||
天津市港口物流协会|association|120116|port||||
京津冀信创产业联盟|association|110108|it||||
河北省再生资源行业协会|association|130100|recy||||
交控科技股份有限公司|enterprise|110106|rail||C37|https://www.bj-tct.com|中关村丰台园
交控技术装备有限公司|enterprise|120114|rail||C37||京津产业新城
中国资源循环集团有限公司|enterprise|120116|recy||C42||天津经济技术开发区
中海油能源发展股份有限公司装备技术分公司|enterprise|120116|oil||C37||临港经济区
中海石油（中国）有限公司天津分公司|enterprise|120116|oil green||B07||天津港
北京慧影智医科技有限公司|enterprise|110108|med||I65||中关村软件园
天津烯创新材料科技有限公司|enterprise|120104|mat||C30||天开高教科创园
天津市津南区盛坤田园家庭农场|enterprise|120112|agri||A01||小站镇
天津海润康源生物科技有限公司|enterprise|120116|bio food||C14||天津经济技术开发区
"""

# Descriptions of the anchor organisations of the seed cases.
SEED_DESCRIPTIONS = {
    "交控科技股份有限公司": "源自北京交通大学的轨道交通信号系统企业，长期从事基于通信的列车控制系统研发，坚持“北京研发、天津转化”的协同模式。",
    "交控技术装备有限公司": "位于天津市武清区京津产业新城，承接北京研发的列车控制系统成果，开展轨道交通信号装备的产业化制造与测试。",
    "中国资源循环集团有限公司": "中央企业，围绕再生钢铁、废旧设备等再生资源开展回收、交易和设备资产循环利用业务。",
    "中海油能源发展股份有限公司装备技术分公司": "位于滨海新区的海洋油气装备制造与服务基地，承担海上平台模块建造、装备维修和再制造业务。",
    "中海石油（中国）有限公司天津分公司": "负责渤海油田的勘探开发与生产，推动水下生产系统国产化和海上平台岸电等绿色低碳工程。",
    "北京慧影智医科技有限公司": "北京医疗人工智能企业，专注医学影像人工智能辅助诊断软件研发，正在京津冀开展多中心临床验证。",
    "天津烯创新材料科技有限公司": "天开高教科创园入驻企业，由高校团队创办，专注石墨烯导热材料研发，正处于从中试走向量产的阶段。",
    "天津市津南区盛坤田园家庭农场": "位于津南区小站镇的家庭农场，种植优质小站稻并探索稻蟹共生和品牌化销售。",
    "天津海润康源生物科技有限公司": "滨海新区海洋功能食品企业，主营牡蛎肽等海洋活性肽产品。",
    "国投生物制造创新研究院有限公司": "面向生物制造产业的新型研发机构，提供菌种开发、中试放大和产业化服务。",
    "国家合成生物技术创新中心": "依托中国科学院天津工业生物技术研究所建设的国家级创新平台，聚焦合成生物技术研发与转化。",
    "京津冀国家技术创新中心": "服务京津冀协同发展的国家技术创新中心，组织高校院所与企业开展关键技术攻关和成果转化。",
    "天津滨海—中关村科技园": "京津合作共建的科技园区，承接中关村创新资源，为入驻企业提供场景开放与公共服务。",
    "国机智能装备产业园": "聚集智能装备整机与零部件企业的产业园区，推动装备制造企业智能化改造。",
    "中国科学院天津工业生物技术研究所": "中国科学院在天津的工业生物技术研究机构，在合成生物学、生物制造和细胞工厂领域具有优势。",
    "雄安宣武医院": "雄安新区的三级综合医院，由首都医科大学宣武医院派驻专家团队参与运营管理。",
    "首都医科大学宣武医院": "北京大型三级甲等医院，向雄安宣武医院派驻医疗和管理团队。",
    "北京怀柔科学城管理委员会": "负责怀柔科学城建设与运营，推动科学城成果与天津、河北园区开展协同转化。",
}

_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "华", "鹏", "宇", "浩", "晨", "昊", "思远", "子涵", "建国", "志强", "海燕", "文博", "佳怡", "立新", "永刚", "晓东", "雪梅", "春燕", "国栋", "振华", "建华", "玉兰", "凯", "帅", "琳", "欣怡", "一鸣", "天宇", "宏伟", "丹", "颖", "晓峰", "红梅", "志刚", "亚楠", "博文", "雨轩", "泽宇", "明轩", "瑞", "婷", "俊杰", "国强", "丽华", "慧", "斌", "鑫", "彤", "海涛", "建军", "卫东", "淑珍", "春生"]
_BRAND_A = "华瑞恒博智海金联鼎天清宏泰凯德诚汇远航嘉信安达宇昊卓晟新科创渤众合力云星润盛"
_BRAND_B = "通达源创盛泰诚远信安宇峰成瑞新航辰锐拓睿驰和美科联捷威鸿晟嘉益康"
_HONOURS = ("公司是国家高新技术企业。", "公司入选国家级专精特新“小巨人”企业。", "公司拥有省级企业技术中心。",
            "公司为专精特新中小企业，与多所高校共建联合实验室。", "公司通过ISO 9001质量管理体系认证。", "")


@dataclass
class Org:
    external_id: str
    name: str
    org_type: str
    credit_prefix: str
    region: str
    industry: str
    domains: tuple[str, ...]
    description: str
    contact_name: str
    contact_phone: str
    website: str | None
    site: str
    credit_code: str = ""
    new_style: bool | None = None   # organisation code of the post-2015 "MA…" form

    def as_dict(self) -> dict:
        return {
            "external_id": self.external_id, "name": self.name, "credit_code": self.credit_code,
            "org_type": self.org_type, "region": self.region, "industry": self.industry,
            "description": self.description, "contact_name": self.contact_name,
            "contact_phone": self.contact_phone, "website": self.website,
        }


def gb11714_check(first8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(first8, _GB11714_W, strict=False))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def make_credit_code(rng: random.Random, prefix: str, region: str, used: set[str],
                     new_style: bool | None = None) -> str:
    if new_style is None:
        new_style = prefix == "91" and rng.random() < 0.5
    while True:
        if new_style:
            body = "MA" + "".join(rng.choice(ORG_CHARSET) for _ in range(6))
        else:
            body = "".join(rng.choice("0123456789") for _ in range(8))
        code = credit_code.make(prefix + region + body + gb11714_check(body))
        if code not in used:
            used.add(code)
            return code


def person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def landline(rng: random.Random, region: str) -> str:
    area = REGIONS[region].area_code
    if area in ("010", "022", "0311"):
        first = rng.choice("2568" if area == "022" else "68")
        return f"{area}-{first}{rng.randint(0, 9999999):07d}"
    return f"{area}-{rng.choice('2345678')}{rng.randint(0, 999999):06d}"


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _describe(rng: random.Random, org_type: str, name: str, region: str, domains: tuple[str, ...]) -> str:
    if name in SEED_DESCRIPTIONS:
        return SEED_DESCRIPTIONS[name]
    names = "、".join(DOMAIN_BY_KEY[d].name for d in domains) or "科技金融"
    place = REGIONS[region].short
    if org_type == "university":
        return f"位于{place}的高等院校，在{names}等方向建有重点实验室和工程研究中心，积极推动科技成果在京津冀转化。"
    if org_type == "research_institute":
        return f"聚焦{names}方向开展应用基础研究和工程化开发，面向京津冀企业提供技术转移、检测和中试服务。"
    if org_type == "hospital":
        return f"{place}的三级医院，重视临床研究和医工结合，愿意开放临床场景参与创新医疗技术验证。"
    if org_type == "park":
        return f"以{names}为主导产业的园区，为入驻企业提供中试平台、应用场景和政策服务。"
    if org_type == "government":
        return f"负责本地区科技创新和产业协同相关工作，定期发布{names}领域的应用场景清单。"
    if org_type == "school":
        return f"{place}的职业院校，开设{names}相关专业，与企业共建产业学院和实训基地。"
    if org_type == "association":
        return f"由{names}领域的企业、高校和科研院所组成的行业组织，开展供需对接、标准制定和人才培训。"
    if org_type == "financial_institution":
        return rng.choice((
            "为科技型中小企业提供知识产权质押贷款、信用贷款和投贷联动等金融服务。",
            "重点支持京津冀科技成果转化项目，提供科技信贷和供应链金融产品。"))
    raise ValueError(org_type)


def real_orgs(rng: random.Random, used: set[str]) -> list[Org]:
    out = []
    for line in _REAL.strip().splitlines():
        name, org_type, region, doms, prefix, industry, website, park = line.split("|")
        dflt_prefix, dflt_industry = TYPE_DEFAULTS[org_type]
        domains = tuple(doms.split())
        site = site_of(region, park) if park else (
            REGIONS[region].prefix + name if org_type == "hospital" else site_of(region))
        out.append(Org("", name, org_type, prefix or dflt_prefix, region, industry or dflt_industry, domains,
                       _describe(rng, org_type, name, region, domains), person_name(rng), landline(rng, region),
                       website or None, site))
    return out


def _pick_region(rng: random.Random, counts: dict[str, int], total: int, affinity: tuple[str, ...]) -> str:
    need = {p: max(PROVINCE_SHARE[p] * total - counts[p], 0.2) for p in PROVINCE_SHARE}
    prov = rng.choices(list(need), weights=list(need.values()))[0]
    codes = province_codes(prov)
    weights = [6 if c in affinity else 1 for c in codes]
    return rng.choices(codes, weights=weights)[0]


def generated_orgs(rng: random.Random, existing: list[Org], n: int, used: set[str]) -> list[Org]:
    """Generate ``n`` further organisations: enterprises of every domain plus investors."""
    counts = {p: sum(o.region.startswith(p) for o in existing) for p in PROVINCE_SHARE}
    total = len(existing) + n
    names = {o.name for o in existing}
    out: list[Org] = []
    for i in range(n):
        investor = i % 25 == 24
        dom = None if investor else DOMAINS[i % len(DOMAINS)]
        region = _pick_region(rng, counts, total, dom.regions if dom else ("110108", "120104", "120116"))
        counts[region[:2]] += 1
        r = REGIONS[region]
        city = r.short if region[:2] != "13" or rng.random() < 0.8 else "河北"
        org_words = dom.org_words if dom is not None else ()  # investors' names do not use them
        while True:
            brand = rng.choice(_BRAND_A) + rng.choice(_BRAND_B)
            if brand[0] == brand[1]:
                continue
            if investor:
                kind = rng.choice(("创业投资管理有限公司", "股权投资基金管理有限公司", "融资担保有限公司"))
                name = f"{city}{brand}{kind}"
            else:
                suffix = rng.choices(("有限公司", "股份有限公司", "集团有限公司"), weights=(75, 20, 5))[0]
                name = f"{city}{brand}{rng.choice(org_words)}{suffix}"
            if name not in names:
                names.add(name)
                break
        if investor:
            industry = "J69" if name.endswith("融资担保有限公司") else "J67"
            desc = ("为科技型中小企业提供融资担保和增信服务，与银行合作开展科技信贷。" if industry == "J69" else
                    "专注投资京津冀早中期科技企业，重点关注" + "、".join(
                        d.name for d in rng.sample(DOMAINS, 3)) + "等领域。")
            out.append(Org("", name, "financial_institution", "91", region, industry, (), desc,
                           person_name(rng), landline(rng, region), None, site_of(region, rng.choice(r.sites))))
            continue
        assert dom is not None  # every organisation but an investor has a domain
        industry = rng.choice([t.industry for t in dom.topics])
        prods = rng.sample([t.products[0] for t in dom.topics], 2)
        year = rng.randint(2003, 2022)
        desc = (f"成立于{year}年，专注{dom.name}领域，主要从事{prods[0]}、{prods[1]}等产品的研发、生产和技术服务。"
                + rng.choice(_HONOURS))
        out.append(Org("", name, "enterprise", "91", region, industry, (dom.key,), desc, person_name(rng),
                       landline(rng, region), None, site_of(region, rng.choice(r.sites)), new_style=year >= 2016))
    return out


def build_orgs(rng: random.Random, n_orgs: int) -> list[Org]:
    used: set[str] = set()
    orgs = real_orgs(rng, used)
    if n_orgs < len(orgs):
        raise ValueError(f"n_orgs must be at least {len(orgs)} (the real anchor organisations)")
    orgs += generated_orgs(rng, orgs, n_orgs - len(orgs), used)
    for i, o in enumerate(orgs, 1):
        o.external_id = f"ORG-{i:04d}"
        o.credit_code = make_credit_code(rng, o.credit_prefix, o.region, used, o.new_style)
    return orgs
