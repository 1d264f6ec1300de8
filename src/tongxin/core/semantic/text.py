"""The text of a listing that the encoder reads, defined once (embedding, hashing, demo vectors)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

# multilingual-e5-small reads 512 tokens; its SentencePiece vocabulary spends about one token per
# Chinese character (often fewer), so 480 characters plus the "passage: " prefix stay inside.
MAX_CHARS = 480

_SPACE = re.compile(r"\s+")


def embed_text(title: str, keywords: Sequence[str], description: str, max_chars: int = MAX_CHARS) -> str:
    """Title, keywords and description, whitespace collapsed, cut to what the model reads. A part
    with no letter or digit (a placeholder title such as "—") says nothing and is left out."""
    parts = [title.strip(), "、".join(k.strip() for k in keywords if k and k.strip()), description.strip()]
    text = "\n".join(_SPACE.sub(" ", p) for p in parts if any(ch.isalnum() for ch in p))
    return text[:max_chars]


def text_hash(text: str) -> str:
    """sha1 of the embedded text (hex): a stored vector is current when its hash and model match."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def listing_embed_text(listing: object) -> str:
    """embed_text of anything with title, keywords and description (a core Listing, a row)."""
    return embed_text(getattr(listing, "title", "") or "", list(getattr(listing, "keywords", None) or []),
                      getattr(listing, "description", "") or "")


def listing_sentence_list(listing: object) -> list[str]:
    """The sentences of anything with title and description (a core Listing, a row): what its
    sentence vectors are of (core.text.sentences.listing_sentences)."""
    from ..text.sentences import listing_sentences

    return listing_sentences(getattr(listing, "title", "") or "", getattr(listing, "description", "") or "")


def sentences_hash(sentences: Sequence[str]) -> str:
    """sha1 of the sentences, one a line: stored sentence vectors are current when it and the model match."""
    return text_hash("\n".join(sentences))
