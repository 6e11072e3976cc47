"""The upload wire format: a probe's batch of measurements and the collector's per-record acknowledgement."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from core.errors import CoreError, problems_from_pydantic
from core.measurement import Instant, Measurement, parse_measurement
from core.school import SchoolId

SCHEMA_VERSION = 1
MAX_BATCH_RECORDS = 500
Record = TypeVar("Record")


class _Batch(BaseModel, Generic[Record]):
    """The one definition of a batch's fields: up to MAX_BATCH_RECORDS records of one probe and school."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    batch_id: UUID
    probe_id: str = Field(min_length=1, max_length=64)
    school_id: SchoolId
    sent_at: Instant
    measurements: list[Record] = Field(max_length=MAX_BATCH_RECORDS)


class UploadBatch(_Batch[Measurement]):
    """What a probe POSTs: up to MAX_BATCH_RECORDS measurements of its own school."""

    @classmethod
    def of(cls, probe_id: str, school_id: str, measurements: list[Measurement]) -> "UploadBatch":
        """A new batch of `measurements` from `probe_id`, with a fresh id, sent now."""
        return cls(batch_id=uuid4(), probe_id=probe_id, school_id=school_id, sent_at=datetime.now(timezone.utc),
                   measurements=measurements)


class _BatchEnvelope(_Batch[Any]):
    """The batch with its records left unparsed, so one bad record cannot refuse the others."""


class RecordStatus(StrEnum):
    """The collector's answer for one record."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"     # already stored: the probe may delete it from its outbox too
    REJECTED = "rejected"       # will never be accepted as sent: the probe logs it and keeps a copy aside


class RecordAck(BaseModel):
    """The answer for the record at `index` of the batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    measurement_id: UUID | None
    status: RecordStatus
    reason: str | None = None


class BatchAck(BaseModel):
    """The collector's answer to a batch: one RecordAck per record, in order, and its config version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_id: UUID
    config_version: str
    received_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    results: list[RecordAck]

    def count(self, status: RecordStatus) -> int:
        """How many records got `status`."""
        return sum(1 for result in self.results if result.status is status)

    def settled_ids(self) -> set[UUID]:
        """Ids the probe may delete from its outbox: accepted, duplicate, or rejected for good."""
        return {r.measurement_id for r in self.results if r.measurement_id is not None}


def open_batch_json(body: bytes) -> tuple[_BatchEnvelope | UploadBatch, list[Measurement | RecordAck]]:
    """Validate a received batch from its JSON bytes: the whole batch at once when it is sound (the usual
    case, several times faster), else record by record as `open_batch` does. ValueError if not JSON or
    nested deeper than a batch ever is."""
    try:
        batch = UploadBatch.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" and "recursion limit" in error["msg"]
               for error in exc.errors(include_url=False, include_input=False)):
            raise ValueError("nested deeper than a batch can be") from None
        try:
            payload = json.loads(body)
        except RecursionError:
            raise ValueError("nested deeper than a batch can be") from None
        return open_batch(payload)
    opened: list[Measurement | RecordAck] = []
    for index, record in enumerate(batch.measurements):
        if record.school_id != batch.school_id or record.probe_id != batch.probe_id:
            opened.append(_foreign(index, record))
        else:
            opened.append(record)
    return batch, opened


def _foreign(index: int, record: Measurement) -> RecordAck:
    return RecordAck(index=index, measurement_id=record.measurement_id, status=RecordStatus.REJECTED,
                     reason=f"school_id={record.school_id!r}, probe_id={record.probe_id!r}: "
                            "a batch carries only its own probe's and school's records")


def open_batch(payload: object) -> tuple[_BatchEnvelope, list[Measurement | RecordAck]]:
    """Validate a received batch: the envelope must be sound (else CoreError); each record on its own.

    Returns the envelope and, per record in order, the Measurement or a REJECTED acknowledgement
    whose reason names the field and value. Records of another school are rejected here too.
    """
    try:
        envelope = _BatchEnvelope.model_validate(payload)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, "batch")) from None
    opened: list[Measurement | RecordAck] = []
    for index, record in enumerate(envelope.measurements):
        parsed = parse_measurement(record, f"measurements[{index}]")
        if isinstance(parsed, list):
            reason = _printable("; ".join(f"{p.field}={_shorten(repr(p.value))}: {p.message}" for p in parsed))
            opened.append(RecordAck(index=index, measurement_id=_id_of(record), status=RecordStatus.REJECTED,
                                    reason=reason))
        elif parsed.school_id != envelope.school_id or parsed.probe_id != envelope.probe_id:
            opened.append(_foreign(index, parsed))
        else:
            opened.append(parsed)
    return envelope, opened


def _id_of(record: object) -> UUID | None:
    try:
        return UUID(str(record.get("measurement_id")))  # type: ignore[union-attr]
    except (AttributeError, ValueError, TypeError):
        return None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _printable(text: str) -> str:
    """`text` with anything UTF-8 cannot carry (lone surrogates from the input) escaped, so the answer can be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
