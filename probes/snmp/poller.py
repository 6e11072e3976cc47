"""The SNMP poller: IF-MIB counters and status of many devices at once, on pysnmp's asyncio API.

v2c targets share one UDP socket and are encoded and decoded directly (probes/snmp/wire.py); v3 targets
share one pysnmp engine, made when the first is polled. Each poll is GETBULK of exactly the columns needed, kept inside
their subtrees (a walk that reaches the next column or the end of the MIB stops that column), plus
sysUpTime; interface names and speeds are read once a day. A semaphore bounds how many devices are
asked at once, and each has its own timeout and retries, so one slow or dead device never delays the
others: a sweep reports which targets did not answer, and why.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from probes.snmp.counters import Reading, rate
from probes.snmp.targets import Target, TargetsFile
from probes.snmp.wire import END_OF_MIB, ERROR_STATUS, SnmpFailure, V2cClient

__all__ = ["Interface", "InterfaceNames", "Poller", "SnmpFailure", "Sweep", "TargetResult", "find_port",
           "measurement_values"]

SYS_UPTIME = "1.3.6.1.2.1.1.3"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_IN_DISCARDS = "1.3.6.1.2.1.2.2.1.13"
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
IF_OUT_ERRORS = "1.3.6.1.2.1.2.2.1.20"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"

# Every poll: 64-bit octets, errors, discards, status (and the 32-bit octets for devices without ifHC*).
POLL_COLUMNS = (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_IN_ERRORS, IF_OUT_ERRORS, IF_IN_DISCARDS, IF_OPER_STATUS)
FALLBACK_COLUMNS = (IF_IN_OCTETS, IF_OUT_OCTETS)
NAME_COLUMNS = (IF_NAME, IF_DESCR, IF_HIGH_SPEED)
NAMES_EVERY_SECONDS = 86_400.0
MAX_REPETITIONS = 25


@dataclass(frozen=True)
class InterfaceNames:
    """What a device calls a port, and its nominal speed (bit/s; 0 when unknown)."""

    name: str
    descr: str
    speed_bps: float


@dataclass
class Interface:
    """One port after a poll: status, counters, and rates where two readings allow (bit/s, per second)."""

    index: int
    name: str
    descr: str
    speed_bps: float
    oper_up: bool
    in_octets: int
    out_octets: int
    counter_bits: int
    in_errors: int
    out_errors: int
    in_discards: int
    in_bps: float | None = None
    out_bps: float | None = None
    interval_seconds: float | None = None       # between the readings the rates come from
    in_errors_per_second: float | None = None
    out_errors_per_second: float | None = None
    in_discards_per_second: float | None = None
    capacity_bps: float | None = None           # what utilisation is measured against, when this port has one
    in_utilisation_ratio: float | None = None
    out_utilisation_ratio: float | None = None


def measurement_values(port: Interface) -> dict[str, float | None]:
    """A port's figures as the values of a `snmp` Measurement (base units; None where no rate exists yet)."""
    return {"in_bps": port.in_bps, "out_bps": port.out_bps, "in_utilisation_ratio": port.in_utilisation_ratio,
            "out_utilisation_ratio": port.out_utilisation_ratio, "in_errors_per_second": port.in_errors_per_second,
            "out_errors_per_second": port.out_errors_per_second,
            "in_discards_per_second": port.in_discards_per_second, "oper_up": 1.0 if port.oper_up else 0.0,
            "interval_seconds": port.interval_seconds}


def find_port(result: "TargetResult", name: str | None) -> Interface | None:
    """The port a device calls `name` (its ifName or ifDescr)."""
    return next((port for port in result.interfaces if name is not None and name in (port.name, port.descr)), None)


@dataclass
class TargetResult:
    """One device's poll: its interfaces, or why it gave none."""

    target: str
    school_id: str | None
    uptime_seconds: float | None = None
    interfaces: list[Interface] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return self.error is None


