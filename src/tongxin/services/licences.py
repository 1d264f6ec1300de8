"""The mark licence registry (认证标志使用许可): operators and the mark owner's organisation issue,
renew, suspend, reinstate and revoke licences (each with its reason, each kept in the history),
import them from the owner's XLSX (all or nothing), remind licensees before a licence ends, and
see published mark claims that no licence backs. Anyone verifies a licence by its number, the
licensee's credit code or a part of its name, on a day; a QR code per licence opens that page.

One function per use case, each one transaction; the viewer decides what may be done
(`core.certification.can_manage_mark`)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..core import access as acc
from ..core import certification as C
from ..core.clock import local_today
from ..core.errors import Conflict, FieldError, Message, NotFound, ValidationError
from ..core.listing import Listing
from ..fileio.licences import LicenceInput, parse_licence_file
from ..settings import public_url
from ..storage import accounts_repo as AR
from ..storage import repo
from ..storage import resources_repo as rr
from ..storage.models_resources import MarkLicenceRow
from .exchange import Exchange

REMIND_DAYS = 60  # expiry reminders go out this many days before a licence ends


@dataclass(frozen=True)
class LicenceView:
    """A licence as one verification answers it: its status on `day` and the mark it is for."""

    licence: C.Licence
    mark: C.Mark
    day: dt.date
    credit_code: str | None = None

    @property
    def status(self) -> str:
        return self.licence.status_on(self.day)

    @property
    def valid(self) -> bool:
        return self.licence.valid_on(self.day)

    def status_label(self, lang: str = "zh") -> str:
        zh, en = C.STATUSES[self.status]
        return en if lang == "en" else zh

    def as_dict(self) -> dict[str, Any]:
        x = self.licence
        return {"valid": self.valid, "status": self.status, "mark": self.mark.code, "mark_name": self.mark.name,
                "licensee": x.org_name, "licence_no": x.licence_no, "valid_from": x.valid_from.isoformat(),
                "valid_until": x.valid_until.isoformat(), "products": x.products, "date": self.day.isoformat(),
                "reason": x.reason or None}


@dataclass(frozen=True)
class LicenceEvent:
    action: str
    at: dt.datetime
    actor: str
    reason: str
    status: str
    valid_from: dt.date
    valid_until: dt.date
    products: str

    def label(self, lang: str = "zh") -> str:
        zh, en = C.ACTIONS.get(self.action, (self.action, self.action))
        return en if lang == "en" else zh

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "at": self.at.isoformat(), "actor": self.actor, "reason": self.reason, "status": self.status,
                "valid_from": self.valid_from.isoformat(), "valid_until": self.valid_until.isoformat(), "products": self.products}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    licence_nos: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "licence_nos": self.licence_nos}


def _actor(viewer: acc.Viewer) -> str:
    return f"user:{viewer.user_id}" if viewer.user_id is not None else ("cli" if viewer.role == "admin" else viewer.role)


def _require_manage(viewer: acc.Viewer, holder_org_id: int | None) -> None:
    if not C.can_manage_mark(viewer, holder_org_id):
        raise acc.forbidden("只有平台运营人员或该标志的注册人（权利人）可以管理其使用许可",
                            "only platform operators or the mark's owner may manage its licences")


def _view(s: Any, r: MarkLicenceRow, day: dt.date) -> LicenceView:
    found = rr.find_licences(s, licence_no=r.licence_no, limit=1)
    lic, mark, cc = found[0]
    return LicenceView(lic, mark, day, cc)


def _reason(reason: str, action_zh: str, action_en: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError.of([FieldError("reason", Message(f"请填写{action_zh}原因（将记入许可历史并通知被许可机构）",
                                                               f"give the reason to {action_en} (kept in the licence history and sent to the licensee)"))])
    if len(text) > 2000:
        raise ValidationError.of([FieldError("reason", Message("原因不超过 2000 字", "the reason is at most 2000 characters"), text[:40] + "…")])
    return text


def _notify(s: Any, r: MarkLicenceRow, mark: C.Mark, zh: str, en: str) -> None:
    link = verify_path(licence_no=r.licence_no)
    AR.notify(s, r.org_id, f"“{mark.name}”使用许可 {r.licence_no}：{zh}", f"licence {r.licence_no} for '{mark.name}': {en}", link)


def verify_path(**params: str) -> str:
    return "/marks/verify?" + urlencode({k: v for k, v in params.items() if v})


def verify_url(licence_no: str) -> str:
    """The verification page of one licence at the site's public address (what its QR code opens)."""
    return public_url() + verify_path(licence_no=licence_no)


