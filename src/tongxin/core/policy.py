"""A small rule engine for policy eligibility (政策资格条件), rules expressed as data.

A rule set is text, one condition per line or separated by ';'::

    region in 120000,130600; industry in C,I65; org_type in enterprise;
    age_years <= 5; employees <= 300; certifications has 高新技术企业

Fields: region (GB/T 2260; a province code covers its districts, a city code its counties),
industry (GB/T 4754 section letter or division), org_type, age_years, employees,
revenue (万元), rd_spending (万元), certifications. Operators: in, not_in, =, !=, <, <=, >, >=, has, has_any.
Chinese names are accepted too (地区 属于 120000).

`evaluate` explains every condition: met (True), failed (False) or unknown (None, the fact
is missing). An organisation qualifies when every condition is met.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import industries, regions
from .errors import Message
from .vocab import ORG_TYPES, label

FIELDS: dict[str, tuple[str, str, str]] = {
    # key: (zh, en, type)
    "region": ("地区", "region", "region"),
    "industry": ("行业", "industry", "industry"),
    "org_type": ("机构类型", "organisation type", "choice"),
    "age_years": ("成立年限", "years since founding", "number"),
    "employees": ("员工人数", "employees", "number"),
    "revenue": ("年营业收入(万元)", "annual revenue (10k CNY)", "number"),
    "rd_spending": ("年研发投入(万元)", "annual R&D spending (10k CNY)", "number"),
    "certifications": ("资质认定", "certifications", "set"),
}
_FIELD_ALIASES = {zh.split("(")[0]: k for k, (zh, _, _) in FIELDS.items()} | {"资质": "certifications", "年限": "age_years", "营收": "revenue",
                                                                               "研发投入": "rd_spending"}
OPS = ("in", "not_in", "=", "!=", "<=", ">=", "<", ">", "has", "has_any")
_OP_ZH = {"in": "属于", "not_in": "不属于", "has": "包含", "has_any": "包含任一"}  # how a rule reads in Chinese
_OP_ALIASES = {"属于": "in", "不属于": "not_in", "包含": "has", "包含任一": "has_any", "≤": "<=", "≥": ">=", "==": "="}
_OPS_FOR = {
    "region": ("in", "not_in"),
    "industry": ("in", "not_in"),
    "choice": ("in", "not_in", "=", "!="),
    "number": ("=", "!=", "<=", ">=", "<", ">"),
    "set": ("has", "has_any"),
}
# a Latin field name is read whole (rd_spending is not "rd_spend in g"); a Chinese one up to its operator
_COND_RE = re.compile(r"^\s*([A-Za-z_]+|\S+?)\s*(not_in|has_any|包含任一|不属于|属于|包含|in|has|<=|>=|!=|==|≤|≥|=|<|>)\s*(.+?)\s*$")
_SPLIT = re.compile(r"[;；\n]+")
_VALUES = re.compile(r"[,，、|]+")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...]

    @property
    def number(self) -> float:
        return float(self.values[0])

    def text(self, lang: str = "zh") -> str:
        zh, en, _ = FIELDS[self.field]
        vals = [self._value_label(v, lang) for v in self.values]
        if lang == "en":
            return f"{en} {self.op} {', '.join(vals)}"
        return f"{zh} {_OP_ZH.get(self.op, self.op)} {'、'.join(vals)}"

    def _value_label(self, v: str, lang: str) -> str:
        if self.field == "region":
            return regions.label(v, lang)
        if self.field == "industry":
            return industries.label(v, lang)
        if self.field == "org_type":
            return label(ORG_TYPES, v, lang)
        return v

    def source(self) -> str:
        return f"{self.field} {self.op} {','.join(self.values)}"


@dataclass(frozen=True)
class ConditionResult:
    condition: Condition
    met: bool | None
    zh: str
    en: str

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.condition.source(), "met": self.met, "zh": self.zh, "en": self.en}


class RuleError(ValueError):
    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def parse_rules(text: str | None) -> list[Condition]:
    """Parse a rule set; raises RuleError naming the first bad condition and the fix."""
    out: list[Condition] = []
    for part in _SPLIT.split(text or ""):
        if not part.strip():
            continue
        m = _COND_RE.match(part)
        if not m:
            raise RuleError(Message(f"条件 ‘{part.strip()}’ 无法识别，应为“字段 运算符 值”，如 employees <= 300",
                                    f"condition '{part.strip()}' is not 'field operator value', e.g. employees <= 300"))
        field = _FIELD_ALIASES.get(m[1], m[1])
        op = _OP_ALIASES.get(m[2], m[2])
        if field not in FIELDS:
            raise RuleError(Message(f"条件字段 ‘{m[1]}’ 无效，可选：{', '.join(FIELDS)}", f"unknown field '{m[1]}'; use one of: {', '.join(FIELDS)}"))
        ftype = FIELDS[field][2]
        if op not in _OPS_FOR[ftype]:
            allowed = " ".join(_OPS_FOR[ftype])
            raise RuleError(Message(f"字段 {field} 不能用运算符 {op}，可用：{allowed}", f"field {field} does not take operator {op}; use: {allowed}"))
        values = tuple(v.strip() for v in _VALUES.split(m[3]) if v.strip())
        if ftype == "number":
            try:
                float(values[0])
            except (ValueError, IndexError):
                raise RuleError(Message(f"字段 {field} 的值应为数字，实际为 ‘{m[3]}’", f"field {field} needs a number, got '{m[3]}'")) from None
        if ftype == "region":
            values = tuple(regions.normalise(v) for v in values)
            bad = [v for v in values if regions.get(v) is None]
            if bad:
                raise RuleError(Message(f"地区 ‘{bad[0]}’ 不是有效的 GB/T 2260 代码", f"region '{bad[0]}' is not a GB/T 2260 code"))
        if ftype == "industry":
            values = tuple(industries.normalise(v) for v in values)
            bad = [v for v in values if industries.get(v) is None]
            if bad:
                raise RuleError(Message(f"行业 ‘{bad[0]}’ 不是 GB/T 4754-2017 代码", f"industry '{bad[0]}' is not a GB/T 4754-2017 code"))
        if field == "org_type":
            bad = [v for v in values if v not in {c.value for c in ORG_TYPES}]
            if bad:
                raise RuleError(Message(f"机构类型 ‘{bad[0]}’ 无效，可选：{', '.join(c.value for c in ORG_TYPES)}",
                                        f"organisation type '{bad[0]}' is invalid; use: {', '.join(c.value for c in ORG_TYPES)}"))
        out.append(Condition(field, op, values))
    return out


def region_within(code: str, area: str) -> bool:
    """Is district/city `code` inside `area` (same code, same city prefix or same province)?"""
    if area.endswith("0000"):
        return code[:2] == area[:2]
    if area.endswith("00"):
        return code[:4] == area[:4]
    return code == area


def industry_within(code: str, area: str) -> bool:
    if len(area) == 1:
        return industries.section_of(code) == area
    return code == area


def _check(c: Condition, fact: Any) -> bool:
    ftype = FIELDS[c.field][2]
    if ftype in ("region", "industry"):
        inside = any((region_within if ftype == "region" else industry_within)(str(fact), v) for v in c.values)
        return inside if c.op == "in" else not inside
    if ftype == "choice":
        inside = str(fact) in c.values
        return inside if c.op in ("in", "=") else not inside
    if ftype == "number":
        x, n = float(fact), c.number
        return {"=": x == n, "!=": x != n, "<=": x <= n, ">=": x >= n, "<": x < n, ">": x > n}[c.op]
    have = set(fact or [])
    return all(v in have for v in c.values) if c.op == "has" else any(v in have for v in c.values)


def _fact_text(field: str, fact: Any, lang: str) -> str:
    if field == "region":
        return regions.label(fact, lang)
    if field == "industry":
        return industries.label(fact, lang)
    if field == "org_type":
        return label(ORG_TYPES, fact, lang)
    if isinstance(fact, (list, tuple, set)):
        return ("、" if lang != "en" else ", ").join(sorted(fact)) or ("无" if lang != "en" else "none")
    if isinstance(fact, float):
        return f"{fact:g}"
    return str(fact)


def evaluate(conditions: Sequence[Condition], facts: Mapping[str, Any], reveal: bool = True) -> list[ConditionResult]:
    """Explain every condition. `reveal=False` (anyone but the organisation's own people and staff)
    says only met / not met / unknown, never the organisation's value (headcount, revenue, …)."""
    out = []
    for c in conditions:
        fact = facts.get(c.field)
        if fact is None or fact == "":
            out.append(ConditionResult(c, None, f"{c.text()}：缺少{FIELDS[c.field][0]}信息", f"{c.text('en')}: {FIELDS[c.field][1]} unknown"))
            continue
        ok = _check(c, fact)
        mark_zh, mark_en = ("满足", "met") if ok else ("不满足", "not met")
        if not reveal:
            out.append(ConditionResult(c, ok, f"{c.text()}：{mark_zh}", f"{c.text('en')}: {mark_en}"))
            continue
        out.append(ConditionResult(c, ok, f"{c.text()}：{_fact_text(c.field, fact, 'zh')}，{mark_zh}",
                                   f"{c.text('en')}: {_fact_text(c.field, fact, 'en')}, {mark_en}"))
    return out


def qualifies(results: Sequence[ConditionResult]) -> bool:
    return all(r.met is True for r in results)


def facts_of(org_type: str, region: str, industry: str | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Facts of an organisation for the engine (extra: age_years, employees, revenue, certifications)."""
    return {"org_type": org_type, "region": region, "industry": industry, **dict(extra or {})}
