"""The one place that decides who may see what and who may change what. Every path (pages,
API, search, matching, exports, notifications, error messages) asks here.

Roles: visitor (not signed in), user (signed in, no organisation yet), member and org_admin
(of one organisation; "members" in the visibility sense only once the organisation is
verified), operator (platform staff), registrar (the technology-contract registration office: it sees
and decides the contracts submitted for registration, nothing more) and admin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

from .errors import Forbidden, Message, NotFound
from .listing import Listing

ROLES = ("visitor", "user", "member", "org_admin", "operator", "registrar", "admin")
ORG_ROLES = ("member", "org_admin")
PLATFORM_ROLES = ("user", "operator", "registrar", "admin")


class Access(IntEnum):
    NONE = 0
    SUMMARY = 1  # title, kind, industry, region and the non-confidential summary
    FULL = 2


@dataclass(frozen=True)
class Viewer:
    """Who is looking. The default is an anonymous visitor."""

    org_id: int | None = None
    org_verified: bool = False
    role: str = "visitor"  # one of ROLES
    granted: frozenset[int] = field(default_factory=frozenset)  # confidential listings granted to the org
    user_id: int | None = None

    @property
    def is_member(self) -> bool:
        """A member in the visibility sense: staff, or in a verified organisation."""
        return self.role in ("operator", "admin") or (self.org_id is not None and self.org_verified)

    @property
    def is_staff(self) -> bool:
        return self.role in ("operator", "admin")

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None or self.role != "visitor"

    @property
    def is_org_admin(self) -> bool:
        return self.org_id is not None and self.role == "org_admin"


VISITOR = Viewer()
SYSTEM = Viewer(role="admin")  # CLI on the operator's own machine


def not_visible(what_zh: str, what_en: str, ident: object) -> NotFound:
    """The one message for 'missing or not yours to see' (never says which)."""
    return NotFound(Message(f"{what_zh} {ident} 不存在或无权查看", f"{what_en} {ident} does not exist or is not visible to you"))


def forbidden(zh: str, en: str) -> Forbidden:
    return Forbidden(Message(zh, en))


# -- seeing listings -----------------------------------------------------------------------------

def owns(viewer: Viewer, listing: Listing) -> bool:
    return viewer.org_id is not None and listing.owner_id == viewer.org_id


def access(viewer: Viewer, listing: Listing) -> Access:
    if viewer.is_staff or owns(viewer, listing):
        return Access.FULL
    if listing.status != "published":
        return Access.NONE
    if listing.visibility == "public":
        return Access.FULL
    if listing.visibility == "members":
        return Access.FULL if viewer.is_member else Access.NONE
    if listing.visibility == "confidential":
        if listing.id is not None and listing.id in viewer.granted and viewer.is_member:
            return Access.FULL
        return Access.SUMMARY if viewer.is_member else Access.NONE
    return Access.NONE


def redact(viewer: Viewer, listing: Listing) -> tuple[Listing, Access] | None:
    """The listing as this viewer may see it: None (invisible), a summary-only copy, or itself.

    Faces render only what this returns, so a template or serializer cannot leak what the
    viewer may not see."""
    level = access(viewer, listing)
    if level == Access.NONE:
        return None
    return redacted(listing, level), level


def redacted(listing: Listing, level: Access) -> Listing:
    """The listing cut to an access level already decided (`access` or `decide`): a summary-only
    copy for SUMMARY, itself for FULL. Call it only with a level above NONE."""
    if level == Access.SUMMARY:
        return dataclasses.replace(listing, description="", keywords=[], attrs={}, external_id=None,
                                   valid_from=None, valid_until=None)
    return listing


@dataclass(frozen=True)
class Decision:
    """What one viewer may see of one listing and do with it, decided once (one `access` call):
    the same answers as `access`, `can_edit`, `can_grant`, `can_express_interest` and `can_report`."""

    level: Access
    can_edit: bool  # also can_grant
    can_interest: bool
    can_report: bool


def decide(viewer: Viewer, listing: Listing) -> Decision:
    level = access(viewer, listing)
    return Decision(level, _can_edit(viewer, listing), _can_interest(viewer, listing, level), _can_report(viewer, listing, level))


def require_visible(viewer: Viewer, listing: Listing, level: Access = Access.SUMMARY) -> Access:
    got = access(viewer, listing)
    if got < level:
        raise not_visible("资源", "listing", listing.id)
    return got


def visible_levels(viewer: Viewer) -> tuple[str, ...]:
    """Visibilities whose full text may be matched for this viewer (search-engine filter).

    Confidential listings are included when the viewer's organisation owns some or was granted
    some; `can_match` then keeps only those with FULL access."""
    if viewer.is_staff:
        return ("public", "members", "confidential")
    if viewer.is_member:
        if viewer.granted or viewer.org_id is not None:
            return ("public", "members", "confidential")
        return ("public", "members")
    if viewer.org_id is not None:  # an organisation awaiting verification still finds its own listings
        return ("public", "confidential", "members")
    return ("public",)


def cache_class(viewer: Viewer) -> str | None:
    """The class of viewers who all see the same answers to the same read, for the result cache
    (services.result_cache); None: this viewer's answers are their own and never cached.

    Only the anonymous visitor has one: what they see depends on the listings alone (public,
    published, live). A signed-in person or token sees what their organisation owns or was
    granted, and what staff see includes hidden listings, so none of them is cached."""
    if viewer.signed_in or viewer.org_id is not None or viewer.granted or viewer.role != "visitor":
        return None
    return "public"


def can_match(viewer: Viewer, listing: Listing) -> bool:
    """Matching reads full text, so only FULL access lets a listing be matched and explained."""
    return access(viewer, listing) == Access.FULL


# -- changing listings -----------------------------------------------------------------------------

def can_publish(viewer: Viewer) -> bool:
    """Anyone in an organisation may write listings (they publish once the organisation is verified)."""
    return viewer.org_id is not None and viewer.role in ORG_ROLES


def can_edit(viewer: Viewer, listing: Listing) -> bool:
    """Only the owner organisation's people change a listing (staff moderate, they do not edit)."""
    return _can_edit(viewer, listing)


