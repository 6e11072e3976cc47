import uuid
from datetime import datetime, timedelta, timezone

import pytest

from core.batch import MAX_BATCH_RECORDS, BatchAck, RecordAck, RecordStatus, UploadBatch, open_batch
from core.errors import CoreError
from core.measurement import Measurement, read_measurements, write_measurements

START = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


def record(**changes) -> dict:
    base = {
        "measurement_id": str(uuid.uuid4()), "school_id": "KZ-002", "probe_id": "probe-1", "kind": "download",
        "start": START.isoformat(), "end": (START + timedelta(seconds=10)).isoformat(),
        "clock_offset_seconds": 0.02, "values": {"throughput_bps": 7.5e6, "min_rtt_seconds": 0.04},
        "target": "ndt7.example.kz", "method": "ndt7", "method_version": "v7", "probe_version": "0.1.0",
    }
    return {**base, **changes}


def test_a_record_is_normalised_to_utc():
    m = Measurement.model_validate(record(start="2026-11-23T09:00:00+05:00", end="2026-11-23T09:00:10+05:00"))
    assert m.start == START + timedelta(hours=0) and m.start.tzinfo == timezone.utc


@pytest.mark.parametrize("changes, fragment", [
    ({"start": "2026-11-23T09:00:00"}, "timezone"),
    ({"end": (START - timedelta(seconds=1)).isoformat()}, "before start"),
    ({"values": {"throughput_bps": -1.0}}, "non-negative"),
    ({"values": {"throughput_mbps": 7.5}}, "not a value of kind 'download'"),
    ({"values": {"min_rtt_seconds": 0.04}}, "requires throughput_bps"),
    ({"kind": "latency", "values": {"loss_ratio": 1.5}}, "above its bound"),
    ({"measurement_id": "not-a-uuid"}, "UUID"),
    ({"school_id": "school 2"}, "pattern"),
    ({"colour": "blue"}, "Extra inputs"),
])
def test_bad_records_are_refused(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        Measurement.model_validate(record(**changes))


def test_a_failed_measurement_may_lack_values():
    m = Measurement.model_validate(record(values={}, error="server busy"))
    assert m.error == "server busy"


def test_measurement_files_round_trip_and_bad_lines_are_located(tmp_path):
    records = [Measurement.model_validate(record()) for _ in range(3)]
    write_measurements(tmp_path / "m.jsonl", records)
    assert read_measurements(tmp_path / "m.jsonl") == records
    lines = (tmp_path / "m.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"throughput_bps":7500000.0', '"throughput_bps":-7')
    lines.append("{not json")
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CoreError) as caught:
        read_measurements(tmp_path / "bad.jsonl")
    assert [p.row for p in caught.value.problems] == [2, 4]


def batch(records: list) -> dict:
    return {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": "probe-1", "school_id": "KZ-002",
            "sent_at": START.isoformat(), "measurements": records}


def test_one_bad_record_does_not_refuse_the_others():
    good, bad, foreign = record(), record(values={"throughput_bps": -1.0}), record(school_id="KZ-003")
    _, opened = open_batch(batch([good, bad, foreign]))
    assert isinstance(opened[0], Measurement)
    assert isinstance(opened[1], RecordAck) and opened[1].status is RecordStatus.REJECTED
    assert "values" in opened[1].reason and str(opened[1].measurement_id) == bad["measurement_id"]
    assert opened[2].status is RecordStatus.REJECTED and "own probe's and school's" in opened[2].reason


@pytest.mark.parametrize("changes, field", [
    ({"schema_version": 2}, "schema_version"),
    ({"measurements": [record()] * (MAX_BATCH_RECORDS + 1)}, "measurements"),
    ({"sent_at": "yesterday"}, "sent_at"),
])
def test_a_bad_envelope_refuses_the_batch(changes, field):
    with pytest.raises(CoreError) as caught:
        open_batch({**batch([record()]), **changes})
    assert caught.value.problems[0].field == field


def test_the_sender_side_batch_and_the_acknowledgement_round_trip():
    measurement = Measurement.model_validate(record())
    sent = UploadBatch(batch_id=uuid.uuid4(), probe_id="probe-1", school_id="KZ-002", sent_at=START,
                       measurements=[measurement])
    envelope, opened = open_batch(sent.model_dump(mode="json"))
    assert opened == [measurement] and envelope.batch_id == sent.batch_id
    ack = BatchAck(batch_id=sent.batch_id, config_version="7", results=[
        RecordAck(index=0, measurement_id=measurement.measurement_id, status=RecordStatus.DUPLICATE)])
    again = BatchAck.model_validate_json(ack.model_dump_json())
    assert again.count(RecordStatus.DUPLICATE) == 1 and again.settled_ids() == {measurement.measurement_id}
