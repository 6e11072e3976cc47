"""The issuer of a DER certificate, read with a few lines of DER instead of a crypto library.

Loading a full X.509 library costs a school box ~13 MB of memory for one string per HTTPS probe;
the issuer is the second Name of the TBSCertificate, reachable by walking tag-length-value triples.
"""

from __future__ import annotations

from probes.ber import element, object_identifier

# Attribute types worth a short name (RFC 4514, plus the ones real CAs use).
_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress",
}
_SEQUENCE, _SET, _OID, _CONTEXT_0 = 0x30, 0x31, 0x06, 0xA0


def _children(data: bytes, start: int, end: int):
    while start < end:
        tag, content, stop = element(data, start)
        yield tag, content, stop
        start = stop


def issuer_of(der: bytes | None) -> str:
    """The issuer as an RFC 4514 string (most specific RDN first, like `openssl -nameopt RFC2253`); '' if none."""
    if not der:
        return ""
    try:
        _, cert_start, cert_end = element(der, 0)
        _, tbs_start, tbs_end = next(_children(der, cert_start, cert_end))
        fields = list(_children(der, tbs_start, tbs_end))
        if fields[0][0] == _CONTEXT_0:         # explicit version
            fields = fields[1:]
        _, name_start, name_end = fields[2]     # serialNumber, signature, issuer
        rdns = []
        for _, set_start, set_end in _children(der, name_start, name_end):
            pairs = []
            for _, pair_start, pair_end in _children(der, set_start, set_end):
                (_, oid_start, oid_end), (_, value_start, value_end) = list(_children(der, pair_start, pair_end))[:2]
                oid = object_identifier(der[oid_start:oid_end])
                value = der[value_start:value_end].decode("utf-8", errors="replace")
                escaped = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
                pairs.append(f"{_NAMES.get(oid, oid)}={escaped}")
            rdns.append("+".join(pairs))
    except (IndexError, ValueError, StopIteration):
        return "(unreadable certificate)"
    return ",".join(reversed(rdns))
