"""Alerts on the web: /api/v1/subscriptions (CRUD), /api/v1/alerts/preferences, /api/v1/webhooks
(owner's webhooks, delivery log, send test), the preferences page /my/alerts and the signed
one-click unsubscribe /alerts/unsubscribe (RFC 8058: a POST from the mail client needs no
session; the signed token is the authority)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ...core import access as acc
from ...core import alerts as A
from ...core.errors import ValidationError
from ...core.matching.relevance import BANDS
from ...services.alert_sender import Sender
from ...services.alerts import Alerts, prefs_dict
from ...services.webhooks import Webhooks
from .. import schemas as S
from ..deps import Id, form, json_object, redirect, render, viewer

router = APIRouter()


def get_sender(request: Request) -> Sender:
    s: Sender = request.app.state.alert_sender
    return s


async def _sender_dep(request: Request) -> Sender:
    return get_sender(request)


async def _alerts_dep(request: Request) -> Alerts:
    return get_sender(request).alerts


async def _webhooks_dep(request: Request) -> Webhooks:
    return Webhooks(get_sender(request))


SenderDep = Annotated[Sender, Depends(_sender_dep)]
AlertsDep = Annotated[Alerts, Depends(_alerts_dep)]
WebhooksDep = Annotated[Webhooks, Depends(_webhooks_dep)]


# -- API -------------------------------------------------------------------------------------------

@router.get("/api/v1/subscriptions", tags=["api"], response_model=S.SubscriptionsOut, response_model_exclude_unset=True)
def list_subscriptions(request: Request, al: AlertsDep) -> Any:
    """我的保存搜索与关注 / my saved searches and follows."""
    return {"items": al.subscriptions(viewer(request))}


@router.post("/api/v1/subscriptions", tags=["api"], status_code=201, response_model=S.SubscriptionOut, response_model_exclude_unset=True)
async def create_subscription(request: Request, al: AlertsDep) -> Any:
    """保存搜索或关注：{"type": "search", "kind", "q", "filters", "frequency", "min_band"}，或 {"type": "follow_org|follow_industry|follow_region", "target"}"""
    return al.subscribe(viewer(request), await json_object(request))


@router.patch("/api/v1/subscriptions/{sub_id}", tags=["api"], response_model=S.SubscriptionOut, response_model_exclude_unset=True)
async def change_subscription(request: Request, sub_id: Id, al: AlertsDep) -> Any:
    return al.change(viewer(request), sub_id, await json_object(request))


@router.delete("/api/v1/subscriptions/{sub_id}", tags=["api"], status_code=204)
def delete_subscription(request: Request, sub_id: Id, al: AlertsDep) -> None:
    al.unsubscribe(viewer(request), sub_id)


@router.get("/api/v1/alerts/preferences", tags=["api"], response_model=S.PreferencesOut, response_model_exclude_unset=True)
def get_preferences(request: Request, al: AlertsDep) -> Any:
    """我的提醒设置（生效的值及其来源）/ my alert settings in effect and where they come from."""
    v = viewer(request)
    return prefs_dict(al.preferences(v), al.preferences_source(v))


@router.put("/api/v1/alerts/preferences", tags=["api"], response_model=S.PreferencesOut, response_model_exclude_unset=True)
async def put_preferences(request: Request, al: AlertsDep) -> Any:
    """{"frequency": "instant|daily|weekly|off", "min_band": "strong|possible|weak", "kinds": [...], "regions": ["12", ...], "email": true}
    个人设置优先于机构默认 / one's own settings override the organisation's defaults."""
    return prefs_dict(al.set_preferences(viewer(request), await json_object(request)), "own")


@router.delete("/api/v1/alerts/preferences", tags=["api"], response_model=S.PreferencesOut, response_model_exclude_unset=True)
def reset_preferences(request: Request, al: AlertsDep) -> Any:
    """删除个人设置，改用机构默认 / drop my own settings and take the organisation's defaults again."""
    v = viewer(request)
    return prefs_dict(al.reset_preferences(v), al.preferences_source(v))


@router.get("/api/v1/alerts/org-preferences", tags=["api"], response_model=S.OrgPreferencesOut, response_model_exclude_unset=True)
def get_org_preferences(request: Request, al: AlertsDep) -> Any:
    """本机构的默认提醒设置 / my organisation's default alert settings."""
    return al.org_preferences(viewer(request))


@router.put("/api/v1/alerts/org-preferences", tags=["api"], response_model=S.OrgPreferencesOut, response_model_exclude_unset=True)
async def put_org_preferences(request: Request, al: AlertsDep) -> Any:
    """机构管理员设置默认值 / an organisation administrator sets the defaults:
    {"frequency": "instant|daily|weekly|off", "min_band": "strong|possible|weak", "kinds": [...], "regions": ["12", ...]}"""
    return al.set_org_preferences(viewer(request), await json_object(request))


@router.delete("/api/v1/alerts/org-preferences", tags=["api"], response_model=S.OrgPreferencesOut, response_model_exclude_unset=True)
def reset_org_preferences(request: Request, al: AlertsDep) -> Any:
    """删除机构默认值（成员改用平台默认）/ drop the organisation's defaults (its people take the platform's)."""
    return al.reset_org_preferences(viewer(request))


@router.get("/api/v1/webhooks", tags=["api"], response_model=S.WebhooksOut, response_model_exclude_unset=True)
def list_webhooks(request: Request, wh: WebhooksDep) -> Any:
    return {"items": wh.hooks(viewer(request))}


