"""Text analysis for Chinese technical text mixed with English terms and model numbers.

normalise: NFKC (full width → half width), lower case, traditional → simplified (the
character table shipped by the `opencc-python-reimplemented` package, applied with
str.translate). Segmentation: rjieba (jieba-rs; same output as jieba) with the project's
domain dictionary and terms learned from listings' keywords. ASCII runs (CBTC, 5g, peek,
gb/t, 4754-2017, xr-2000) are kept whole, with their parts as extra tokens.

Free-text queries are read as words (precise segmentation), each with its parts: the
sub-words indexed beside it and its character n-grams (`ngrams`: single characters and
bigrams), so a word absent from a document can still match it in part ("长余辉" → "余辉").
"""

from __future__ import annotations

import importlib.resources
import os
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import rjieba

_ASCII_RE = re.compile(r"[a-z0-9]+(?:[.\-/+#][a-z0-9]+)*[+#]*")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SEG_RE = re.compile(r"([a-z0-9]+(?:[.\-/+#][a-z0-9]+)*[+#]*)|([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")


def _data_text(name: str) -> str:
    return importlib.resources.files("tongxin.core.text").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    import opencc  # the package ships OpenCC's dictionaries as text files

    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and len(parts[0]) == 1:
                target = parts[1].split(" ")[0]
                if len(target) == 1 and target != parts[0]:
                    table[ord(parts[0])] = target
    return table


def normalise(text: str) -> str:
    """Full width → half width, lower case, traditional → simplified."""
    if len(text) > 64:  # listing texts recur across queries (candidates, explanations): remember them
        return _normalise_long(text)
    return unicodedata.normalize("NFKC", text).lower().translate(_t2s_table())


@lru_cache(maxsize=8192)
def _normalise_long(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_t2s_table())


@lru_cache(maxsize=1)
def domain_dictionary() -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for line in _data_text("domain_dict.txt").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            out.append((normalise(parts[0]), int(parts[1])))
    return out


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(normalise(w.strip()) for w in _data_text("stopwords.txt").splitlines() if w.strip())


class Analyzer:
    """Turns text into index/query terms. One instance per process is enough (see default_analyzer)."""

    def __init__(self, extra_terms: Iterable[str] = (), use_domain_dictionary: bool = True, search_mode: bool = True) -> None:
        self._jieba = rjieba.Jieba()
        self.search_mode = search_mode
        self.learned: set[str] = set()
        if use_domain_dictionary:
            for word, freq in domain_dictionary():
                self._jieba.add_word(word, freq, None)
        self.add_terms(extra_terms)
        self.stop = stopwords()

    def add_terms(self, terms: Iterable[str]) -> int:
        """Teach the segmenter multi-character terms (e.g. listings' keywords). Returns how many were new."""
        n = 0
        for t in terms:
            w = normalise(t).strip()
            if len(w) < 2 or len(w) > 16 or w in self.learned or not _CJK_RE.search(w) or " " in w:
                continue
            if not self._jieba.has_word(w):
                self._jieba.add_word(w, 2000, None)
                n += 1
            self.learned.add(w)
        return n

    def segment(self, text: str) -> list[str]:
        """All words of the text in order (normalised), punctuation dropped, stop words kept."""
        out: list[str] = []
        cut = self._jieba.cut_for_search if self.search_mode else self._jieba.cut
        for m in _SEG_RE.finditer(normalise(text)):
            ascii_run, cjk_run = m.group(1), m.group(2)
            if ascii_run:
                out.append(ascii_run)
                if any(c in ascii_run for c in ".-/+#"):
                    out.extend(p for p in re.split(r"[.\-/+#]+", ascii_run) if len(p) >= 2 and p != ascii_run)
            else:
                out.extend(w for w in cut(cjk_run, False) if w.strip())
        return out

    def terms(self, text: str) -> list[str]:
        """Content terms: segmented words without stop words."""
        stop = self.stop
        return [w for w in self.segment(text) if w not in stop]

    def words(self, text: str) -> list[str]:
        """Query words: precise segmentation (no sub-words), normalised, punctuation and stop
        words dropped; ASCII runs whole. Each becomes one group of a free-text query."""
        out: list[str] = []
        for m in _SEG_RE.finditer(normalise(text)):
            ascii_run, cjk_run = m.group(1), m.group(2)
            if ascii_run:
                out.append(ascii_run)
            else:
                out.extend(w for w in self._jieba.cut(cjk_run, False) if w.strip())
        return [w for w in out if w not in self.stop]

    def parts(self, word: str) -> list[str]:
        """The index terms inside one word (see `words`): the sub-words search-mode segmentation
        indexes with it ("余辉" in "长余辉"), or the parts of an ASCII run ("ctcs" in "ctcs-3")."""
        w = normalise(word)
        if _ASCII_RE.fullmatch(w):
            return [p for p in dict.fromkeys(re.split(r"[.\-/+#]+", w)) if len(p) >= 2 and p != w]
        if not self.search_mode or len(w) < 3:
            return []
        stop = self.stop
        return [p for p in dict.fromkeys(self._jieba.cut_for_search(w, False)) if p != w and p.strip() and p not in stop]

    def ngrams(self, text: str) -> list[str]:
        """Character n-grams for partial matches: over CJK runs every bigram and every single
        character except single-character stop words; ASCII runs whole."""
        out: list[str] = []
        stop = self.stop
        for m in _SEG_RE.finditer(normalise(text)):
            ascii_run, cjk_run = m.group(1), m.group(2)
            if ascii_run:
                out.append(ascii_run)
                continue
            out.extend(c for c in cjk_run if c not in stop)
            out.extend(cjk_run[i : i + 2] for i in range(len(cjk_run) - 1))
        return out

    @staticmethod
    def bigrams(text: str) -> list[str]:
        """Overlapping character bigrams over CJK runs; ASCII runs whole (vocabulary-gap field)."""
        out: list[str] = []
        for m in _SEG_RE.finditer(normalise(text)):
            ascii_run, cjk_run = m.group(1), m.group(2)
            if ascii_run:
                out.append(ascii_run)
            elif len(cjk_run) == 1:
                out.append(cjk_run)
            else:
                out.extend(cjk_run[i : i + 2] for i in range(len(cjk_run) - 1))
        return out


_DEFAULT: Analyzer | None = None


def default_analyzer() -> Analyzer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Analyzer()
    return _DEFAULT
