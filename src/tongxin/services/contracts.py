"""Technology-contract services: register one contract, look contracts up, and export the
registration package (the fields a 技术合同认定登记 asks for) as XLSX and PDF.

Who sees a contract (its two parties and staff), who registers one from a signed deal and who may
import spreadsheets (staff) is decided here (`can_see_contract`, `can_register_from_deal`,
`can_import_contracts`), next to `services.deals.can_see_deal`; the pages only ask."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..core import access as acc
from ..core import regions
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


def register_contract(s: Session, raw: Mapping[str, Any], today: dt.date | None = None) -> int:
    """Validate and store one contract (form or API). Same rules and messages as the import."""
    c = validate_contract(raw, today=today)
    ok, errors = resolve(s, [(0, c)])
    if errors:
        raise ValidationError.of([type(e)(e.field, e.message, e.value, None) for e in errors])
    _, c2, seller, buyer, lids = ok[0]
    row, _ = R.upsert_contract(s, c2, seller, buyer, lids)
    return row.id


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
                        Paragraph(f"Technology-contract registration package · 合同编号 {pdf.text(contract_no)} · 由同心平台生成 {dt.date.today().isoformat()}", st["small"]),
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
    """Both parties and the platform's staff see a contract (and its registration package)."""
    return viewer.is_staff or (viewer.org_id is not None and viewer.org_id in (c.seller_org_id, c.buyer_org_id))


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
    return ContractPage(c, orgs[c.seller_org_id], orgs[c.buyer_org_id], sections, deal_visible)


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
    all_orgs: bool  # staff: every contract; otherwise the viewer's organisation's


def contracts_for(s: Session, viewer: acc.Viewer, year: int | None = None, contract_type: str | None = None, region: str | None = None,
                  page: int = 1, per_page: int = 50) -> ContractList:
    """Operators see every contract; an organisation sees the contracts it is a party to."""
    acc.require_signed_in(viewer)
    org_id = None if viewer.is_staff else acc.require_org(viewer)
    f = R.ContractFilter(org_id, year, find_type(contract_type) if contract_type else None, region_prefix(region))
    rows, total, amount = R.contracts_page(s, f, per_page, (max(1, page) - 1) * per_page)
    orgs = R.orgs_by_id(s, [c.seller_org_id for c in rows] + [c.buyer_org_id for c in rows])
    return ContractList(rows, orgs, total, amount, R.contract_years(s, org_id), org_id is None)


# -- registering the contract of a signed deal --------------------------------------------------------------
def can_register_from_deal(viewer: acc.Viewer, deal: Any) -> bool:
    """A party's members and staff register the contract of a deal they see, once it is signed."""
    return can_see_deal(viewer, deal) and (viewer.is_staff or viewer.role in acc.ORG_ROLES) and deal.stage == "signed"


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
    signed_on = signed.date() if signed else (today or dt.date.today())
    signed_on = min(signed_on, today or dt.date.today())
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


EDITABLE = ("contract_no", "title", "contract_type", "amount", "tech_amount", "signed_on", "park", "industry", "registration_no",
            "registered_on")


def register_from_deal(s: Session, deal_id: int, raw: Mapping[str, Any], viewer: acc.Viewer, today: dt.date | None = None) -> int:
    """Register the technology contract of a signed deal. The parties, the deal and its listings come
    from the deal (not from the form); a contract number already in use is refused, never overwritten."""
    d = _visible(s, deal_id, viewer)
    if d.stage != "signed":
        raise Conflict(Message("洽谈签约后才能登记技术合同", "register the technology contract once the deal is signed"))
    if not can_register_from_deal(viewer, d):
        raise acc.forbidden("只有洽谈双方的成员或平台运营人员可以登记合同", "only members of the parties or platform operators may register the contract")
    draft = contract_draft(s, deal_id, viewer, today)
    rec = {k: draft[k] for k in ("seller", "buyer", "deal_id", "listings")} | {k: raw.get(k, "") for k in EDITABLE}
    c = validate_contract(rec, today=today)
    if R.contract_by_no(s, c.contract_no) is not None:
        raise ValidationError.of([FieldError("contract_no", Message(
            f"合同编号 {c.contract_no} 已被使用，请换一个编号", f"contract number {c.contract_no} is already in use; choose another"), c.contract_no)])
    ok, errors = resolve(s, [(0, c)])
    if errors:
        raise ValidationError.of([FieldError(e.field, e.message, e.value, None) for e in errors])
    _, c2, seller, buyer, lids = ok[0]
    row, _ = R.upsert_contract(s, c2, seller, buyer, lids)
    return row.id


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


# -- the use cases: one transaction each ------------------------------------------------------------------
class Contracts:
    """What people do with technology contracts, each in one transaction (pages, API and CLI call these)."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.db = ex.db

    def contracts(self, viewer: acc.Viewer, year: int | None = None, contract_type: str | None = None, region: str | None = None,
                page: int = 1, per_page: int = 50) -> ContractList:
        with self.db.transaction(write=False) as s:
            return contracts_for(s, viewer, year, contract_type, region, page, per_page)

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
