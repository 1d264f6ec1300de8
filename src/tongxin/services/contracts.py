"""Technology-contract services: register one contract, look contracts up, and export the
registration package (the fields a 技术合同认定登记 asks for) as XLSX and PDF.

Who sees a contract (its two parties and staff), who registers one from a signed deal and who may
import spreadsheets (staff) is decided here (`can_see_contract`, `can_register_from_deal`,
`can_import_contracts`), next to `services.deals.can_see_deal`; the pages only ask."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import contracts as K
from ..core import regions
from ..core.clock import local_today
from ..core.contracts import CONTRACT_TYPES, ContractInput, Section, find_type, registration_sections, validate_contract, yuan_to_wan
from ..core.errors import Conflict, FieldError, Message, NotFound, ValidationError
from ..core.kinds import default_registry
from ..fileio.contracts import row_error
from ..fileio.safe_cells import xlsx_row
from ..storage import deals_repo as R
from ..storage.models import ListingRow
from ..storage.models_deals import DealRow, TechContractRow
from .deals import _visible, can_see_deal, local

if TYPE_CHECKING:
    from .exchange import Exchange


def resolve(s: Session, rows: list[tuple[int, ContractInput]]) -> tuple[list[tuple[int, ContractInput, R.OrgBrief, R.OrgBrief, list[int]]], list[FieldError]]:
    """Check the references against the database: parties, listings, deal, registration number."""
    orgs = R.orgs_by_credit_code(s, [c.seller_code for _, c in rows] + [c.buyer_code for _, c in rows])
    listing_ids = R.listing_ids_by_ref(s, [ref for _, c in rows for ref in c.listing_refs])
    deal_ids = {c.deal_id for _, c in rows if c.deal_id is not None}
    deals = {i for (i,) in s.execute(DealRow.__table__.select().with_only_columns(DealRow.id).where(DealRow.id.in_(list(deal_ids))))} if deal_ids else set()
    regs = [c.registration_no for _, c in rows if c.registration_no]
    taken: dict[str, str] = {}
    if regs:
        t = TechContractRow.__table__
        for reg, no in s.execute(t.select().with_only_columns(t.c.registration_no, t.c.contract_no).where(t.c.registration_no.in_(regs))):
            taken[reg] = no
    ok = []
    errors: list[FieldError] = []
    for rownum, c in rows:
        row_errors = []
        for key, zh, code in (("seller", "卖方", c.seller_code), ("buyer", "买方", c.buyer_code)):
            if code not in orgs:
                row_errors.append(row_error(rownum, key, code, f"{zh}统一社会信用代码 {code} 不在平台机构名录中：请先导入该机构（tongxin import）或更正代码",
                                       f"{key} credit code {code} is not an organisation on the platform: import it first (tongxin import) or correct the code"))
        missing = [ref for ref in c.listing_refs if ref not in listing_ids]
        if missing:
            row_errors.append(row_error(rownum, "listings", "；".join(missing), "关联资源不存在：" + "、".join(missing) + "。请填写平台上资源的外部编号或 ID",
                                   "linked listings not found: " + ", ".join(missing) + ". Use the external id or id of a listing on the platform"))
        if c.deal_id is not None and c.deal_id not in deals:
            row_errors.append(row_error(rownum, "deal_id", c.deal_id, f"关联洽谈 {c.deal_id} 不存在，请更正或留空",
                                   f"deal {c.deal_id} does not exist; correct it or leave it empty"))
        if c.registration_no and taken.get(c.registration_no, c.contract_no) != c.contract_no:
            row_errors.append(row_error(rownum, "registration_no", c.registration_no,
                                   f"登记编号 {c.registration_no} 已用于合同 {taken[c.registration_no]}，请更正",
                                   f"registration number {c.registration_no} is already used by contract {taken[c.registration_no]}; correct it"))
        if row_errors:
            errors.extend(row_errors)
        else:
            ok.append((rownum, c, orgs[c.seller_code], orgs[c.buyer_code], [listing_ids[ref] for ref in c.listing_refs]))
    return ok, errors


def package_sections(s: Session, contract_id: int) -> tuple[str, list[Section]]:
    c = R.get_contract(s, contract_id)
    orgs = R.orgs_by_id(s, [c.seller_org_id, c.buyer_org_id])
    return c.contract_no, registration_sections(R.contract_view(s, c), orgs[c.seller_org_id].party(), orgs[c.buyer_org_id].party())


def package_xlsx(sections: list[Section], contract_no: str) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记信息"
    ws.append([f"技术合同登记材料 / Technology-contract registration package：{contract_no}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([])
    for zh_t, en_t, rows in sections:
        ws.append([f"{zh_t} / {en_t}"])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.cell(ws.max_row, 1).fill = PatternFill("solid", fgColor="F3E6E6")
        for zh, en, value in rows:
            ws.append(xlsx_row(ws, [zh, en, value]))
        ws.append([])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 34
    ws.column_dimensions["C"].width = 60
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def package_pdf(sections: list[Section], contract_no: str) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    from . import pdf

    st = pdf.styles()
    buf = io.BytesIO()
    d = pdf.doc(buf, f"技术合同登记材料 {contract_no}")
    story: list[Any] = [Paragraph("技术合同认定登记材料", st["title"]),
                        Paragraph(f"Technology-contract registration package · 合同编号 {pdf.text(contract_no)} · 由同心平台生成 {local_today().isoformat()}", st["small"]),
                        Spacer(1, 6 * mm)]
    for zh_t, en_t, rows in sections:
        story.append(Paragraph(f"{zh_t} <font size=9 color='#777777'>{en_t}</font>", st["h2"]))
        data = [[Paragraph(zh, st["cell"]), Paragraph(en, st["small"]), Paragraph(pdf.text(value) or "—", st["cell"])] for zh, en, value in rows]
        t = Table(data, colWidths=[40 * mm, 45 * mm, 89 * mm])
        ts = pdf.table_style(header_rows=0)
        ts.add("ALIGN", (0, 0), (-1, -1), "LEFT")
        t.setStyle(ts)
        story += [t, Spacer(1, 4 * mm)]
    story.append(Paragraph("卖方（签章）：＿＿＿＿＿＿＿＿　　买方（签章）：＿＿＿＿＿＿＿＿　　日期：＿＿＿＿＿＿", st["body"]))
    d.build(story)
    return buf.getvalue()


# -- who sees a contract, and the contract pages ---------------------------------------------------------
def can_see_contract(viewer: acc.Viewer, c: TechContractRow) -> bool:
    """Both parties, the platform's staff and the registration office see a contract (and its registration package)."""
    return K.can_see(viewer, c.seller_org_id, c.buyer_org_id)


