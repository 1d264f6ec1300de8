"""Tables for curated recommendations (core.recommendations): what a sender recommended, and
one row per (recommendation, recipient organisation, listing) holding the recipient's answer.

Never twice: `recommendation_items` is unique on (organisation, listing), so a listing is
recommended to an organisation at most once, whoever sends it and however often."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId

_TS = DateTime(timezone=True)


class RecommendationRow(Base):
    """Listings a sender recommends, with a note, to chosen organisations or everyone in an
    industry / region (`audience` as chosen; the recipients resolved when sent are the items)."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    author_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text)
    listing_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    left_out: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # reason → (organisation, listing) pairs left out
    created_at: Mapped[dt.datetime] = mapped_column(_TS)


class RecommendationItemRow(Base):
    """One listing recommended to one organisation, and its answer: interested / not relevant
    (the latest answer counts; who gave it and when are kept); no answer yet: `response` is None."""

    __tablename__ = "recommendation_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recommendation_id: Mapped[int] = mapped_column(BigId, ForeignKey("recommendations.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"))
    response: Mapped[str | None] = mapped_column(String(16))
    responded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    responded_at: Mapped[dt.datetime | None] = mapped_column(_TS)
    created_at: Mapped[dt.datetime] = mapped_column(_TS)

    __table_args__ = (UniqueConstraint("org_id", "listing_id", name="uq_recommendation_items_org_listing"),
                      Index("ix_recommendation_items_rec", "recommendation_id", "org_id"))
