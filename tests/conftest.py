"""Shared fixtures. Storage tests run on SQLite and, when TONGXIN_TEST_POSTGRES_URL is set,
on PostgreSQL too (each test in its own schema). With CI=true PostgreSQL is required."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tongxin.services import Exchange
from tongxin.storage.db import Database

# semantic matching off unless a test asks for an encoder (tests/test_semantic*.py pass the
# deterministic HashEncoder; the e5 model is loaded by its own test only)
os.environ.setdefault("TONGXIN_ENCODER", "none")
# the web app's background alert sender is off unless a test starts it (tests/test_alerts.py runs passes itself)
os.environ.setdefault("TONGXIN_ALERTS_WORKER", "0")
PG_URL = os.environ.get("TONGXIN_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    if not PG_URL:
        return "TONGXIN_TEST_POSTGRES_URL is not set"
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=5):
            return None
    except Exception as e:  # pragma: no cover - depends on the machine
        return f"PostgreSQL at {PG_URL} is unreachable: {e}"


def require_pg() -> None:
    """Skip when PostgreSQL is not configured or unreachable; with CI=true that is a failure."""
    why = _pg_available()
    if why:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {why}")
        pytest.skip(why)


@contextmanager
def pg_schema_url(prefix: str = "t_") -> Iterator[str]:
    """A fresh schema in the PostgreSQL at TONGXIN_TEST_POSTGRES_URL (dropped afterwards); yields a URL
    whose search_path is that schema. Call require_pg() first."""
    import psycopg

    schema = prefix + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def backends() -> list[str]:
    return ["sqlite", "postgresql"]


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "t.db")
        return
    require_pg()
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = Database(db_url)
    yield d
    d.dispose()


@pytest.fixture
def exchange(db_url: str, tmp_path) -> Iterator[Exchange]:  # type: ignore[no-untyped-def]
    ex = Exchange(Database(db_url), str(tmp_path / "index"))
    ex.init_db()
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def demo_exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """The demo data loaded and indexed once per test run (SQLite), shared read-only by tests."""
    from tongxin.demo.load import load_demo

    tmp = tmp_path_factory.mktemp("demo")
    ex = Exchange(Database("sqlite:///" + str(tmp / "demo.db")), str(tmp / "idx"))
    ex.init_db()
    load_demo(ex)
    ex.rebuild_index()
    yield ex
    ex.close()