def require_edit(viewer: Viewer, listing: Listing) -> None:
    if access(viewer, listing) == Access.NONE:
        raise not_visible("资源", "listing", listing.id)
    if not can_edit(viewer, listing):
        raise forbidden("只有发布机构的成员可以修改此资源", "only members of the publishing organisation may change this listing")


def can_grant(viewer: Viewer, listing: Listing) -> bool:
    return can_edit(viewer, listing)


def can_express_interest(viewer: Viewer, listing: Listing) -> bool:
    return _can_interest(viewer, listing, access(viewer, listing))


def can_report(viewer: Viewer, listing: Listing) -> bool:
    return _can_report(viewer, listing, access(viewer, listing))


def _can_edit(viewer: Viewer, listing: Listing) -> bool:
    return can_publish(viewer) and owns(viewer, listing)


def _can_interest(viewer: Viewer, listing: Listing, level: Access) -> bool:
    return (viewer.org_id is not None and viewer.org_verified and viewer.role in ORG_ROLES and not owns(viewer, listing)
            and listing.status == "published" and level >= Access.SUMMARY)


def _can_report(viewer: Viewer, listing: Listing, level: Access) -> bool:
    return viewer.signed_in and not owns(viewer, listing) and level >= Access.SUMMARY


def can_moderate(viewer: Viewer) -> bool:
    return viewer.is_staff


def require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise forbidden("仅平台运营人员可以执行此操作", "only platform operators may do this")


def require_signed_in(viewer: Viewer) -> None:
    if not viewer.signed_in:
        from .accounts import Unauthorized

        raise Unauthorized(Message("请先登录", "please sign in first"))


def require_org(viewer: Viewer) -> int:
    require_signed_in(viewer)
    if viewer.org_id is None or viewer.role not in ORG_ROLES:
        raise forbidden("请先创建或加入一个机构", "create or join an organisation first")
    return viewer.org_id


def can_manage_org(viewer: Viewer, org_id: int) -> bool:
    return viewer.role == "admin" or (viewer.org_id == org_id and viewer.role == "org_admin")


def require_manage_org(viewer: Viewer, org_id: int) -> None:
    if not can_manage_org(viewer, org_id):
        raise forbidden("只有机构管理员可以执行此操作", "only the organisation's administrators may do this")


# -- contact requests ------------------------------------------------------------------------------

def is_party(viewer: Viewer, from_org_id: int, to_org_id: int) -> bool:
    return viewer.org_id is not None and viewer.org_id in (from_org_id, to_org_id)


def can_see_contact(viewer: Viewer, from_org_id: int, to_org_id: int) -> bool:
    return viewer.is_staff or is_party(viewer, from_org_id, to_org_id)


def can_answer_contact(viewer: Viewer, to_org_id: int) -> bool:
    return viewer.org_id == to_org_id and viewer.role in ORG_ROLES


def can_see_counterpart_details(viewer: Viewer, from_org_id: int, to_org_id: int, status: str) -> bool:
    """Contact details (names, phones, e-mail) are exchanged only once the owner accepts."""
    return status == "accepted" and (is_party(viewer, from_org_id, to_org_id) or viewer.is_staff)
