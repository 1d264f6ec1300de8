"""Shared web dependencies: the services, the viewer, the language, CSRF and page rendering.

Every router uses these; access decisions stay in `tongxin.core.access`. The viewer is set on
`request.state` by the auth middleware (web/auth.py) from the session cookie or a bearer token.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ..core import access as acc
from ..core import industries, regions
from ..core.accounts import CsrfFailed
from ..core.errors import FieldError, Message, ValidationError
from ..core.fields import display_value
from ..services import Exchange
from ..services.accounts import Accounts
from ..services.contacts import Contacts
from ..services.contracts import Contracts
from ..services.deals import Deals
from ..services.listings import Listings
from ..services.stats import Statistics

HERE = os.path.dirname(os.path.abspath(__file__))
templates = Jinja2Templates(directory=os.path.join(HERE, "templates"))
templates.env.filters["dict_merge"] = lambda d, other: {**{k: v for k, v in d.items() if k != "cursor"}, **other}


def one_language(text: str, lang: str) -> str:
    """The half of a bilingual label ("合同数 contracts", "成交额（万元）amount") in the page's language."""
    cut = max((i for i, ch in enumerate(text) if not ch.isascii()), default=-1) + 1
    zh, en = text[:cut].strip(), text[cut:].strip()
    if not zh or not en:
        return text
    return en if lang == "en" else zh


templates.env.filters["one_language"] = one_language

# the Chinese and English names of the form fields errors point at (an error page names the field,
# never its key); a key not listed is left out: every message names its field in words
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "note": ("说明", "note"), "reason": ("原因", "reason"), "message": ("留言", "message"), "email": ("邮箱", "e-mail"),
    "name": ("名称", "name"), "title": ("名称", "title"), "description": ("简介", "description"), "role": ("角色", "role"),
    "contact_name": ("联系人", "contact person"), "contact_phone": ("联系电话", "phone"), "credit_code": ("统一社会信用代码", "credit code"),
    "org_id": ("机构编号", "organisation number"), "org": ("机构", "organisation"), "user": ("用户", "user"),
    "start": ("开始时间", "start"), "end": ("结束时间", "end"), "date": ("日期", "date"), "samples": ("样品数", "samples"),
    "purpose": ("用途", "purpose"), "voucher": ("创新券编号", "voucher code"), "voucher_amount": ("创新券抵扣金额", "voucher amount"),
    "amount": ("金额", "amount"), "amount_wan": ("金额（万元）", "amount (10,000 yuan)"), "max_share": ("最高抵扣比例", "maximum share"),
    "valid_from": ("有效期起", "valid from"), "valid_until": ("有效期止", "valid until"), "province": ("地区", "region"),
    "code": ("编号", "code"), "mark": ("认证标志", "mark"), "licensee": ("被许可机构", "licensee"), "licence_no": ("许可编号", "licence number"),
    "products": ("许可产品范围", "products"), "stage": ("洽谈阶段", "stage"), "status": ("状态", "status"), "contract_no": ("合同编号", "contract number"),
    "registration_no": ("登记编号", "registration number"), "listings": ("关联资源", "linked listings"), "deal_id": ("洽谈编号", "deal number"),
    "period": ("统计期", "period"), "format": ("格式", "format"), "file": ("文件", "file"), "kind": ("资源类型", "kind"),
    "current_password": ("当前密码", "current password"), "new_password": ("新密码", "new password"), "nda_accepted": ("保密承诺", "NDA"),
    "cost_centre": ("成本中心", "cost centre"), "project_code": ("项目编号", "project code"), "month": ("月份", "month"),
    "reference": ("结算凭证号", "settlement reference"), "at": ("时间", "time"),
    "eligibility": ("资格条件", "eligibility rules"), "group": ("分组", "group"), "url": ("网址", "URL"), "body": ("请求内容", "request body"),
}


def field_label(key: str, lang: str) -> str:
    """A field's name in the page's language ('' for a key without one)."""
    zh, en = FIELD_LABELS.get(key, ("", ""))
    return en if lang == "en" else zh


templates.env.globals["field_label"] = field_label

def search_modes(registry: Any) -> dict[str, tuple[str, str, str]]:
    """The search box's modes: (kind searched, zh label, en label), from the kinds' roles."""
    return {
        "need": (registry.kind_with("headline_offer"), "我有需求", "I have a need"),
        "tech": (registry.kind_with("headline_need"), "我有技术", "I have a technology"),
    }

MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist, so they are refused (422) before any query
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="id (1 … 2^63−1)")]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
CSRF_COOKIE = "tx_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return "en" if lang == "en" else "zh"


# -- the services create_app builds, one typed accessor each --------------------------------------
# A route declares the ones it uses as parameters (`listings_svc: ListingsDep`); other helpers call
# the accessor with the request.

def exchange(request: Request) -> Exchange:
    ex: Exchange = request.app.state.exchange
    return ex


def get_accounts(request: Request) -> Accounts:
    svc: Accounts = request.app.state.accounts
    return svc


def get_listings(request: Request) -> Listings:
    svc: Listings = request.app.state.listings
    return svc


def get_contacts(request: Request) -> Contacts:
    svc: Contacts = request.app.state.contacts
    return svc


def get_deals(request: Request) -> Deals:
    svc: Deals = request.app.state.deals
    return svc


