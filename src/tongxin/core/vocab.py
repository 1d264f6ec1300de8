"""Closed vocabularies shared by every kind (stable English values, Chinese and English labels)."""

from __future__ import annotations

from .fields import Choice

SIDES = (Choice("offer", "供给（我有）", "offer (we have)"), Choice("need", "需求（我要）", "need (we want)"))
VISIBILITIES = (
    Choice("public", "公开", "public"),
    Choice("members", "会员可见", "members only"),
    Choice("confidential", "保密", "confidential"),
)
STATUSES = (
    Choice("draft", "草稿", "draft"),
    Choice("published", "已发布", "published"),
    Choice("closed", "已关闭", "closed"),
)
ORG_TYPES = (
    Choice("university", "高校", "university"),
    Choice("research_institute", "科研院所", "research institute"),
    Choice("enterprise", "企业", "enterprise"),
    Choice("park", "园区", "park"),
    Choice("government", "政府部门", "government body"),
    Choice("financial_institution", "金融机构", "financial institution"),
    Choice("hospital", "医院", "hospital"),
    Choice("school", "学校", "school"),
    Choice("association", "协会/社团", "association"),
)


def label(choices: tuple[Choice, ...], value: str, lang: str = "zh") -> str:
    for c in choices:
        if c.value == value:
            return c.en if lang == "en" else c.zh
    return value


def find(choices: tuple[Choice, ...], raw: object) -> str | None:
    r = str(raw).strip()
    for c in choices:
        if r in (c.value, c.zh) or r.lower() == c.en.lower() or r == c.zh.split("（")[0]:
            return c.value
    return None
