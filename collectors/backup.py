"""Backup and restore of the store: SQLite's online backup API, PostgreSQL's pg_dump / pg_restore.

A SQLite backup is a consistent copy taken while the collector runs; a PostgreSQL backup is a
custom-format dump. Restoring replaces what the target holds: stop the collector first.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from collectors.store import STORE_TABLES, Store, is_postgresql
from core.errors import CoreError


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client program `name` (pg_dump, pg_restore)."""
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise CoreError.one("backup", "--db", name, f"{name} is not installed (Debian package postgresql-client)")
    return found


def backup(url: str, destination: Path) -> Path:
    """Copy the store at `url` to the file `destination` (refused if it exists)."""
    if destination.exists():
        raise CoreError.one("command line", "--to", str(destination), "exists already; choose a new file")
    if is_postgresql(url):
        _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={destination}", url], "--db", url)
        return destination
    if not Path(url).is_file():
        raise CoreError.one("command line", "--db", url, "no such database file")
    source, target = sqlite3.connect(url), sqlite3.connect(destination)
    try:
        source.backup(target)                  # page by page, consistent even while the collector writes
    finally:
        target.close()
        source.close()
    return destination


def restore(source: Path, url: str) -> None:
    """Replace the store at `url` with the backup `source` (the collector must be stopped)."""
    if not source.is_file():
        raise CoreError.one("command line", "--from", str(source), "no such backup file")
    if is_postgresql(url):
        # pg_restore --clean cannot drop a partition's inherited keys: empty the store ourselves, then restore.
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"DROP TABLE IF EXISTS {', '.join(STORE_TABLES)} CASCADE")
        _run([pg_tool("pg_restore"), "--no-owner", f"--dbname={url}", str(source)], "--from", str(source))
    else:
        backup_db, target = sqlite3.connect(source), sqlite3.connect(url)
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
    Store(url).close()                            # a backup from an older version is migrated now


def _run(argv: list[str], option: str, value: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise CoreError.one("backup", option, value, result.stderr.strip()[-500:] or f"exit {result.returncode}")
