"""SNMP poll cost per target: our poller vs Prometheus' snmp_exporter, against the same simulated devices.

Simulated devices (snmpsim, 4 interfaces each, counters that grow) listen on N loopback ports, pinned
to one core; the pollers run pinned to the other. Ours polls every device per sweep (GETBULK of
ifHCInOctets, ifHCOutOctets, ifInErrors, ifOutErrors, ifInDiscards, ifOperStatus and sysUpTime; names
and speeds once, in a warm-up sweep that is not timed). snmp_exporter 0.21 (the Debian package) gets a
module of exactly the same OIDs and is scraped once per device per sweep, as Prometheus would; its
CPU is read from /proc. Printed: CPU-ms per target, targets/s, the projected CPU of a 7,500-target
sweep, and the ratio. Target: <= 4 CPU-ms per target (7,500 targets in <= 30 s of one core).

    python -m benchmarks.snmp_poll                  # 200 devices, 5 sweeps
    python -m benchmarks.snmp_poll --devices 20 --sweeps 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from probes.snmp.poller import (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS, IF_OPER_STATUS,
                                IF_OUT_ERRORS, SYS_UPTIME, Poller)
from probes.snmp.targets import load_model
from tests.helpers.snmpd import snmpsim

NATIONAL_TARGETS = 7_500
INTERFACES = 4
COMMUNITY = "device"


def device_records(interfaces: int = INTERFACES) -> str:
    """A switch with `interfaces` ports whose 64-bit counters grow, in OID order."""
    rows = ["1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=360000"]
    columns = [("1.3.6.1.2.1.2.2.1.2", lambda i: f"4|port{i}"), ("1.3.6.1.2.1.2.2.1.8", lambda i: "2|1"),
               ("1.3.6.1.2.1.2.2.1.13", lambda i: "65|0"), ("1.3.6.1.2.1.2.2.1.14", lambda i: "65|0"),
               ("1.3.6.1.2.1.2.2.1.20", lambda i: "65|0"), ("1.3.6.1.2.1.31.1.1.1.1", lambda i: f"4|port{i}"),
               ("1.3.6.1.2.1.31.1.1.1.6", lambda i: f"70:numeric|rate={i * 100_000},initial={i * 10**9}"),
               ("1.3.6.1.2.1.31.1.1.1.10", lambda i: f"70:numeric|rate={i * 50_000},initial={i * 10**9}"),
               ("1.3.6.1.2.1.31.1.1.1.15", lambda i: "66|1000")]
    for column, value in columns:
        rows += [f"{column}.{i}|{value(i)}" for i in range(1, interfaces + 1)]
    return "\n".join(sorted(rows, key=lambda row: tuple(int(p) for p in row.split("|")[0].split(".")))) + "\n"


def exporter_config(timeout_seconds: float) -> str:
    """snmp_exporter 0.21's config (its old format: auth and walk settings inside the module)."""
    names = {IF_HC_IN_OCTETS: "ifHCInOctets", IF_HC_OUT_OCTETS: "ifHCOutOctets", IF_IN_ERRORS: "ifInErrors",
             IF_OUT_ERRORS: "ifOutErrors", IF_IN_DISCARDS: "ifInDiscards", IF_OPER_STATUS: "ifOperStatus"}
    metrics = "".join(f"  - name: {name}\n    oid: {oid}\n    type: {'gauge' if oid == IF_OPER_STATUS else 'counter'}\n"
                      f"    indexes:\n    - labelname: ifIndex\n      type: gauge\n" for oid, name in names.items())
    walk = "".join(f"  - {oid}\n" for oid in names)
    return (f"mektepnet:\n  walk:\n{walk}  get:\n  - {SYS_UPTIME}.0\n  metrics:\n"
            f"  - name: sysUpTime\n    oid: {SYS_UPTIME}\n    type: gauge\n{metrics}"
            f"  version: 2\n  max_repetitions: 25\n  retries: 1\n  timeout: {timeout_seconds}s\n"
            f"  auth:\n    community: {COMMUNITY}\n")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ours(ports: list[int], sweeps: int) -> dict:
    """Our poller, in this process: CPU per target over `sweeps` timed sweeps after a warm-up."""
    targets = load_model({"defaults": {"timeout_seconds": 2, "retries": 1}, "targets": [
        {"name": f"sim-{port}", "address": "127.0.0.1", "port": port, "version": "v2c", "community": COMMUNITY}
        for port in ports]}, "benchmark")

    async def main() -> tuple[float, float, int]:
        poller = Poller(targets)                              # 64 devices asked at once, the default
        await poller.sweep()                                   # names, speeds, first readings: not timed
        cpu, wall, failed = time.process_time(), time.perf_counter(), 0
        for _ in range(sweeps):
            failed += len((await poller.sweep()).unreachable)
        return time.process_time() - cpu, time.perf_counter() - wall, failed

    cpu, wall, failed = asyncio.run(main())
    return _row("mektepnet poller (asyncio, v2c on its own codec)", len(ports), sweeps, cpu, wall, failed)