# -- the registry: issue, renew, suspend, reinstate, revoke ----------------------------------------

def issue(ex: Exchange, viewer: acc.Viewer, mark_ref: str, org_ref: str, licence_no: str, valid_from: dt.date | None,
          valid_until: dt.date | None, products: str, today: dt.date | None = None) -> LicenceView:
    no = C.normalise_licence_no(licence_no)
    errors = C.licence_problems(no, valid_from, valid_until, products.strip())
    with ex.db.transaction() as s:
        mark = _mark_or_error(s, mark_ref, errors)
        org_id = _org_or_error(s, org_ref, errors)
        if mark is not None:
            _require_manage(viewer, rr.mark_holder_org(s, int(mark.id or 0)))
        if errors:
            raise ValidationError.of(errors)
        if rr.licence_exists(s, no):
            raise Conflict(Message(f"许可编号 {no} 已存在；续期请用“续期”，新许可请换一个编号", f"licence {no} already exists; renew it, or give a new licence a new number"))
        assert mark is not None and org_id is not None and valid_from is not None and valid_until is not None
        rr.add_licence(s, int(mark.id or 0), org_id, no, valid_from, valid_until, products.strip())
        r = rr.licence_row(s, no)
        rr.add_licence_event(s, r, "issue", _actor(viewer))
        _notify(s, r, mark, f"已签发，有效期 {valid_from}–{valid_until}", f"issued, valid {valid_from} to {valid_until}")
        return _view(s, r, today or local_today())


def _mark_or_error(s: Any, ref: str, errors: list[FieldError]) -> C.Mark | None:
    try:
        return rr.find_mark(s, ref)
    except NotFound:
        errors.append(FieldError("mark", Message(f"认证标志 ‘{ref}’ 不存在，请填写标志编码（如 XZD-GI），见 /certifications",
                                                 f"mark '{ref}' does not exist; give the mark's code (e.g. XZD-GI), see /certifications"), ref))
        return None


def _org_or_error(s: Any, ref: str, errors: list[FieldError], row: int | None = None) -> int | None:
    try:
        return rr.resolve_org(s, ref).id if ref.strip() else None
    except NotFound:
        pass
    errors.append(FieldError("licensee", Message(f"被许可机构 ‘{ref}’ 不在平台上，请填写已注册机构的统一社会信用代码或全称",
                                                 f"licensee '{ref}' is not on the platform; give a registered organisation's credit code or full name"), ref, row))
    return None


def _change(ex: Exchange, viewer: acc.Viewer, licence_no: str, today: dt.date | None, apply: Any) -> LicenceView:
    with ex.db.transaction() as s:
        r = rr.licence_row(s, licence_no, for_update=True)
        _require_manage(viewer, rr.mark_holder_org(s, r.mark_id))
        mark = rr.find_licences(s, licence_no=r.licence_no, limit=1)[0][1]
        apply(s, r, mark)
        return _view(s, r, today or local_today())


