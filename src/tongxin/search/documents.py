"""Index documents: the tantivy schema, the packed filter column and the stored explanation terms.

Document fields: id (u64, fast), kind, vis (raw strings), valid_from / valid_until (days
since 1970-01-01 as i64), text (title ×3, keywords ×2, body ×1: a cheap BM25F), bigrams,
expl (stored only): the analysed terms of title, keywords and body, stamped with the
analyzer's dictionary generation, and flt (fast only): kind, visibility and validity packed
in one u64 (see SearchEngine.search).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import tantivy

EPOCH = dt.date(1970, 1, 1)
NO_END = 10**6
NO_START = -(10**6)
SCHEMA_VERSION = 5  # 3: stored explanation terms; 4: single characters in `bigrams`; 5: packed filter column
# (an index of another version is rebuilt on open)


def day_number(d: dt.date | None, default: int) -> int:
    return default if d is None else (d - EPOCH).days


@dataclass(frozen=True)
class IndexDoc:
    id: int
    kind: str
    visibility: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    text_terms: Sequence[str]
    bigrams: Sequence[str]
    expl: bytes = b""  # encode_expl(...): stored analysed terms for explanations


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float
    addr: Any = field(default=None, compare=False, repr=False)  # tantivy DocAddress (valid for `searcher`)
    searcher: Any = field(default=None, compare=False, repr=False)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("kind", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("vis", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("valid_from", stored=False, indexed=True, fast=True)
    sb.add_integer_field("valid_until", stored=False, indexed=True, fast=True)
    sb.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("bigrams", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_bytes_field("expl", stored=True, indexed=False, fast=False)
    sb.add_unsigned_field("flt", stored=False, indexed=False, fast=True)  # pack_filter(): the filters in one column
    return sb.build()


_DAY_BITS = 20
_DAY_OFF = 1 << (_DAY_BITS - 1)


def _h12(value: str) -> int:
    """12-bit fingerprint of a kind or visibility (stable across processes; collisions only
    let a document through the pre-filter, the exact query still drops it)."""
    return zlib.crc32(value.encode("utf-8")) & 0xFFF


def _day_code(days: int) -> int:
    return min(max(days, -_DAY_OFF), _DAY_OFF - 1) + _DAY_OFF



def pack_filter(kind: str, visibility: str, valid_from: dt.date | None, valid_until: dt.date | None) -> int:
    """kind, visibility and validity of a document in one u64 fast field (see SearchEngine.search)."""
    return (_h12(visibility) | _h12(kind) << 12 | _day_code(day_number(valid_from, NO_START)) << 24
            | _day_code(day_number(valid_until, NO_END)) << 44)


def encode_expl(generation: int, field_terms: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """The stored explanation terms: generation, then one line per field (name, then terms)."""
    return "\n".join([str(generation)] + [name + " " + " ".join(terms) for name, terms in field_terms]).encode("utf-8")


def decode_expl(data: bytes) -> tuple[int, dict[str, list[str]]]:
    lines = data.decode("utf-8").split("\n")
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, rest = line.partition(" ")
        out[name] = rest.split(" ") if rest else []
    return int(lines[0] or -1), out


def make_document(id: int, kind: str, visibility: str, valid_from: dt.date | None, valid_until: dt.date | None,
                  text: str, bigrams: str, expl: bytes = b"") -> tantivy.Document:
    """One tantivy document; `text` and `bigrams` are space-joined, already analysed terms."""
    doc = tantivy.Document()
    doc.add_unsigned("id", id)
    doc.add_unsigned("flt", pack_filter(kind, visibility, valid_from, valid_until))
    doc.add_text("kind", kind)
    doc.add_text("vis", visibility)
    doc.add_integer("valid_from", day_number(valid_from, NO_START))
    doc.add_integer("valid_until", day_number(valid_until, NO_END))
    doc.add_text("text", text)
    doc.add_text("bigrams", bigrams)
    if expl:
        doc.add_bytes("expl", expl)
    return doc

