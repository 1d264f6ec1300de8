"""Typed answers of every /api/v1 route, so /openapi.json says what each one returns (issue #11).

The routes keep returning the same dicts: each model allows extra keys and the routes use
`response_model_exclude_unset=True`, so a key that a viewer may not see stays absent (not null)
and a number stays the number it was (`Num`: an int stays an int). A listing's `attrs` are
documented per kind in /openapi.json (`KindAttrs_<kind>`, generated from each KindSpec by
`web.openapi_docs`); here they are a plain mapping because the registry is known per app.
tests/test_openapi_models.py checks that every JSON answer has a schema with properties and that
real answers use only documented keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

# A number as the serializer produced it: 3 stays 3 and 2.5 stays 2.5 (a plain `float` would turn 3 into 3.0).
Num = Annotated[int | float, WithJsonSchema({"type": "number"})]



def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)  # stored naive in UTC (SQLite): say so (RFC 3339)


AwareDatetime = Annotated[dt.datetime, AfterValidator(_utc)]  # a timestamp with its offset, as "date-time" requires

class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Bilingual(Open):
    zh: str
    en: str


class Ok(Open):
    """操作完成 / done."""

    ok: bool
    message_zh: str | None = None
    message_en: str | None = None


# -- matching: score breakdown, band, reasons ----------------------------------------------------------

class TermHitOut(Open):
    term: str = Field(description="命中的查询词 / the query term found")
    fields: list[str] = Field(description="在哪些字段命中 / where it was found (title, keywords, body …)")
    points: Num
    via: str | None = Field(None, description="由哪个查询词扩展而来 / the original term when this one is related")
    partial: bool = Field(description="是词的片段（n-gram），不单独作为理由 / a character n-gram, not shown as a reason")


class FitItemOut(Open):
    key: str = Field(description="条件键 / the condition's key")
    zh: str
    en: str
    met: bool | None = Field(description="满足 true / 不满足 false / 仅供参考 null")
    points: Num


class EvidenceOut(Open):
    """语义依据：两段最相近的句子 / the closest sentences of query and candidate."""

    query_sentence: str = Field(description="查询一方最相近的句子 / the query's closest sentence")
    match_sentence: str = Field(description="候选一方最相近的句子 / the candidate's closest sentence")
    cosine: Num


class ExplanationOut(Open):
    """每一分都有来处：score = text_points + semantic_points + Σ fit.points / every point accounted for."""

    score: Num
    relevance: Num = Field(description="词语与语义融合后的绝对相关度 0–1 / absolute relevance in [0, 1]")
    band: Literal["strong", "possible", "weak"] | None = Field(description="相关档次 / relevance band (null: below the weakest)")
    band_zh: str | None = None
    text_points: Num
    semantic_points: Num
    cosine: Num | None = None
    evidence: EvidenceOut | None = None
    chips: list[str] = Field(description="展示给用户的匹配理由词 / the words shown as reasons")
    terms: list[TermHitOut]
    fit: list[FitItemOut] = Field(description="结构化条件（各类型成对声明）/ the pair's structured fit")


# -- listings --------------------------------------------------------------------------------------

class ListingOut(Open):
    """一条资源（按查看者权限裁剪）/ a listing as the viewer may see it. Fields after `summary`
    are present only with full access (`access` = "full"); `attrs` holds the kind's own fields
    (see `KindAttrs_<kind>` and /api/v1/kinds)."""

    id: int
    kind: str
    side: str
    title: str
    industry: str | None = None
    region: str | None = None
    owner: str | None = None
    owner_id: int | None = None
    visibility: str
    access: str = Field(description="summary 或 full：查看者能看到多少 / how much the viewer sees")
    summary: str | None = None
    external_id: str | None = None
    description: str | None = None
    keywords: list[str] | None = None
    status: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    attrs: dict[str, Any] | None = Field(None, description="该类型的字段（日期为 ISO 文本）/ the kind's own fields (dates as ISO text)")
    pending_verification: bool | None = None
    hidden: bool | None = None
    warnings: list[Bilingual] | None = None
    score: Num | None = None
    explanation: ExplanationOut | None = None


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
    items: list[ListingOut]


class StatusOut(Open):
    status: str = Field(description="资源的新状态 / the listing's new status")


class IdOut(Open):
    id: int


class GrantOut(Open):
    org_id: int
    org_name: str
    since: str | None = None


class GrantLogOut(Open):
    org_id: int
    action: str
    note: str | None = None
    at: str


class GrantsOut(Open):
    """保密资源的查看授权与记录 / who may see a confidential listing, and the log."""

    grants: list[GrantOut]
    log: list[GrantLogOut]


# -- kinds -----------------------------------------------------------------------------------------

class ChoiceOut(Open):
    value: str
    zh: str
    en: str


class FilterOut(Open):
    param: str = Field(description="/api/v1/search 的参数名 / the search parameter")
    mode: str = Field(description="at_least / at_most / choice")
    zh: str
    en: str


class FieldOut(Open):
    key: str
    zh: str
    en: str
    type: str = Field(description="int / float / str / text / date / enum / multi_enum / bool / patents")
    required: bool
    min: Num | None = None
    max: Num | None = None
    choices: list[ChoiceOut]
    help_zh: str
    help_en: str
    unit_zh: str
    unit_en: str
    searchable: bool
    filter: FilterOut | None = None


class KindOut(Open):
    name: str
    zh: str
    en: str
    sides: list[str]
    matches_with: list[str]
    attrs: list[FieldOut]


class KindsOut(Open):
    common: list[FieldOut]
    kinds: list[KindOut]
    decline_reasons: list[ChoiceOut]
    report_reasons: list[ChoiceOut]


# -- accounts, tokens, organisations, notifications ---------------------------------------------------

class OrgBriefOut(Open):
    id: int
    name: str


class MyOrgOut(OrgBriefOut):
    verified: bool


class MeOut(Open):
    id: int
    email: str
    name: str
    role: str = Field(description="visitor / user / member / org_admin / operator / admin")
    organisation: MyOrgOut | None = None


class NewTokenOut(Open):
    id: int
    token: str = Field(description="只显示这一次 / shown once")
    note_zh: str
    note_en: str


class TokenOut(Open):
    id: int
    name: str
    prefix: str
    created_at: str | None = None
    expires_at: str | None = None
    revoked: bool
    expired: bool


class TokensOut(Open):
    items: list[TokenOut]


class OrganisationFactsOut(Open):
    """机构基本情况（政策条件所需） / the facts policy rules read."""

    employees: int | None = None
    revenue: float | None = Field(None, description="万元 / 10k CNY")
    founded: dt.date | None = None
    rd_spending: float | None = Field(None, description="万元 / 10k CNY")
    certifications: list[str] = Field(default_factory=list)
    verified: bool = False
    verified_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    published: list[str] | None = Field(None, description="机构选择公开的信息（本机构与平台人员可见）/ the facts the firm publishes (own people and staff)")


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
    public_facts: OrganisationFactsOut | None = Field(None, description="机构选择公开的信息（默认不公开），所有人可见 / the facts the firm "
                                                                    "chose to publish (none by default), for everyone")


class CreditCodeCheck(Bilingual):
    ok: bool


class PendingOrgOut(OrganisationOut):
    credit_code_check: CreditCodeCheck
    members: list[str] = Field(description="成员邮箱 / the members' e-mails")


class PendingOrgsOut(Open):
    items: list[PendingOrgOut]


class VerifiedOut(Open):
    published: list[int] = Field(description="审核通过后发布的资源 / listings published on verification")


class MemberOut(Open):
    user_id: int
    name: str
    email: str
    role: str


class MembersOut(Open):
    items: list[MemberOut]


class JoinedOut(Open):
    org_id: int


class NotificationOut(Bilingual):
    link: str | None = None
    at: str | None = None


class NotificationsOut(Open):
    items: list[NotificationOut]
    total: int = Field(0, description="通知总数 / all notifications")
    page: int = 1
    per_page: int = 50


# -- contact requests ------------------------------------------------------------------------------

class ContactEventOut(Open):
    action: str
    note: str | None = None
    at: str


class PersonOut(Open):
    name: str
    email: str


class ContactDetailsOut(Open):
    org: str
    contact_name: str | None = None
    contact_phone: str | None = None
    website: str | None = None
    people: list[PersonOut]


class ContactOut(Open):
    """对接请求；双方联系方式只在对方接受后出现 / the parties' details appear only once accepted."""

    id: int
    listing_id: int
    listing_title: str
    status: str
    from_org: OrgBriefOut
    to_org: OrgBriefOut
    message: str
    nda_accepted: bool
    decline_reason: str | None = None
    decline_reason_zh: str | None = None
    decline_reason_en: str | None = None
    decline_note: str | None = None
    created_at: str | None = None
    history: list[ContactEventOut]
    incoming: bool
    can_answer: bool
    contacts: dict[str, ContactDetailsOut] | None = Field(None, description="键为 from / to / keyed by from and to")


