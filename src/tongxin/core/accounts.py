"""Pure account rules: e-mail and password policy, rate limits, token lifetimes, contact-request
vocabularies. No web, SQL or crypto-library imports here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import ErrorCollector, Message, TongxinError
from .fields import Choice


class Unauthorized(TongxinError):
    code = "unauthorized"
    status = 401


class RateLimited(TongxinError):
    code = "rate_limited"
    status = 429


class CsrfFailed(TongxinError):
    code = "csrf_failed"
    status = 403


EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
MIN_PASSWORD = 8


def normalise_email(raw: object) -> str:
    return str(raw or "").strip().lower()


def check_signup(email: str, password: str, name: str) -> None:
    """All problems with a sign-up at once."""
    ec = ErrorCollector()
    check_email(ec, email)
    check_password(ec, password)
    if not name.strip():
        ec.add("name", "姓名为必填项", "name is required")
    elif len(name) > 100:
        ec.add("name", "姓名最多 100 字", "name is at most 100 characters", name)
    ec.raise_if_any()


def check_email(ec: ErrorCollector, email: str, key: str = "email") -> None:
    if not email:
        ec.add(key, "电子邮箱为必填项", "e-mail is required")
    elif len(email) > 200 or not EMAIL_RE.match(email):
        ec.add(key, f"‘{email}’ 不是有效的电子邮箱地址，例如 name@example.cn", f"'{email}' is not a valid e-mail address, e.g. name@example.cn", email)


def check_password(ec: ErrorCollector, password: str, key: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        ec.add(key, f"密码至少 {MIN_PASSWORD} 位，实际 {len(password)} 位", f"password needs at least {MIN_PASSWORD} characters, got {len(password)}")
    elif not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        ec.add(key, "密码需同时包含字母和数字", "password needs both letters and digits")
    elif len(password) > 200:
        ec.add(key, "密码最多 200 位", "password is at most 200 characters")


@dataclass(frozen=True)
class Policy:
    """Lifetimes and limits (one place; the services read them)."""

    session_ttl: dt.timedelta = dt.timedelta(days=14)
    reset_ttl: dt.timedelta = dt.timedelta(hours=1)
    invitation_ttl: dt.timedelta = dt.timedelta(days=7)
    login_window: dt.timedelta = dt.timedelta(minutes=15)
    max_failures_per_email: int = 5
    max_failures_per_ip: int = 30


DEFAULT_POLICY = Policy()


def login_blocked(failures_for_email: int, failures_for_ip: int, policy: Policy = DEFAULT_POLICY) -> RateLimited | None:
    if failures_for_email >= policy.max_failures_per_email or failures_for_ip >= policy.max_failures_per_ip:
        minutes = int(policy.login_window.total_seconds() // 60)
        return RateLimited(Message(f"登录失败次数过多，请 {minutes} 分钟后再试，或通过“忘记密码”重置",
                                   f"too many failed sign-ins; try again in {minutes} minutes or reset your password"))
    return None


BAD_LOGIN = Message("邮箱或密码不正确", "wrong e-mail or password")
BAD_TOKEN = Message("链接无效或已过期，请重新申请", "the link is invalid or has expired; please request a new one")


def expired(expires_at: dt.datetime, now: dt.datetime) -> bool:
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    return expires_at <= now


# -- contact requests -----------------------------------------------------------------------------

DECLINE_REASONS = (
    Choice("too_early", "技术尚不成熟/时机过早", "too early"),
    Choice("advantage_unclear", "相对现有方案的优势不明确", "advantage over existing solutions unclear"),
    Choice("commercial_unclear", "商业化路径不明确", "commercial route unclear"),
    Choice("description_unclear", "描述不清楚", "description unclear"),
    Choice("not_relevant", "与我方不相关", "not relevant"),
    Choice("other", "其他", "other"),
)
CONTACT_STATUSES = (
    Choice("pending", "待回复", "pending"),
    Choice("accepted", "已接受", "accepted"),
    Choice("declined", "已婉拒", "declined"),
)
REPORT_REASONS = (
    Choice("spam", "垃圾信息", "spam"),
    Choice("misleading", "虚假或误导", "misleading"),
    Choice("confidential_leak", "泄露保密信息", "leaks confidential information"),
    Choice("other", "其他", "other"),
)


def check_decline(reason: str, note: str) -> None:
    ec = ErrorCollector()
    if reason not in {c.value for c in DECLINE_REASONS}:
        ec.add("reason", "请从列表中选择婉拒原因：" + "、".join(c.zh for c in DECLINE_REASONS),
               "choose a reason from the list: " + ", ".join(c.en for c in DECLINE_REASONS), reason)
    if reason == "other" and not note.strip():
        ec.add("note", "选择“其他”时请写明原因", "please explain when choosing 'other'")
    if len(note) > 1000:
        ec.add("note", "说明最多 1000 字", "the note is at most 1000 characters")
    ec.raise_if_any()


def check_message(message: str, key: str = "message") -> None:
    ec = ErrorCollector()
    if not message.strip():
        ec.add(key, "请写几句话介绍您的来意", "please write a few words about your interest")
    elif len(message) > 2000:
        ec.add(key, f"留言最多 2000 字，实际 {len(message)} 字", f"the message is at most 2000 characters, got {len(message)}")
    ec.raise_if_any()