def get_contracts(request: Request) -> Contracts:
    svc: Contracts = request.app.state.contracts
    return svc


def get_statistics(request: Request) -> Statistics:
    svc: Statistics = request.app.state.statistics
    return svc


# FastAPI calls a plain-def dependency in its thread pool; these only read app.state, so they are
# coroutines: resolved on the event loop, no thread hop per request.
async def _exchange_dep(request: Request) -> Exchange:
    return exchange(request)


async def _accounts_dep(request: Request) -> Accounts:
    return get_accounts(request)


async def _listings_dep(request: Request) -> Listings:
    return get_listings(request)


async def _contacts_dep(request: Request) -> Contacts:
    return get_contacts(request)


async def _deals_dep(request: Request) -> Deals:
    return get_deals(request)


async def _contracts_dep(request: Request) -> Contracts:
    return get_contracts(request)


async def _statistics_dep(request: Request) -> Statistics:
    return get_statistics(request)


ExchangeDep = Annotated[Exchange, Depends(_exchange_dep)]
AccountsDep = Annotated[Accounts, Depends(_accounts_dep)]
ListingsDep = Annotated[Listings, Depends(_listings_dep)]
ContactsDep = Annotated[Contacts, Depends(_contacts_dep)]
DealsDep = Annotated[Deals, Depends(_deals_dep)]
ContractsDep = Annotated[Contracts, Depends(_contracts_dep)]
StatisticsDep = Annotated[Statistics, Depends(_statistics_dep)]


def viewer(request: Request) -> acc.Viewer:
    """Who is asking (set by the auth middleware from the session cookie or bearer token)."""
    return getattr(request.state, "viewer", None) or acc.VISITOR


def me(request: Request) -> Any:
    return getattr(request.state, "me", None)


def csrf_token(request: Request) -> str:
    return str(getattr(request.state, "csrf", "") or request.cookies.get(CSRF_COOKIE, ""))


async def form(request: Request) -> dict[str, Any]:
    """The posted form, after checking its CSRF token (every page form carries one).

    Repeated keys (checkboxes) become lists."""
    data = await request.form()
    sent = str(data.get(CSRF_FIELD) or "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not sent or sent != cookie:
        raise CsrfFailed(Message("表单已过期或来源不明，请刷新页面后重试", "the form expired or did not come from this site; reload the page and try again"))
    out: dict[str, Any] = {}
    for k in data:
        vals = [v for v in data.getlist(k) if isinstance(v, str)]
        out[k] = vals if len(vals) > 1 else (vals[0] if vals else "")
    return out


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a typed 422 naming what is wrong with it."""
    raw = await request.body()
    problem: Message | None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
        problem = Message("请求体应为 UTF-8 编码的 JSON 对象，例如 {\"stage\": \"negotiating\"}", "the body must be a UTF-8 JSON object, e.g. {\"stage\": \"negotiating\"}")
    else:
        problem = None if isinstance(data, dict) else Message("请求体应为 JSON 对象（{…}），不是数组或单个值", "the body must be a JSON object ({…}), not an array or a single value")
    if problem is not None or not isinstance(data, dict):
        raise ValidationError.of([FieldError("body", problem or Message("", ""))])
    return data


XLSX_UPLOAD_MAX = 10 * 1024 * 1024


async def xlsx_upload(upload: Any, limit: int = XLSX_UPLOAD_MAX) -> bytes:
    """The bytes of an uploaded .xlsx form file, or a ValidationError on `file` that says what to do
    (nothing chosen, another file type, larger than `limit`)."""
    from starlette.datastructures import UploadFile  # what the form parser gives (fastapi's is a subclass)

    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationError.of([FieldError("file", Message("请选择要上传的 Excel 文件（.xlsx）", "choose the Excel file (.xlsx) to upload"))])
    ext = os.path.splitext(os.path.basename(upload.filename))[1].lower()
    if ext != ".xlsx":
        raise ValidationError.of([FieldError("file", Message(f"不支持的文件类型 ‘{ext or upload.filename}’，请上传 .xlsx 文件",
                                                             f"unsupported file type '{ext or upload.filename}'; upload an .xlsx file"), upload.filename)])
    body = await upload.read(limit + 1)
    if len(body) > limit:
        mb = limit // (1024 * 1024)
        raise ValidationError.of([FieldError("file", Message(f"文件超过 {mb} MB，请拆分后分批上传", f"the file is larger than {mb} MB; split it"))])
    return body


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status)


def login_url(request: Request) -> str:
    nxt = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return "/login?next=" + quote(nxt)


def safe_next(nxt: str | None) -> str:
    """Only same-site paths (no open redirects; browsers drop tabs and newlines, so `/\t/x` is `//x`)."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in nxt):
        return "/"
    return nxt


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    ex = exchange(request)
    t = lambda zh, en: en if lang == "en" else zh  # noqa: E731
    base = {"lang": lang, "t": t, "regions": regions, "industries": industries, "registry": ex.registry,
            "display_value": display_value, "modes": search_modes(ex.registry), "path": request.url.path, "viewer": viewer(request),
            "me": me(request), "csrf": csrf_token(request), "Access": acc.Access}
    resp = templates.TemplateResponse(request, name, base | ctx, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        resp.set_cookie("lang", lang, httponly=True, samesite="lax")
    return resp
