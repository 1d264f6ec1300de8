"""Sending alerts: due items become e-mails (one per person: instant, or a daily/weekly digest),
e-mails and webhook calls are sent with retries, and `Sender.run_once` is one pass of all due
work (`tongxin alerts run`, and the web server's background worker).

Nothing doubled: an item joins exactly one mail (in the transaction that creates the mail; the
mail's key is its idempotency key and Message-ID). A mail is claimed (status "sending",
`locked_until`) in a committed transaction before it is sent and marked sent right after; a
sender killed between the two leaves the claim to run out, and the mail goes again under the
same Message-ID (the one-message window that SMTP cannot close; receiving systems collapse
equal Message-IDs). Nothing lost: items, mails and webhook calls are rows; a failure is retried
with backoff and, after MAX_ATTEMPTS, marked failed with its error (shown by the CLI)."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from ..core import access as acc
from ..core import alerts as A
from ..core.matching.relevance import BANDS
from ..storage import accounts_repo as R
from ..storage import alerts_repo as AR
from ..storage import repo
from ..storage.models_accounts import UserRow
from ..storage.models_alerts import AlertItemRow, MailRow, WebhookDeliveryRow, WebhookRow
from . import notices
from .accounts import viewer_of
from .alerts import Alerts, PassReport, secret_key
from .exchange import Exchange
from .mail import Mailer, Outgoing, RichMailer, as_rich

log = logging.getLogger(__name__)

MAIL_BATCH = 100
SCAN_EVERY = dt.timedelta(hours=1)  # reminders that come due with time are looked for this often
WEBHOOK_TIMEOUT = 10.0


def _band(key: str | None) -> Any:
    return next((b for b in BANDS if b.key == key), None)


# -- rendering -------------------------------------------------------------------------------------

def render(items: Sequence[A.Item], frequency: A.Frequency, base_url: str, unsubscribe_url: str, name: str = "") -> tuple[str, str, str]:
    """(subject, text, html) of one alert mail: Chinese first, English after, grouped by reason."""
    groups = A.group_items(items)
    subject = A.subject(items, frequency)
    prefs_url = base_url + "/my/alerts"
    hello = f"{name}，您好：" if name else "您好："
    n_en = "1 new listing on tongxin concerns" if len(items) == 1 else f"{len(items)} new listings on tongxin concern"
    lines = [hello, f"同心平台有 {len(items)} 条与您相关的新资源。/ {n_en} you.", ""]
    parts = [f"<p>{html.escape(hello)}<br>同心平台有 {len(items)} 条与您相关的新资源。<br>"
             f"<span style=\"color:#666\">{n_en} you.</span></p>"]
    for g in groups:
        lines.append(f"■ {g.zh} / {g.en}")
        parts.append(f"<h3>{html.escape(g.zh)} <small style=\"color:#666\">{html.escape(g.en)}</small></h3><ul>")
        for it in g.items:
            url = f"{base_url}/listings/{it.listing_id}"
            b = _band(it.band)
            tag = f"［{b.zh} / {b.en}］" if b else ""
            lines.append(f"  - {it.title}（{it.kind_zh} / {it.kind_en}）{tag}")
            lines.append(f"    {url}")
            if it.about:
                lines.append(f"    相关：{it.about} / about: {it.about}")
            parts.append(f"<li><a href=\"{html.escape(url)}\">{html.escape(it.title)}</a> "
                         f"<small>{html.escape(it.kind_zh)} / {html.escape(it.kind_en)} {html.escape(tag)}</small>"
                         + (f"<br><small style=\"color:#666\">相关 / about: {html.escape(it.about)}</small>" if it.about else "") + "</li>")
        lines.append("")
        parts.append("</ul>")
    lines += ["—", f"提醒设置 / Alert settings: {prefs_url}", f"退订全部提醒邮件 / Unsubscribe from all alert e-mails: {unsubscribe_url}"]
    parts.append(f"<hr><p style=\"color:#666;font-size:smaller\"><a href=\"{html.escape(prefs_url)}\">提醒设置 / Alert settings</a> · "
                 f"<a href=\"{html.escape(unsubscribe_url)}\">退订全部提醒邮件 / Unsubscribe</a></p>")
    doc = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>" + html.escape(subject) + "</title></head>"
           "<body style=\"font-family:sans-serif\">" + "".join(parts) + "</body></html>")
    return subject, "\n".join(lines) + "\n", doc


def render_notice(zh: str, en: str, link: str, base_url: str, unsubscribe_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of one notice (a reminder, an answer, a recommendation): Chinese first, English after."""
    first = zh.splitlines()[0] if zh else ""
    subject = f"【同心】{first[:80]} / tongxin: {(en.splitlines()[0] if en else '')[:80]}"
    url = base_url + link if link.startswith("/") else (link or base_url)
    prefs_url = base_url + "/my/alerts"
    text = (f"{zh}\n\n{en}\n\n{url}\n\n—\n提醒设置 / Alert settings: {prefs_url}\n"
            f"退订全部提醒邮件 / Unsubscribe from all alert e-mails: {unsubscribe_url}\n")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in zh.split("\n\n")) + "".join(
        f"<p style=\"color:#666\">{html.escape(p)}</p>" for p in en.split("\n\n"))
    doc = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>" + html.escape(subject) + "</title></head>"
           "<body style=\"font-family:sans-serif\">" + body + f"<p><a href=\"{html.escape(url)}\">{html.escape(url)}</a></p>"
           f"<hr><p style=\"color:#666;font-size:smaller\"><a href=\"{html.escape(prefs_url)}\">提醒设置 / Alert settings</a> · "
           f"<a href=\"{html.escape(unsubscribe_url)}\">退订全部提醒邮件 / Unsubscribe</a></p></body></html>")
    return subject[:300], text, doc


