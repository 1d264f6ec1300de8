"""Organisations: who publishes. Validation of the organisation record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import credit_code, industries, regions
from .errors import ErrorCollector
from .fields import clean_text
from .vocab import ORG_TYPES, find, label


@dataclass
class Organisation:
    name: str
    credit_code: str
    org_type: str
    region: str
    industry: str | None = None
    description: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    website: str = ""
    external_id: str | None = None
    verified: bool = True
    id: int | None = None

    def type_label(self, lang: str = "zh") -> str:
        return label(ORG_TYPES, self.org_type, lang)

    def region_label(self, lang: str = "zh") -> str:
        return regions.label(self.region, lang)


ORG_COLUMNS: list[tuple[str, str, str, bool]] = [
    # key, Chinese header, English help, required
    ("external_id", "外部编号", "external id (stable key for re-import)", False),
    ("name", "机构名称", "organisation name", True),
    ("credit_code", "统一社会信用代码", "unified social credit code, 18 characters", True),
    ("org_type", "机构类型", "type: " + ", ".join(c.en for c in ORG_TYPES), True),
    ("region", "所在地区", "GB/T 2260 code such as 110108, or the district name", True),
    ("industry", "所属行业", "GB/T 4754-2017 division such as C37", False),
    ("description", "机构简介", "short description", False),
    ("contact_name", "联系人", "contact person", False),
    ("contact_phone", "联系电话", "contact phone", False),
    ("website", "网址", "website", False),
]


def _text(raw: Mapping[str, Any], key: str) -> str:
    return clean_text(raw.get(key))


def validate_organisation(raw: Mapping[str, Any], row: int | None = None) -> Organisation:
    """Validate one organisation record, reporting every problem at once."""
    ec = ErrorCollector(row=row)
    name = _text(raw, "name")
    if not name:
        ec.add("name", "机构名称为必填项", "name is required")
    elif len(name) > 100:
        ec.add("name", "机构名称最多 100 字", "name is at most 100 characters", name)
    code = credit_code.normalise(_text(raw, "credit_code"))
    if not code:
        ec.add("credit_code", "统一社会信用代码为必填项", "credit code is required")
    else:
        p = credit_code.problem(code)
        if p:
            ec.add("credit_code", f"统一社会信用代码{p.zh}", f"credit code: {p.en}", code)
    org_type = find(ORG_TYPES, _text(raw, "org_type"))
    if org_type is None:
        ec.add(
            "org_type",
            f"机构类型 ‘{_text(raw, 'org_type')}’ 无效，可选：" + "、".join(c.zh for c in ORG_TYPES),
            f"organisation type '{_text(raw, 'org_type')}' is invalid; choose one of: " + ", ".join(c.value for c in ORG_TYPES),
            _text(raw, "org_type"),
        )
    region = regions.normalise(raw.get("region") or "")
    if regions.get(region) is None:
        ec.add("region", f"地区 ‘{region}’ 不是有效的 GB/T 2260 代码（如 110108 海淀区）", f"region '{region}' is not a known GB/T 2260 code (e.g. 110108 Haidian)", region)
    ind_raw = raw.get("industry")
    industry = None
    if ind_raw not in (None, ""):
        industry = industries.normalise(ind_raw)
        if industries.get(industry) is None:
            ec.add("industry", f"行业 ‘{ind_raw}’ 不是有效的 GB/T 4754-2017 代码（如 C37）", f"industry '{ind_raw}' is not a GB/T 4754-2017 code (e.g. C37)", ind_raw)
    # the database columns' limits: longer text must be a row error, not a database failure
    for key, zh, limit in (("external_id", "外部编号", 64), ("contact_name", "联系人", 100), ("contact_phone", "联系电话", 50), ("website", "网址", 200)):
        v = _text(raw, key)
        if len(v) > limit:
            ec.add(key, f"{zh}最多 {limit} 字，实际 {len(v)} 字", f"{key} is at most {limit} characters, got {len(v)}", v)
    ec.raise_if_any()
    return Organisation(
        name=name,
        credit_code=code,
        org_type=org_type or "",
        region=region,
        industry=industry,
        description=_text(raw, "description"),
        contact_name=_text(raw, "contact_name"),
        contact_phone=_text(raw, "contact_phone"),
        website=_text(raw, "website"),
        external_id=_text(raw, "external_id") or None,
    )


@dataclass
class OrgProfile:
    """What matching and policy rules need to know about an organisation."""

    org_type: str
    region: str
    industry: str | None
    extra: dict[str, Any] = field(default_factory=dict)
