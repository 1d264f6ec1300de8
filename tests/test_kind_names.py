"""Nothing outside core/kinds lists kinds by name: services, pages, storage and file I/O look
kinds up by declared properties (KindSpec.roles, checks, fits, filters). demo/ and bench/
generate data of named kinds, so they may name them."""

from __future__ import annotations

import re
from pathlib import Path

from tongxin.core.kinds import default_registry

SRC = Path(__file__).resolve().parents[1] / "src" / "tongxin"
SKIP_DIRS = ("core/kinds/", "demo/", "bench/")

# (file, text on the line, why the kind's name may stay there)
ALLOWED = [
    ("core/booking.py", 'GROUPS = ("instrument"', "a usage-statistics grouping key ('by instrument'), not a kind"),
    ("core/booking.py", 'group: str = "instrument"', "the same grouping key"),
    ("core/booking.py", 'if group == "instrument"', "the same grouping key"),
    ("web/routers/resources.py", 'group: str = "instrument"', "the same grouping key, as an API parameter"),
    ("web/templates/resources/stats.html", "'instrument'", "the same grouping key, on the statistics page"),
    ("core/stats.py", '{"policy": p,', "a key of the statistics JSON (a policy's title), not a kind"),
    ("services/booking.py", 'not_visible("仪器", "instrument"', "the English noun of an error message"),
    ("services/billing.py", 'not_visible("仪器", "instrument"', "the English noun of an error message"),
    ("web/routers/resources.py", 'not_visible("仪器", "instrument"', "the English noun of an error message"),
    ("services/history.py", '["instrument"]', "a field of the resource records' trainings and bookings (the instrument's external id)"),
    ("web/routers/api.py", 'examples=[{"kind": "scenario"', "an example request body in the OpenAPI page"),
]


def _hits(names: list[str]) -> list[tuple[str, int, str, str]]:
    literal = re.compile(r"""(["'])(""" + "|".join(map(re.escape, names)) + r""")\1""")
    out = []
    for p in sorted(SRC.rglob("*")):
        if p.suffix not in (".py", ".html", ".js"):
            continue
        rel = p.relative_to(SRC).as_posix()
        if rel.startswith(SKIP_DIRS):
            continue
        for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            for m in literal.finditer(line):
                if m.group(2) == "post" and re.search(r"method=\s*$", line[: m.start()]):
                    continue  # <form method="post">: the HTTP method, not the kind
                out.append((rel, no, m.group(2), line.strip()))
    return out


def _allowed(rel: str, line: str) -> bool:
    return any(rel == f and text in line for f, text, _ in ALLOWED)


def test_no_kind_names_outside_core_kinds() -> None:
    names = default_registry().names()
    assert len(names) >= 14
    bad = [f"{rel}:{no}: '{name}' in {line[:120]}" for rel, no, name, line in _hits(names) if not _allowed(rel, line)]
    assert not bad, "kind names outside core/kinds (use KindSpec.roles / checks / the registry):\n" + "\n".join(bad)


def test_the_check_finds_a_kind_name() -> None:
    """The scan sees string literals in Python and templates: it would flag a new one."""
    hits = _hits(["instrument"])
    assert any(rel == "core/booking.py" for rel, *_ in hits)
    assert any(rel.endswith(".html") for rel, *_ in hits)
    assert not _allowed("services/listings.py", 'if x.kind == "instrument":')


def test_every_allowance_is_still_needed() -> None:
    hits = _hits(default_registry().names())
    unused = [(f, text) for f, text, _ in ALLOWED if not any(rel == f and text in line for rel, _, _, line in hits)]
    assert not unused, f"allow-list entries that no longer match anything: {unused}"
