"""Webhooks per organisation: its administrators add a URL, receive alerts for the
organisation's people and the platform's curated recommendations to it (services.recommendations) as signed JSON (X-Tongxin-Signature: t=…,v1=HMAC-SHA256 of "t." + body),
read the delivery log and send a test call. Calls are queued and retried by the alert sender."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..core import access as acc
from ..core.errors import FieldError, Message, ValidationError
from ..storage import alerts_repo as AR
from ..storage.models_alerts import WebhookDeliveryRow, WebhookRow

if TYPE_CHECKING:
    from .alert_sender import Sender

MAX_HOOKS = 5


def hook_dict(h: WebhookRow, secret: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"id": h.id, "url": h.url, "active": h.active}
    if secret:
        d["secret"] = h.secret
    return d


def delivery_dict(d: WebhookDeliveryRow) -> dict[str, Any]:
    return {"id": d.id, "event": d.event, "status": d.status, "attempts": d.attempts, "response_status": d.response_status,
            "last_error": d.last_error, "created_at": AR.aware(d.created_at).isoformat(),
            "sent_at": AR.aware(d.sent_at).isoformat() if d.sent_at else None}


class Webhooks:
    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.db = sender.db

    def _org(self, viewer: acc.Viewer) -> int:
        org_id = acc.require_org(viewer)
        acc.require_manage_org(viewer, org_id)
        return org_id

    def _own(self, s: Any, viewer: acc.Viewer, hook_id: int) -> WebhookRow:
        org_id = self._org(viewer)
        h = s.get(WebhookRow, hook_id)
        if h is None or h.org_id != org_id:
            raise acc.not_visible("Webhook", "webhook", hook_id)
        return h

    def hooks(self, viewer: acc.Viewer) -> list[dict[str, Any]]:
        org_id = self._org(viewer)
        with self.db.transaction(write=False) as s:
            return [hook_dict(h) for h in AR.webhooks_of(s, [org_id], active_only=False)]

    def create(self, viewer: acc.Viewer, url: str) -> dict[str, Any]:
        org_id = self._org(viewer)
        u = urlparse(url.strip())
        if u.scheme not in ("http", "https") or not u.netloc or len(url) > 500:
            raise ValidationError.of([FieldError("url", Message("请填写以 https:// 或 http:// 开头的完整地址", "give a full address starting with https:// or http://"))])
        with self.db.transaction() as s:
            if len(AR.webhooks_of(s, [org_id], active_only=False)) >= MAX_HOOKS:
                raise ValidationError.of([FieldError("url", Message(f"每个机构最多 {MAX_HOOKS} 个 Webhook，请先删除不用的",
                                                                    f"at most {MAX_HOOKS} webhooks per organisation; delete one first"))])
            h = WebhookRow(org_id=org_id, url=url.strip(), secret="whsec_" + secrets.token_urlsafe(24), active=True)
            s.add(h)
            s.flush()
            return hook_dict(h, secret=True)

    def delete(self, viewer: acc.Viewer, hook_id: int) -> None:
        with self.db.transaction() as s:
            s.delete(self._own(s, viewer, hook_id))

    def deliveries(self, viewer: acc.Viewer, hook_id: int) -> list[dict[str, Any]]:
        with self.db.transaction(write=False) as s:
            self._own(s, viewer, hook_id)
            return [delivery_dict(d) for d in AR.deliveries(s, hook_id)]

    def send_test(self, viewer: acc.Viewer, hook_id: int) -> dict[str, Any]:
        """Queue a test call and send the due calls now; answers the test call's log entry."""
        from .alerts import PassReport

        key = f"wh{hook_id}-test-{secrets.token_hex(6)}"
        with self.db.transaction() as s:
            self._own(s, viewer, hook_id)
            AR.add_delivery(s, hook_id, key, "test", json.dumps({"event": "test", "message": "同心 Webhook 测试 / tongxin webhook test"},
                                                                 ensure_ascii=False), self.sender.now())
        self.sender.send_webhooks(PassReport())
        with self.db.transaction(write=False) as s:
            from sqlalchemy import select

            d = s.scalar(select(WebhookDeliveryRow).where(WebhookDeliveryRow.key == key))
            return delivery_dict(d) if d is not None else {}