def renew(ex: Exchange, viewer: acc.Viewer, licence_no: str, valid_until: dt.date | None, reason: str = "",
          products: str | None = None, today: dt.date | None = None) -> LicenceView:
    """A new end date (later than the current one); the product scope may change too. A revoked licence is not renewed."""
    def apply(s: Any, r: MarkLicenceRow, mark: C.Mark) -> None:
        if r.status == "revoked":
            raise Conflict(Message(f"许可 {r.licence_no} 已被撤销，不能续期；请签发新许可", f"licence {r.licence_no} is revoked and cannot be renewed; issue a new licence"))
        new_products = r.products if products is None or not products.strip() else products.strip()
        errors = C.licence_problems(r.licence_no, r.valid_until, valid_until, new_products)  # an extension runs at most MAX_YEARS
        if valid_until is not None and valid_until <= r.valid_until and not errors:
            errors.append(FieldError("valid_until", Message(f"续期后的‘截止日期’应晚于当前截止日期 {r.valid_until}",
                                                            f"the renewed valid_until must be after the current one, {r.valid_until}"), valid_until.isoformat()))
        if errors:
            raise ValidationError.of(errors)
        assert valid_until is not None
        r.valid_until, r.products = valid_until, new_products
        s.flush()
        rr.add_licence_event(s, r, "renew", _actor(viewer), (reason or "").strip())
        _notify(s, r, mark, f"已续期至 {valid_until}", f"renewed to {valid_until}")

    return _change(ex, viewer, licence_no, today, apply)


def suspend(ex: Exchange, viewer: acc.Viewer, licence_no: str, reason: str, today: dt.date | None = None) -> LicenceView:
    why = _reason(reason, "暂停", "suspend")

    def apply(s: Any, r: MarkLicenceRow, mark: C.Mark) -> None:
        if r.status != "active":
            raise Conflict(Message(f"许可 {r.licence_no} 当前为“{C.STATUSES[r.status][0]}”，不能暂停", f"licence {r.licence_no} is {r.status}; only an active one is suspended"))
        r.status, r.status_reason = "suspended", why
        s.flush()
        rr.add_licence_event(s, r, "suspend", _actor(viewer), why)
        _notify(s, r, mark, f"已暂停（{why}），暂停期间不得使用该标志", f"suspended ({why}); do not use the mark while it is")

    return _change(ex, viewer, licence_no, today, apply)


def reinstate(ex: Exchange, viewer: acc.Viewer, licence_no: str, reason: str, today: dt.date | None = None) -> LicenceView:
    why = _reason(reason, "恢复", "reinstate")

    def apply(s: Any, r: MarkLicenceRow, mark: C.Mark) -> None:
        if r.status != "suspended":
            raise Conflict(Message(f"许可 {r.licence_no} 未被暂停，无需恢复", f"licence {r.licence_no} is not suspended"))
        r.status, r.status_reason = "active", ""
        s.flush()
        rr.add_licence_event(s, r, "reinstate", _actor(viewer), why)
        _notify(s, r, mark, f"已恢复（{why}）", f"reinstated ({why})")

    return _change(ex, viewer, licence_no, today, apply)


def revoke(ex: Exchange, viewer: acc.Viewer, licence_no: str, reason: str, today: dt.date | None = None) -> LicenceView:
    why = _reason(reason, "撤销", "revoke")

    def apply(s: Any, r: MarkLicenceRow, mark: C.Mark) -> None:
        if r.status == "revoked":
            raise Conflict(Message(f"许可 {r.licence_no} 已被撤销", f"licence {r.licence_no} is already revoked"))
        r.status, r.status_reason, r.revoked = "revoked", why, True
        s.flush()
        rr.add_licence_event(s, r, "revoke", _actor(viewer), why)
        _notify(s, r, mark, f"已撤销（{why}），不得再使用该标志", f"revoked ({why}); the mark may no longer be used")

    return _change(ex, viewer, licence_no, today, apply)


# -- reading: history, lists, verification ---------------------------------------------------------