class ContactsOut(Open):
    received: list[ContactOut]
    sent: list[ContactOut]
    received_total: int = Field(0, description="收到的意向总数 / requests received in all")
    sent_total: int = Field(0, description="发出的意向总数 / requests sent in all")
    per_page: int = 50


# -- operator --------------------------------------------------------------------------------------

class ReportOut(Open):
    id: int
    listing_id: int
    title: str
    reason: str
    note: str | None = None
    hidden: bool


class ReportsOut(Open):
    items: list[ReportOut]


class HiddenOut(Open):
    hidden: bool


class OperatorSummaryOut(Open):
    users: int
    organisations_verified: int
    organisations_pending: int
    listings: dict[str, int] = Field(description="按状态计数 / counts by status")
    contacts: dict[str, int] = Field(description="按状态计数 / counts by status")
    open_reports: int
    hidden: int


# -- statistics ------------------------------------------------------------------------------------

class BucketOut(Open):
    key: str
    label: str
    count: int
    amount_yuan: int
    amount_wan: Num
    tech_amount_yuan: int
    tech_amount_wan: Num


class PreviousBucketOut(BucketOut):
    period: str


class FunnelStageOut(Open):
    key: str
    label: str
    count: int | None = None
    rate: Num | None = Field(None, description="占上一阶段的比例 0–1 / share of the previous stage")


