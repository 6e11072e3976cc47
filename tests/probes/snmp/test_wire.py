"""The v2c wire codec against pysnmp's own encoder and decoder (an independent BER implementation), and a
v2c poll of a real snmpd without pysnmp loaded."""

from __future__ import annotations

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from probes.snmp.wire import END_OF_MIB, get_bulk, parse_response
from tests.probes.test_agent_imports import loaded_after

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def test_a_getbulk_request_reads_back_through_pysnmp_as_asked():
    message = get_bulk("s3cret", 1_234_567, 1, 5, ["1.3.6.1.2.1.1.3", "1.3.6.1.2.1.31.1.1.1.6.200000"])
    decoded, rest = decoder.decode(message, asn1Spec=V2C.Message())
    pdu = V2C.apiMessage.get_pdu(decoded)
    assert rest == b"" and str(V2C.apiMessage.get_community(decoded)) == "s3cret"
    assert isinstance(pdu, V2C.GetBulkRequestPDU)
    assert (int(V2C.apiPDU.get_request_id(pdu)), int(V2C.apiBulkPDU.get_non_repeaters(pdu)),
            int(V2C.apiBulkPDU.get_max_repetitions(pdu))) == (1_234_567, 1, 5)
    assert [str(oid) for oid, _ in V2C.apiPDU.get_varbinds(pdu)] == ["1.3.6.1.2.1.1.3",
                                                                     "1.3.6.1.2.1.31.1.1.1.6.200000"]


def test_every_value_type_of_a_response_decodes_as_pysnmp_encoded_it():
    values = [("1.3.6.1.2.1.1.3.0", V2C.TimeTicks(4_294_967_295)),
              ("1.3.6.1.2.1.31.1.1.1.6.1", V2C.Counter64(2**64 - 1)),
              ("1.3.6.1.2.1.2.2.1.10.1", V2C.Counter32(2**32 - 1)),
              ("1.3.6.1.2.1.31.1.1.1.15.1", V2C.Gauge32(1000)),
              ("1.3.6.1.2.1.2.2.1.8.1", V2C.Integer(-2)),
              ("1.3.6.1.2.1.31.1.1.1.1.1", V2C.OctetString("Gi0/1 \u0448\u043a\u043e\u043b\u0430".encode())),
              ("1.3.6.1.2.1.1.2.0", V2C.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10")),
              ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", V2C.IpAddress("10.0.0.1")),
              ("1.3.6.1.2.1.2.2.1.2.9", V2C.EndOfMibView()),
              ("1.3.6.1.2.1.2.2.1.3.9", V2C.NoSuchInstance())]
    values += [(f"1.3.6.1.2.1.2.2.1.14.{i}", V2C.Counter32(i)) for i in range(40)]   # long-form lengths
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, 2**31 - 1)
    V2C.apiPDU.set_error_status(pdu, 5)
    V2C.apiPDU.set_error_index(pdu, 3)
    V2C.apiPDU.set_varbinds(pdu, values)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, "device")
    V2C.apiMessage.set_pdu(message, pdu)
    community, request_id, status, index, varbinds = parse_response(encoder.encode(message))
    assert (community, request_id, status, index) == ("device", 2**31 - 1, 5, 3)
    assert varbinds[:8] == [("1.3.6.1.2.1.1.3.0", 4_294_967_295), ("1.3.6.1.2.1.31.1.1.1.6.1", 2**64 - 1),
                            ("1.3.6.1.2.1.2.2.1.10.1", 2**32 - 1), ("1.3.6.1.2.1.31.1.1.1.15.1", 1000),
                            ("1.3.6.1.2.1.2.2.1.8.1", -2),
                            ("1.3.6.1.2.1.31.1.1.1.1.1", "Gi0/1 \u0448\u043a\u043e\u043b\u0430"),
                            ("1.3.6.1.2.1.1.2.0", "1.3.6.1.4.1.8072.3.2.10"),
                            ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", "10.0.0.1")]
    assert varbinds[8][1] is END_OF_MIB and varbinds[9][1] is END_OF_MIB
    assert varbinds[10:] == [(f"1.3.6.1.2.1.2.2.1.14.{i}", i) for i in range(40)]


def test_what_is_not_a_v2c_response_is_refused():
    request = get_bulk("device", 7, 0, 1, ["1.3.6.1.2.1.2.2.1.8"])
    for data in (request, request[:-3], b"\xde\xad\xbe\xef not snmp", b""):
        try:
            parse_response(data)
        except (ValueError, IndexError):
            continue
        raise AssertionError(f"parsed {data!r}")


def test_a_v2c_poll_of_the_school_router_does_not_load_pysnmp(agent):
    code = f"""
import asyncio
from probes.snmp.poller import Poller
from probes.snmp.targets import load_model
targets = load_model({{"targets": [{{"name": "router", "address": "127.0.0.1", "port": {agent.port},
                                     "version": "v2c", "community": "{agent.community}"}}]}}, "test")
sweep = asyncio.run(Poller(targets).sweep())
assert sweep.results[0].answered and sweep.results[0].interfaces, sweep.results[0].error
"""
    loaded = loaded_after(code)
    assert "probes" in loaded and "pysnmp" not in loaded and "pyasn1" not in loaded