@dataclass
class Sweep:
    """A poll of every target: results in the file's order, and the wall time it took."""

    results: list[TargetResult]
    seconds: float

    @property
    def unreachable(self) -> list[TargetResult]:
        return [r for r in self.results if not r.answered]


class Poller:
    """Polls the targets of a targets file; remembers the previous readings, so the second poll has rates.

    `contracts` maps school_id -> contracted bit/s: a school router's uplink is judged against it (its
    port reports 100 or 1000 Mbit/s, so rate / ifHighSpeed would show a full 8 Mbit/s line as 1 %).
    """

    def __init__(self, targets: TargetsFile, contracts: dict[str, float] | None = None, concurrency: int = 64,
                 clock: Callable[[], float] = time.monotonic):
        self.targets, self.contracts, self.clock = targets, contracts or {}, clock
        self._engine = None
        self._v2c = V2cClient()
        self._gate = asyncio.Semaphore(concurrency)
        self._readings: dict[tuple[str, int, str], Reading] = {}
        self._names: dict[str, tuple[float, dict[int, InterfaceNames]]] = {}
        self._sessions: dict[Target, _Session] = {}

    async def sweep(self) -> Sweep:
        """Poll every target at once (bounded by the concurrency)."""
        began = time.perf_counter()
        results = await asyncio.gather(*(self.poll(target) for target in self.targets.targets))
        return Sweep(list(results), time.perf_counter() - began)

    async def poll(self, target: Target) -> TargetResult:
        """One target; never raises: a failure is a result with `error`."""
        async with self._gate:
            began = time.perf_counter()
            result = TargetResult(target.name, target.school_id)
            try:
                await self._poll(target, result)
            except SnmpFailure as exc:
                result.error = str(exc)
                if "No SNMP response" in result.error:
                    # Agents drop what they cannot authenticate: from here these all look the same.
                    result.error += (f" ({self.targets.retries(target) + 1} tries of {self.targets.timeout(target):g} s:"
                                     " down, filtered, or a wrong community or v3 key)")
            except (OSError, asyncio.TimeoutError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
            result.seconds = time.perf_counter() - began
            return result

    async def _poll(self, target: Target, result: TargetResult) -> None:
        session = await self._session(target)
        now = self.clock()
        names = self._names.get(target.name)
        if names is None or now - names[0] > NAMES_EVERY_SECONDS:
            table = await _columns(session, NAME_COLUMNS)
            names = (now, {index: InterfaceNames(str(table[IF_NAME].get(index, "")),
                                                  str(table[IF_DESCR].get(index, "")),
                                                  float(table[IF_HIGH_SPEED].get(index, 0)) * 1e6)
                           for index in set(table[IF_DESCR]) | set(table[IF_NAME])})
            self._names[target.name] = names
        # Ask for one row more than the device has ports: each column and its end in one answer, not 25 rows
        # of the next column to decode and throw away.
        rows = min(MAX_REPETITIONS, len(names[1]) + 1)
        uptime, table = await _columns(session, POLL_COLUMNS, scalar=SYS_UPTIME, repetitions=rows)
        at = self.clock()
        if not table[IF_HC_IN_OCTETS]:                    # an old device: 32-bit counters only
            uptime, fallback = await _columns(session, FALLBACK_COLUMNS, scalar=SYS_UPTIME, repetitions=rows)
            at = self.clock()                             # the counters' time is when these were read
            table |= fallback
        result.uptime_seconds = uptime / 100
        for index in sorted(table[IF_OPER_STATUS]):
            result.interfaces.append(self._interface(target, index, names[1].get(index), table, uptime, at))

    def _interface(self, target: Target, index: int, names: InterfaceNames | None, table: dict, uptime: int,
                   at: float) -> Interface:
        wide = index in table[IF_HC_IN_OCTETS]
        in_column, out_column = (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS) if wide else (IF_IN_OCTETS, IF_OUT_OCTETS)
        names = names or InterfaceNames("", "", 0.0)
        port = Interface(index, names.name, names.descr, names.speed_bps, int(table[IF_OPER_STATUS][index]) == 1,
                         int(table[in_column].get(index, 0)), int(table[out_column].get(index, 0)), 64 if wide else 32,
                         int(table[IF_IN_ERRORS].get(index, 0)), int(table[IF_OUT_ERRORS].get(index, 0)),
                         int(table[IF_IN_DISCARDS].get(index, 0)))
        octet_ceiling = names.speed_bps / 8 if names.speed_bps > 0 else None
        rates = {}
        previous = self._readings.get((target.name, index, in_column))
        port.interval_seconds = None if previous is None else at - previous.at
        for column, value, bits, ceiling in ((in_column, port.in_octets, port.counter_bits, octet_ceiling),
                                             (out_column, port.out_octets, port.counter_bits, octet_ceiling),
                                             (IF_IN_ERRORS, port.in_errors, 32, None),
                                             (IF_OUT_ERRORS, port.out_errors, 32, None),
                                             (IF_IN_DISCARDS, port.in_discards, 32, None)):
            key = (target.name, index, column)
            current = Reading(value, bits, uptime, at)
            rates[column] = rate(self._readings.get(key), current, ceiling)
            self._readings[key] = current
        port.in_bps = None if rates[in_column] is None else rates[in_column] * 8
        port.out_bps = None if rates[out_column] is None else rates[out_column] * 8
        port.in_errors_per_second = rates[IF_IN_ERRORS]
        port.out_errors_per_second = rates[IF_OUT_ERRORS]
        port.in_discards_per_second = rates[IF_IN_DISCARDS]
        port.capacity_bps = self._capacity(target, port)
        if port.capacity_bps:
            port.in_utilisation_ratio = None if port.in_bps is None else port.in_bps / port.capacity_bps
            port.out_utilisation_ratio = None if port.out_bps is None else port.out_bps / port.capacity_bps
        return port

    def _capacity(self, target: Target, port: Interface) -> float | None:
        """The school's contract for its uplink; the port's own speed only where the file says it is the
        bottleneck (operator nodes); nothing otherwise."""
        labels = {port.name, port.descr}
        if target.uplink is not None and target.uplink in labels:
            return self.contracts.get(target.school_id or "")
        if labels & set(target.bottleneck_ports) and port.speed_bps > 0:
            return port.speed_bps
        return None

    async def _session(self, target: Target) -> "_Session":
        """How to ask a target, made once (resolving the address costs a thread hop)."""
        if target not in self._sessions:
            address = (target.address, self.targets.port(target))
            timeout, retries = self.targets.timeout(target), self.targets.retries(target)
            if target.version == "v2c":
                infos = await asyncio.get_running_loop().getaddrinfo(*address, family=socket.AF_INET,
                                                                     type=socket.SOCK_DGRAM)
                ask = functools.partial(self._v2c.get_bulk, infos[0][4][:2], target.community,
                                        timeout_seconds=timeout, retries=retries)
            else:
                from pysnmp.hlapi.v3arch.asyncio import SnmpEngine, UdpTransportTarget

                self._engine = self._engine or SnmpEngine()
                transport = await UdpTransportTarget.create(address, timeout=timeout, retries=retries)
                ask = functools.partial(_pysnmp_bulk, self._engine, _credentials(target), transport)
            self._sessions[target] = _Session(target.name, ask)
        return self._sessions[target]


@dataclass(frozen=True)
class _Session:
    name: str
    ask: Callable[..., Awaitable[tuple[int, int, list[tuple[str, object]]]]]   # (non-repeaters, repetitions, oids)


def _credentials(target: Target):
    """A v3 target's USM user, keys and protocols, as pysnmp takes them."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    auth = {"MD5": hlapi.usmHMACMD5AuthProtocol, "SHA": hlapi.usmHMACSHAAuthProtocol,
            "SHA224": hlapi.usmHMAC128SHA224AuthProtocol, "SHA256": hlapi.usmHMAC192SHA256AuthProtocol,
            "SHA384": hlapi.usmHMAC256SHA384AuthProtocol, "SHA512": hlapi.usmHMAC384SHA512AuthProtocol}
    priv = {"DES": hlapi.usmDESPrivProtocol, "3DES": hlapi.usm3DESEDEPrivProtocol,
            "AES": hlapi.usmAesCfb128Protocol, "AES192": hlapi.usmAesCfb192Protocol,
            "AES256": hlapi.usmAesCfb256Protocol}
    return hlapi.UsmUserData(target.user, target.auth_key, target.priv_key,
                             authProtocol=auth.get(target.auth_protocol or "", hlapi.usmNoAuthProtocol),
                             privProtocol=priv.get(target.priv_protocol or "", hlapi.usmNoPrivProtocol))


@functools.lru_cache(maxsize=1024)
def _object_type(oid: str):
    """The request variable for `oid`, made once: pysnmp resolves a new one against its MIB view on every
    request (a fifth of a poll's CPU), a resolved one it passes through."""
    from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType

    return ObjectType(ObjectIdentity(oid))


async def _pysnmp_bulk(engine, credentials, transport, non_repeaters: int, repetitions: int,
                       oids: list[str]) -> tuple[int, int, list[tuple[str, object]]]:
    """One GETBULK through pysnmp's engine, answered as the v2c client answers (error status as a number)."""
    from pysnmp.hlapi.v3arch.asyncio import ContextData, EndOfMibView, bulk_cmd

    error, status, index, answer = await bulk_cmd(engine, credentials, transport, ContextData(), non_repeaters,
                                                  repetitions, *(_object_type(oid) for oid in oids),
                                                  lookupMib=False)
    if error:
        raise SnmpFailure(str(error))
    return int(status), int(index), [(str(oid), END_OF_MIB if isinstance(value, EndOfMibView) else value)
                                     for oid, value in answer]


async def _columns(session: _Session, columns: tuple[str, ...], scalar: str | None = None,
                   repetitions: int = MAX_REPETITIONS):
    """GETBULK `columns` (OID prefixes) to their ends: {column: {index: value}}; with `scalar`, also the
    value of that scalar (asked once, as a non-repeater) — returned first, as (scalar value, table)."""
    table: dict[str, dict[int, object]] = {column: {} for column in columns}
    cursor = dict.fromkeys(columns, None)
    pending = list(columns)
    scalar_value = None
    while pending or (scalar is not None and scalar_value is None):
        asked = [cursor[c] or c for c in pending]
        non_repeaters = 1 if scalar is not None and scalar_value is None else 0
        if non_repeaters:
            asked.insert(0, scalar)
        try:
            status, index, answer = await session.ask(non_repeaters, repetitions, asked)
        except SnmpFailure as exc:
            raise SnmpFailure(f"{session.name}: {exc}") from None
        if status:
            name = ERROR_STATUS[status] if status < len(ERROR_STATUS) else str(status)
            raise SnmpFailure(f"{session.name}: agent error {name} at varbind {index}")
        if non_repeaters:
            if not answer:
                raise SnmpFailure(f"{session.name}: no sysUpTime in the answer")
            oid, value = answer.pop(0)
            if not oid.startswith(scalar + "."):
                raise SnmpFailure(f"{session.name}: sysUpTime missing (got {oid})")
            scalar_value = int(value)
        if not pending:
            break
        finished, progressed = set(), set()
        for position, (oid, value) in enumerate(answer):
            column = pending[position % len(pending)]
            if column in finished:
                continue
            if value is END_OF_MIB or not oid.startswith(column + "."):
                finished.add(column)                 # past the column: the walk stays inside its subtree
                continue
            table[column][int(oid[len(column) + 1:].split(".")[0])] = value
            cursor[column] = oid
            progressed.add(column)
        pending = [c for c in pending if c not in finished]
        if pending and not progressed:
            raise SnmpFailure(f"{session.name}: GETBULK made no progress (an empty or truncated answer)")
    return (scalar_value, table) if scalar is not None else table