def can_import_contracts(viewer: acc.Viewer) -> bool:
    """Importing a spreadsheet names any organisation as a party: platform staff only."""
    return viewer.is_staff


def require_import(viewer: acc.Viewer) -> None:
    acc.require_signed_in(viewer)
    if not can_import_contracts(viewer):
        raise acc.forbidden("只有平台运营人员可以批量导入技术合同", "only platform operators may import technology contracts")


def visible_contract(s: Session, contract_id: int, viewer: acc.Viewer) -> TechContractRow:
    try:
        c = R.get_contract(s, contract_id)
    except NotFound:
        raise acc.not_visible("技术合同", "technology contract", contract_id) from None
    if not can_see_contract(viewer, c):
        raise acc.not_visible("技术合同", "technology contract", contract_id)
    return c


@dataclass
class ContractPage:
    c: TechContractRow
    seller: R.OrgBrief
    buyer: R.OrgBrief
    sections: list[Section]
    deal_visible: bool  # the deal it came from, when this viewer may open it
    history: list[ContractEvent] = field(default_factory=list)
    can_resubmit: bool = False  # a party's member, on a returned contract
    can_decide: bool = False  # the registration office (not a party's own registrar)
    office_actions: tuple[str, ...] = ()  # what the office may do now: review, register, return
    listing_refs: list[str] = field(default_factory=list)


def contract_page(s: Session, contract_id: int, viewer: acc.Viewer) -> ContractPage:
    c = visible_contract(s, contract_id, viewer)
    orgs = R.orgs_by_id(s, [c.seller_org_id, c.buyer_org_id])
    _, sections = package_sections(s, c.id)
    deal_visible = False
    if c.deal_id is not None:
        try:
            deal_visible = can_see_deal(viewer, R.get_deal(s, c.deal_id))
        except NotFound:
            deal_visible = False
    resubmit_ok = c.status == "returned" and K.can_submit(viewer, c.seller_org_id, c.buyer_org_id)
    decide_ok = K.can_decide(viewer, c.seller_org_id, c.buyer_org_id)
    office = tuple(a for a in K.allowed_actions(c.status) if a in ("review", "register", "return")) if decide_ok else ()
    links = R.contract_listing_ids(s, [c.id]).get(c.id, [])
    titles = R.listing_titles(s, links)
    return ContractPage(c, orgs[c.seller_org_id], orgs[c.buyer_org_id], sections, deal_visible, events(s, c), resubmit_ok, decide_ok, office,
                        [titles[i][1] or str(i) for i in links if i in titles])


def region_prefix(raw: str | None) -> str | None:
    """"BJ"/"TJ"/"HE" or a six-digit code → the prefix its districts share ("12", "1201", "120116")."""
    r = (raw or "").strip().upper()
    if not r:
        return None
    if r in ("BJ", "TJ", "HE"):
        return {"BJ": "11", "TJ": "12", "HE": "13"}[r]
    code = regions.normalise(r)
    if len(code) == 6 and code.isdigit():
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    return None


@dataclass
class ContractList:
    rows: list[TechContractRow]
    orgs: dict[int, R.OrgBrief]
    total: int
    amount_yuan: int
    years: list[int]
    all_orgs: bool  # staff and the registration office: every contract; otherwise the viewer's organisation's
    status_counts: dict[str, int] = field(default_factory=dict)  # registration status → contracts (same party filter)