def history(ex: Exchange, viewer: acc.Viewer, licence_no: str, today: dt.date | None = None) -> tuple[LicenceView, list[LicenceEvent]]:
    with ex.db.transaction(write=False) as s:
        r = rr.licence_row(s, licence_no)
        _require_manage(viewer, rr.mark_holder_org(s, r.mark_id))
        events = [LicenceEvent(e.action, e.at, e.actor, e.reason, e.status, e.valid_from, e.valid_until, e.products)
                  for e in rr.licence_events(s, r.id)]
        return _view(s, r, today or local_today()), events


def manageable_marks(ex: Exchange, viewer: acc.Viewer) -> list[C.Mark]:
    """The marks whose licences the viewer manages (every mark for staff)."""
    with ex.db.transaction(write=False) as s:
        return [m for m, _ in rr.list_marks(s) if C.can_manage_mark(viewer, rr.mark_holder_org(s, int(m.id or 0)))]


def list_licences(ex: Exchange, viewer: acc.Viewer, mark_ref: str | None = None, status: str | None = None, q: str | None = None,
                  today: dt.date | None = None, limit: int = 500) -> list[LicenceView]:
    """The licences of the marks the viewer manages; `status` is the stored one (active, suspended, revoked)
    or a status on the day (expired, not_yet_valid); `q` a licence number or a part of the licensee's name."""
    day = today or local_today()
    if status and status not in C.STATUSES:
        raise ValidationError.of([FieldError("status", Message(f"状态应为 {' / '.join(k for k in C.STATUSES if k != 'not_found')}",
                                                               f"status is one of {', '.join(k for k in C.STATUSES if k != 'not_found')}"), status)])
    marks = manageable_marks(ex, viewer)
    if mark_ref:
        marks = [m for m in marks if m.code == mark_ref.strip().upper() or m.name == mark_ref.strip()]
        if not marks:
            raise acc.not_visible("认证标志", "mark", mark_ref)
    if not marks:
        _require_manage(viewer, None)
    out: list[LicenceView] = []
    with ex.db.transaction(write=False) as s:
        for m in marks:
            stored = status if status in C.STORED_STATUSES and status != "active" else None
            rows = rr.find_licences(s, mark_id=m.id, status=stored, limit=100_000)
            if q and q.strip():
                qq = q.strip()
                rows = [x for x in rows if x[0].licence_no == qq.upper() or qq in x[0].org_name]
            out.extend(LicenceView(lic, mark, day, cc) for lic, mark, cc in rows)
    if status:
        out = [v for v in out if v.status == status]
    return out[:limit]


def licence_page(ex: Exchange, viewer: acc.Viewer, mark_ref: str | None = None, status: str | None = None, q: str | None = None,
                 today: dt.date | None = None, page: int = 1, per_page: int = 50) -> tuple[list[LicenceView], int]:
    """One page of `list_licences` (the registry can hold thousands) and how many match in all."""
    every = list_licences(ex, viewer, mark_ref, status, q, today, limit=10_000_000)
    page = max(1, page)
    return every[(page - 1) * per_page:page * per_page], len(every)


def verify_public(ex: Exchange, licence_no: str | None = None, credit_code: str | None = None, name: str | None = None,
                  day: dt.date | None = None) -> list[LicenceView]:
    """What the public sees: every licence that matches (valid ones first, then newest end date). At least one
    of licence_no, credit_code, name (two characters or more) is needed."""
    day = day or local_today()
    no, cc, nm = (x.strip() if x else "" for x in (licence_no, credit_code, name))
    if not (no or cc or nm):
        raise ValidationError.of([FieldError("licence_no", Message("请填写许可编号、统一社会信用代码或机构名称之一",
                                                                   "give a licence number, a credit code or an organisation name"))])
    if nm and len(nm) < 2:
        raise ValidationError.of([FieldError("name", Message("机构名称至少填写 2 个字", "give at least 2 characters of the organisation's name"), nm)])
    with ex.db.transaction(write=False, replica=True) as s:
        rows = rr.find_licences(s, licence_no=no or None, credit_code=cc or None, name=nm or None, limit=50)
    views = [LicenceView(lic, mark, day, credit) for lic, mark, credit in rows]
    views.sort(key=lambda v: (not v.valid, -v.licence.valid_until.toordinal(), v.licence.licence_no))
    return views


