"""ndt7 ceiling on loopback: single-connection and aggregate throughput, and CPU, against iperf3.

Server and client run as separate processes (`mektepnet ndt7 serve`, `mektepnet ndt7 test --full`),
plain and with TLS; iperf3 runs one stream on the same loopback in the same run. CPU is user+system
time of server and client together, per gigabyte moved.

    python -m benchmarks.ndt7_ceiling [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def ndt7_server(*args: str):
    process = subprocess.Popen([sys.executable, "-m", "cli", "ndt7", "serve", "--port", "0",
                                "--max-concurrent", "64", "--tests-per-token-per-hour", "100000", *args],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "300"})
    line = process.stdout.readline()
    url = line.split(" on ", 1)[1].split("/ndt", 1)[0]
    try:
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def ndt7_clients(url: str, clients: int, extra: list[str]) -> dict[str, float]:
    """Run `clients` full tests at once; the summed throughput per direction in bit/s."""
    argv = [sys.executable, "-m", "cli", "ndt7", "test", "--server", url, "--json", "--full", "--max-bytes", "0",
            *extra]
    processes = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    totals = {"download": 0.0, "upload": 0.0, "bytes": 0.0}
    for process in processes:
        out, _ = process.communicate(timeout=120)
        for record in json.loads(out):
            totals[record["kind"]] += record["values"]["throughput_bps"]
            totals["bytes"] += record["values"]["transferred_bytes"]
    return totals


def iperf3_loopback(reverse: bool) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port), "-B", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "10", "-J"] + (["-R"] if reverse else []),
                         capture_output=True, text=True, check=True).stdout
    server.wait(15)
    return json.loads(out)["end"]["sum_received"]["bits_per_second"]


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def run_case(label: str, clients: int, server_args: list[str], client_args: list[str]) -> dict:
    with ndt7_server(*server_args) as (url, pid):
        server_before, clients_before = process_cpu_seconds(pid), children_cpu_seconds()
        totals = ndt7_clients(url, clients, client_args)
        cpu = process_cpu_seconds(pid) - server_before + children_cpu_seconds() - clients_before
    return {"label": label, **totals, "cpu_per_gb": cpu / (totals["bytes"] / 1e9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients for the aggregate row")
    args = parser.parse_args()
    reference = {"download": iperf3_loopback(True), "upload": iperf3_loopback(False)}
    with tempfile.TemporaryDirectory() as directory:
        cert, key = self_signed(Path(directory))
        tls_server, tls_client = ["--tls-cert", str(cert), "--tls-key", str(key)], ["--ca-file", str(cert)]
        cases = [run_case("1 connection, ws://", 1, [], []),
                 run_case("1 connection, wss:// (TLS)", 1, tls_server, tls_client),
                 run_case(f"{args.clients} connections, ws://", args.clients, [], [])]
    print("| case | download | upload | download / iperf3 | upload / iperf3 | CPU s per GB (server+client) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for case in cases:
        print(f"| {case['label']} | {case['download'] / 1e9:.2f} Gbit/s | {case['upload'] / 1e9:.2f} Gbit/s "
              f"| {case['download'] / reference['download']:.2f} | {case['upload'] / reference['upload']:.2f} "
              f"| {case['cpu_per_gb']:.2f} |")
    print(f"| iperf3, 1 stream | {reference['download'] / 1e9:.2f} Gbit/s | {reference['upload'] / 1e9:.2f} Gbit/s "
          "| 1.00 | 1.00 | - |")


if __name__ == "__main__":
    main()
