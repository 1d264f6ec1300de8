"""Engines and transactions. One transaction per command or request: `Database.transaction()`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.orm import Session, sessionmaker


def default_url(data_dir: str) -> str:
    return "sqlite:///" + os.path.join(os.path.abspath(data_dir), "tongxin.db")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size(), max_overflow=8)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:  # a sqlite3.Connection (DB-API)
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # writers take the lock up front (BEGIN IMMEDIATE): no upgrade deadlocks
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("tongxin_write") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size(), max_overflow=8)


def pool_size() -> int:
    """Connections kept per engine: one per request thread (TONGXIN_THREADS) plus the background
    threads (index poller, embedding and alert workers). A request never waits for a connection."""
    from ..settings import threads

    return threads() + 4


class Database:
    """The primary (every write, and reads that must see this host's own writes) and, optionally, a
    read replica (a PostgreSQL hot standby: TONGXIN_DATABASE_READ_URL) for the reads that may lag
    by the replication delay: search, matching and the index's catch-up from the change log."""

    def __init__(self, url: str, read_url: str = "") -> None:
        self.url = url
        self.read_url = read_url or ""
        self.engine = make_engine(url)
        self.read_engine = make_engine(read_url) if read_url else self.engine
        self.dialect = self.engine.dialect.name
        self._writer = sessionmaker(bind=self.engine.execution_options(tongxin_write=True), expire_on_commit=False)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._replica = sessionmaker(bind=self.read_engine, expire_on_commit=False) if read_url else self._reader

    @contextlib.contextmanager
    def transaction(self, write: bool = True, replica: bool = False) -> Iterator[Session]:
        """Commit on success, roll back on any error: nothing half-written. `replica=True` (reads
        only): the read replica when one is configured, else the primary."""
        session = (self._writer if write else self._replica if replica else self._reader)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE matched. Session.execute is typed as returning a Result; for a
    DML statement it is a CursorResult, which carries the count."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)