def qr_code(ex: Exchange, licence_no: str, kind: str = "svg", scale: int = 6) -> bytes:
    """A QR code (SVG or PNG) that opens the licence's verification page. The licence must exist."""
    import segno

    if kind not in ("svg", "png"):
        raise ValidationError.of([FieldError("format", Message("格式应为 svg 或 png", "format is svg or png"), kind)])
    with ex.db.transaction(write=False) as s:
        no = rr.licence_row(s, licence_no).licence_no
    buf = io.BytesIO()
    segno.make(verify_url(no), error="m").save(buf, kind=kind, scale=max(1, min(scale, 40)), border=2)
    return buf.getvalue()


# -- bulk import, reminders, unlicensed claims ------------------------------------------------------

def import_licences(ex: Exchange, viewer: acc.Viewer, path: str) -> ImportReport:
    """The mark owner's XLSX, all or nothing: every row checked (fields, mark, licensee, permission, a number
    that belongs to another licensee or a revoked licence) before one row is written; errors name row, field and fix."""
    rows, errors = parse_licence_file(path)
    rep = ImportReport()
    with ex.db.transaction() as s:
        plan: list[tuple[LicenceInput, C.Mark, int, MarkLicenceRow | None]] = []
        marks: dict[str, C.Mark | None] = {}
        for x in rows:
            if x.mark not in marks:
                try:
                    marks[x.mark] = rr.find_mark(s, x.mark)
                except NotFound:
                    marks[x.mark] = None
            mark = marks[x.mark] if x.mark else None
            row_errors: list[FieldError] = []
            if mark is None and x.mark:
                row_errors.append(FieldError("mark", Message(f"认证标志 ‘{x.mark}’ 不存在，请填写标志编码（如 XZD-GI）",
                                                             f"mark '{x.mark}' does not exist; give the mark's code (e.g. XZD-GI)"), x.mark, x.row))
            elif mark is not None and not C.can_manage_mark(viewer, rr.mark_holder_org(s, int(mark.id or 0))):
                row_errors.append(FieldError("mark", Message(f"您无权管理“{mark.name}”的使用许可", f"you may not manage the licences of '{mark.name}'"),
                                             x.mark, x.row))
            org_id = _org_or_error(s, x.licensee, row_errors, x.row) if x.licensee else None
            existing = rr.licence_row_or_none(s, x.licence_no) if not row_errors and x.ok else None
            if existing is not None and mark is not None and org_id is not None:
                if existing.org_id != org_id or existing.mark_id != mark.id:
                    row_errors.append(FieldError("licence_no", Message(f"许可编号 {x.licence_no} 已属于另一被许可机构或标志，请更正编号",
                                                                       f"licence {x.licence_no} already belongs to another licensee or mark; correct the number"),
                                                 x.licence_no, x.row))
                elif existing.status == "revoked":
                    row_errors.append(FieldError("licence_no", Message(f"许可 {x.licence_no} 已被撤销，不能通过导入恢复；请签发新编号",
                                                                       f"licence {x.licence_no} is revoked and cannot be restored by import; issue a new number"),
                                                 x.licence_no, x.row))
            if row_errors or not x.ok:
                errors.extend(row_errors)
                continue
            assert mark is not None and org_id is not None
            plan.append((x, mark, org_id, existing))
        if errors:
            errors.sort(key=lambda e: (e.row or 0, e.field))
            raise ValidationError(Message(f"文件中有 {len(errors)} 处错误，未导入任何许可；请按提示逐行更正后重新上传",
                                          f"{len(errors)} problem(s) in the file; no licence was imported. Correct each row and upload again"), errors)
        actor = _actor(viewer)
        for x, mark, org_id, existing in plan:
            assert x.valid_from is not None and x.valid_until is not None
            if existing is None:
                rr.add_licence(s, int(mark.id or 0), org_id, x.licence_no, x.valid_from, x.valid_until, x.products)
                rep.created += 1
            else:
                existing.valid_from, existing.valid_until, existing.products = x.valid_from, x.valid_until, x.products
                s.flush()
                rep.updated += 1
            r = rr.licence_row(s, x.licence_no)
            rr.add_licence_event(s, r, "import", actor, f"第 {x.row} 行 / row {x.row}")
            rep.licence_nos.append(x.licence_no)
    return rep


