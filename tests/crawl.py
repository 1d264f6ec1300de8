"""A small same-site crawler for the navigation tests (tests/test_navigation.py).

Starts at a page, follows every link (`<a href>`) on every page it reaches, as one person (a
session cookie, or none for a visitor), and records every answer: status, where it was linked
from, and the visible text of each HTML page. Links are grouped by shape (numbers replaced, query
keys without values) and only the first few of each shape are followed, so a list of 10,000
listings costs a few requests, not 10,000."""

from __future__ import annotations

import contextlib
import json
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

PER_SHAPE = 2
MAX_PAGES = 900
# links a person follows to leave the site's pages: files, probes and the machine-readable API
NOT_PAGES = (".csv", ".xlsx", ".pdf", ".ics", ".png", ".svg", ".js", ".css", ".json")
INVISIBLE = {"script", "style", "template", "noscript"}


class _Page(HTMLParser):
    """Links and visible text of one HTML page (attribute text that people read: title, placeholder, alt, button value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in INVISIBLE:
            self._skip += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "title":
            self._in_title = True
        for key in ("placeholder", "alt", "title", "aria-label"):
            if a.get(key):
                self.text.append(a[key])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.text.append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in INVISIBLE and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(data)


def parse(html: str) -> tuple[list[str], str]:
    p = _Page()
    p.feed(html)
    return p.links, "\n".join(p.text)


def shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "#", parts.path) + ("?" + "&".join(keys) if keys else "")


@dataclass
class Visit:
    url: str
    status: int
    referrer: str
    location: str = ""
    html: bool = False
    text: str = ""


@dataclass
class Crawl:
    visits: dict[str, Visit] = field(default_factory=dict)  # url → answer
    shown: dict[str, set[str]] = field(default_factory=dict)  # url → pages that link to it

    def bad(self, signed_in: bool) -> list[str]:
        """Links that fail: 4xx/5xx, and for a signed-in person a link that sends them to sign in."""
        out = []
        for v in self.visits.values():
            to_login = 300 <= v.status < 400 and urlsplit(v.location).path == "/login"
            if v.status >= 400 or (signed_in and to_login):
                out.append(f"{v.url} → {v.status} {v.location} (linked from {sorted(self.shown.get(v.url, {v.referrer}))[:3]})")
        return sorted(out)

    def paths(self) -> set[str]:
        return {urlsplit(u).path for u, v in self.visits.items() if v.status < 300}


def same_site(href: str, base: str) -> str | None:
    if href.startswith(("mailto:", "tel:", "javascript:", "#")):
        return None
    url, _ = urldefrag(urljoin(base, href))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base).netloc:
        return None
    if any(k == "lang" for k, _ in parse_qsl(parts.query)):
        return None  # the language switch: the same page in English (checked apart)
    return url


def crawl(client: Any, start: str, headers: dict[str, str] | None = None, per_shape: int = PER_SHAPE,
          max_pages: int = MAX_PAGES, skip: tuple[str, ...] = ()) -> Crawl:
    """Follow every same-site link from `start` (an absolute URL on the client's base URL)."""
    out = Crawl()
    queue: deque[tuple[str, str]] = deque([(start, "")])
    per: dict[str, int] = {}
    while queue and len(out.visits) < max_pages:
        url, ref = queue.popleft()
        if url in out.visits:
            continue
        sh = shape(url)
        if per.get(sh, 0) >= per_shape or urlsplit(url).path in skip:
            continue
        per[sh] = per.get(sh, 0) + 1
        client.cookies.clear()
        r = client.get(url, headers=headers or {}, follow_redirects=False)
        v = Visit(url, r.status_code, ref, r.headers.get("location", ""))
        out.visits[url] = v
        if 300 <= r.status_code < 400 and v.location:
            nxt = same_site(v.location, url)
            if nxt:
                out.shown.setdefault(nxt, set()).add(url)
                queue.append((nxt, url))
            continue
        if r.status_code >= 400 or "text/html" not in r.headers.get("content-type", ""):
            continue
        v.html = True
        links, v.text = parse(r.text)
        for href in links:
            nxt = same_site(href, url)
            if nxt is None:
                continue
            out.shown.setdefault(nxt, set()).add(url)
            if nxt not in out.visits:
                queue.append((nxt, url))
    return out


def is_page(url: str) -> bool:
    path = urlsplit(url).path
    return not path.startswith(("/api/", "/static/")) and not path.endswith(NOT_PAGES)


# -- English left in the Chinese pages -------------------------------------------------------------

WORD = re.compile(r"[A-Za-z]{3,}")
CODE_VALUE = re.compile(r"^[a-z][a-z_\-]*$")  # a stored code (status, type, role …): shown to people only through a label
CODE_COLUMN = re.compile(r"(^|_)(status|stage|role|kind|type|visibility|state|action|mode|origin|frequency|band|channel|event|reason|unit)s?$")
ADDRESS = re.compile(r"\S+@\S+|https?://\S+")  # e-mail addresses and web addresses are not words


def data_words(db: Any) -> set[str]:
    """ASCII words people typed or imported (names, titles, descriptions, e-mails, instrument models …),
    read from every text value in the database; a bare code ("active", "pending") is not data to show."""
    from sqlalchemy import MetaData, select

    words: set[str] = set()

    def take(value: Any, coded: bool) -> None:
        if isinstance(value, str):
            if not (coded and CODE_VALUE.match(value)):
                words.update(w.lower() for w in WORD.findall(value))
        elif isinstance(value, dict):
            for x in value.values():
                take(x, True)  # attributes: enum values are codes, typed text has spaces or capitals
        elif isinstance(value, list | tuple):
            for x in value:
                take(x, True)

    md = MetaData()
    md.reflect(db.engine)
    with db.engine.connect() as conn:
        for table in md.tables.values():
            cols = [c for c in table.columns if _texty(c)]
            if not cols:
                continue
            coded = [bool(CODE_COLUMN.search(c.name)) for c in cols]
            for row in conn.execute(select(*cols)):
                for value, is_code in zip(row, coded, strict=True):
                    if isinstance(value, str) and value[:1] in "{[":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    take(value, is_code)
    return words


def _texty(column: Any) -> bool:
    try:
        return column.type.python_type in (str, dict, list, object)
    except NotImplementedError:  # a type without a Python equivalent: not text
        return False


def english_words(text: str, allowed: set[str]) -> list[str]:
    return [w for w in WORD.findall(ADDRESS.sub(" ", text)) if w.lower() not in allowed]
