"""Sentences of a text, for evidence: the sentence of a need and of a technology that are closest (pure).

`split_sentences` cuts Chinese at 。！？；… and line breaks and English at . ! ? ; followed by a
space (not the point of "3.5" or "v2.1"), then

- merges a fragment too short to say anything (fewer than `min_chars` letters or digits, such as
  "是的。" or "Yes.") into the sentence before it (the first one into the next);
- cuts a sentence longer than `max_chars` at its commas, and a clause still too long at
  `max_chars` (one sentence shown as evidence must fit on a card);
- drops parts with no letter or digit and repeats, and keeps at most `max_sentences`, in order.

`listing_sentences` is what a listing is split into: its title, then its description.
"""

from __future__ import annotations

import re

MAX_SENTENCES = 12  # per listing: the title and the first sentences of the description
MIN_CHARS = 6  # letters or digits: a shorter fragment joins its neighbour
MAX_CHARS = 120  # longer sentences are cut at commas

# A sentence ends at a Chinese terminator (with any closing quotes or brackets after it), at an
# English one followed by white space or the end (not the point of a one-letter abbreviation such
# as "e.g." or "i.e."), or at a line break.
_END = re.compile(r"[。！？；!?;…]+[”’」』）)\]]*|(?<![\s.][A-Za-z])\.(?=\s|$)[”’」』）)\]]*|\n+")
_TERMINATORS = frozenset("。！？；!?;….\n")
_COMMA = re.compile(r"(?<=[，,、：:])")
_SPACE = re.compile(r"[ \t\r\f\v\u3000]+")


def _weight(s: str) -> int:
    """Letters and digits: what a sentence says (punctuation and spaces say nothing)."""
    return sum(1 for c in s if c.isalnum())


def _pieces(text: str) -> list[str]:
    """The text cut after every terminator (terminators stay with their sentence)."""
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    out.append(text[start:])
    return [p.strip() for p in out if p.strip()]


def _cut_long(s: str, max_chars: int) -> list[str]:
    """A sentence over `max_chars`: its clauses (cut after commas), packed back up to `max_chars`;
    a clause that is itself too long is cut at `max_chars`."""
    if len(s) <= max_chars:
        return [s]
    out: list[str] = []
    cur = ""
    for clause in (c for c in _COMMA.split(s) if c):
        while len(clause) > max_chars:
            if cur:
                out.append(cur)
                cur = ""
            out.append(clause[:max_chars])
            clause = clause[max_chars:]
        if len(cur) + len(clause) > max_chars:
            out.append(cur)
            cur = clause
        else:
            cur += clause
    if cur:
        out.append(cur)
    return [x.strip() for x in out if x.strip()]


def split_sentences(text: str, max_sentences: int = MAX_SENTENCES, min_chars: int = MIN_CHARS,
                    max_chars: int = MAX_CHARS) -> list[str]:
    """The sentences of `text`, in order, at most `max_sentences` (see the module's doc)."""
    if max_sentences <= 0 or not text:
        return []
    text = _SPACE.sub(" ", text.replace("\r\n", "\n"))
    merged: list[str] = []
    carry = ""  # a short fragment at the start, waiting for a sentence to join
    for p in _pieces(text):
        if not any(c.isalnum() for c in p):
            if merged:
                merged[-1] += p  # stray punctuation stays with its sentence
            continue
        if _weight(p) < min_chars:
            if merged:
                merged[-1] = _join(merged[-1], p)
            else:
                carry = _join(carry, p)
            continue
        merged.append(_join(carry, p) if carry else p)
        carry = ""
    if carry:
        merged.append(carry)
    out: list[str] = []
    seen: set[str] = set()
    for s in merged:
        for piece in _cut_long(s, max_chars):
            if piece in seen or not any(c.isalnum() for c in piece):
                continue
            seen.add(piece)
            out.append(piece)
            if len(out) == max_sentences:
                return out
    return out


def _join(a: str, b: str) -> str:
    """Two pieces of one sentence: a space between English words, none in Chinese."""
    if not a:
        return b
    if a[-1].isascii() and b[:1].isascii() and not a[-1].isspace():
        return a + " " + b
    return a + b


def listing_sentences(title: str, description: str, max_sentences: int = MAX_SENTENCES) -> list[str]:
    """A listing's sentences: its title (whatever its length, when it has a letter or digit), then
    those of its description (less its first sentence where that is the title again); repeats
    dropped, at most `max_sentences`."""
    t = _SPACE.sub(" ", title.replace("\n", " ")).strip()
    head = _cut_long(t, MAX_CHARS)[:1] if any(c.isalnum() for c in t) else []
    d = description.lstrip()
    if head and d.startswith(t) and (len(d) == len(t) or d[len(t)] in _TERMINATORS):
        description = d[len(t):]  # the description's first sentence is the title again
    rest = [s for s in split_sentences(description, max_sentences + 1) if s not in head]
    return (head + rest)[:max_sentences]