def status_filter(raw: str | None) -> tuple[str, ...]:
    """"submitted,under_review" or "open" (the office's queue) → statuses; a bad one names the choices."""
    text = (raw or "").strip()
    if not text:
        return ()
    if text == "open":
        return K.OPEN_STATUSES
    wanted = tuple(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    bad = [x for x in wanted if x not in K.STATUS_VALUES]
    if bad:
        raise ValidationError.of([FieldError("status", Message(
            f"登记状态 ‘{'、'.join(bad)}’ 无效，可选：" + "、".join(f"{c.value}（{c.zh}）" for c in K.STATUSES) + "、open（待处理）",
            f"status '{', '.join(bad)}' is invalid; choose from: " + ", ".join(c.value for c in K.STATUSES) + ", open"), text)])
    return wanted


def contracts_for(s: Session, viewer: acc.Viewer, year: int | None = None, contract_type: str | None = None, region: str | None = None,
                  page: int = 1, per_page: int = 50, status: str | None = None, by_submission: bool = False) -> ContractList:
    """Operators and the registration office see every contract; an organisation sees the contracts it is a party to."""
    acc.require_signed_in(viewer)
    org_id = None if viewer.is_staff or K.is_office(viewer) else acc.require_org(viewer)
    f = R.ContractFilter(org_id, year, find_type(contract_type) if contract_type else None, region_prefix(region), status_filter(status))
    rows, total, amount = R.contracts_page(s, f, per_page, (max(1, page) - 1) * per_page, by_submission)
    orgs = R.orgs_by_id(s, [c.seller_org_id for c in rows] + [c.buyer_org_id for c in rows])
    return ContractList(rows, orgs, total, amount, R.contract_years(s, org_id), org_id is None, R.status_counts(s, org_id))


# -- submitting the contract of a signed deal ------------------------------------------------------------------
def can_register_from_deal(viewer: acc.Viewer, deal: Any) -> bool:
    """A party's members submit the contract of a deal they see for registration, once it is signed."""
    return can_see_deal(viewer, deal) and K.can_submit(viewer, deal.seller_org_id, deal.buyer_org_id) and deal.stage == "signed"


def _guess_type(s: Session, deal: Any) -> str:
    for a in R.agreements(s, deal.id):
        if a.agreement_type in ("licence", "development"):
            return a.agreement_type
    modes = {"license": "licence", "transfer": "transfer", "co_develop": "development", "service": "service", "equity": "transfer"}
    for lid in deal.listing_ids or []:
        row = s.get(ListingRow, int(lid))
        if row is not None and default_registry().has_role(row.kind, "contract_subject"):
            for m in (row.attrs or {}).get("transfer_modes") or []:
                if m in modes:
                    return modes[m]
    return "development"


def _guess_amount(s: Session, deal: Any) -> float | None:
    for lid in deal.listing_ids or []:
        row = s.get(ListingRow, int(lid))
        attrs = (row.attrs or {}) if row is not None else {}
        for key in ("price_max", "price_min", "budget_max", "budget_min"):
            v = attrs.get(key)
            if isinstance(v, (int, float)) and v > 0:
                return float(v)
    return None


def contract_draft(s: Session, deal_id: int, viewer: acc.Viewer, today: dt.date | None = None) -> dict[str, Any]:
    """The registration form prefilled from the deal: type, parties, amounts, signing date, listings."""
    d = _visible(s, deal_id, viewer)
    orgs = R.orgs_by_id(s, [d.seller_org_id, d.buyer_org_id])
    signed = local(d.closed_at) if d.stage == "signed" else None
    signed_on = signed.date() if signed else (today or local_today())
    signed_on = min(signed_on, today or local_today())
    amount = _guess_amount(s, d)
    titles = R.listing_titles(s, [int(i) for i in d.listing_ids or []])
    industry = ""
    for lid in d.listing_ids or []:
        row = s.get(ListingRow, int(lid))
        if row is not None and row.industry and row.industry != "Z99":
            industry = row.industry
            break
    return {
        "contract_no": f"TX-{signed_on.year}-D{d.id:05d}", "title": d.title.split("：", 1)[-1][:200] or d.title,
        "contract_type": _guess_type(s, d), "seller": orgs[d.seller_org_id].credit_code, "buyer": orgs[d.buyer_org_id].credit_code,
        "seller_name": orgs[d.seller_org_id].name, "buyer_name": orgs[d.buyer_org_id].name,
        "amount": "" if amount is None else f"{amount:g}", "tech_amount": "" if amount is None else f"{amount:g}",
        "signed_on": signed_on.isoformat(), "park": "", "industry": industry,
        "listings": ";".join(titles[int(i)][1] or str(i) for i in d.listing_ids or [] if int(i) in titles),
        "deal_id": str(d.id), "registration_no": "", "registered_on": "",
    }


EDITABLE = ("contract_no", "title", "contract_type", "amount", "tech_amount", "signed_on", "park", "industry")
# what a party may correct when it resubmits a returned contract (the number, parties, deal and listings stay)
RESUBMIT_FIELDS = ("title", "contract_type", "amount", "tech_amount", "signed_on", "park", "industry")
OFFICE_FIELDS = ("registration_no", "registered_on")


def _no_office_fields(raw: Mapping[str, Any]) -> None:
    """The registration number and date are the office's to give: a party's submission never carries them."""
    given = [k for k in OFFICE_FIELDS if str(raw.get(k) or "").strip()]
    if given:
        raise ValidationError.of([FieldError(k, Message("登记编号与登记日期由技术合同登记机构审核后填写，提交时请留空",
                                                        "the registration number and date are given by the registration office; leave them empty"),
                                             raw.get(k)) for k in given])


def _actor(viewer: acc.Viewer) -> str:
    return f"user:{viewer.user_id}" if viewer.user_id is not None else ("cli" if viewer.role == "admin" else viewer.role)


def _submitted(s: Session, row: TechContractRow, viewer: acc.Viewer) -> None:
    row.status, row.status_reason = "submitted", ""
    row.submitted_at, row.submitted_by, row.submitted_org_id = R.utcnow(), viewer.user_id, viewer.org_id
    s.flush()
    R.add_contract_event(s, row, "submit", viewer.user_id, viewer.org_id, _actor(viewer))


def _store_new(s: Session, c: ContractInput, viewer: acc.Viewer) -> int:
    if R.contract_by_no(s, c.contract_no) is not None:
        raise ValidationError.of([FieldError("contract_no", Message(
            f"合同编号 {c.contract_no} 已被使用，请换一个编号", f"contract number {c.contract_no} is already in use; choose another"), c.contract_no)])
    ok, errors = resolve(s, [(0, c)])
    if errors:
        raise ValidationError.of([FieldError(e.field, e.message, e.value, None) for e in errors])
    _, c2, seller, buyer, lids = ok[0]
    if not K.can_submit(viewer, seller.id, buyer.id):
        raise acc.forbidden("只有合同一方（卖方或买方）的成员可以提交登记", "only members of a party (seller or buyer) may submit the contract for registration")
    row, _ = R.upsert_contract(s, c2, seller, buyer, lids, action=None)
    _submitted(s, row, viewer)
    return row.id


def register_from_deal(s: Session, deal_id: int, raw: Mapping[str, Any], viewer: acc.Viewer, today: dt.date | None = None) -> int:
    """Submit the technology contract of a signed deal for registration. The parties, the deal and its listings
    come from the deal (not from the form); a contract number already in use is refused, never overwritten."""
    d = _visible(s, deal_id, viewer)
    if d.stage != "signed":
        raise Conflict(Message("洽谈签约后才能登记技术合同", "register the technology contract once the deal is signed"))
    if not can_register_from_deal(viewer, d):
        raise acc.forbidden("只有洽谈双方的成员可以提交合同登记", "only members of the parties may submit the contract for registration")
    _no_office_fields(raw)
    draft = contract_draft(s, deal_id, viewer, today)
    rec = {k: draft[k] for k in ("seller", "buyer", "deal_id", "listings")} | {k: raw.get(k, "") for k in EDITABLE}
    return _store_new(s, validate_contract(rec, today=today), viewer)


def submit(s: Session, raw: Mapping[str, Any], viewer: acc.Viewer, today: dt.date | None = None) -> int:
    """Submit a contract for registration (API, CLI): the viewer's organisation is the seller or the buyer.
    Same rules and messages as the import; the registration number and date stay empty."""
    acc.require_signed_in(viewer)
    _no_office_fields(raw)
    return _store_new(s, validate_contract(raw, today=today), viewer)


def _for_step(s: Session, contract_id: int, viewer: acc.Viewer) -> TechContractRow:
    acc.require_signed_in(viewer)
    visible_contract(s, contract_id, viewer)
    return R.lock_contract(s, contract_id)


def _record(row: TechContractRow) -> dict[str, Any]:
    return {"title": row.title, "contract_type": row.contract_type, "amount": yuan_to_wan(row.amount_yuan),
            "tech_amount": yuan_to_wan(row.tech_amount_yuan), "signed_on": row.signed_on.isoformat(), "park": row.park,
            "industry": row.industry or ""}


def resubmit(s: Session, contract_id: int, raw: Mapping[str, Any], viewer: acc.Viewer, note: str = "", today: dt.date | None = None) -> int:
    """A party corrects a returned contract (any of RESUBMIT_FIELDS; the rest stays) and submits it again."""
    row = _for_step(s, contract_id, viewer)
    if not K.can_submit(viewer, row.seller_org_id, row.buyer_org_id):
        raise acc.forbidden("只有合同一方（卖方或买方）的成员可以修改并重新提交", "only members of a party (seller or buyer) may correct and resubmit")
    K.next_status(row.status, "resubmit")
    _no_office_fields(raw)
    unknown = sorted(set(raw) - set(RESUBMIT_FIELDS) - {"note", "csrf", "contract_no"})
    if unknown:
        raise ValidationError.of([FieldError(k, Message(f"字段 ‘{k}’ 不能在重新提交时修改；可修改：" + "、".join(RESUBMIT_FIELDS),
                                                        f"field '{k}' cannot be changed on resubmission; these can: " + ", ".join(RESUBMIT_FIELDS)), k)
                                  for k in unknown])
    before = _record(row)
    orgs = R.orgs_by_id(s, [row.seller_org_id, row.buyer_org_id])
    rec = before | {k: raw[k] for k in RESUBMIT_FIELDS if k in raw} | {
        "contract_no": row.contract_no, "seller": orgs[row.seller_org_id].credit_code, "buyer": orgs[row.buyer_org_id].credit_code}
    c = validate_contract(rec, today=today)
    text = (note or "").strip()
    if len(text) > 2000:
        raise ValidationError.of([FieldError("note", Message(f"说明最多 2000 字，实际 {len(text)} 字", f"the note is at most 2000 characters, got {len(text)}"))])
    row.title, row.contract_type, row.amount_yuan, row.tech_amount_yuan = c.title, c.contract_type, c.amount_yuan, c.tech_amount_yuan
    row.signed_on, row.park, row.industry = c.signed_on, c.park, c.industry
    s.flush()
    after = _record(row)
    changes: dict[str, object] = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    row.status, row.status_reason = K.next_status(row.status, "resubmit"), ""
    row.submitted_at, row.submitted_by, row.submitted_org_id = R.utcnow(), viewer.user_id, viewer.org_id
    s.flush()
    R.add_contract_event(s, row, "resubmit", viewer.user_id, viewer.org_id, _actor(viewer), text, changes)
    _notify_office_step(s, row, "已修改并重新提交登记", "was corrected and resubmitted", viewer)
    return row.id


def _require_office(viewer: acc.Viewer, row: TechContractRow) -> None:
    if not K.is_office(viewer):
        raise acc.forbidden("只有技术合同登记机构可以审核、登记或退回合同", "only the registration office may review, register or return a contract")
    if not K.can_decide(viewer, row.seller_org_id, row.buyer_org_id):
        raise acc.forbidden("登记机构人员不能审核本机构为一方的合同，请由其他登记人员办理",
                            "a registrar may not decide a contract their own organisation is a party to; another registrar must")


def _notify_parties(s: Session, row: TechContractRow, zh: str, en: str) -> None:
    from ..storage import accounts_repo as AR

    if "notifications" not in R.table_names(s):
        return
    for org_id in dict.fromkeys((row.seller_org_id, row.buyer_org_id)):
        AR.notify(s, org_id, f"技术合同 {row.contract_no}：{zh}", f"technology contract {row.contract_no}: {en}", f"/contracts/{row.id}")


def _notify_office_step(s: Session, row: TechContractRow, zh: str, en: str, viewer: acc.Viewer) -> None:
    """The other party learns of a resubmission (the office sees it in its queue)."""
    from ..storage import accounts_repo as AR

    if "notifications" not in R.table_names(s):
        return
    for org_id in dict.fromkeys((row.seller_org_id, row.buyer_org_id)):
        if org_id != viewer.org_id:
            AR.notify(s, org_id, f"技术合同 {row.contract_no}：{zh}", f"technology contract {row.contract_no}: {en}", f"/contracts/{row.id}")


def review(s: Session, contract_id: int, viewer: acc.Viewer, note: str = "") -> int:
    """The office takes a submitted contract into review (the parties see who has it in hand)."""
    row = _for_step(s, contract_id, viewer)
    _require_office(viewer, row)
    row.status = K.next_status(row.status, "review")
    row.reviewer_id = viewer.user_id
    s.flush()
    R.add_contract_event(s, row, "review", viewer.user_id, None, _actor(viewer), (note or "").strip()[:2000])
    _notify_parties(s, row, "登记机构已开始审核", "the registration office started its review")
    return row.id


def register(s: Session, contract_id: int, viewer: acc.Viewer, registration_no: str | None = None, registered_on: dt.date | None = None,
             note: str = "", today: dt.date | None = None) -> int:
    """The office registers a contract: the number (given, or the next of year + seller's district) and the date (default today)."""
    today = today or local_today()
    row = _for_step(s, contract_id, viewer)
    _require_office(viewer, row)
    to = K.next_status(row.status, "register")
    no = (registration_no or "").strip() or None
    day = registered_on or today
    K.check_registration(no, day, row.signed_on, today)
    if no is not None:
        taken = R.registration_no_taken(s, no)
        if taken is not None and taken != row.contract_no:
            raise ValidationError.of([FieldError("registration_no", Message(f"登记编号 {no} 已用于合同 {taken}，请更正或留空自动编号",
                                                                            f"registration number {no} is already used by contract {taken}; correct it or leave it empty"), no)])
    else:
        prefix = f"{day.year}{row.seller_region}"
        no = K.registration_number(day.year, row.seller_region, R.last_registration_seq(s, prefix) + 1)
    row.status, row.status_reason, row.registration_no, row.registered_on, row.reviewer_id = to, "", no, day, viewer.user_id
    s.flush()
    R.add_contract_event(s, row, "register", viewer.user_id, None, _actor(viewer), (note or "").strip()[:2000],
                         {"registration_no": no, "registered_on": day.isoformat()})
    _notify_parties(s, row, f"已登记，登记编号 {no}，登记日期 {day}；可下载登记证明", f"registered as {no} on {day}; the certificate can be downloaded")
    return row.id


def return_contract(s: Session, contract_id: int, viewer: acc.Viewer, reasons: list[str] | tuple[str, ...], note: str = "") -> int:
    """The office returns a contract with its reasons (from the list, and/or a note); a party fixes it and resubmits."""
    row = _for_step(s, contract_id, viewer)
    _require_office(viewer, row)
    why = K.check_return(reasons, note)
    row.status = K.next_status(row.status, "return")
    row.status_reason, row.reviewer_id = why.text(), viewer.user_id
    s.flush()
    R.add_contract_event(s, row, "return", viewer.user_id, None, _actor(viewer), why.text(), {"reasons": list(why.codes)})
    _notify_parties(s, row, f"被登记机构退回：{why.text()}。请修改后重新提交", f"returned by the registration office: {why.text('en')}. Correct it and resubmit")
    return row.id


@dataclass(frozen=True)
class ContractEvent:
    action: str
    at: dt.datetime
    actor: str  # a person's name, or "cli" / "import" / "migration"
    actor_role: str  # "party" / "office" / "system"
    reason: str
    status: str
    changes: dict[str, Any]

    def label(self, lang: str = "zh") -> str:
        return K.action_label(self.action, lang)


def events(s: Session, row: TechContractRow) -> list[ContractEvent]:
    rows = R.contract_events(s, row.id)
    names = R.user_names(s, [e.actor_user_id for e in rows])
    out = []
    for e in rows:
        name = names.get(e.actor_user_id or -1, ("", ""))[0] if e.actor_user_id is not None else (e.actor or "")
        role = "party" if e.action in ("submit", "resubmit") else "office" if e.action in ("review", "register", "return") else "system"
        out.append(ContractEvent(e.action, R.aware(e.at) or e.at, name or e.actor, role, e.reason or "", e.status, dict(e.changes or {})))
    return out


def type_choices() -> tuple[Any, ...]:
    return CONTRACT_TYPES


def wan(yuan: int | None) -> str:
    return "" if yuan is None else f"{yuan_to_wan(yuan):,.2f}"


def contract_rows(s: Session, contracts: list[TechContractRow]) -> list[list[Any]]:
    """Rows in the import layout (round-trips through `import_contracts`)."""
    orgs = R.orgs_by_id(s, [c.seller_org_id for c in contracts] + [c.buyer_org_id for c in contracts])
    links = R.contract_listing_ids(s, [c.id for c in contracts])
    titles = R.listing_titles(s, sorted({i for v in links.values() for i in v}))
    out = []
    for c in contracts:
        refs = [titles[i][1] or str(i) for i in links.get(c.id, []) if i in titles]
        out.append([c.contract_no, c.title, c.contract_type, orgs[c.seller_org_id].credit_code, orgs[c.buyer_org_id].credit_code,
                    yuan_to_wan(c.amount_yuan), yuan_to_wan(c.tech_amount_yuan), c.signed_on.isoformat(), c.park, c.industry or "",
                    ";".join(refs), "" if c.deal_id is None else c.deal_id, c.registration_no or "",
                    c.registered_on.isoformat() if c.registered_on else ""])
    return out


def contract_by_ref(s: Session, ref: str) -> TechContractRow:
    """A contract by its number, or by its id."""
    row = R.contract_by_no(s, ref) or (R.get_contract(s, int(ref)) if ref.isdigit() else None)
    if row is None:
        raise NotFound(Message(f"技术合同 {ref} 不存在", f"technology contract {ref} does not exist"))
    return row


MAX_REGISTRATION_NO = 32


@dataclass(frozen=True)
class RegistrationCheck:
    """The public answer to "is this registration number real?": registered or not, the date and the
    parties' names only (no title, amounts, terms, credit codes or history)."""

    registration_no: str
    registered: bool
    registered_on: dt.date | None = None
    seller: str | None = None
    buyer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"registration_no": self.registration_no, "registered": self.registered,
                "registered_on": self.registered_on.isoformat() if self.registered_on else None, "seller": self.seller, "buyer": self.buyer}