# -- webhooks --------------------------------------------------------------------------------------

def queue_webhooks(s: Any, rows: Sequence[dict[str, Any]], now: dt.datetime) -> int:
    """One webhook call per (webhook, listing) for the new items of the organisation's people."""
    by_org: dict[int, dict[int, dict[str, Any]]] = {}
    org_of = AR.orgs_of_users(s, sorted({r["user_id"] for r in rows}))
    for r in rows:
        if r["user_id"] in org_of:
            by_org.setdefault(org_of[r["user_id"]], {}).setdefault(r["listing_id"], r)
    hooks = AR.webhooks_of(s, sorted(by_org))
    if not hooks:
        return 0
    titles = AR.listing_titles(s, sorted({x for d in by_org.values() for x in d}))
    n = 0
    for h in hooks:
        for lid, r in by_org.get(h.org_id, {}).items():
            t = titles.get(lid)
            body = json.dumps({"event": "alert", "reason": r["reason"], "band": r["band"], "relevance": r["relevance"],
                               "listing": {"id": lid, "title": t.title if t else "", "kind": t.kind if t else "", "path": f"/listings/{lid}"},
                               "about_listing_id": r["about_listing_id"]}, ensure_ascii=False, sort_keys=True)
            n += AR.add_delivery(s, h.id, f"wh{h.id}-l{lid}", "alert", body, now)
    return n


def post_webhook(url: str, secret: str, key: str, event: str, body: str, now: dt.datetime) -> int:
    """POST the body; returns the HTTP status (raises on a network error)."""
    data = body.encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "tongxin-webhooks/1",
        "X-Tongxin-Event": event, "X-Tongxin-Delivery": key,
        "X-Tongxin-Signature": A.webhook_signature(secret, int(now.timestamp()), data)})
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:  # noqa: S310 - the owner's configured http(s) URL
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


