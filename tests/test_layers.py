"""The import arrows of docs/architecture.md, checked on the syntax tree of every module under
src/tongxin: an arrow that is not drawn there fails here, with the file, the line and the rule.

Every import counts, at module level or inside a function (a lazy import is still an arrow);
imports under `if TYPE_CHECKING:` count too, except that they may name services for annotations.
Web routes and CLI commands call services; they never open a transaction themselves."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tongxin"

# (layer, layers it must not import, why)
FORBIDDEN: list[tuple[str, tuple[str, ...], str]] = [
    ("core", ("*",), "core/ is pure: it imports nothing of tongxin outside core/"),
    ("search", ("*",), "search/ is an adapter that imports nothing of ours"),
    ("web", ("storage",), "routers call services; they never reach storage"),
    ("cli", ("storage",), "commands call services; they never reach storage"),
    ("fileio", ("storage", "services", "web", "cli", "demo"), "fileio parses and writes files; importing rows is a service"),
    ("services", ("demo", "web", "cli", "bench"), "demo data (and the faces) sit above the services"),
    ("storage", ("services", "web", "cli", "demo", "fileio", "bench"), "storage is below the services"),
    ("demo", ("storage", "web", "cli", "fileio"), "demo data uses the services like any other caller"),
]
# the third-party libraries core/ must not import at module level (a function may, lazily)
CORE_FORBIDDEN_LIBS = ("fastapi", "starlette", "typer", "sqlalchemy", "alembic", "tantivy", "numpy", "jinja2", "uvicorn", "rich")
NO_TRANSACTIONS = ("web", "cli")


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name ("tongxin.storage.repo", "numpy")
    line: int
    top_level: bool  # executed when the module is imported (not inside a function)


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import of a module, resolved to absolute names (`from ..storage import repo` → tongxin.storage.repo).
    Imports guarded by `if TYPE_CHECKING:` are left out (they do not run)."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, top)
            return
        if isinstance(node, ast.Import):
            out.extend(Import(a.name, node.lineno, top) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from . import x` / `from ..storage import repo`: the names may be modules; the arrow is to mod.x
            out.extend(Import(f"{mod}.{a.name}" if a.name != "*" else mod, node.lineno, top) for a in node.names)
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return out


def transaction_calls(source: str) -> list[int]:
    """Lines that call `<anything>.transaction(…)`."""
    return sorted(n.lineno for n in ast.walk(ast.parse(source))
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "transaction")


def _layer(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tongxin" else None


def violations(path: Path, source: str | None = None) -> list[str]:
    """The broken rules of one module under src/tongxin, as 'file:line: what (why)'."""
    source = source if source is not None else path.read_text(encoding="utf-8")
    rel = path.relative_to(SRC).as_posix()
    layer = rel.split("/")[0] if "/" in rel else None
    if layer is None:
        return []
    out = []
    for imp in imports_of(path, source):
        target = _layer(imp.module)
        for who, banned, why in FORBIDDEN:
            if layer != who:
                continue
            if target is not None and target != layer and ("*" in banned or target in banned) or target is None and imp.module.startswith("tongxin") and "*" in banned:
                out.append(f"{rel}:{imp.line}: imports {imp.module} ({why})")
        root = imp.module.split(".")[0]
        if layer == "core" and imp.top_level and root in CORE_FORBIDDEN_LIBS:
            out.append(f"{rel}:{imp.line}: imports {imp.module} at import time (core/ stays free of {root})")
    if layer in NO_TRANSACTIONS:
        out += [f"{rel}:{no}: opens a transaction (call one service function instead)" for no in transaction_calls(source)]
    return out


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_every_import_follows_the_arrows() -> None:
    mods = _modules()
    assert len(mods) > 100 and any(p.parts[-2] == "web" for p in mods)
    bad = [v for p in mods for v in violations(p)]
    assert not bad, "imports or transactions against docs/architecture.md:\n" + "\n".join(bad)


# -- the check itself: it sees what it must see ---------------------------------------------------
def _check(rel: str, source: str) -> list[str]:
    return violations(SRC / rel, source)


def test_the_check_sees_relative_absolute_and_lazy_imports() -> None:
    assert _check("web/routers/x.py", "from ...storage.repo import ListingFilter\n")
    assert _check("web/x.py", "from ..storage import repo\n")
    assert _check("cli/x.py", "def f():\n    from ..storage import deals_repo as R\n")
    assert _check("cli/x.py", "import tongxin.storage.db\n")
    assert _check("fileio/x.py", "from ..storage.db import Database\n")
    assert _check("fileio/x.py", "def f():\n    from ..services.certification import claim_errors\n")
    assert _check("services/x.py", "def f():\n    from ..demo.generator import generate\n")
    assert _check("services/x.py", "from .. import demo\n")
    assert _check("core/x.py", "from ..storage import repo\n")
    assert _check("core/kinds/x.py", "from ...services import Exchange\n")
    assert _check("core/x.py", "import sqlalchemy\n")
    assert _check("search/x.py", "from ..core import regions\n")
    assert _check("demo/x.py", "from ..storage import repo\n")
    assert _check("storage/x.py", "from ..services import deals\n")


def test_the_check_sees_transactions_in_routers_and_commands() -> None:
    assert _check("web/routers/x.py", "def f(ex):\n    with ex.db.transaction(write=False) as s:\n        pass\n")
    assert _check("cli/x.py", "def f(ex):\n    with ex.db.transaction() as s:\n        pass\n")
    assert not _check("services/x.py", "def f(db):\n    with db.transaction() as s:\n        pass\n")


def test_the_check_allows_what_the_arrows_allow() -> None:
    assert not _check("web/routers/x.py", "from ...services import deals\nfrom ...core import access\n")
    assert not _check("cli/x.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..storage.db import Database\n")
    assert not _check("services/x.py", "from ..storage import repo\nfrom ..fileio.contracts import parse_contract_file\n")
    assert not _check("demo/x.py", "from ..services import importing\nfrom ..core import regions\n")
    assert not _check("core/x.py", "from . import regions\nfrom .kinds import registry\ndef f():\n    import numpy\n")
    assert not _check("fileio/x.py", "from ..core.errors import BadFile\nfrom .readers import read_tables\n")


def test_one_clock_for_the_product() -> None:
    """Every "today" of the product is Beijing's (core.clock.local_today): none reads the server's
    zone (`date.today()`), which differs from Beijing's calendar for part of every day; the
    benchmark harness, which dates nothing a user sees, is the exception."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if "bench" in path.relative_to(SRC).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _reads_server_today(node):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == [], offenders
    # the check sees both spellings
    assert [_reads_server_today(n) for n in ast.walk(ast.parse("dt.date.today(); date.today(); local_today()"))].count(True) == 2


def _reads_server_today(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "today"):
        return False
    v = node.func.value
    return (isinstance(v, ast.Attribute) and v.attr == "date") or (isinstance(v, ast.Name) and v.id == "date")