class DaysOut(Open):
    n: int | None = None
    median: Num | None = None
    mean: Num | None = None
    p25: Num | None = None
    p75: Num | None = None


class PolicyCountOut(Open):
    policy: str
    organisations: int


class NotRegisteredOut(Open):
    count: int
    amount_yuan: int


class StatsOut(Open):
    """统计数字（只计已登记的技术合同）；公众只看到公开摘要的部分（scope = "public"）/ the figures of registered
    contracts; the public sees the summary's part only."""

    period: str
    counted: Literal["registered"] = Field(description="统计口径：已登记（经技术合同登记机构登记）的合同 / registered contracts only")
    not_registered: NotRegisteredOut = Field(description="本期签订但未登记（不计入）的合同 / signed in the period, not registered, left out")
    start: str
    end: str
    total: BucketOut
    previous_total: PreviousBucketOut
    growth: Num | None = None
    cross_region_amount_yuan: int
    corridor_amount_yuan: int
    by_year: list[BucketOut]
    by_quarter: list[BucketOut]
    by_seller_province: list[BucketOut] | None = None
    by_buyer_province: list[BucketOut]
    by_park: list[BucketOut]
    by_industry: list[BucketOut]
    by_type: list[BucketOut]
    flows: list[BucketOut]
    funnel: list[FunnelStageOut] | None = None
    funnel_source: str | None = None
    days_to_contract: DaysOut
    top_sellers: list[BucketOut] | None = None
    top_buyers: list[BucketOut] | None = None
    instrument_hours_by_region: dict[str, Num] | None = None
    policies_qualifying: list[PolicyCountOut] | None = None
    resources_available: bool | None = None
    scope: Literal["public"] | None = Field(None, description="只在公开视图中出现 / present on the public view only")


# -- deals -----------------------------------------------------------------------------------------

class DealOut(Open):
    id: int
    title: str
    stage: str
    stage_label: str
    seller_org_id: int
    buyer_org_id: int
    listing_ids: list[int]
    origin: str
    contact_request_id: int | None = None
    last_activity_at: str


class DealsOut(Open):
    deals: list[DealOut]


class DealEventOut(Open):
    from_: str | None = Field(None, alias="from")
    to: str
    actor_user_id: int | None = None
    actor_org_id: int | None = None
    note: str | None = None
    at: str


class DealFinanceOut(Open):
    id: int
    kind: str
    status: str
    amount_yuan: int | None = None
    provider_org_id: int | None = None


class AgreementOut(Open):
    id: int
    type: str
    title: str
    effective_on: str
    expires_on: str | None = None


