"""The one place that decides who may see what. Every path (pages, API, search, matching,
exports) asks here. The web issue extends `Viewer` with accounts and grants."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from .listing import Listing


class Access(IntEnum):
    NONE = 0
    SUMMARY = 1  # title, kind, industry, region and the non-confidential summary
    FULL = 2


@dataclass(frozen=True)
class Viewer:
    """Who is looking. The default is an anonymous visitor."""

    org_id: int | None = None
    org_verified: bool = False
    role: str = "visitor"  # visitor, member, org_admin, operator, admin
    granted: frozenset[int] = field(default_factory=frozenset)  # confidential listings granted to the org

    @property
    def is_member(self) -> bool:
        return self.role in ("operator", "admin") or (self.org_id is not None and self.org_verified)

    @property
    def is_staff(self) -> bool:
        return self.role in ("operator", "admin")


VISITOR = Viewer()
SYSTEM = Viewer(role="admin")  # CLI on the operator's own machine


def access(viewer: Viewer, listing: Listing) -> Access:
    if viewer.is_staff or (viewer.org_id is not None and listing.owner_id == viewer.org_id):
        return Access.FULL
    if listing.status != "published":
        return Access.NONE
    if listing.visibility == "public":
        return Access.FULL
    if listing.visibility == "members":
        return Access.FULL if viewer.is_member else Access.NONE
    if listing.visibility == "confidential":
        if listing.id is not None and listing.id in viewer.granted:
            return Access.FULL
        return Access.SUMMARY if viewer.is_member else Access.NONE
    return Access.NONE


def visible_levels(viewer: Viewer) -> tuple[str, ...]:
    """Visibilities whose full text may be matched for this viewer (search-engine filter)."""
    if viewer.is_staff:
        return ("public", "members", "confidential")
    if viewer.is_member:
        return ("public", "members")
    return ("public",)


def can_match(viewer: Viewer, listing: Listing) -> bool:
    """Matching reads full text, so only FULL access lets a listing be matched and explained."""
    return access(viewer, listing) == Access.FULL
