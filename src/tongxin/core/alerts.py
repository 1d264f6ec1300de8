"""Alerts: who hears about which listing, when, and how links and webhook bodies are signed (pure).

An *alert item* is one listing for one person, for one reason:

- ``match``: a listing was published or changed and it matches a listing the person's
  organisation owns, at a band at least the person's minimum (``Preferences.min_band``);
- ``publisher``: the person's organisation published a listing and this counterpart already
  matches it;
- ``search``: a new result of a saved search;
- ``follow_org`` / ``follow_industry`` / ``follow_region``: a new listing of a followed
  organisation, industry (GB/T 4754 code prefix) or region (GB/T 2260 code prefix).

Rules that never bend: a person never hears of their own organisation's listing, never of a
listing they may not read in full (`core.access.can_match`: the relevance was computed from its
full text), and never of the same listing twice (the delivered log is unique on
(recipient, listing); the storage enforces it, `first_reason` picks which reason is kept).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from . import access as acc
from .errors import FieldError, Message, ValidationError
from .listing import Listing
from .matching.relevance import BANDS, Band, band


class Frequency(StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"


FREQUENCY_LABELS: dict[Frequency, tuple[str, str]] = {
    Frequency.INSTANT: ("即时", "instant"),
    Frequency.DAILY: ("每日汇总", "daily digest"),
    Frequency.WEEKLY: ("每周汇总", "weekly digest"),
    Frequency.OFF: ("关闭", "off"),
}


class SubType(StrEnum):
    SEARCH = "search"
    FOLLOW_ORG = "follow_org"
    FOLLOW_INDUSTRY = "follow_industry"
    FOLLOW_REGION = "follow_region"


SUBTYPE_LABELS: dict[SubType, tuple[str, str]] = {
    SubType.SEARCH: ("保存的搜索", "saved search"),
    SubType.FOLLOW_ORG: ("关注的机构", "followed organisation"),
    SubType.FOLLOW_INDUSTRY: ("关注的行业", "followed industry"),
    SubType.FOLLOW_REGION: ("关注的地区", "followed region"),
}

REASON_LABELS: dict[str, tuple[str, str]] = {
    "match": ("与贵单位的资源匹配", "matches your organisation's listing"),
    "publisher": ("与您刚发布的资源匹配", "matches the listing you just published"),
    **{t.value: lab for t, lab in SUBTYPE_LABELS.items()},
}
# when one listing reaches a person for several reasons in one pass, the first of these is kept
REASON_ORDER = ("match", "publisher", "search", "follow_org", "follow_industry", "follow_region")

BAND_KEYS = tuple(b.key for b in BANDS)  # strongest first
MAX_ATTEMPTS = 6  # a mail, webhook call or outbox event is given up (visibly) after this many failures
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)
CHINA = dt.timezone(dt.timedelta(hours=8))  # digests go out at DIGEST_HOUR Beijing time (no daylight saving)
DIGEST_HOUR = 8


@dataclass(frozen=True)
class Preferences:
    """One person's alert settings (defaults for anyone who never changed them)."""

    frequency: Frequency = Frequency.DAILY
    min_band: str = "possible"
    kinds: tuple[str, ...] = ()  # empty: every kind
    regions: tuple[str, ...] = ()  # GB/T 2260 code prefixes ("12" Tianjin, "1201" …); empty: everywhere
    email: bool = True  # False: in-app only (one-click unsubscribe sets this)


DEFAULT_PREFERENCES = Preferences()


def _fe(key: str, zh: str, en: str) -> FieldError:
    return FieldError(key, Message(zh, en))


def parse_frequency(raw: object, key: str = "frequency") -> Frequency:
    try:
        return Frequency(str(raw or "").strip().lower())
    except ValueError:
        opts_zh = "、".join(f"{f.value}（{z}）" for f, (z, _) in FREQUENCY_LABELS.items())
        raise ValidationError.of([_fe(key, f"提醒频率“{raw}”无效，请填写 {opts_zh}",
                                      f"frequency '{raw}' is not valid; use one of {', '.join(f.value for f in Frequency)}")]) from None


def parse_band(raw: object, key: str = "min_band") -> str:
    v = str(raw or "").strip().lower()
    if v not in BAND_KEYS:
        opts = "、".join(f"{b.key}（{b.zh}）" for b in BANDS)
        raise ValidationError.of([_fe(key, f"最低匹配等级“{raw}”无效，请填写 {opts}",
                                      f"minimum band '{raw}' is not valid; use one of {', '.join(BAND_KEYS)}")])
    return v


def band_of(key: str) -> Band:
    return next(b for b in BANDS if b.key == key)


def reaches(relevance: float, min_band: str) -> bool:
    """True when a match of this relevance is in `min_band` or a stronger band."""
    got = band(relevance)
    return got is not None and got.floor >= band_of(min_band).floor


