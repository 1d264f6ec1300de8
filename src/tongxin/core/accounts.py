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
    retry_after: int | None = None  # seconds, for the Retry-After header


class CsrfFailed(TongxinError):
    code = "csrf_failed"
    status = 403


EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
MIN_PASSWORD = 10


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


# A short list of passwords that meet the length rule but are among the first tried by anyone guessing.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "0123456789", "1qaz2wsx3edc", "1q2w3e4r5t", "1q2w3e4r5t6y", "qwertyuiop", "qwerty123456",
    "qwer1234qwer", "password12", "password123", "password1234", "passw0rd12", "p@ssw0rd12", "iloveyou123", "abcdefghij",
    "abc1234567", "abcd123456", "a123456789", "aa12345678", "asdfghjkl1", "zxcvbnm123", "admin12345", "admin123456",
    "administrator", "woaini1314", "woaini520", "5201314520", "1314520520", "11111111111", "0000000000", "1111111111",
    "123123123123", "1234512345", "9876543210", "123456789a", "123456789q", "qq123456789", "welcome123", "letmein123",
    "changeme123", "tongxin123", "tongxin1234", "tongxin12345",
})


def check_password(ec: ErrorCollector, password: str, key: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        ec.add(key, f"密码至少 {MIN_PASSWORD} 位，实际 {len(password)} 位；可用一句容易记住的话", f"password needs at least {MIN_PASSWORD} characters, got {len(password)}; a memorable phrase works well")
    elif len(password) > 200:
        ec.add(key, "密码最多 200 位", "password is at most 200 characters")
    elif password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        ec.add(key, "这个密码太常见或太简单，很容易被猜中，请换一个", "this password is too common or too simple and easy to guess; choose another")
    elif not (re.search(r"[^\W\d_]", password) and re.search(r"\d", password)) and len(password) < 16:
        ec.add(key, "密码需同时包含字母和数字（或不少于 16 位）", "password needs both letters and digits (or at least 16 characters)")


@dataclass(frozen=True)
class Policy:
    """Lifetimes and limits (one place; the services read them).

    Sign-in: each account gets `free_failures` wrong passwords without delay; after that the wait
    before the next attempt doubles from `backoff_base` up to `backoff_cap`, and a success resets it.
    One address may make `max_attempts_per_ip` sign-in attempts (and `max_signups_per_ip` sign-ups)
    per `ip_window`; that limits guessing without letting anyone lock an owner out for long."""

    session_ttl: dt.timedelta = dt.timedelta(days=14)
    reset_ttl: dt.timedelta = dt.timedelta(hours=1)
    invitation_ttl: dt.timedelta = dt.timedelta(days=7)
    free_failures: int = 5
    backoff_base: dt.timedelta = dt.timedelta(seconds=1)
    backoff_cap: dt.timedelta = dt.timedelta(minutes=15)
    ip_window: dt.timedelta = dt.timedelta(minutes=15)
    max_attempts_per_ip: int = 100
    max_signups_per_ip: int = 10


DEFAULT_POLICY = Policy()


def backoff(failures: int, policy: Policy = DEFAULT_POLICY) -> dt.timedelta:
    """How long an account waits after `failures` consecutive wrong passwords."""
    if failures < policy.free_failures:
        return dt.timedelta(0)
    step = min(failures - policy.free_failures, 30)  # 2**30 s is far beyond any cap
    return min(policy.backoff_base * (1 << step), policy.backoff_cap)


def wait_text(seconds: float) -> tuple[str, str]:
    s = max(1, int(seconds + 0.999))
    if s < 60:
        return f"{s} 秒", f"{s} second{'s' if s != 1 else ''}"
    m = (s + 59) // 60
    return f"{m} 分钟", f"{m} minute{'s' if m != 1 else ''}"


def login_wait(seconds: float) -> RateLimited:
    zh, en = wait_text(seconds)
    e = RateLimited(Message(f"该账号密码错误次数较多，请 {zh}后再试，或通过“忘记密码”重置",
                            f"too many wrong passwords for this account; try again in {en} or reset your password"))
    e.retry_after = max(1, int(seconds + 0.999))
    return e


def too_many_from_ip(what_zh: str, what_en: str, policy: Policy = DEFAULT_POLICY) -> RateLimited:
    minutes = int(policy.ip_window.total_seconds() // 60)
    e = RateLimited(Message(f"来自您网络地址的{what_zh}请求过多，请 {minutes} 分钟后再试",
                            f"too many {what_en} requests from your network address; try again in {minutes} minutes"))
    e.retry_after = int(policy.ip_window.total_seconds())
    return e


# API token lifetimes offered at creation (days; None = never expires).
TOKEN_LIFETIMES: tuple[int | None, ...] = (30, 90, 365, None)


def check_token_lifetime(days: object) -> int | None:
    """The lifetime in days (None = never) or a ValidationError naming the choices."""
    if days in (None, "", "never", "0", 0):
        return None
    try:
        n = int(str(days))
    except ValueError:
        n = -1
    if n not in TOKEN_LIFETIMES:
        ec = ErrorCollector()
        ec.add("expires_in_days", "有效期应为 30、90、365 天或 never（永不过期）", "the lifetime must be 30, 90 or 365 days, or never", str(days))
        ec.raise_if_any()
    return n


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