class DealDetailOut(DealOut):
    next_stages: list[str]
    events: list[DealEventOut]
    finance: list[DealFinanceOut]
    agreements: list[AgreementOut]


# -- instruments and bookings ------------------------------------------------------------------------

class InstrumentOut(Open):
    id: int
    title: str
    owner: str | None = None
    region: str | None = None
    region_label: str | None = None
    attrs: dict[str, Any] = Field(description="仪器类型的字段 / the instrument kind's fields")
    score: Num | None = None
    explanation: ExplanationOut | None = None


class InstrumentsOut(Open):
    query: str
    results: list[InstrumentOut]


class UsageRowOut(Open):
    key: str
    label: str
    bookings: int
    booked_hours: Num
    used_hours: Num
    no_show_hours: Num
    external_hours: Num
    cross_region_hours: Num
    sharing_rate: Num
    use_rate: Num


class UsageOut(Open):
    group: str = Field(description="instrument / owner / region")
    start: str
    end: str
    rows: list[UsageRowOut]


class CellOut(Open):
    state: str = Field(description="free / booked / mine / blackout / closed / past")
    booking_id: int | None = None


class CalendarOut(Open):
    instrument_id: int
    view: str
    days: list[str]
    hours: list[int]
    cells: list[list[CellOut]] = Field(description="cells[小时 hour][日 day]")


class BookingOut(Open):
    id: int | None = None
    instrument_id: int
    user_id: int
    org_id: int
    start: str
    end: str
    hours: Num
    status: str
    status_zh: str
    purpose: str
    samples: int
    fee: Num
    voucher_id: int | None = None
    voucher_amount: Num
    payable: Num
    note: str | None = None
    cost_centre: str | None = None
    project_code: str | None = None
    checked_in_at: str | None = None
    checked_out_at: str | None = None
    billed_hours: Num | None = None
    billing_note: str | None = None
    awaiting_confirmation: bool | None = None


# -- billing (issue #15) ----------------------------------------------------------------------------------

class DueOut(Open):
    """释放未到场 / what a pass of due billing work did."""

    no_shows: int
    bookings: list[int]
    offers_expired: int
    offers: int


class WaitOut(Open):
    """候补 / a waitlist entry; `claim_url` while an offer is open."""

    id: int
    instrument_id: int
    instrument_title: str
    start: str
    end: str
    status: Literal["waiting", "offered", "claimed", "expired", "withdrawn"]
    status_zh: str
    offer_expires_at: str | None = None
    claim_url: str | None = None
    booking_id: int | None = None


class WaitListOut(Open):
    entries: list[WaitOut]


class StatementLineOut(Open):
    booking_id: int
    date: str
    instrument_id: int
    instrument_title: str
    provider: str
    user: str
    hours: Num
    rate: Num
    fee: Num
    voucher: Num
    payable: Num
    cost_centre: str
    project_code: str
    note: str


class SubtotalOut(Open):
    key: str
    hours: Num
    fee: Num
    voucher: Num
    payable: Num
    lines: int


class StatementOut(Open):
    """月度账单 / a monthly statement: lines, the total (the sum of the lines) and subtotals."""

    org_id: int
    org: str
    month: str
    cost_centre: str | None = None
    project_code: str | None = None
    lines: list[StatementLineOut]
    total: SubtotalOut
    by_cost_centre: list[SubtotalOut]
    by_project_code: list[SubtotalOut]
    unconfirmed: int


class ClaimOut(Open):
    booking_id: int
    date: str
    voucher: str
    province: str
    enterprise: str
    provider_id: int
    provider: str
    instrument_title: str
    fee: Num
    amount: Num
    settled: bool
    settled_at: str | None = None
    reference: str


class ClaimsOut(Open):
    month: str
    claims: list[ClaimOut]
    amount: Num
    outstanding: Num


class IncomeRowOut(Open):
    instrument_id: int
    instrument_title: str
    month: str
    hours: Num
    fee: Num
    voucher: Num
    cash: Num
    bookings: int


class IncomeOut(Open):
    org: str
    rows: list[IncomeRowOut]
    fee: Num


# -- certification and policies ----------------------------------------------------------------------

class LicenceOut(Open):
    licence_no: str
    org_name: str
    valid_from: str
    valid_until: str
    products: str | None = None
    revoked: bool


class VerdictOut(Open):
    licensed: bool
    mark: str
    mark_name: str
    org_id: int | None = None
    date: str
    reason_zh: str
    reason_en: str
    licence: LicenceOut | None = None