def remind_expiring(ex: Exchange, today: dt.date | None = None, days: int = REMIND_DAYS) -> list[str]:
    """In-app reminders to each licensee (and the mark owner) whose licence ends within `days` days; once per end date
    (renewing moves the end date, and the next reminder comes before the new one). Returns the licence numbers reminded."""
    today = today or local_today()
    sent = []
    with ex.db.transaction() as s:
        for r, mark, org_name in rr.expiring_licences(s, today, today + dt.timedelta(days=days)):
            left = (r.valid_until - today).days
            _notify(s, r, mark, f"将于 {r.valid_until} 到期（剩 {left} 天），请及时向 {mark.holder} 申请续期",
                    f"ends on {r.valid_until} ({left} days left); apply to {mark.holder} for renewal in time")
            holder = rr.mark_holder_org(s, r.mark_id)
            if holder is not None and holder != r.org_id:
                AR.notify(s, holder, f"{org_name} 的“{mark.name}”使用许可 {r.licence_no} 将于 {r.valid_until} 到期",
                          f"{org_name}'s licence {r.licence_no} for '{mark.name}' ends on {r.valid_until}", f"/operator/marks?q={r.licence_no}")
            r.reminded_for = r.valid_until
            rr.add_licence_event(s, r, "remind", "system", f"{left} 天后到期 / ends in {left} days")
            sent.append(r.licence_no)
    return sent


@dataclass(frozen=True)
class UnlicensedClaim:
    listing: Listing
    mark_code: str
    licence_no: str
    reason: Message

    def as_dict(self) -> dict[str, Any]:
        x = self.listing
        return {"listing_id": x.id, "title": x.title, "owner": x.owner_name, "owner_id": x.owner_id, "mark": self.mark_code,
                "licence_no": self.licence_no or None, "reason_zh": self.reason.zh, "reason_en": self.reason.en}


def unlicensed_claims(ex: Exchange, viewer: acc.Viewer, day: dt.date | None = None) -> list[UnlicensedClaim]:
    """Published listings that claim a mark no licence backs on `day` (never licensed, a made-up or another firm's
    number, expired, suspended or revoked), for operators to follow up."""
    acc.require_staff(viewer)
    day = day or local_today()
    kinds = [sp.name for sp in ex.registry if ex.registry.has_check(sp.name, "licence")]
    out = []
    with ex.db.transaction(write=False) as s:
        rows = rr.mark_claim_listings(s, kinds)
        by_mark: dict[str, tuple[C.Mark | None, list[C.Licence]]] = {}
        owners = {r.owner_id for r in rows}
        for r in rows:
            code = str(r.attrs.get("mark_code") or "").strip().upper()
            if code not in by_mark:
                try:
                    m: C.Mark | None = rr.find_mark(s, code)
                except NotFound:
                    m = None
                by_mark[code] = (m, rr.licences(s, m, sorted(owners)) if m is not None else [])
            mark, lics = by_mark[code]
            no = str(r.attrs.get("licence_no") or "").strip()
            problems = C.claim_problems(code, mark, lics, r.owner_id, no or None, day, day)
            if problems:
                out.append(UnlicensedClaim(repo.listing_from_row(r, ex.registry, rr.org_row(s, r.owner_id)), code, no, problems[0][1]))
    return out