def normalise_registration_no(raw: object) -> str:
    """What people type or scan: spaces and full-width digits and letters are read."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", str(raw or "")).split())


def check_registration(s: Session, raw: object) -> RegistrationCheck:
    """Anyone may check a number; only a registered contract answers with its date and parties' names."""
    no = normalise_registration_no(raw)
    if not no or len(no) > MAX_REGISTRATION_NO or not all(ch.isalnum() or ch in "-_/" for ch in no):
        raise ValidationError.of([FieldError("registration_no", Message(
            f"请填写技术合同登记编号（不超过 {MAX_REGISTRATION_NO} 个字母或数字），如 2026110108000012",
            f"give the contract's registration number (at most {MAX_REGISTRATION_NO} letters or digits), e.g. 2026110108000012"), str(raw or "")[:64])])
    row = R.contract_by_registration_no(s, no) or (R.contract_by_registration_no(s, no.upper()) if no != no.upper() else None)
    if row is None or row.status != "registered" or row.registered_on is None:
        return RegistrationCheck(no, False)
    orgs = R.orgs_by_id(s, [row.seller_org_id, row.buyer_org_id])
    return RegistrationCheck(no, True, row.registered_on, orgs[row.seller_org_id].name, orgs[row.buyer_org_id].name)


# -- the use cases: one transaction each ------------------------------------------------------------------
# -- the registration certificate (登记证明) ------------------------------------------------------------------
@dataclass(frozen=True)
class Certificate:
    registration_no: str
    registered_on: dt.date
    office: str
    contract_no: str
    title: str
    contract_type: str
    signed_on: dt.date
    seller: R.OrgBrief
    buyer: R.OrgBrief
    amount_yuan: int
    tech_amount_yuan: int

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            ("登记编号", "registration number", self.registration_no),
            ("登记日期", "registration date", self.registered_on.isoformat()),
            ("登记机构", "registration office", self.office),
            ("合同编号", "contract number", self.contract_no),
            ("合同名称", "title", self.title),
            ("合同类型", "type", K.type_label(self.contract_type)),
            ("签订日期", "signing date", self.signed_on.isoformat()),
            ("卖方（技术提供方）", "seller", f"{self.seller.name}（{self.seller.credit_code}）"),
            ("买方（技术使用方）", "buyer", f"{self.buyer.name}（{self.buyer.credit_code}）"),
            ("合同成交额（万元）", "contract amount (10,000 yuan)", f"{yuan_to_wan(self.amount_yuan):,.2f}"),
            ("技术交易额（万元）", "technology-transaction amount (10,000 yuan)", f"{yuan_to_wan(self.tech_amount_yuan):,.2f}"),
        ]