class LicenseeOut(Open):
    org_id: int
    org_name: str
    licence_no: str
    valid_from: str
    valid_until: str


class LicenseesOut(Open):
    mark: str
    name: str
    date: str
    count: int
    licensees: list[LicenseeOut]


class LicensedMatchOut(Open):
    id: int
    title: str
    owner: str | None = None
    score: Num
    explanation: ExplanationOut


class LicensedMatchesOut(Open):
    listing_id: int
    results: list[LicensedMatchOut]


class ConditionOut(Bilingual):
    rule: str
    met: bool | None = Field(description="满足 / 不满足 / 信息不全 (null)")


class EligibilityOut(Open):
    id: int
    title: str
    issuing_body: str | None = None
    benefit: str | None = None
    apply_mode: str | None = None
    valid_until: str | None = None
    qualifies: bool
    conditions: list[ConditionOut]


class PoliciesOut(Open):
    org: str
    date: str
    policies: list[EligibilityOut]


# -- health ----------------------------------------------------------------------------------------

class HealthOut(Open):
    ok: bool
    counts: dict[str, int] = Field(description="公开且已发布的资源数 / public published listings")


class CheckOut(Open):
    """一项就绪检查 / one readiness check; `error` names what failed."""

    ok: bool
    error: str | None = None
    dialect: str | None = None
    documents: int | None = Field(None, description="索引中的资源数 / listings in this host's index")
    last_change: int | None = None
    newest_change: int | None = None
    behind: int | None = Field(None, description="索引落后的变更数 / changes the index has not applied")
    writer: bool | None = None
    waiting: int | None = Field(None, description="等待计算向量的资源数（语义关闭时为 null）/ listings waiting for a vector")


class ReadyChecksOut(Open):
    database: CheckOut
    index: CheckOut
    embedding_queue: CheckOut


class ReadyOut(Open):
    """就绪：200 可以正确回答，503 时说明哪项检查失败 / 200 ready, 503 with the failing check."""

    ready: bool
    checks: ReadyChecksOut
    seconds: Num


# -- alerts: saved searches, follows, preferences, webhooks --------------------------------------------

class SubscriptionOut(Open):
    """保存的搜索或关注 / a saved search or a follow."""

    id: int
    type: str = Field(description="search / follow_org / follow_industry / follow_region")
    kind: str | None = None
    q: str
    filters: dict[str, Any] = Field(description="检索的筛选条件（同 /api/v1/search 的参数）/ the search's filters")
    target: str = Field(description="关注的机构 id、行业或地区代码 / the followed organisation, industry or region")
    min_band: str = Field(description="strong / possible / weak")
    frequency: str = Field(description="instant / daily / weekly / off")
    created_at: str


class SubscriptionsOut(Open):
    items: list[SubscriptionOut]


class PreferencesOut(Open):
    frequency: str = Field(description="instant / daily / weekly / off")
    min_band: str = Field(description="strong / possible / weak")
    kinds: list[str] = Field(description="空表示全部类型 / empty: every kind")
    regions: list[str] = Field(description="地区代码前缀，空表示全部 / region code prefixes; empty: everywhere")
    email: bool
    source: str | None = Field(None, description="own（个人设置）/ organisation（机构默认）/ platform（平台默认）: where the settings in effect come from")


class OrgPreferencesOut(Open):
    """机构默认提醒设置：成员未自行设置时采用 / an organisation's default alert settings, for its people who set none of their own."""

    org_id: int
    set: bool = Field(description="机构是否设置了默认值（否则为平台默认）/ whether the organisation set defaults (else the platform's)")
    frequency: str = Field(description="instant / daily / weekly / off")
    min_band: str = Field(description="strong / possible / weak")
    kinds: list[str] = Field(description="空表示全部类型 / empty: every kind")
    regions: list[str] = Field(description="地区代码前缀，空表示全部 / region code prefixes; empty: everywhere")


class WebhookOut(Open):
    id: int
    url: str
    active: bool
    secret: str | None = Field(None, description="签名密钥，只在创建时显示一次 / the signing secret, shown once on creation")


class WebhooksOut(Open):
    items: list[WebhookOut]


class DeliveryOut(Open):
    id: int
    event: str
    status: str
    attempts: int
    response_status: int | None = None
    last_error: str | None = None
    created_at: str
    sent_at: str | None = None


