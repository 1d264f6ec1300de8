"""Organisation facts (企业基本情况): headcount, revenue, founding date, R&D spending and
certifications (资质认定), which policy rules read (core/policy.py). The firm's owners set them, operators
verify them against evidence; they are private to the firm and operators.

`check_facts` validates a partial update (only the keys given change; null clears a fact) and names
every problem with its field and the fix, in Chinese and English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import FieldError, Message

# key: (zh, en, unit_zh, unit_en)
FACT_FIELDS: dict[str, tuple[str, str, str, str]] = {
    "employees": ("员工人数", "employees", "人", "people"),
    "revenue": ("上年营业收入", "last year's revenue", "万元", "10k CNY"),
    "founded": ("成立日期", "founding date", "", ""),
    "rd_spending": ("上年研发投入", "last year's R&D spending", "万元", "10k CNY"),
    "certifications": ("资质认定", "certifications", "", ""),
}
# the certifications policies ask about (资质认定); zh is the value stored and written in policy rules
CERTIFICATIONS: dict[str, str] = {
    "高新技术企业": "high-tech enterprise",
    "科技型中小企业": "tech-based SME",
    "专精特新中小企业": "specialised and innovative SME",
    "专精特新“小巨人”企业": "'little giant' specialised and innovative firm",
    "创新型中小企业": "innovative SME",
    "技术先进型服务企业": "advanced technology service enterprise",
    "瞪羚企业": "gazelle enterprise",
    "企业技术中心": "enterprise technology centre",
}
_CERT_ALIASES = {"高企": "高新技术企业", "国家高新技术企业": "高新技术企业", "科小": "科技型中小企业", "专精特新": "专精特新中小企业",
                 "小巨人": "专精特新“小巨人”企业", "专精特新小巨人": "专精特新“小巨人”企业", "专精特新\"小巨人\"企业": "专精特新“小巨人”企业"}
PUBLISH_KEY = "published"  # which facts the firm shows on its public page (default: none)
FACT_KEYS = frozenset(FACT_FIELDS) | {PUBLISH_KEY}  # what a facts update may carry
MAX_EMPLOYEES = 5_000_000
MAX_MONEY = 1e9  # 万元
EARLIEST = dt.date(1800, 1, 1)


@dataclass(frozen=True)
class OrgFacts:
    employees: int | None = None
    revenue: float | None = None
    founded: dt.date | None = None
    rd_spending: float | None = None
    certifications: tuple[str, ...] = ()
    updated_at: dt.datetime | None = None
    verified_at: dt.datetime | None = None
    verified_by: int | None = None
    published: tuple[str, ...] = ()  # fact keys the firm chose to show publicly

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def missing(self) -> list[str]:
        return [k for k in ("employees", "revenue", "founded", "rd_spending") if getattr(self, k) is None]

    def as_dict(self) -> dict[str, Any]:
        return {"employees": self.employees, "revenue": self.revenue, "founded": self.founded.isoformat() if self.founded else None,
                "rd_spending": self.rd_spending, "certifications": list(self.certifications), "verified": self.verified,
                "verified_at": self.verified_at.isoformat() if self.verified_at else None,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None, "published": list(self.published)}

    def public_dict(self) -> dict[str, Any]:
        """Only what the firm published (and whether the platform verified the facts): for everyone else."""
        full = self.as_dict()
        out: dict[str, Any] = {k: full[k] for k in FACT_FIELDS if k in self.published}
        if out:
            out["verified"] = self.verified
        return out


@dataclass
class FactsUpdate:
    """The checked changes (key → new value, None clears) and the problems found."""

    changes: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def _err(key: str, zh: str, en: str, value: object) -> FieldError:
    return FieldError(key, Message(zh, en), value)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _number(key: str, v: object, integer: bool, upper: float, out: FactsUpdate) -> None:
    zh, en, unit_zh, unit_en = FACT_FIELDS[key]
    if _blank(v):
        out.changes[key] = None
        return
    n: float | None = None
    if isinstance(v, bool):
        n = None
    elif isinstance(v, (int, float)):
        n = float(v)
    elif isinstance(v, str):
        try:
            n = float(v.strip().replace(",", "").replace("，", ""))
        except ValueError:
            n = None
    example = "120" if integer else "3500.5"
    if n is None or n != n:  # NaN
        out.errors.append(_err(key, f"‘{zh}’应为数字（{unit_zh}），如 {example}", f"{key} must be a number ({unit_en}), e.g. {example}", v))
        return
    if integer and n != int(n):
        out.errors.append(_err(key, f"‘{zh}’应为整数，如 {example}", f"{key} must be a whole number, e.g. {example}", v))
        return
    if not 0 <= n <= upper:
        out.errors.append(_err(key, f"‘{zh}’应在 0 到 {upper:g}{unit_zh} 之间", f"{key} must be between 0 and {upper:g} {unit_en}", v))
        return
    out.changes[key] = int(n) if integer else n


def _date(v: object, today: dt.date, out: FactsUpdate) -> None:
    if _blank(v):
        out.changes["founded"] = None
        return
    d: dt.date | None = None
    if isinstance(v, dt.datetime):
        d = v.date()
    elif isinstance(v, dt.date):
        d = v
    elif isinstance(v, str):
        try:
            d = dt.date.fromisoformat(v.strip())
        except ValueError:
            d = None
    if d is None:
        out.errors.append(_err("founded", "‘成立日期’应为 2016-03-01 的形式", "founded must be a date such as 2016-03-01", v))
    elif not EARLIEST <= d <= today:
        out.errors.append(_err("founded", f"‘成立日期’应在 {EARLIEST} 到今天（{today}）之间", f"founded must be between {EARLIEST} and today ({today})", v))
    else:
        out.changes["founded"] = d


def normalise_certification(name: str) -> str | None:
    text = name.strip().replace('"', "“", 1).replace('"', "”", 1) if '"' in name else name.strip()
    if text in CERTIFICATIONS:
        return text
    return _CERT_ALIASES.get(text) or _CERT_ALIASES.get(name.strip())


def _certs(v: object, out: FactsUpdate) -> None:
    if _blank(v):
        out.changes["certifications"] = []
        return
    items: list[object]
    if isinstance(v, str):
        items = [x for x in v.replace("，", ",").replace("、", ",").replace(";", ",").split(",") if x.strip()]
    elif isinstance(v, (list, tuple)):
        items = list(v)
    else:
        out.errors.append(_err("certifications", "‘资质认定’应为名称列表，如 [\"高新技术企业\"]", "certifications must be a list of names, e.g. [\"高新技术企业\"]", v))
        return
    names: list[str] = []
    allowed = "、".join(CERTIFICATIONS)
    for x in items:
        n = normalise_certification(x) if isinstance(x, str) else None
        if n is None:
            out.errors.append(_err("certifications", f"‘资质认定’ ‘{x}’ 不在可选范围内，可选：{allowed}",
                                   f"certification '{x}' is not one of: {', '.join(CERTIFICATIONS)}", x))
        elif n not in names:
            names.append(n)
    out.changes["certifications"] = names


def _published(v: object, out: FactsUpdate) -> None:
    """The facts to show publicly: fact keys or their Chinese labels; empty keeps everything private."""
    if _blank(v):
        out.changes[PUBLISH_KEY] = []
        return
    items = v.replace("，", ",").replace("、", ",").split(",") if isinstance(v, str) else v
    if not isinstance(items, (list, tuple)):
        items = [items]
    by_label = {zh: k for k, (zh, *_rest) in FACT_FIELDS.items()}
    keys: list[str] = []
    for x in items:
        text = str(x).strip()
        if not text:
            continue
        k = text if text in FACT_FIELDS else by_label.get(text)
        if k is None:
            listed = "、".join(f"{zh}（{key}）" for key, (zh, *_r) in FACT_FIELDS.items())
            out.errors.append(_err(PUBLISH_KEY, f"‘公开的信息’ ‘{text}’ 不是机构基本情况的一项，可选：{listed}",
                                   f"published: '{text}' is not one of the facts: {', '.join(FACT_FIELDS)}", text))
        elif k not in keys:
            keys.append(k)
    out.changes[PUBLISH_KEY] = [k for k in FACT_FIELDS if k in keys]


def check_facts(raw: Mapping[str, Any], today: dt.date) -> FactsUpdate:
    """Validate the fact keys present in `raw` (others are the caller's business)."""
    out = FactsUpdate()
    if PUBLISH_KEY in raw:
        _published(raw[PUBLISH_KEY], out)
    for key in FACT_FIELDS:
        if key not in raw:
            continue
        v = raw[key]
        if key == "employees":
            _number(key, v, True, MAX_EMPLOYEES, out)
        elif key in ("revenue", "rd_spending"):
            _number(key, v, False, MAX_MONEY, out)
        elif key == "founded":
            _date(v, today, out)
        else:
            _certs(v, out)
    rev = out.changes.get("revenue")
    rd = out.changes.get("rd_spending")
    if rev is not None and rd is not None and rd > rev > 0:
        out.errors.append(_err("rd_spending", "‘上年研发投入’不能超过‘上年营业收入’，请核对单位（万元）",
                               "rd_spending cannot exceed revenue; check the unit (10k CNY)", rd))
    return out


def unknown_keys(raw: Mapping[str, Any], known: set[str]) -> list[FieldError]:
    """One error per key that is not a field: never dropped silently."""
    listed = ", ".join(sorted(known))
    return [_err(k, f"未知字段 ‘{k}’，可用字段：{listed}", f"unknown field '{k}'; the fields are: {listed}", None) for k in raw if k not in known]


# -- evidence files -------------------------------------------------------------------------------------
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024  # one file
MAX_EVIDENCE_FILES = 20  # per organisation
# what a file's first bytes must be for each accepted type, and the extensions that name it
EVIDENCE_TYPES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    content_type: str
    fact: str


def _file_err(zh: str, en: str, value: object = None) -> FieldError:
    return FieldError("file", Message(zh, en), value)


def check_evidence(filename: str, data: bytes, fact: str = "") -> EvidenceFile:
    """A PDF, PNG or JPEG of at most 5 MB, its type read from its first bytes (never from what the
    browser claims) and agreeing with its extension; the fact it supports is a fact key or none."""
    from .errors import ValidationError

    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>;').strip()[:200]
    errors: list[FieldError] = []
    if fact and fact not in FACT_FIELDS:
        errors.append(_err("fact", f"‘证明材料对应的信息’ ‘{fact}’ 不是机构基本情况的一项，可选：{', '.join(FACT_FIELDS)}",
                           f"fact '{fact}' is not one of: {', '.join(FACT_FIELDS)}", fact))
    if not name or not data:
        errors.append(_file_err("请选择要上传的证明材料（PDF、PNG 或 JPEG 文件）", "choose the evidence file to upload (PDF, PNG or JPEG)"))
        raise ValidationError.of(errors)
    if len(data) > MAX_EVIDENCE_BYTES:
        errors.append(_file_err(f"文件 ‘{name}’ 超过 {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB，请压缩或拆分后上传",
                                f"file '{name}' is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB; compress or split it", name))
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    ctype = next((t for t, (magic, _exts) in EVIDENCE_TYPES.items() if data.startswith(magic)), None)
    if ctype is None:
        errors.append(_file_err(f"文件 ‘{name}’ 不是 PDF、PNG 或 JPEG 文件，请上传扫描件或照片的 PDF / 图片",
                                f"file '{name}' is not a PDF, PNG or JPEG; upload the scan or photo as a PDF or image", name))
    elif ext not in EVIDENCE_TYPES[ctype][1]:
        errors.append(_file_err(f"文件 ‘{name}’ 的扩展名与内容不符（内容为 {ctype}），请改为 {EVIDENCE_TYPES[ctype][1][0]}",
                                f"file '{name}' has the wrong extension for its content ({ctype}); rename it to {EVIDENCE_TYPES[ctype][1][0]}", name))
    if errors:
        raise ValidationError.of(errors)
    return EvidenceFile(name, str(ctype), fact)