def office_name() -> str:
    from ..settings import setting

    return setting("TONGXIN_REGISTRY_OFFICE") or "技术合同登记机构"


def certificate(s: Session, contract_id: int, viewer: acc.Viewer) -> Certificate:
    """The registration certificate of a registered contract, for its parties, staff and the office."""
    c = visible_contract(s, contract_id, viewer)
    if c.status != "registered" or not c.registration_no or c.registered_on is None:
        raise Conflict(Message(f"合同 {c.contract_no} 尚未登记（{K.status_label(c.status)}），登记后才有登记证明",
                               f"contract {c.contract_no} is not registered yet ({K.status_label(c.status, 'en')}); the certificate comes with registration"))
    orgs = R.orgs_by_id(s, [c.seller_org_id, c.buyer_org_id])
    return Certificate(c.registration_no, c.registered_on, office_name(), c.contract_no, c.title, c.contract_type, c.signed_on,
                       orgs[c.seller_org_id], orgs[c.buyer_org_id], c.amount_yuan, c.tech_amount_yuan)


def certificate_pdf(cert: Certificate) -> bytes:
    """One A4 page: the certificate's facts in a table, Chinese first (CJK font as services.pdf chooses it)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    from . import pdf

    st = pdf.styles()
    buf = io.BytesIO()
    d = pdf.doc(buf, f"技术合同登记证明 {cert.registration_no}")
    story: list[Any] = [Paragraph("技术合同登记证明", st["title"]),
                        Paragraph(f"Technology contract registration certificate · 登记编号 {pdf.text(cert.registration_no)}", st["small"]),
                        Spacer(1, 6 * mm)]
    data = [[Paragraph(zh, st["cell"]), Paragraph(en, st["small"]), Paragraph(pdf.text(v) or "—", st["cell"])] for zh, en, v in cert.rows()]
    t = Table(data, colWidths=[40 * mm, 45 * mm, 89 * mm])
    ts = pdf.table_style(header_rows=0)
    ts.add("ALIGN", (0, 0), (-1, -1), "LEFT")
    t.setStyle(ts)
    story += [t, Spacer(1, 8 * mm),
              Paragraph(f"经审核，上述技术合同准予登记。登记机构：{pdf.text(cert.office)}　登记日期：{cert.registered_on.isoformat()}", st["body"]),
              Paragraph("Reviewed and registered by the registration office named above on the date shown.", st["small"]),
              Spacer(1, 4 * mm),
              Paragraph(f"由同心平台生成 {local_today().isoformat()} · generated by tongxin", st["small"])]
    d.build(story)
    return buf.getvalue()


def grant_office_role(s: Session, viewer: acc.Viewer, email: str, on: bool = True) -> str:
    """The administrator makes an account a registrar of the registration office (or takes the role back)."""
    from ..core.accounts import normalise_email
    from ..storage import accounts_repo as AR

    if viewer.role != "admin":
        raise acc.forbidden("只有平台管理员可以设置登记机构人员", "only the platform administrator may name registrars")
    u = AR.user_by_email(s, normalise_email(email))
    if u is None:
        raise NotFound(Message(f"账号 {email} 不存在，请先注册", f"no account {email}; sign it up first"))
    if on:
        if u.role not in ("user", "registrar"):
            raise Conflict(Message(f"账号 {email} 的平台角色为 {u.role}，不能兼任登记机构人员", f"account {email} is {u.role}; it cannot also be a registrar"))
        u.role = "registrar"
    elif u.role == "registrar":
        u.role = "user"
    s.flush()
    return u.role


class Contracts:
    """What people do with technology contracts, each in one transaction (pages, API and CLI call these)."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.db = ex.db

    def contracts(self, viewer: acc.Viewer, year: int | None = None, contract_type: str | None = None, region: str | None = None,
                  page: int = 1, per_page: int = 50, status: str | None = None) -> ContractList:
        with self.db.transaction(write=False) as s:
            return contracts_for(s, viewer, year, contract_type, region, page, per_page, status)

    def queue(self, viewer: acc.Viewer, status: str | None = "open", page: int = 1, per_page: int = 50) -> ContractList:
        """The registration office's queue (default: submitted and under review), longest waiting first.
        The office and staff only."""
        acc.require_signed_in(viewer)
        if not (K.is_office(viewer) or viewer.is_staff):
            raise acc.forbidden("登记审核队列仅供技术合同登记机构与平台运营人员查看", "the registration queue is for the registration office and platform staff")
        with self.db.transaction(write=False) as s:
            return contracts_for(s, viewer, page=page, per_page=per_page, status=status or None, by_submission=True)

    def submit(self, viewer: acc.Viewer, raw: Mapping[str, Any], today: dt.date | None = None) -> ContractPage:
        with self.db.transaction() as s:
            return contract_page(s, submit(s, raw, viewer, today), viewer)

    def resubmit(self, viewer: acc.Viewer, contract_id: int, raw: Mapping[str, Any], note: str = "", today: dt.date | None = None) -> ContractPage:
        with self.db.transaction() as s:
            return contract_page(s, resubmit(s, contract_id, raw, viewer, note, today), viewer)

    def review(self, viewer: acc.Viewer, contract_id: int, note: str = "") -> ContractPage:
        with self.db.transaction() as s:
            return contract_page(s, review(s, contract_id, viewer, note), viewer)

    def register(self, viewer: acc.Viewer, contract_id: int, registration_no: str | None = None, registered_on: dt.date | None = None,
                 note: str = "", today: dt.date | None = None) -> ContractPage:
        with self.db.transaction() as s:
            return contract_page(s, register(s, contract_id, viewer, registration_no, registered_on, note, today), viewer)

    def return_(self, viewer: acc.Viewer, contract_id: int, reasons: list[str] | tuple[str, ...], note: str = "") -> ContractPage:
        with self.db.transaction() as s:
            return contract_page(s, return_contract(s, contract_id, viewer, reasons, note), viewer)

    def certificate(self, viewer: acc.Viewer, contract_id: int) -> Certificate:
        with self.db.transaction(write=False) as s:
            return certificate(s, contract_id, viewer)

    def check_registration(self, registration_no: object) -> RegistrationCheck:
        """Public: is this a registered contract's number (date and parties' names only)."""
        with self.db.transaction(write=False) as s:
            return check_registration(s, registration_no)

    def resolve_ref(self, viewer: acc.Viewer, ref: str) -> int:
        """A contract's id from its number or id, if this viewer may see it (the CLI names contracts by number)."""
        with self.db.transaction(write=False) as s:
            row = contract_by_ref(s, ref)
            return visible_contract(s, row.id, viewer).id

    def grant_office_role(self, viewer: acc.Viewer, email: str, on: bool = True) -> str:
        with self.db.transaction() as s:
            return grant_office_role(s, viewer, email, on)

    def page(self, viewer: acc.Viewer, contract_id: int) -> ContractPage:
        with self.db.transaction(write=False) as s:
            return contract_page(s, contract_id, viewer)

    def register_from_deal(self, viewer: acc.Viewer, deal_id: int, raw: Mapping[str, Any], today: dt.date | None = None) -> int:
        with self.db.transaction() as s:
            return register_from_deal(s, deal_id, raw, viewer, today)

    def package(self, viewer: acc.Viewer, contract_id: int) -> tuple[str, list[Section]]:
        """The registration package's number and sections, for the two parties and staff."""
        with self.db.transaction(write=False) as s:
            visible_contract(s, contract_id, viewer)
            return package_sections(s, contract_id)

    def package_of(self, ref: str) -> tuple[str, list[Section]]:
        """The registration package of a contract named by number or id (the operator's CLI)."""
        with self.db.transaction(write=False) as s:
            return package_sections(s, contract_by_ref(s, ref).id)