def exporter(ports: list[int], sweeps: int, core: int, workdir: Path) -> dict | None:
    """snmp_exporter scraped once per device per sweep (16 scrapes at a time); its CPU from /proc."""
    binary = shutil.which("prometheus-snmp-exporter") or shutil.which("snmp_exporter")
    if binary is None:
        return None
    config = workdir / "snmp.yml"
    config.write_text(exporter_config(2))
    with socket.create_server(("127.0.0.1", 0)) as probe:          # a free TCP port for its HTTP listener
        port = probe.getsockname()[1]
    process = subprocess.Popen(["taskset", "-c", str(core), binary, f"--config.file={config}",
                                f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/metrics", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)

        def scrape(device: int) -> bool:
            try:
                with urllib.request.urlopen(f"{url}/snmp?module=mektepnet&target=127.0.0.1:{device}",
                                            timeout=30) as answer:
                    return b"ifHCInOctets{" in answer.read()
            except OSError:
                return False

        with ThreadPoolExecutor(16) as scrapers:
            list(scrapers.map(scrape, ports))                   # warm-up, not timed
            cpu, wall = cpu_seconds(process.pid), time.perf_counter()
            failed = sum(not ok for _ in range(sweeps) for ok in scrapers.map(scrape, ports))
            cpu, wall = cpu_seconds(process.pid) - cpu, time.perf_counter() - wall
        return _row("snmp_exporter 0.21 (Debian), scraped per device", len(ports), sweeps, cpu, wall, failed)
    finally:
        process.terminate()
        process.wait(10)


def _row(tool: str, devices: int, sweeps: int, cpu: float, wall: float, failed: int) -> dict:
    polls = devices * sweeps
    return {"tool": tool, "devices": devices, "sweeps": sweeps, "cpu_ms_per_target": cpu / polls * 1000,
            "targets_per_second": polls / wall, "national_cpu_seconds": cpu / polls * NATIONAL_TARGETS,
            "failed": failed}


def table(rows: list[dict]) -> str:
    """Markdown, with each tool's CPU per target as a ratio to ours."""
    ours_cpu = rows[0]["cpu_ms_per_target"] or float("nan")
    lines = ["| poller | devices | sweeps | CPU-ms per target | targets/s | 7,500 targets: CPU s of one core | "
             "ratio to ours | failed polls |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['tool']} | {r['devices']} | {r['sweeps']} | {r['cpu_ms_per_target']:.2f} | "
                     f"{r['targets_per_second']:,.0f} | {r['national_cpu_seconds']:.1f} | "
                     f"{r['cpu_ms_per_target'] / ours_cpu:.2f} | {r['failed']} |")
    return "\n".join(lines)


def run(devices: int = 200, sweeps: int = 5) -> list[dict]:
    """Agents on the last core, pollers on the first (both machines' cores when there are two)."""
    cores = sorted(os.sched_getaffinity(0))
    poller_core, agent_core = cores[0], cores[-1]
    workdir = Path(tempfile.mkdtemp(prefix="mektepnet-snmp-"))
    with snmpsim(workdir / "agents", {COMMUNITY: device_records()}, endpoints=devices) as ports:
        agents = subprocess.run(["pgrep", "-f", f"snmpsim-command-responder --data-dir={workdir}"],
                                capture_output=True, text=True).stdout.split()
        for pid in agents:
            os.sched_setaffinity(int(pid), {agent_core})
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {poller_core})
        try:
            rows = [ours(ports, sweeps)]
        finally:
            os.sched_setaffinity(0, before)
        other = exporter(ports, sweeps, poller_core, workdir)
        if other is not None:
            rows.append(other)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--sweeps", type=int, default=5)
    args = parser.parse_args(argv)
    print(table(run(args.devices, args.sweeps)))


if __name__ == "__main__":
    main()