def wants(prefs: Preferences, listing: Listing) -> bool:
    """The person's kind and region filters let this listing through."""
    if prefs.frequency == Frequency.OFF:
        return False
    if prefs.kinds and listing.kind not in prefs.kinds:
        return False
    return not prefs.regions or any(listing.region.startswith(r) for r in prefs.regions)


def may_alert(viewer: acc.Viewer, listing: Listing) -> bool:
    """Never one's own organisation's listing; never one not readable in full."""
    return not acc.owns(viewer, listing) and listing.status == "published" and acc.can_match(viewer, listing)


def follows(sub_type: SubType, target: str, listing: Listing) -> bool:
    """A follow's target (organisation id, industry or region code prefix) covers this listing."""
    if sub_type == SubType.FOLLOW_ORG:
        return str(listing.owner_id) == target
    if sub_type == SubType.FOLLOW_INDUSTRY:
        return bool(target) and listing.industry.startswith(target)
    if sub_type == SubType.FOLLOW_REGION:
        return bool(target) and listing.region.startswith(target)
    return False


def first_reason(reasons: Iterable[str]) -> str:
    got = set(reasons)
    return next(r for r in REASON_ORDER if r in got)


# -- when ------------------------------------------------------------------------------------------

def due_at(frequency: Frequency, now: dt.datetime) -> dt.datetime:
    """When an item found at `now` goes out: at once, at the next DIGEST_HOUR (Beijing), or at the
    next Monday's DIGEST_HOUR. `now` must be timezone-aware."""
    if frequency == Frequency.INSTANT:
        return now
    local = now.astimezone(CHINA)
    slot = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if slot <= local:
        slot += dt.timedelta(days=1)
    if frequency == Frequency.WEEKLY:
        slot += dt.timedelta(days=(7 - slot.weekday()) % 7)
    return slot.astimezone(dt.UTC)


def retry_at(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after `attempts` failures (exponential backoff); None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = min(RETRY_BASE * (1 << min(max(attempts - 1, 0), 20)), RETRY_CAP)
    return now + delay


# -- what a digest holds ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One alert item as a message shows it (already redacted for the recipient)."""

    listing_id: int
    title: str
    kind_zh: str
    kind_en: str
    reason: str
    band: str | None = None  # the match band for match / publisher / search items
    about: str = ""  # the recipient's listing it matched, or the saved search / follow it came from


@dataclass
class Group:
    reason: str
    zh: str
    en: str
    items: list[Item] = field(default_factory=list)


def group_items(items: Sequence[Item]) -> list[Group]:
    """A digest's sections: one per reason (in REASON_ORDER), strongest band first within each."""
    rank = {k: i for i, k in enumerate(BAND_KEYS)}
    out: list[Group] = []
    for reason in REASON_ORDER:
        mine = [x for x in items if x.reason == reason]
        if mine:
            mine.sort(key=lambda x: (rank.get(x.band or "", len(rank)), x.listing_id))
            zh, en = REASON_LABELS[reason]
            out.append(Group(reason, zh, en, mine))
    return out


def subject(items: Sequence[Item], frequency: Frequency) -> str:
    n = len(items)
    if n == 1:
        return f"【同心】新匹配：{items[0].title} / New on tongxin: {items[0].title}"
    zh, en = {Frequency.DAILY: ("每日", "daily"), Frequency.WEEKLY: ("每周", "weekly")}.get(frequency, ("", "new"))
    return f"【同心】{zh}提醒：{n} 条新资源 / tongxin {en} alerts: {n} new listings"


# -- signatures ------------------------------------------------------------------------------------

def sign(secret: str, payload: str) -> str:
    """`payload.signature` (HMAC-SHA256, hex, first 32 characters)."""
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def verify(secret: str, token: str) -> str | None:
    """The payload of a token made by `sign`, or None when it was not signed with `secret`."""
    payload, _, mac = token.rpartition(".")
    if not payload or not mac:
        return None
    return payload if hmac.compare_digest(sign(secret, payload), token) else None


def unsubscribe_token(secret: str, user_id: int, scope: str = "all") -> str:
    """scope "all" (every e-mail alert) or "sub:<id>" (one subscription)."""
    return sign(secret, f"u{user_id}:{scope}")


def read_unsubscribe(secret: str, token: str) -> tuple[int, str] | None:
    payload = verify(secret, token)
    if payload is None or not payload.startswith("u") or ":" not in payload:
        return None
    uid, _, scope = payload[1:].partition(":")
    if not uid.isdigit() or not (scope == "all" or (scope.startswith("sub:") and scope[4:].isdigit())):
        return None
    return int(uid), scope


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Tongxin-Signature header: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
