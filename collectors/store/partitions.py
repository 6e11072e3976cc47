"""Raw results by month: PostgreSQL keeps each month in its own partition, so that retention drops a month
whole (DROP TABLE, no vacuum debt); SQLite keeps one table and deletes rows."""

from __future__ import annotations

from collectors.store.connection import Connections

PARTITION_LOCK_KEY = 0x6D656B74       # pg_advisory_xact_lock key serialising partition creation


class Partitions(Connections):
    """The monthly partitions of `measurements` and raw-data retention."""

    _partitions: set[str]

    def _load_partitions(self) -> None:
        """PostgreSQL: learn the monthly partitions, and give rows waiting in the default one their month."""
        self._partitions = set()
        if not self._db.postgresql:
            return
        rows = self._db.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                "WHERE i.inhparent = 'measurements'::regclass").fetchall()
        self._partitions = {name[len("measurements_"):].replace("_", "-") for (name,) in rows
                            if name != "measurements_default"}
        waiting = self._db.execute("SELECT DISTINCT substr(day, 1, 7) FROM measurements_default").fetchall()
        self._ensure_partitions({month for (month,) in waiting})

    def _ensure_partitions(self, months: set[str]) -> None:
        """PostgreSQL: create the monthly partitions (YYYY-MM) that do not exist yet, moving any rows of
        that month out of the default partition first. Safe when several processes race to create one.
        The caller holds the write lock."""
        if not self._db.postgresql:
            return
        for month in sorted(months - self._partitions):
            name = f"measurements_{month.replace('-', '_')}"
            year, number = int(month[:4]), int(month[5:7])
            after = f"{year + number // 12:04d}-{number % 12 + 1:02d}-01"
            bounds = (f"{month}-01", after)
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(?)", (PARTITION_LOCK_KEY,))
                if self._db.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is None:
                    self._db.execute(f"CREATE TABLE {name} (LIKE measurements INCLUDING DEFAULTS)")
                    self._db.execute(f"INSERT INTO {name} SELECT * FROM measurements_default "
                                     "WHERE day >= ? AND day < ?", bounds)
                    self._db.execute("DELETE FROM measurements_default WHERE day >= ? AND day < ?", bounds)
                    self._db.execute(f"ALTER TABLE measurements ATTACH PARTITION {name} "
                                     f"FOR VALUES FROM ('{bounds[0]}') TO ('{bounds[1]}')")
            self._partitions.add(month)

    def partitions(self) -> list[str]:
        """The months (YYYY-MM) that have their own partition (PostgreSQL; none on SQLite)."""
        return sorted(self._partitions)

    def drop_raw_before(self, day: str) -> int:
        """Delete raw results (and their ids) of local days before `day` (YYYY-MM-DD); roll-ups stay. Returns rows.

        On PostgreSQL a month wholly before `day` goes as one partition (DROP TABLE, no vacuum debt)."""
        # The ids go with their rows (on SQLite `measurement_ids` is a view of the rows) rather than being kept
        # forever, which would grow without bound a table every insert probes. The collector refuses a record
        # whose local day is before the same horizon (collectors.ingest), so a re-sent record of a dropped day is
        # answered "rejected", never stored again; only an id re-sent with content moved past the horizon (a
        # changed clock offset across that one date) could be stored a second time.
        dropped = 0
        with self._lock:
            for month in sorted(m for m in self._partitions if f"{m}-31" < day):
                name = f"measurements_{month.replace('-', '_')}"
                with self._db.transaction():
                    self._db.execute(f"DELETE FROM measurement_ids WHERE measurement_id IN "
                                     f"(SELECT measurement_id FROM {name})")
                    dropped += self._db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                    self._db.execute(f"DROP TABLE {name}")
                self._partitions.discard(month)
            with self._db.transaction():
                if self._db.postgresql:
                    self._db.execute("DELETE FROM measurement_ids WHERE measurement_id IN "
                                     "(SELECT measurement_id FROM measurements WHERE day < ?)", (day,))
                return dropped + self._db.execute("DELETE FROM measurements WHERE day < ?", (day,)).rowcount
