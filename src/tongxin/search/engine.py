"""A tantivy index of pre-analysed listing text.

Text is analysed by tongxin's own analyzer (rjieba + domain dictionary) and handed to
tantivy as space-separated terms with its whitespace tokenizer, so the engine ranks with
BM25 over exactly the terms the explanations talk about.

Document fields: id (u64), kind, vis (raw strings), valid_from / valid_until (days since
1970-01-01 as i64), text (title ×3, keywords ×2, body ×1: a cheap BM25F), bigrams.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

import tantivy

EPOCH = dt.date(1970, 1, 1)
NO_END = 10**6
NO_START = -(10**6)
SCHEMA_VERSION = 2


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


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("kind", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("vis", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("valid_from", stored=False, indexed=True, fast=True)
    sb.add_integer_field("valid_until", stored=False, indexed=True, fast=True)
    sb.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field("bigrams", stored=False, tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class SearchEngine:
    """One index directory (or RAM when path is None), one writer, many searches.

    `meta.json` beside the index records the last applied change number, so a restart
    catches up from the database's change log instead of rebuilding.
    """

    def __init__(self, path: str | None, heap_mb: int = 256, threads: int = 1) -> None:
        self.path = path
        self.schema = _schema()
        self._lock = threading.RLock()
        self._heap = heap_mb * 1_000_000
        self._threads = threads
        self.last_change = 0
        self.fresh = False  # True when the index was just created (needs a full load)
        if path is None:
            self.index = tantivy.Index(self.schema)
            self.fresh = True
        else:
            self._open_dir(path)
        self._writer: tantivy.IndexWriter | None = None
        self._pending = 0

    def _open_dir(self, path: str) -> None:
        meta = self._read_meta(path)
        try:
            if meta is None or meta.get("schema") != SCHEMA_VERSION:
                raise ValueError("no or old metadata")
            self.index = tantivy.Index(self.schema, path=path, reuse=True)
            self.last_change = int(meta.get("last_change", 0))
        except Exception:  # missing, corrupt or outdated index: start afresh, caller reloads
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path, exist_ok=True)
            self.index = tantivy.Index(self.schema, path=path, reuse=False)
            self.last_change = 0
            self.fresh = True
            self._write_meta()

    @staticmethod
    def _read_meta(path: str) -> dict[str, object] | None:
        try:
            with open(os.path.join(path, "tongxin-meta.json"), encoding="utf-8") as fh:
                data = json.load(fh)
                return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def _write_meta(self) -> None:
        if self.path is None:
            return
        tmp = os.path.join(self.path, "tongxin-meta.json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"schema": SCHEMA_VERSION, "last_change": self.last_change}, fh)
        os.replace(tmp, os.path.join(self.path, "tongxin-meta.json"))

    # -- writing ---------------------------------------------------------------------------
    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=self._heap, num_threads=self._threads)
        return self._writer

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        n = 0
        with self._lock:
            w = self._w()
            for d in docs:
                w.delete_documents_by_query(tantivy.Query.term_query(self.schema, "id", d.id))
                w.add_document(self._doc(d))
                n += 1
            self._pending += n
        return n

    def add_new(self, docs: Iterable[IndexDoc]) -> int:
        """Bulk load of documents known to be absent (no delete per document)."""
        n = 0
        with self._lock:
            w = self._w()
            for d in docs:
                w.add_document(self._doc(d))
                n += 1
            self._pending += n
        return n

    def delete(self, ids: Iterable[int]) -> None:
        with self._lock:
            w = self._w()
            for i in ids:
                w.delete_documents_by_query(tantivy.Query.term_query(self.schema, "id", i))
                self._pending += 1

    def clear(self) -> None:
        with self._lock:
            self._w().delete_all_documents()
            self._pending += 1

    def commit(self, last_change: int | None = None) -> None:
        with self._lock:
            if self._pending and self._writer is not None:
                self._writer.commit()
                self._pending = 0
            if last_change is not None:
                self.last_change = last_change
            self._write_meta()
            self.index.reload()

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                if self._pending:
                    self._writer.commit()
                self._writer.wait_merging_threads()
                self._writer = None

    @staticmethod
    def _doc(d: IndexDoc) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("id", d.id)
        doc.add_text("kind", d.kind)
        doc.add_text("vis", d.visibility)
        doc.add_integer("valid_from", day_number(d.valid_from, NO_START))
        doc.add_integer("valid_until", day_number(d.valid_until, NO_END))
        doc.add_text("text", " ".join(d.text_terms))
        doc.add_text("bigrams", " ".join(d.bigrams))
        return doc

    # -- reading ---------------------------------------------------------------------------
    def num_docs(self) -> int:
        return int(self.index.searcher().num_docs)

    def doc_freq(self, field: str, term: str) -> int:
        return int(self.index.searcher().doc_freq(field, term))

    def search(
        self,
        terms: Sequence[tuple[str, float]],
        kinds: Sequence[str],
        visibilities: Sequence[str],
        today: dt.date,
        limit: int = 10,
        bigrams: Sequence[tuple[str, float]] = (),
        exclude_ids: Sequence[int] = (),
    ) -> list[SearchHit]:
        """Ranked OR over weighted terms, filtered by kind, visibility and validity on `today`."""
        s = self.schema
        should = [
            (tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(s, "text", t), w))
            for t, w in terms
        ]
        should += [
            (tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(s, "bigrams", t), w))
            for t, w in bigrams
        ]
        if not should:
            return []
        day = day_number(today, 0)
        clauses = [
            (tantivy.Occur.Must, tantivy.Query.boolean_query(should)),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(s, "kind", list(kinds))),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(s, "vis", list(visibilities))),
            (tantivy.Occur.Must, tantivy.Query.range_query(s, "valid_until", tantivy.FieldType.Integer, day, NO_END)),
            (tantivy.Occur.Must, tantivy.Query.range_query(s, "valid_from", tantivy.FieldType.Integer, NO_START, day)),
        ]
        for i in exclude_ids:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_query(s, "id", i)))
        query = tantivy.Query.boolean_query(clauses)
        searcher = self.index.searcher()
        result = searcher.search(query, limit, count=False)
        hits = []
        for score, addr in result.hits:
            doc = searcher.doc(addr)
            hits.append(SearchHit(int(doc["id"][0]), float(score)))
        return hits
