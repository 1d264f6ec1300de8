"""Typed answers of the most used /api/v1 routes, so /openapi.json says what they return.

The routes keep returning the same dicts: each model allows extra keys and the routes use
`response_model_exclude_unset=True`, so a key that a viewer may not see stays absent (not null)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Bilingual(Open):
    zh: str
    en: str


class ListingOut(Open):
    """一条资源（按查看者权限裁剪）/ a listing as the viewer may see it. Fields after `summary`
    are present only with full access."""

    id: int
    kind: str
    side: str
    title: str
    industry: str | None = None
    region: str | None = None
    owner: str | None = None
    owner_id: int | None = None
    visibility: str
    access: str
    summary: str | None = None
    external_id: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    status: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    attrs: dict[str, Any] | None = None
    pending_verification: bool | None = None
    hidden: bool | None = None
    warnings: list[Bilingual] | None = None
    score: float | None = None
    explanation: dict[str, Any] | None = None


class ListingPage(Open):
    items: list[ListingOut]
    next_cursor: int | None = None


class Facet(Open):
    value: str
    zh: str
    en: str
    count: int


class SearchOut(Open):
    query: str
    terms: list[str]
    total: int
    facets: dict[str, list[Facet]]
    results: list[ListingOut]


class MatchesOut(Open):
    listing_id: int
    results: list[ListingOut]


class ListingItems(Open):
    items: list[dict[str, Any]]


class OrganisationFactsOut(Open):
    """机构基本情况（政策条件所需） / the facts policy rules read."""

    employees: int | None = None
    revenue: float | None = Field(None, description="万元 / 10k CNY")
    founded: dt.date | None = None
    rd_spending: float | None = Field(None, description="万元 / 10k CNY")
    certifications: list[str] = Field(default_factory=list)
    verified: bool = False
    verified_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class OrganisationOut(Open):
    """机构主页；联系人仅本机构与平台人员可见 / contact details only for its own people and staff."""

    id: int
    name: str
    credit_code: str | None = None
    org_type: str | None = None
    region: str | None = None
    industry: str | None = None
    description: str | None = None
    website: str | None = None
    verified: bool
    contact_name: str | None = None
    contact_phone: str | None = None
    facts: OrganisationFactsOut | None = Field(None, description="仅本机构与平台人员可见 / only for its own people and staff")


class InstrumentOut(Open):
    id: int
    title: str
    owner: str | None = None
    region: str | None = None
    region_label: str | None = None
    attrs: dict[str, Any]
    score: float | None = None
    explanation: dict[str, Any] | None = None


class InstrumentsOut(Open):
    query: str
    results: list[InstrumentOut]


