"""The store's connections to SQLite or PostgreSQL: `?` placeholders on both, one writer at a time.

A PostgreSQL connection lost (the server restarted, a failover) is opened again by the next statement;
the statement that met the loss fails with an error `unavailable()` recognises, as does a full disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


_SQLITE_UNAVAILABLE = ("database or disk is full", "disk i/o error", "database is locked", "unable to open")


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the store cannot take writes now (disk full, database gone or restarting) —
    passing trouble to answer with 503 and Retry-After, not a fault of the request."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.OperationalError)


def is_postgresql(url: str | Path) -> bool:
    """True for a PostgreSQL URL, False for a SQLite file path."""
    return str(url).startswith(("postgresql://", "postgres://"))


class Connection:
    """One database connection in autocommit mode, with `?` placeholders on both engines."""

    def __init__(self, url: str | Path):
        self.postgresql, self._url, self._in_transaction = is_postgresql(url), str(url), False
        if self.postgresql:
            import psycopg

            self._db = psycopg.connect(self._url, autocommit=True)
        else:
            self._db = sqlite3.connect(str(url), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            # 64 MiB of page cache (the default is 2 MiB): a national store's indexes are hundreds of MiB,
            # and every insert touches three of them at random places.
            self._db.execute("PRAGMA cache_size=-65536")

    def execute(self, sql: str, params: Sequence = ()):
        """Run one statement; returns the cursor (rowcount, fetchone, fetchall)."""
        if self.postgresql:
            return self._live().execute(sql.replace("?", "%s"), params)
        return self._db.execute(sql, params)

    def _live(self):
        """The PostgreSQL connection, opened again if the last one was lost — never inside a transaction,
        whose statements must all go to the one that began it (a lost transaction raises at its next one)."""
        if self._db.closed and not self._in_transaction:
            import psycopg

            self._db = psycopg.connect(self._url, autocommit=True)
        return self._db

    def copy_csv(self, sql: str, params: Sequence = ()) -> bytes:
        """A query's rows as PostgreSQL's COPY writes them in CSV (no header; NULL an empty unquoted field)."""
        out = bytearray()
        with self._live().cursor() as cursor, cursor.copy(
                f"COPY ({sql.replace('?', '%s')}) TO STDOUT (FORMAT csv)", params) as copy:
            for block in copy:
                out += block
        return bytes(out)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        """Run one statement for many rows (nothing for none)."""
        if not rows:
            return
        if self.postgresql:
            with self._live().cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
        else:
            self._db.executemany(sql, rows)

    def script(self, sql: str) -> None:
        """Run several statements in one transaction."""
        if self.postgresql:
            self._live().execute(f"BEGIN; {sql}; COMMIT;")
        else:
            self._db.executescript(f"BEGIN; {sql}; COMMIT;")

    def begin(self) -> None:
        """Open a write transaction (SQLite takes its write lock at once)."""
        self.execute("BEGIN" if self.postgresql else "BEGIN IMMEDIATE")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: committed if the block ends normally, rolled back if it raises."""
        self.begin()
        self._in_transaction = True
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            # A lost connection took its transaction with it; SQLite rolls back by itself when its disk is full.
            if not self._db.closed if self.postgresql else self._db.in_transaction:
                self.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


class Connections:
    """A writing connection (one write at a time, `_lock`) and a reading one, so that reads never wait
    behind a write's fsync (WAL on SQLite, MVCC on PostgreSQL). Base of every part of the store."""

    def __init__(self, url: str | Path):
        self.url = str(url)
        self._db = Connection(url)
        self._lock = threading.Lock()
        self._reader = Connection(url)
        self._read_lock = threading.Lock()

    @property
    def postgresql(self) -> bool:
        """True when the store is on PostgreSQL."""
        return self._db.postgresql

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Rows of a query on the read connection."""
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def _read_chunks(self, sql: str, params: Sequence = (), rows: int = 100_000) -> Iterator[list[tuple]]:
        """Rows of a query on the read connection, `rows` at a time (never all of them as tuples at once)."""
        with self._read_lock:
            cursor = self._reader.execute(sql, params)
            while chunk := cursor.fetchmany(rows):
                yield chunk

    def _read_csv(self, sql: str, params: Sequence = ()) -> bytes:
        """Rows of a query on the read connection as CSV (PostgreSQL's COPY; see `Connection.copy_csv`)."""
        with self._read_lock:
            return self._reader.copy_csv(sql, params)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """The writing connection inside one transaction, held by this thread alone."""
        with self._lock, self._db.transaction():
            yield self._db

    def close(self) -> None:
        """Close both connections."""
        self._db.close()
        self._reader.close()
