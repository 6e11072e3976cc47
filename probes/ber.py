"""Tag-length-value elements of BER/DER, as both SNMP answers and X.509 certificates encode them.

Two readers of a few lines (the SNMP v2c codec, a certificate's issuer) instead of an ASN.1 library:
the probe box saves its memory and the poller its CPU.
"""

from __future__ import annotations


def element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `offset`; ValueError when truncated."""
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > len(data):
        raise ValueError("truncated BER element")
    return tag, start, start + length


def object_identifier(raw: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content (the first byte holds two arcs; arc 2 may exceed 39)."""
    first = raw[0]
    top = min(first // 40, 2)
    arcs, arc = [str(top), str(first - 40 * top)], 0
    for byte in raw[1:]:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(str(arc))
            arc = 0
    return ".".join(arcs)