class Sender:
    """One pass of due work: events → items, saved searches, items → mails, mails and webhooks out."""

    def __init__(self, ex: Exchange, mailer: Mailer | None = None, secret: str | None = None, public_url: str | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        from ..settings import public_url as configured_public_url

        self.ex = ex
        self.db = ex.db
        self.now = now or AR.now
        self.alerts = Alerts(ex, now=self.now)
        self.mailer: RichMailer = as_rich(mailer) if mailer is not None else _env_mailer()
        self.secret = secret or secret_key()
        self.public_url = (public_url or configured_public_url()).rstrip("/")
        self._lock = threading.Lock()
        self._scanned: dt.datetime | None = None
        self.alerts.handlers[notices.TOPIC_NOTICE] = self._notice_mails

    # -- one pass -------------------------------------------------------------------------------
    def run_once(self, send: bool = True) -> PassReport:
        """Every kind of due work once. Safe to run from several processes at a time (claims)."""
        report = PassReport()
        with self._lock:
            self.bookings_due(report)
            self.scan(report)
            self.alerts.process_events(report)
            self.alerts.evaluate_searches(report)
            self.compose(report)
            if send:
                self.send_mail(report)
                self.send_webhooks(report)
        return report

    # -- instrument bookings: no-shows and waitlist offers ---------------------------------------------
    def bookings_due(self, report: PassReport) -> None:
        """Approved bookings not checked in within the grace period become no-shows (slot released, offered
        to the waitlist); expired waitlist offers pass on (services.billing.Billing.run_due). Their notices
        are posted in that transaction, so this pass mails them."""
        from .billing import Billing

        try:
            due = Billing(self.ex).run_due(self.now())
            report.no_shows += len(due.no_shows)
            report.waitlist_offers += due.offers
        except Exception as exc:  # must not stop the sending
            log.exception("booking due work failed")
            report.errors.append(f"bookings: {exc}")

    # -- notices ----------------------------------------------------------------------------------
    def scan(self, report: PassReport, force: bool = False) -> None:
        """Reminders that come due with time (services.notices.scan), at most every SCAN_EVERY
        per process; each is posted once however many processes scan."""
        now = self.now()
        if not force and self._scanned is not None and self._scanned <= now < self._scanned + SCAN_EVERY:
            return
        try:
            with self.db.transaction() as s:
                report.notices += notices.scan(s, self.ex.registry, now.astimezone(A.CHINA).date(), now)
        except Exception as exc:  # the scan must not stop the sending
            log.exception("reminder scan failed")
            report.errors.append(f"reminder scan: {exc}")
        self._scanned = now

    def _notice_mails(self, s: Any, payload: Any) -> int:
        """A notice event → one mail to each active person of the organisation who takes alert e-mail
        (key: the notice's key and the person, so never two)."""
        org = int(payload.get("org_id") or 0)
        people = AR.members_of(s, [org]).get(org, [])
        if payload.get("user_id") is not None:  # a personal notice (a waitlist offer): that person only
            people = [(u, e) for u, e in people if u == int(payload["user_id"])]
        prefs = AR.prefs(s, [u for u, _ in people])
        n = 0
        for uid, email in people:
            key = f"n-{payload.get('key', '')}-u{uid}"[:100]
            if not prefs[uid].email or AR.mail_exists(s, key):
                continue
            unsub = self.unsubscribe_url(uid)
            subject, text, doc = render_notice(str(payload.get("zh", "")), str(payload.get("en", "")), str(payload.get("link", "")),
                                               self.public_url, unsub)
            AR.add_mail(s, key, uid, email, subject, text, doc, unsub, self.now())
            n += 1
        return n

    # -- items → mails ----------------------------------------------------------------------------
    def _items(self, s: Any, rows: Sequence[AlertItemRow], v: acc.Viewer) -> list[tuple[AlertItemRow, A.Item]]:
        """The rows still fit to send to this viewer, as message items (re-checked: a listing may
        have closed or changed visibility since it was found)."""
        found = repo.fetch_listings(s, sorted({r.listing_id for r in rows} | {r.about_listing_id for r in rows if r.about_listing_id}),
                                    self.ex.registry)
        out = []
        for r in rows:
            x = found.get(r.listing_id)
            if x is None or not A.may_alert(v, x):
                continue
            spec = self.ex.registry.get(x.kind)
            about = found.get(r.about_listing_id or 0)
            about_title = about.title if about is not None and acc.access(v, about) >= acc.Access.SUMMARY else ""
            out.append((r, A.Item(r.listing_id, x.title, spec.zh, spec.en, r.reason, r.band, about_title)))
        return out

    def compose(self, report: PassReport) -> None:
        """Due items → one mail per person (their instant items, or their digest). One transaction:
        the items are tied to the mail they go in, so none goes in two mails."""
        now = self.now()
        with self.db.transaction() as s:
            rows = AR.due_items(s, now)
            by_user: dict[int, list[AlertItemRow]] = {}
            for r in rows:
                by_user.setdefault(r.user_id, []).append(r)
            for uid, mine in by_user.items():
                ident = R.identity(s, uid)
                prefs = AR.prefs(s, [uid])[uid]
                if ident is None or not prefs.email:
                    for r in mine:
                        r.skipped = True
                    continue
                ok = self._items(s, mine, viewer_of(ident))
                kept = {id(r) for r, _ in ok}
                for r in mine:
                    if id(r) not in kept:
                        r.skipped = True
                if not ok:
                    continue
                freqs = {A.Frequency(r.frequency) for r, _ in ok}
                freq = A.Frequency.WEEKLY if A.Frequency.WEEKLY in freqs else A.Frequency.DAILY if A.Frequency.DAILY in freqs else A.Frequency.INSTANT
                unsub = self.unsubscribe_url(uid)
                subject, text, doc = render([it for _, it in ok], freq, self.public_url, unsub, ident.name)
                key = f"alerts-u{uid}-i{min(r.id for r, _ in ok)}"
                mail = AR.add_mail(s, key, uid, ident.email, subject, text, doc, unsub, now)
                for r, _ in ok:
                    r.mail_id = mail.id
                report.mails_composed += 1

    def unsubscribe_url(self, user_id: int, scope: str = "all") -> str:
        return f"{self.public_url}/alerts/unsubscribe?t={A.unsubscribe_token(self.secret, user_id, scope)}"

    # -- sending ----------------------------------------------------------------------------------
    def send_mail(self, report: PassReport, limit: int = MAIL_BATCH) -> None:
        with self.db.transaction() as s:
            claimed = [(m.id, m.key, m.to, m.subject, m.text, m.html, m.unsubscribe_url, m.attempts)
                       for m in AR.claim_mail(s, limit, self.now())]
        host = self.public_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "tongxin"
        for mid, key, to, subject, text, doc, unsub, attempts in claimed:
            try:
                self.mailer.deliver(Outgoing(to, subject, text, doc, f"<{key}@{host}>", unsub))
            except Exception as exc:
                retry = A.retry_at(attempts + 1, self.now())
                with self.db.transaction() as s:
                    AR.mark_mail(s, mid, False, f"{type(exc).__name__}: {exc}", retry)
                if retry is None:
                    report.mails_failed += 1
                    report.errors.append(f"mail {mid} to {to}: {exc}")
                else:
                    report.mails_retry += 1
                continue
            with self.db.transaction() as s:
                AR.mark_mail(s, mid, True)
            report.mails_sent += 1

    def send_webhooks(self, report: PassReport, limit: int = MAIL_BATCH) -> None:
        with self.db.transaction() as s:
            claimed = []
            for d in AR.claim_deliveries(s, limit, self.now()):
                h = s.get(WebhookRow, d.webhook_id)
                if h is not None:
                    claimed.append((d.id, d.key, d.event, d.body, d.attempts, h.url, h.secret))
        for did, key, event, body, attempts, url, secret in claimed:
            status: int | None = None
            err = ""
            try:
                status = post_webhook(url, secret, key, event, body, self.now())
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
            ok = status is not None and 200 <= status < 300
            retry = None if ok else A.retry_at(attempts + 1, self.now())
            with self.db.transaction() as s:
                AR.mark_delivery(s, did, ok, status, err or f"HTTP {status}", retry)
            if ok:
                report.webhooks_sent += 1
            elif retry is None:
                report.webhooks_failed += 1
                report.errors.append(f"webhook delivery {did} to {url}: {err or status}")

    # -- people ---------------------------------------------------------------------------------
    def preview(self, email: str) -> tuple[str, str, str] | None:
        """What the next message to this person would hold (every waiting item, due or not)."""
        from ..core.accounts import normalise_email

        with self.db.transaction(write=False) as s:
            u = R.user_by_email(s, normalise_email(email))
            if u is None:
                raise acc.not_visible("用户", "user", email)
            ident = R.identity(s, u.id)
            if ident is None:
                return None
            ok = self._items(s, AR.waiting_items(s, u.id), viewer_of(ident))
            if not ok:
                return None
            prefs = AR.prefs(s, [u.id])[u.id]
            return render([it for _, it in ok], prefs.frequency, self.public_url, self.unsubscribe_url(u.id), ident.name)

    def unsubscribe(self, token: str) -> tuple[int, str]:
        """Apply a signed one-click unsubscribe token; returns (user id, scope)."""
        from ..core.errors import Message, ValidationError

        got = A.read_unsubscribe(self.secret, token)
        if got is None:
            raise ValidationError(Message("退订链接无效或已损坏，请在“提醒设置”页面修改", "this unsubscribe link is not valid; change your settings on the alerts page"))
        uid, scope = got
        with self.db.transaction() as s:
            if s.get(UserRow, uid) is None:
                raise acc.not_visible("用户", "user", uid)
            if scope == "all":
                p = AR.prefs(s, [uid])[uid]
                AR.save_prefs(s, uid, A.Preferences(p.frequency, p.min_band, p.kinds, p.regions, email=False))
            else:
                from ..storage.models_alerts import SubscriptionRow

                row = s.get(SubscriptionRow, int(scope[4:]))
                if row is not None and row.user_id == uid:
                    row.frequency = A.Frequency.OFF.value
        return uid, scope

    def test_mail(self, address: str) -> None:
        """Send one test message now (not through the queue: it checks the SMTP settings)."""
        self.mailer.deliver(Outgoing(address, "【同心】测试邮件 / tongxin test message",
                                     "这是一封测试邮件：发信设置可用。\nThis is a test message: the mail settings work.\n",
                                     "<p>这是一封测试邮件：发信设置可用。<br>This is a test message: the mail settings work.</p>"))

    def status(self) -> dict[str, Any]:
        with self.db.transaction(write=False) as s:
            from sqlalchemy import func, select

            return {"events_pending": AR.pending_events(s),
                    "events_failed": [{"id": e.id, "attempts": e.attempts, "error": e.last_error} for e in AR.failed_events(s)],
                    "mail": AR.mail_counts(s),
                    "mail_failed": [{"id": m.id, "to": m.to, "attempts": m.attempts, "error": m.last_error}
                                    for m in s.scalars(select(MailRow).where(MailRow.status == "failed").order_by(MailRow.id.desc()).limit(20))],
                    "webhooks": {str(k): int(n) for k, n in s.execute(select(WebhookDeliveryRow.status, func.count()).group_by(WebhookDeliveryRow.status))}}


def _env_mailer() -> RichMailer:
    from .mail import mailer_from_env

    return mailer_from_env()


class Worker:
    """The web server's background sender: `run_once` every TONGXIN_ALERTS_INTERVAL seconds."""

    def __init__(self, sender: Sender, interval: float) -> None:
        self.sender = sender
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tongxin-alerts", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                r = self.sender.run_once()
                if r.errors:
                    log.warning("alerts: %s", "; ".join(r.errors))
            except Exception:
                log.exception("alerts pass failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
