"""The plain BM25 baseline the quality benchmark compares tongxin against.

bm25s with its defaults (method "lucene", k1 1.5, b 0.75) over jieba tokens: `jieba.lcut`
(accurate mode, HMM on), lower-cased, tokens made only of whitespace/punctuation dropped.
A document is its title and text joined by a space. Nothing else: no stop words, no domain
dictionary, no field weights. Documents with a zero score are not returned.

jieba and bm25s are test/benchmark dependencies only; they are imported when the baseline runs.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence

Progress = Callable[[int], None]


def _is_noise(token: str) -> bool:
    """Only whitespace and punctuation (Unicode categories Z*/P*, plus control characters)."""
    return all(c.isspace() or unicodedata.category(c)[0] in "PZC" for c in token)


def tokenize(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [t.lower() for t in jieba.lcut(text) if not _is_noise(t)]


def doc_text(title: str, text: str) -> str:
    return f"{title} {text}".strip() if title else text


class BM25Baseline:
    """Index once, then rank queries. `ids` are the corpus document ids in order."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], progress: Progress | None = None) -> None:
        import bm25s

        self.ids = list(ids)
        tokens = []
        for t in texts:
            tokens.append(tokenize(t))
            if progress:
                progress(1)
        self.model = bm25s.BM25()  # defaults: method="lucene", k1=1.5, b=0.75
        self.model.index(tokens, show_progress=False)
        self._vocab = set(self.model.vocab_dict)

    def search(self, text: str, k: int = 100) -> list[str]:
        q = [t for t in tokenize(text) if t in self._vocab]
        if not q:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.model.retrieve([q], k=k, show_progress=False, n_threads=0)
        return [self.ids[int(d)] for d, s in zip(docs[0], scores[0], strict=False) if s > 0]