@router.post("/api/v1/webhooks", tags=["api"], status_code=201, response_model=S.WebhookOut, response_model_exclude_unset=True)
async def create_webhook(request: Request, wh: WebhooksDep) -> Any:
    """{"url": "https://…"}; the answer holds the signing secret, shown this once."""
    body = await json_object(request)
    return wh.create(viewer(request), str(body.get("url") or ""))


@router.delete("/api/v1/webhooks/{hook_id}", tags=["api"], status_code=204)
def delete_webhook(request: Request, hook_id: Id, wh: WebhooksDep) -> None:
    wh.delete(viewer(request), hook_id)


@router.get("/api/v1/webhooks/{hook_id}/deliveries", tags=["api"], response_model=S.DeliveriesOut, response_model_exclude_unset=True)
def webhook_deliveries(request: Request, hook_id: Id, wh: WebhooksDep) -> Any:
    return {"items": wh.deliveries(viewer(request), hook_id)}


@router.post("/api/v1/webhooks/{hook_id}/test", tags=["api"], response_model=S.DeliveryOut, response_model_exclude_unset=True)
def webhook_test(request: Request, hook_id: Id, wh: WebhooksDep) -> Any:
    """立即发送一次测试调用并返回结果 / send a test call now and answer its outcome."""
    return wh.send_test(viewer(request), hook_id)


# -- pages -----------------------------------------------------------------------------------------

def _page(request: Request, al: Alerts, **extra: Any) -> Any:
    v = viewer(request)
    in_org = v.org_id is not None and v.role in acc.ORG_ROLES
    return render(request, "my_alerts.html", prefs=al.preferences(v), source=al.preferences_source(v), subs=al.subscriptions(v), bands=BANDS,
                  frequencies=A.FREQUENCY_LABELS, subtypes=A.SUBTYPE_LABELS, kinds=[al.ex.registry.get(k) for k in al.ex.registry.names()],
                  org_prefs=al.org_preferences(v) if in_org else None, org_admin=in_org and acc.can_manage_org(v, int(v.org_id or 0)),
                  **extra)


def _prefs_form(data: Any) -> dict[str, Any]:
    return {"frequency": data.get("frequency", ""), "min_band": data.get("min_band", ""), "kinds": data.get("kinds") or [],
            "regions": data.get("regions", "")}


@router.get("/my/alerts", response_class=HTMLResponse)
def my_alerts(request: Request, al: AlertsDep) -> Any:
    acc.require_signed_in(viewer(request))
    return _page(request, al, saved=request.query_params.get("saved"))


@router.post("/my/alerts", response_class=HTMLResponse)
async def save_alerts(request: Request, al: AlertsDep) -> Any:
    data = await form(request)
    v = viewer(request)
    raw = _prefs_form(data) | {"email": data.get("email") == "1"}
    try:
        al.set_preferences(v, raw)
    except ValidationError as e:
        return _page(request, al, errors={fe.field: fe.message for fe in e.errors})
    return redirect("/my/alerts?saved=1")


@router.post("/my/alerts/reset", response_class=HTMLResponse)
async def reset_alerts(request: Request, al: AlertsDep) -> Any:
    """Drop one's own settings: take the organisation's defaults again."""
    await form(request)
    al.reset_preferences(viewer(request))
    return redirect("/my/alerts?saved=1")


@router.post("/my/alerts/org", response_class=HTMLResponse)
async def save_org_alerts(request: Request, al: AlertsDep) -> Any:
    """The organisation's defaults (its administrators only)."""
    data = await form(request)
    v = viewer(request)
    try:
        if data.get("reset") == "1":
            al.reset_org_preferences(v)
        else:
            al.set_org_preferences(v, _prefs_form(data))
    except ValidationError as e:
        return _page(request, al, org_errors={fe.field: fe.message for fe in e.errors})
    return redirect("/my/alerts?saved=1#org")


@router.post("/my/alerts/subscriptions", response_class=HTMLResponse)
async def add_subscription(request: Request, al: AlertsDep) -> Any:
    """Save the search on the search page (q, kind and its filters), or a follow."""
    data = await form(request)
    v = viewer(request)
    keep = {"type", "kind", "q", "frequency", "min_band", "target", "csrf"}
    raw: dict[str, Any] = {k: data[k] for k in ("type", "kind", "q", "frequency", "min_band", "target") if data.get(k)}
    raw["filters"] = {k: val for k, val in data.items() if k not in keep and val not in ("", [])}
    try:
        al.subscribe(v, raw)
    except ValidationError as e:
        return _page(request, al, errors={fe.field: fe.message for fe in e.errors})
    return redirect("/my/alerts?saved=1")


@router.post("/my/alerts/subscriptions/{sub_id}/delete", response_class=HTMLResponse)
async def remove_subscription(request: Request, sub_id: Id, al: AlertsDep) -> Any:
    await form(request)
    al.unsubscribe(viewer(request), sub_id)
    return redirect("/my/alerts")


@router.get("/alerts/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, t: Annotated[str, Query(max_length=200)] = "") -> Any:
    """A page with one button (a GET never unsubscribes: link scanners follow links)."""
    return render(request, "unsubscribe.html", token=t, done=False)


@router.post("/alerts/unsubscribe", response_class=HTMLResponse)
def unsubscribe(request: Request, sender: SenderDep, t: Annotated[str, Query(max_length=200)] = "") -> Any:
    """One-click unsubscribe (RFC 8058 List-Unsubscribe-Post, or the page's button)."""
    sender.unsubscribe(t)
    return render(request, "unsubscribe.html", token="", done=True)
