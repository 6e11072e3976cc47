"""The durability oracle: measurement ids committed by probes against ids stored, 0 lost and 0 duplicated.

A trigger on a probe outbox's `pending` table records every committed id in a `ledger` table inside
the same transaction, so the ledger holds exactly what the probe committed, whatever happened to the
process afterwards. The oracle compares the ledgers with the collector's store: lost = committed and
not stored, unknown = stored and never committed, duplicated = ids stored more than once.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from collectors.store import Store

LEDGER = """
CREATE TABLE IF NOT EXISTS ledger (measurement_id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS ledger_on_commit AFTER INSERT ON pending
BEGIN INSERT INTO ledger VALUES (NEW.measurement_id); END;
"""


def keep_ledger(outbox_path: Path) -> None:
    """Create the outbox at `outbox_path` (if absent) with its ledger of committed ids."""
    from probes.outbox import Outbox

    outbox = Outbox(outbox_path)
    try:
        outbox._db.executescript(LEDGER)
    finally:
        outbox.close()


def outbox_state(outbox_path: Path) -> tuple[set[str], int, int]:
    """(ledger ids, pending, set aside) as committed in the outbox right now; no id is in the ledger twice."""
    db = sqlite3.connect(f"file:{outbox_path}?mode=ro", uri=True)
    try:
        ledger = [row[0] for row in db.execute("SELECT measurement_id FROM ledger")]
        pending = db.execute("SELECT count(*) FROM pending").fetchone()[0]
        aside = db.execute("SELECT count(*) FROM set_aside").fetchone()[0]
    finally:
        db.close()
    assert len(ledger) == len(set(ledger)), f"{outbox_path}: an id committed twice to the ledger"
    return set(ledger), pending, aside


def stored_ids(db: str | Path) -> list[str]:
    """Every measurement id in the store at `db` (SQLite path or PostgreSQL URL), repeats included."""
    store = Store(db)
    try:
        return store.measurement_ids()
    finally:
        store.close()


def judge(outboxes: Iterable[Path], stored: list[str]) -> dict[str, int]:
    """The oracle's figures for these outboxes against the ids `stored`."""
    committed: set[str] = set()
    pending = aside = 0
    for path in outboxes:
        ledger, waiting, set_aside = outbox_state(path)
        committed |= ledger
        pending, aside = pending + waiting, aside + set_aside
    repeats = sum(count - 1 for count in Counter(stored).values())
    unique = set(stored)
    return {"committed": len(committed), "stored": len(stored), "lost": len(committed - unique),
            "unknown": len(unique - committed), "duplicated": repeats, "pending": pending, "set_aside": aside}


def assert_exact(figures: dict[str, int]) -> None:
    """Every committed id stored once, none unknown, nothing left pending or set aside."""
    assert figures["committed"] > 0, figures
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unknown"] == 0, figures
    assert figures["pending"] == 0 and figures["set_aside"] == 0, figures
    assert figures["stored"] == figures["committed"], figures


def wait_for(condition: Callable[[], object], deadline_seconds: float, what: str, poll_seconds: float = 0.2):
    """Poll `condition` until it returns something true; fail naming `what` if the deadline passes first."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {deadline_seconds:g} s")
        time.sleep(poll_seconds)
