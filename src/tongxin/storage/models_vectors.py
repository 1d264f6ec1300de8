"""The semantic layer's tables: stored vectors (an index rebuild never recomputes them) and the
embedding queue (filled in the transaction that saves a listing whose embedded text changed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


class ListingVectorRow(Base):
    __tablename__ = "listing_vectors"

    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    dim: Mapped[int] = mapped_column(Integer)
    text_hash: Mapped[str] = mapped_column(String(40))  # sha1 hex of the embedded text
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # dim × float16, little-endian
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class EmbeddingQueueRow(Base):
    __tablename__ = "embedding_queue"

    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # a worker's claim: rows leased until this time are being embedded by someone else
    leased_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))




class ListingSentenceVectorRow(Base):
    """A listing's sentences (title, then description; core.text.sentences) and their vectors, for
    evidence: the closest sentence of a need and of a technology. One row per listing."""

    __tablename__ = "listing_sentence_vectors"

    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    dim: Mapped[int] = mapped_column(Integer)
    text_hash: Mapped[str] = mapped_column(String(40))  # sha1 hex of the sentences, one a line
    sentences: Mapped[list[str]] = mapped_column(JSON)
    vectors: Mapped[bytes] = mapped_column(LargeBinary)  # len(sentences) × dim float16, little-endian, row-major
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SentenceQueueRow(Base):
    """Listings whose sentence vectors are to be computed: the embedding worker takes them when no
    listing vector is waiting (the same claim, lease and attempts as embedding_queue)."""

    __tablename__ = "sentence_queue"

    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    leased_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
