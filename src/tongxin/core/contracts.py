"""Technology contracts (技术合同): types, validation of one record, and the registration package.

Amounts are entered in 万元 (as on the official registration forms) and kept as whole 元
(integers), so sums are exact on every database and in every export.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from . import credit_code, industries, regions
from .access import ORG_ROLES, Viewer
from .clock import local_today
from .errors import Conflict, ErrorCollector, Message
from .fields import Choice, clean_text, parse_date, split_list
from .vocab import ORG_TYPES, label

CONTRACT_TYPES: tuple[Choice, ...] = (
    Choice("development", "技术开发", "technology development"),
    Choice("transfer", "技术转让", "technology transfer"),
    Choice("licence", "技术许可", "technology licensing"),
    Choice("consulting", "技术咨询", "technology consulting"),
    Choice("service", "技术服务", "technology service"),
)
CONTRACT_TYPE_VALUES = tuple(c.value for c in CONTRACT_TYPES)

MAX_AMOUNT_WAN = 1_000_000.0  # 100 亿元 for one contract: anything above is a typo
YUAN_PER_WAN = 10_000
_REG_NO = re.compile(r"^[0-9A-Za-z\-]{6,32}$")

CONTRACT_COLUMNS: list[tuple[str, str, str, bool]] = [
    # key, Chinese header, English help, required
    ("contract_no", "合同编号", "contract number (stable key for re-import)", True),
    ("title", "合同名称", "contract title", True),
    ("contract_type", "合同类型", "type: " + " / ".join(f"{c.zh}={c.value}" for c in CONTRACT_TYPES), True),
    ("seller", "卖方统一社会信用代码", "seller (technology provider): unified social credit code of an organisation on the platform", True),
    ("buyer", "买方统一社会信用代码", "buyer (technology user): unified social credit code of an organisation on the platform", True),
    ("amount", "合同成交额（万元）", "contract amount in 10,000 yuan", True),
    ("tech_amount", "技术交易额（万元）", "technology-transaction amount in 10,000 yuan (≤ contract amount; empty = contract amount)", False),
    ("signed_on", "签订日期", "signing date, e.g. 2025-06-30", True),
    ("park", "所在园区", "park or district where the contract is carried out, e.g. 天津滨海—中关村科技园", False),
    ("industry", "技术领域行业", "GB/T 4754-2017 division such as C37", False),
    ("listings", "关联资源", "external ids of linked listings, separated by ;", False),
    ("deal_id", "关联洽谈编号", "id of the deal on the platform", False),
    ("registration_no", "登记编号", "official registration number, once registered", False),
    ("registered_on", "登记日期", "official registration date", False),
]


# the help of each column in Chinese, for the pages (the English help is in CONTRACT_COLUMNS)
CONTRACT_HELP_ZH: dict[str, str] = {
    "contract_no": "合同编号（再次导入时据此更新原记录）",
    "title": "合同名称",
    "contract_type": "合同类型：" + "、".join(c.zh for c in CONTRACT_TYPES),
    "seller": "卖方（技术提供方）：平台上已有机构的统一社会信用代码",
    "buyer": "买方（技术使用方）：平台上已有机构的统一社会信用代码",
    "amount": "合同成交额，单位万元",
    "tech_amount": "技术交易额，单位万元（不超过合同成交额；不填即等于合同成交额）",
    "signed_on": "签订日期，如 2025-06-30",
    "park": "合同实施所在园区或区县，如 天津滨海—中关村科技园",
    "industry": "技术领域行业（国民经济行业分类门类或大类，如 C37）",
    "listings": "关联资源的外部编号，多个用 ; 分隔",
    "deal_id": "平台上关联洽谈的编号",
    "registration_no": "已登记时填写技术合同登记机构给出的登记编号",
    "registered_on": "登记日期",
}

def type_label(value: str, lang: str = "zh") -> str:
    for c in CONTRACT_TYPES:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def find_type(raw: object) -> str | None:
    r = clean_text(raw)
    for c in CONTRACT_TYPES:
        if r in (c.value, c.zh, c.zh[2:]) or r.lower() == c.en.lower():
            return c.value
    return None


def wan_to_yuan(wan: float) -> int:
    return int(round(wan * YUAN_PER_WAN))


def yuan_to_wan(yuan: int) -> float:
    return round(yuan / YUAN_PER_WAN, 2)


def yuan_to_yi(yuan: int) -> float:
    return round(yuan / 100_000_000, 2)


@dataclass
class ContractInput:
    contract_no: str
    title: str
    contract_type: str
    seller_code: str
    buyer_code: str
    amount_yuan: int
    tech_amount_yuan: int
    signed_on: dt.date
    park: str = ""
    industry: str | None = None
    listing_refs: list[str] = field(default_factory=list)
    deal_id: int | None = None
    registration_no: str | None = None
    registered_on: dt.date | None = None


def _wan(ec: ErrorCollector, key: str, zh: str, raw: Any, required: bool) -> float | None:
    if raw in (None, ""):
        if required:
            ec.add(key, f"{zh}为必填项", f"{key} is required")
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        v = float(str(raw).strip().replace(",", "").replace("，", "").replace("万元", "").replace("万", ""))
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        ec.add(key, f"{zh}应为数字（单位万元），实际为 ‘{raw}’", f"{key} should be a number in 10,000 yuan, got '{raw}'", raw)
        return None
    if v <= 0 or v > MAX_AMOUNT_WAN:
        ec.add(key, f"{zh}应大于 0 且不超过 {MAX_AMOUNT_WAN:g} 万元，实际为 {raw}",
               f"{key} must be above 0 and at most {MAX_AMOUNT_WAN:g} (10,000 yuan), got {raw}", raw)
        return None
    return v


def _date(ec: ErrorCollector, key: str, zh: str, raw: Any) -> dt.date | None:
    if raw in (None, ""):
        return None
    try:
        return parse_date(raw)
    except (ValueError, TypeError):
        ec.add(key, f"{zh}应为日期（如 2025-06-30），实际为 ‘{raw}’", f"{key} should be a date such as 2025-06-30, got '{raw}'", raw)
        return None


def _party(ec: ErrorCollector, key: str, zh: str, raw: Any) -> str:
    code = credit_code.normalise(clean_text(raw))
    if not code:
        ec.add(key, f"{zh}为必填项", f"{key} is required")
        return ""
    p = credit_code.problem(code)
    if p:
        ec.add(key, f"{zh}{p.zh}", f"{key} credit code: {p.en}", code)
        return ""
    return code


def validate_contract(raw: Mapping[str, Any], row: int | None = None, today: dt.date | None = None) -> ContractInput:
    """Validate one contract record, reporting every problem at once (bilingual, naming the fix)."""
    today = today or local_today()
    ec = ErrorCollector(row=row)
    no = clean_text(raw.get("contract_no"))
    if not no:
        ec.add("contract_no", "合同编号为必填项", "contract_no is required")
    elif len(no) > 64:
        ec.add("contract_no", f"合同编号最多 64 字，实际 {len(no)} 字", f"contract_no is at most 64 characters, got {len(no)}", no)
    title = clean_text(raw.get("title"))
    if not title:
        ec.add("title", "合同名称为必填项", "title is required")
    elif len(title) > 200:
        ec.add("title", f"合同名称最多 200 字，实际 {len(title)} 字", f"title is at most 200 characters, got {len(title)}", title)
    ctype = find_type(raw.get("contract_type"))
    if ctype is None:
        ec.add("contract_type", f"合同类型 ‘{clean_text(raw.get('contract_type'))}’ 无效，可选：" + "、".join(c.zh for c in CONTRACT_TYPES),
               f"contract type '{clean_text(raw.get('contract_type'))}' is invalid; choose one of: " + ", ".join(c.value for c in CONTRACT_TYPES),
               raw.get("contract_type"))
    seller = _party(ec, "seller", "卖方统一社会信用代码", raw.get("seller"))
    buyer = _party(ec, "buyer", "买方统一社会信用代码", raw.get("buyer"))
    if seller and seller == buyer:
        ec.add("buyer", "买方与卖方不能是同一机构", "buyer and seller must be different organisations", buyer)
    amount = _wan(ec, "amount", "合同成交额", raw.get("amount"), True)
    tech = _wan(ec, "tech_amount", "技术交易额", raw.get("tech_amount"), False)
    if amount is not None and tech is not None and wan_to_yuan(tech) > wan_to_yuan(amount):
        ec.add("tech_amount", f"技术交易额 {tech:g} 万元大于合同成交额 {amount:g} 万元，应不超过合同成交额",
               f"technology-transaction amount {tech:g} exceeds the contract amount {amount:g}; it must not", raw.get("tech_amount"))
    signed = _date(ec, "signed_on", "签订日期", raw.get("signed_on"))
    if signed is None and raw.get("signed_on") in (None, ""):
        ec.add("signed_on", "签订日期为必填项", "signed_on is required")
    elif signed is not None and signed > today:
        ec.add("signed_on", f"签订日期 {signed} 晚于今天，请更正", f"signing date {signed} is in the future; correct it", raw.get("signed_on"))
    elif signed is not None and signed.year < 2000:
        ec.add("signed_on", f"签订日期 {signed} 早于 2000 年，请更正", f"signing date {signed} is before 2000; correct it", raw.get("signed_on"))
    park = clean_text(raw.get("park"))
    if len(park) > 100:
        ec.add("park", "所在园区最多 100 字", "park is at most 100 characters", park)
    industry = None
    if raw.get("industry") not in (None, ""):
        industry = industries.normalise(raw.get("industry"))
        if industries.get(industry) is None:
            ec.add("industry", f"行业 ‘{raw.get('industry')}’ 不是有效的 GB/T 4754-2017 代码（如 C37）",
                   f"industry '{raw.get('industry')}' is not a GB/T 4754-2017 code (e.g. C37)", raw.get("industry"))
    deal_id = None
    if raw.get("deal_id") not in (None, ""):
        try:
            deal_id = int(float(str(raw.get("deal_id")).strip()))
            if deal_id < 1:
                raise ValueError
        except ValueError:
            ec.add("deal_id", f"关联洽谈编号应为正整数，实际为 ‘{raw.get('deal_id')}’", f"deal_id should be a positive whole number, got '{raw.get('deal_id')}'",
                   raw.get("deal_id"))
    reg_no = clean_text(raw.get("registration_no")) or None
    if reg_no and not _REG_NO.match(reg_no):
        ec.add("registration_no", f"登记编号 ‘{reg_no}’ 应为 6–32 位字母、数字或连字符", f"registration number '{reg_no}' should be 6–32 letters, digits or hyphens", reg_no)
    reg_on = _date(ec, "registered_on", "登记日期", raw.get("registered_on"))
    if reg_on is not None and not reg_no:
        ec.add("registration_no", "填写了登记日期时，登记编号为必填项", "registration_no is required when registered_on is given")
    if reg_on is not None and signed is not None and reg_on < signed:
        ec.add("registered_on", f"登记日期 {reg_on} 早于签订日期 {signed}，请更正", f"registration date {reg_on} is before the signing date {signed}; correct it",
               raw.get("registered_on"))
    ec.raise_if_any()
    amount_v = cast(float, amount)  # raise_if_any: amount, signing date and type are all present here
    return ContractInput(
        contract_no=no, title=title, contract_type=cast(str, ctype), seller_code=seller, buyer_code=buyer,
        amount_yuan=wan_to_yuan(amount_v), tech_amount_yuan=wan_to_yuan(tech if tech is not None else amount_v),
        signed_on=cast(dt.date, signed), park=park, industry=industry, listing_refs=split_list(raw.get("listings")),
        deal_id=deal_id, registration_no=reg_no, registered_on=reg_on,
    )


# -- registration package ------------------------------------------------------------------------
@dataclass(frozen=True)
class Party:
    name: str
    credit_code: str
    region: str
    org_type: str
    contact_name: str = ""
    contact_phone: str = ""


@dataclass(frozen=True)
class ContractView:
    contract_no: str
    title: str
    contract_type: str
    amount_yuan: int
    tech_amount_yuan: int
    signed_on: dt.date
    park: str
    industry: str | None
    registration_no: str | None
    registered_on: dt.date | None
    listings: tuple[str, ...] = ()
    deal_id: int | None = None
    status: str = ""  # the registration office's status (STATUSES)


Section = tuple[str, str, list[tuple[str, str, str]]]  # (zh title, en title, [(zh label, en label, value)])


def _party_rows(p: Party) -> list[tuple[str, str, str]]:
    return [
        ("名称", "name", p.name),
        ("统一社会信用代码", "credit code", p.credit_code),
        ("所在地区", "region", f"{regions.label(p.region)}（{p.region}）"),
        ("机构类型", "organisation type", label(ORG_TYPES, p.org_type)),
        ("联系人", "contact", p.contact_name),
        ("联系电话", "phone", p.contact_phone),
    ]


def registration_sections(c: ContractView, seller: Party, buyer: Party) -> list[Section]:
    """The fields a technology-contract registration (技术合同认定登记) asks for, in form order."""
    cross = regions.province_of(seller.region) != regions.province_of(buyer.region)
    return [
        ("合同基本信息", "Contract", [
            ("合同编号", "contract number", c.contract_no),
            ("合同名称", "title", c.title),
            ("合同类型", "type", type_label(c.contract_type)),
            ("签订日期", "signing date", c.signed_on.isoformat()),
            ("合同成交额（万元）", "contract amount (10,000 yuan)", f"{yuan_to_wan(c.amount_yuan):.2f}"),
            ("技术交易额（万元）", "technology-transaction amount (10,000 yuan)", f"{yuan_to_wan(c.tech_amount_yuan):.2f}"),
            ("技术领域行业", "industry", industries.label(c.industry) if c.industry else ""),
            ("所在园区", "park", c.park),
            ("是否跨省市交易", "cross-province", "是" if cross else "否"),
        ]),
        ("卖方（技术提供方）", "Seller (technology provider)", _party_rows(seller)),
        ("买方（技术使用方）", "Buyer (technology user)", _party_rows(buyer)),
        ("平台信息", "On the platform", [
            ("关联资源", "linked listings", "；".join(c.listings)),
            ("关联洽谈编号", "deal id", "" if c.deal_id is None else str(c.deal_id)),
        ]),
        ("登记信息", "Registration", [
            ("登记状态", "status", status_label(c.status) if c.status else ""),
            ("登记编号", "registration number", c.registration_no or "（待登记）"),
            ("登记日期", "registration date", c.registered_on.isoformat() if c.registered_on else ""),
        ]),
    ]


# -- the registration office (技术合同认定登记) ---------------------------------------------------------
# A party submits; the office reviews, then registers (number, date) or returns it with reasons; a
# returned contract is fixed by a party and submitted again. Every step is kept in the history.
STATUSES: tuple[Choice, ...] = (
    Choice("submitted", "待审核", "submitted"),
    Choice("under_review", "审核中", "under review"),
    Choice("returned", "已退回", "returned"),
    Choice("registered", "已登记", "registered"),
)
STATUS_VALUES = tuple(c.value for c in STATUSES)
OPEN_STATUSES = ("submitted", "under_review")  # the office's queue

ACTIONS: tuple[Choice, ...] = (
    Choice("submit", "提交登记", "submitted"),
    Choice("resubmit", "修改后重新提交", "resubmitted"),
    Choice("review", "开始审核", "review started"),
    Choice("return", "退回补正", "returned"),
    Choice("register", "准予登记", "registered"),
    Choice("import", "导入", "imported"),
)

RETURN_REASONS: tuple[Choice, ...] = (
    Choice("not_technology", "不属于技术合同或不属于所选合同类型", "not a technology contract, or not of the type chosen"),
    Choice("incomplete", "合同要素不全（标的、价款、履行期限等）", "essential terms missing (subject, price, term …)"),
    Choice("amount", "技术交易额核定有误，请提供价款构成", "technology-transaction amount not supported; give the price breakdown"),
    Choice("parties", "当事人信息有误", "party details are wrong"),
    Choice("documents", "缺少合同文本、附件或签章", "contract text, attachments or seals missing"),
    Choice("other", "其他", "other"),
)

# from → {action: to}
_TRANSITIONS: dict[str, dict[str, str]] = {
    "submitted": {"review": "under_review", "register": "registered", "return": "returned"},
    "under_review": {"register": "registered", "return": "returned"},
    "returned": {"resubmit": "submitted"},
    "registered": {},
}


def status_label(value: str, lang: str = "zh") -> str:
    for c in STATUSES:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def action_label(value: str, lang: str = "zh") -> str:
    for c in ACTIONS:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def reason_label(value: str, lang: str = "zh") -> str:
    for c in RETURN_REASONS:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def next_status(status: str, action: str) -> str:
    """The status after `action`, or a Conflict naming what can be done now (Chinese and English)."""
    to = _TRANSITIONS.get(status, {}).get(action)
    if to is not None:
        return to
    allowed = list(_TRANSITIONS.get(status, {}))
    now_zh = "、".join(action_label(a) for a in allowed) or "无（已登记的合同不再变更）"
    now_en = ", ".join(action_label(a, "en").replace("review started", "start review") for a in allowed) or "nothing (a registered contract is final)"
    raise Conflict(Message(f"该合同当前为“{status_label(status)}”，不能{action_label(action)}；现在可以：{now_zh}",
                           f"the contract is {status_label(status, 'en')}; it cannot be {action_label(action, 'en')} now. Possible now: {now_en}"))


def allowed_actions(status: str) -> tuple[str, ...]:
    return tuple(_TRANSITIONS.get(status, {}))


@dataclass(frozen=True)
class ReturnReasons:
    codes: tuple[str, ...]
    note: str

    def text(self, lang: str = "zh") -> str:
        parts = [reason_label(c, lang) for c in self.codes if c != "other"]
        if self.note:
            parts.append(self.note)
        return ("；" if lang == "zh" else "; ").join(parts)


def check_return(codes: list[str] | tuple[str, ...], note: str) -> ReturnReasons:
    """Reasons to return a contract: at least one from the list (or a note); 'other' needs the note."""
    ec = ErrorCollector()
    known = {c.value for c in RETURN_REASONS}
    clean = tuple(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    bad = [c for c in clean if c not in known]
    text = (note or "").strip()
    if bad:
        ec.add("reasons", f"退回原因 ‘{'、'.join(bad)}’ 无效，可选：" + "、".join(f"{c.value}（{c.zh}）" for c in RETURN_REASONS),
               f"return reason '{', '.join(bad)}' is invalid; choose from: " + ", ".join(c.value for c in RETURN_REASONS), ",".join(bad))
    elif not clean and not text:
        ec.add("reasons", "请至少选择一项退回原因或写明说明，当事人将据此补正", "choose at least one reason or write a note: the parties fix the contract by it")
    elif "other" in clean and not text:
        ec.add("note", "选择“其他”时请写明原因", "write the reason when choosing 'other'")
    if len(text) > 2000:
        ec.add("note", f"说明最多 2000 字，实际 {len(text)} 字", f"the note is at most 2000 characters, got {len(text)}")
    ec.raise_if_any()
    return ReturnReasons(clean, text)


def check_registration(registration_no: str | None, registered_on: dt.date | None, signed_on: dt.date, today: dt.date) -> None:
    """An office-given number has the official shape; the date lies between signing and today."""
    ec = ErrorCollector()
    if registration_no and not _REG_NO.match(registration_no):
        ec.add("registration_no", f"登记编号 ‘{registration_no}’ 应为 6–32 位字母、数字或连字符；留空则自动编号",
               f"registration number '{registration_no}' should be 6–32 letters, digits or hyphens; leave it empty to number it automatically",
               registration_no)
    if registered_on is not None and registered_on < signed_on:
        ec.add("registered_on", f"登记日期 {registered_on} 早于签订日期 {signed_on}，请更正", f"registration date {registered_on} is before the signing date {signed_on}; correct it",
               registered_on.isoformat())
    elif registered_on is not None and registered_on > today:
        ec.add("registered_on", f"登记日期 {registered_on} 晚于今天，请更正", f"registration date {registered_on} is in the future; correct it", registered_on.isoformat())
    ec.raise_if_any()


def registration_number(year: int, region: str, seq: int) -> str:
    """The office's own numbering: year, the seller's district code, a six-digit sequence (e.g. 2026110108000012)."""
    return f"{year}{region}{seq:06d}"


# who may do what (the viewer is core.access.Viewer; parties are the seller and buyer organisations)
def is_party(viewer: Viewer, seller_org_id: int, buyer_org_id: int) -> bool:
    return viewer.org_id is not None and viewer.org_id in (seller_org_id, buyer_org_id)


def is_office(viewer: Viewer) -> bool:
    """The registration office: registrars, and the administrator (the CLI on the office's own machine)."""
    return viewer.role in ("registrar", "admin")


def can_see(viewer: Viewer, seller_org_id: int, buyer_org_id: int) -> bool:
    """A contract's terms: its two parties, platform staff and the registration office; nobody else."""
    return viewer.is_staff or is_office(viewer) or is_party(viewer, seller_org_id, buyer_org_id)


def can_submit(viewer: Viewer, seller_org_id: int, buyer_org_id: int) -> bool:
    """A party's people submit and resubmit (the office's administrator may enter a paper submission)."""
    return (viewer.role in ORG_ROLES and is_party(viewer, seller_org_id, buyer_org_id)) or viewer.role == "admin"


def can_decide(viewer: Viewer, seller_org_id: int, buyer_org_id: int) -> bool:
    """The office reviews, registers and returns, never for an organisation it belongs to."""
    return is_office(viewer) and not is_party(viewer, seller_org_id, buyer_org_id)