class DeliveriesOut(Open):
    items: list[DeliveryOut]


# -- mark licences (registry), organisation facts, policy qualifiers -------------------------------------

class LicenceViewOut(Open):
    """一条认证标志使用许可及其在某日的状态 / a mark licence and its status on a day."""

    valid: bool
    status: str = Field(description="active / expired / suspended / revoked / not_yet_valid …")
    mark: str
    mark_name: str
    licensee: str
    licence_no: str
    valid_from: str
    valid_until: str
    products: str | None = None
    date: str
    reason: str | None = Field(None, description="暂停或撤销的原因 / why it was suspended or revoked")


class LicencesOut(Open):
    date: str
    items: list[LicenceViewOut]
    total: int = Field(0, description="符合条件的许可总数 / every licence that matches")
    page: int = 1
    per_page: int = 50


class LicenceEventOut(Open):
    action: str
    at: str
    actor: str
    reason: str | None = None
    status: str
    valid_from: str
    valid_until: str
    products: str | None = None


class LicenceDetailOut(LicenceViewOut):
    credit_code: str | None = None
    history: list[LicenceEventOut]


class LicenceImportOut(Open):
    created: int
    updated: int
    licence_nos: list[str]


class UnlicensedClaimOut(Open):
    listing_id: int
    title: str
    owner: str | None = None
    owner_id: int | None = None
    mark: str
    licence_no: str | None = None
    reason_zh: str
    reason_en: str


class UnlicensedClaimsOut(Open):
    date: str
    items: list[UnlicensedClaimOut]


class RemindedOut(Open):
    reminded: list[str] = Field(description="已提醒的许可编号 / the licence numbers reminded")


class FactsOut(Open):
    """机构基本情况（政策条件所需），本机构与平台人员可见 / the facts policy rules read; own people and staff only."""

    org_id: int
    name: str | None = Field(None, description="只在查看时出现 / present when reading")
    employees: int | None = None
    revenue: Num | None = Field(None, description="万元 / 10k CNY")
    founded: str | None = None
    rd_spending: Num | None = Field(None, description="万元 / 10k CNY")
    certifications: list[str]
    verified: bool
    verified_at: str | None = None
    updated_at: str | None = None
    newly_eligible_policies: list[int] | None = Field(None, description="修改后新符合条件的政策 / policies newly met (after a change)")
    published: list[str] = Field(default_factory=list, description="在机构主页公开的信息（默认不公开）/ the facts shown on the public page (none by default)")
    evidence: list[FactEvidenceOut] | None = Field(None, description="证明材料（查看时）/ evidence files (when reading)")


class FactEvidenceOut(Open):
    """证明材料（PDF 或图片），仅本机构与平台人员可见 / an evidence file (PDF or image), own people and staff only."""

    id: int
    fact: str = Field(description="所证明的信息（空：总体）/ the fact it supports (empty: in general)")
    filename: str
    content_type: str = Field(description="application/pdf / image/png / image/jpeg")
    size: int
    uploaded_at: AwareDatetime
    url: str


class FactsImportOut(Open):
    """机构基本情况批量导入结果 / the facts import's result (all or nothing)."""

    organisations: int = Field(description="更新的机构数 / organisations updated")
    changed: int = Field(description="数据有变化的机构数 / organisations whose facts changed")
    org_ids: list[int]


class QualifierOut(Open):
    org_id: int
    name: str
    credit_code: str | None = None
    region: str | None = None
    group: str = Field(description="qualifies / missing / fails")
    missing: list[str] = Field(description="缺少的信息 / the facts not given")
    failed: list[ConditionOut] = Field(description="不满足的条件 / the conditions failed")
    facts_verified: bool


class QualifiersOut(Open):
    policy_id: int
    title: str
    date: str
    counts: dict[str, int]
    missing_counts: dict[str, int]
    items: list[QualifierOut]


class ContractRegistrationCheckOut(Open):
    """技术合同登记编号公开查验：是否已登记、登记日期与当事双方名称，别无其他 / the public check of a
    registration number: registered or not, the date and the parties' names, nothing else."""

    registration_no: str
    registered: bool
    registered_on: dt.date | None = None
    seller: str | None = Field(None, description="卖方名称（已登记时）/ the seller's name, when registered")
    buyer: str | None = Field(None, description="买方名称（已登记时）/ the buyer's name, when registered")
