"""SNMPv2c GETBULK on the wire, without pysnmp: BER by hand and one UDP socket for every v2c target.

pyasn1's generic BER decoder spent ~2.5 of the 3.8 CPU-ms a poll cost (objects, clones and tag maps
for each of an answer's ~31 variables); the one message shape a poll needs is encoded and decoded
here directly (benchmarks/snmp_poll.py measures both). SNMPv3 (its engine discovery, keys and
privacy) stays on pysnmp. Answers are matched by request id, source address and community; anything
else arriving on the socket (garbage, a stray answer) is dropped, as an engine drops it, so a target
that never answers well times out.
"""

from __future__ import annotations

import asyncio
import itertools
import random

from probes.ber import element, object_identifier

ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
                "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
                "resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable",
                "inconsistentName")
NO_ANSWER = "No SNMP response received before timeout"
GET_BULK, RESPONSE = 0xA5, 0xA2
SIGNED = {0x02}                                    # INTEGER; Counter32, Gauge32, TimeTicks, Counter64 are not
UNSIGNED = {0x41, 0x42, 0x43, 0x46}
TEXT = {0x04, 0x44}                                # OCTET STRING, Opaque
END_OF_MIB_TAGS = {0x80, 0x81, 0x82}               # noSuchObject, noSuchInstance, endOfMibView


class SnmpFailure(Exception):
    """A device did not answer, or answered with an error: the message says which."""


class EndOfMib:
    """The value of a variable past the last one the agent has (endOfMibView, or a noSuch* exception)."""


END_OF_MIB = EndOfMib()


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray((arcs[0] * 40 + arcs[1],))
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def get_bulk(community: str, request_id: int, non_repeaters: int, repetitions: int, oids: list[str]) -> bytes:
    """A v2c GetBulkRequest message for `oids` (dotted), the first `non_repeaters` of them asked once."""
    varbinds = b"".join(_tlv(0x30, _oid(oid) + b"\x05\x00") for oid in oids)
    pdu = _tlv(GET_BULK, _integer(request_id) + _integer(non_repeaters) + _integer(repetitions)
               + _tlv(0x30, varbinds))
    return _tlv(0x30, _integer(1) + _tlv(0x04, community.encode()) + pdu)


def parse_response(data: bytes) -> tuple[str, int, int, int, list[tuple[str, object]]]:
    """(community, request id, error status, error index, [(oid, value)]) of a v2c Response message;
    values are int, str, END_OF_MIB or None (NULL). ValueError (or IndexError) for anything else."""
    tag, at, _ = element(data, 0)
    fields = []
    for _ in range(3):                                         # version, community, PDU
        tag, start, end = element(data, at)
        fields.append((tag, start, end))
        at = end
    (version_tag, version_start, version_end), (_, community_start, community_end), (pdu_tag, at, _) = fields
    if version_tag != 0x02 or data[version_start:version_end] != b"\x01" or pdu_tag != RESPONSE:
        raise ValueError("not a v2c response")
    header = []
    for _ in range(3):                                         # request id, error status, error index
        _, start, end = element(data, at)
        header.append(int.from_bytes(data[start:end], "big", signed=True))
        at = end
    _, at, stop = element(data, at)
    varbinds = []
    while at < stop:
        _, inner, at = element(data, at)
        _, oid_start, oid_end = element(data, inner)
        tag, start, end = element(data, oid_end)
        raw = data[start:end]
        if tag in UNSIGNED:
            value: object = int.from_bytes(raw, "big")
        elif tag in SIGNED:
            value = int.from_bytes(raw, "big", signed=True)
        elif tag in TEXT:
            value = raw.decode("utf-8", "replace")
        elif tag in END_OF_MIB_TAGS:
            value = END_OF_MIB
        elif tag == 0x06:
            value = object_identifier(raw)
        elif tag == 0x40:
            value = ".".join(str(byte) for byte in raw)
        else:
            value = None
        varbinds.append((object_identifier(data[oid_start:oid_end]), value))
    return data[community_start:community_end].decode("utf-8", "replace"), *header, varbinds


class V2cClient(asyncio.DatagramProtocol):
    """One UDP socket that asks every v2c target and hands each answer to the request that waits for it."""

    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[int, tuple[tuple[str, int], str, asyncio.Future]] = {}
        self._ids = itertools.count(random.randrange(1, 2**30))

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            community, request_id, status, index, varbinds = parse_response(data)
        except (ValueError, IndexError):
            return
        waiting = self._waiting.get(request_id)
        if waiting is not None and waiting[0] == addr[:2] and waiting[1] == community and not waiting[2].done():
            waiting[2].set_result((status, index, varbinds))

    async def get_bulk(self, address: tuple[str, int], community: str, non_repeaters: int, repetitions: int,
                       oids: list[str], timeout_seconds: float, retries: int) -> tuple[int, int, list]:
        """(error status, error index, [(oid, value)]) of one GETBULK, sent up to `retries` + 1 times;
        SnmpFailure when no answer came."""
        if self._transport is None:
            self._transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: self, local_addr=("0.0.0.0", 0))
        request_id = next(self._ids) % 2**31
        message = get_bulk(community, request_id, non_repeaters, repetitions, oids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = (address, community, answer)
        try:
            for _ in range(retries + 1):
                self._transport.sendto(message, address)
                try:
                    return await asyncio.wait_for(asyncio.shield(answer), timeout_seconds)
                except TimeoutError:
                    continue
            raise SnmpFailure(NO_ANSWER)
        finally:
            del self._waiting[request_id]
