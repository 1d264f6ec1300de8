"""Backup and restore of the whole database (`tongxin backup FILE`, `tongxin restore FILE`).

- SQLite: the online backup API copies a consistent snapshot while the server keeps writing;
  the copy is written to FILE.partial, checked (`PRAGMA integrity_check`) and renamed, so FILE
  is either a whole backup or absent.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, no lock on writers), of the
  schema named in the URL's search_path option when there is one. Restore runs `pg_restore
  --single-transaction --exit-on-error`: the target gets everything or nothing.

A restore refuses a target that already holds tongxin data unless `force`, a file of the other
engine and a file that is no backup at all. The search index is derived data: it is not in the
backup, and the restore removes the target's index directory so the next start rebuilds it.
Vectors are stored in the database, so they come back without recomputation.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from sqlalchemy import create_engine, inspect, text

from ..core import errors as E
from ..storage.db import Database, is_sqlite

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _sqlite_path(url: str) -> str:
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise E.ValidationError(E.Message("内存数据库无法备份", "an in-memory database cannot be backed up"))
    return path


def _pg_parts(url: str) -> tuple[str, str | None]:
    """(libpq URL without the search_path option, schema named by it or None)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    q = parse_qs(parts.query)
    schema = None
    for opt in q.get("options", []):
        opt = unquote(opt)
        if "search_path=" in opt:
            schema = opt.split("search_path=", 1)[1].split(",")[0].split()[0]
    rest = "&".join(f"{k}={v}" for k, vs in q.items() if k != "options" for v in vs)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise E.ValidationError(E.Message(f"找不到 {name}：请安装 postgresql-client（sudo apt-get install postgresql-client）",
                                          f"{name} not found: install postgresql-client (sudo apt-get install postgresql-client)"))
    return found


def _run(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip()[-600:]
        raise E.BadFile(E.Message(f"{os.path.basename(cmd[0])} 失败：{tail}", f"{os.path.basename(cmd[0])} failed: {tail}"))


def backup(db: Database, file: str) -> dict[str, Any]:
    """Write a consistent backup of `db` to `file` (replacing it only once the copy is whole)."""
    t0 = time.perf_counter()
    file = os.path.abspath(file)
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    partial = file + ".partial"
    try:
        if is_sqlite(db.url):
            fmt = "sqlite"
            src = sqlite3.connect(_sqlite_path(db.url), timeout=30)
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=4096)  # steps: writers are not blocked for the whole copy
                ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                dst.close()
                src.close()
            if ok != "ok":
                raise E.BadFile(E.Message(f"备份校验失败：{ok}", f"backup integrity check failed: {ok}"))
        else:
            fmt = "pg_dump custom"
            url, schema = _pg_parts(db.url)
            cmd = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"]
            if schema:
                cmd.append(f"--schema={schema}")
            _run([*cmd, url])
        os.replace(partial, file)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return {"file": file, "bytes": os.path.getsize(file), "seconds": time.perf_counter() - t0, "format": fmt}


def _kind_of(file: str) -> str:
    try:
        with open(file, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise E.NotFound(E.Message(f"备份文件不存在：{file}", f"backup file not found: {file}")) from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise E.BadFile(E.Message(f"{file} 不是 tongxin 备份（既非 SQLite 数据库，也非 pg_dump 自定义格式）",
                              f"{file} is not a tongxin backup (neither a SQLite database nor a pg_dump custom-format file)"))


def _has_data(url: str) -> bool:
    if is_sqlite(url) and not os.path.exists(_sqlite_path(url)):
        return False
    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
    try:
        with eng.connect() as c:
            if "alembic_version" not in inspect(c).get_table_names():
                return False
            return bool(c.execute(text("SELECT count(*) FROM alembic_version")).scalar())
    finally:
        eng.dispose()


def restore(url: str, file: str, index_dir: str | None = None, force: bool = False) -> dict[str, Any]:
    """Restore `file` into the database at `url`; remove the derived search index."""
    t0 = time.perf_counter()
    kind = _kind_of(file)
    target = "sqlite" if is_sqlite(url) else "postgresql"
    if kind != target:
        raise E.BadFile(E.Message(f"这是 {kind} 的备份，目标数据库是 {target}：请恢复到同类数据库",
                                  f"this is a {kind} backup and the target is {target}: restore into the same kind of database"))
    if not force and _has_data(url):
        raise E.Conflict(E.Message("目标数据库已有数据；确认覆盖请加 --force（会先删除现有数据）",
                                   "the target database already holds data; add --force to replace it (existing data is removed first)"))
    if kind == "sqlite":
        _restore_sqlite(url, file)
    else:
        _restore_pg(url, file, force)
    if index_dir and os.path.isdir(index_dir):
        shutil.rmtree(index_dir)  # derived data: rebuilt from the restored database
    return {"file": os.path.abspath(file), "seconds": time.perf_counter() - t0}


def _restore_sqlite(url: str, file: str) -> None:
    check = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        has = check.execute("SELECT count(*) FROM sqlite_master WHERE name='alembic_version'").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise E.BadFile(E.Message(f"备份文件已损坏：{e}", f"the backup file is damaged: {e}")) from None
    finally:
        check.close()
    if ok != "ok" or not has:
        raise E.BadFile(E.Message("备份文件校验失败或不是 tongxin 数据库", "the backup fails its integrity check or is not a tongxin database"))
    path = _sqlite_path(url)
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = path + ".restoring"
    shutil.copyfile(file, tmp)
    for ext in ("-wal", "-shm"):
        if os.path.exists(path + ext):
            os.remove(path + ext)
    os.replace(tmp, path)


def _restore_pg(url: str, file: str, force: bool) -> None:
    base, schema = _pg_parts(url)
    import psycopg

    with psycopg.connect(base, autocommit=True) as c:
        if force:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema or "public"}" CASCADE')
            if not schema:
                c.execute("CREATE SCHEMA public")
        elif schema:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}"')  # empty (checked above): pg_restore creates it
        c.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")  # dumps of one schema leave extensions out
    _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", f"--dbname={base}", file])
