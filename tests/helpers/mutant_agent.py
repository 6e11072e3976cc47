"""A deliberately broken probe agent for the durability oracle: it deletes from the outbox before the ack.

    python -m tests.helpers.mutant_agent probe run --config FILE

It is the real agent with one change — each batch is deleted from the outbox before it is posted —
so the oracle in tests/probes/test_outbox.py must see it lose measurements.
"""

from __future__ import annotations

from probes.uploader import Uploader

_real_upload_once = Uploader.upload_once


async def _delete_first(self):
    pending = self.outbox.oldest(self._batch_records)
    if pending:
        self.outbox.oldest = lambda limit, rows=pending: rows       # send what was read ...
        self.outbox._db.executemany("DELETE FROM pending WHERE measurement_id = ?",
                                    [(str(measurement_id),) for measurement_id, _ in pending])   # ... already gone
    try:
        return await _real_upload_once(self)
    finally:
        self.outbox.__dict__.pop("oldest", None)


Uploader.upload_once = _delete_first

if __name__ == "__main__":
    from cli.main import run

    run()
