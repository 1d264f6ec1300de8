"""Account pages: sign up, sign in (rate-limited), sign out, password reset, API tokens, invitations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...core import access as acc
from ...core.accounts import TOKEN_LIFETIMES, RateLimited, Unauthorized
from ...core.errors import Message, ValidationError
from ...services.accounts import SESSION_COOKIE
from ..auth import clear_session_cookie, set_session_cookie
from ..deps import AccountsDep, Id, form, get_accounts, redirect, render, safe_next, viewer

router = APIRouter()


def _errors(e: ValidationError) -> dict[str, Any]:
    return {fe.field: fe.message for fe in e.errors}


def _start_session(request: Request, user_id: int, nxt: str) -> Any:
    accounts = get_accounts(request)
    token = accounts.create_session(user_id)
    resp = redirect(safe_next(nxt))
    set_session_cookie(resp, token, int(accounts.policy.session_ttl.total_seconds()))
    request.state.session_set = True
    return resp


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, next: str = "/my/org") -> Any:
    return render(request, "signup.html", values={}, errors={}, next=next)


@router.post("/signup", response_class=HTMLResponse)
async def signup(request: Request, accounts: AccountsDep) -> Any:
    """The same answer whether or not the e-mail was registered before (the mailbox is told which)."""
    data = await form(request)
    email = str(data.get("email", ""))
    try:
        accounts.register(email, str(data.get("password", "")), str(data.get("name", "")), _ip(request))
    except ValidationError as e:
        data.pop("password", None)
        return render(request, "signup.html", status=422, values=data, errors=_errors(e), next=data.get("next", "/"))
    except RateLimited as e:
        return _limited(render(request, "signup.html", status=429, values={}, errors={"email": e.message}, next=data.get("next", "/")), e)
    notice = Message("如该邮箱尚未注册，账号已创建，请登录；我们已向该邮箱发送邮件说明",
                     "unless this e-mail was registered before, your account is ready: sign in; we sent that mailbox an e-mail")
    return render(request, "login.html", values={"email": email.strip().lower()}, error=None, notice=notice, next=str(data.get("next") or "/my/org"))


def _ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _limited(resp: Any, e: RateLimited) -> Any:
    if e.retry_after:
        resp.headers["Retry-After"] = str(e.retry_after)
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Any:
    return render(request, "login.html", values={}, error=None, next=next)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, accounts_svc: AccountsDep) -> Any:
    data = await form(request)
    try:
        uid = accounts_svc.authenticate(str(data.get("email", "")), str(data.get("password", "")), _ip(request))
    except (Unauthorized, RateLimited) as e:
        resp = render(request, "login.html", status=e.status, values={"email": data.get("email", "")}, error=e.message, next=data.get("next", "/"))
        return _limited(resp, e) if isinstance(e, RateLimited) else resp
    return _start_session(request, uid, str(data.get("next") or "/"))


@router.post("/logout")
async def logout(request: Request, accounts_svc: AccountsDep) -> Any:
    await form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts_svc.end_session(token)
    resp = redirect("/")
    clear_session_cookie(resp)
    return resp


@router.get("/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Any:
    return render(request, "forgot.html", sent=False)


@router.post("/forgot", response_class=HTMLResponse)
async def forgot(request: Request, accounts_svc: AccountsDep) -> Any:
    data = await form(request)
    accounts_svc.request_reset(str(data.get("email", "")))
    return render(request, "forgot.html", sent=True)


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_form(request: Request, accounts_svc: AccountsDep, token: str) -> Any:
    ok = accounts_svc.reset_token_valid(token)
    return render(request, "reset.html", status=200 if ok else 400, token=token, valid=ok, errors={})


@router.post("/reset/{token}", response_class=HTMLResponse)
async def reset(request: Request, accounts_svc: AccountsDep, token: str) -> Any:
    data = await form(request)
    try:
        uid = accounts_svc.reset_password(token, str(data.get("password", "")))
    except ValidationError as e:
        return render(request, "reset.html", status=422, token=token, valid=True, errors=_errors(e))
    except Unauthorized:
        return render(request, "reset.html", status=400, token=token, valid=False, errors={})
    return _start_session(request, uid, "/")


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, changed: int = 0) -> Any:
    v = viewer(request)
    acc.require_signed_in(v)
    return _account_page(request, changed=bool(changed))


def _account_page(request: Request, status: int = 200, **ctx: Any) -> Any:
    tokens = get_accounts(request).tokens(viewer(request))
    base: dict[str, Any] = {"tokens": tokens, "new_token": None, "errors": {}, "lifetimes": TOKEN_LIFETIMES, "changed": False}
    return render(request, "account.html", status=status, **(base | ctx))


@router.post("/account/tokens", response_class=HTMLResponse)
async def create_token(request: Request, accounts_svc: AccountsDep) -> Any:
    data = await form(request)
    v = viewer(request)
    try:
        _, token = accounts_svc.create_token(v, str(data.get("name", "")), data.get("expires_in_days") or None)
    except ValidationError as e:
        return _account_page(request, 422, errors=_errors(e))
    return _account_page(request, new_token=token)  # Cache-Control: no-store (the security headers)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(request: Request, accounts_svc: AccountsDep) -> Any:
    data = await form(request)
    v = viewer(request)
    try:
        accounts_svc.change_password(v, str(data.get("current_password", "")), str(data.get("new_password", "")),
                                                     keep_session=request.cookies.get(SESSION_COOKIE))
    except ValidationError as e:
        return _account_page(request, 422, errors=_errors(e))
    return redirect("/account?changed=1")


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(request: Request, accounts_svc: AccountsDep, token_id: Id) -> Any:
    await form(request)
    accounts_svc.revoke_token(viewer(request), token_id)
    return redirect("/account")


@router.get("/invitations/{token}", response_class=HTMLResponse)
def invitation(request: Request, token: str) -> Any:
    return render(request, "invitation.html", token=token)


@router.post("/invitations/{token}")
async def accept_invitation(request: Request, accounts_svc: AccountsDep, token: str) -> Any:
    await form(request)
    accounts_svc.accept_invitation(viewer(request), token)
    return redirect("/my/org")
