"""Load-generator cost: our Locust suites vs plain Locust FastHttpUser vs wrk, and simulated students per core.

nginx (Debian package, one worker) answers `{}` on several loopback ports, pinned to core 1, so the
target is never the limit; every generator is pinned to core 0. CPU comes from /proc, requests from
Locust's per-second stats history, both over a window after the start-up, so imports and spawning do
not count.

Part `cpu`: requests per CPU-second of one saturated Locust process, for each journey (open model,
think times cut so the intended rate exceeds what one core can send) against plain FastHttpUser
(closed loop, no wait) and wrk. Target: our suites cost <= 15 % more CPU per request than
FastHttpUser.

Part `students`: N simulated students on one core at 30 s mean think time (every pause of the
journeys 30 s), with the generator lag measured over the window; memory per student from two runs
(N and N/10); kernel socket memory from /proc/net/sockstat apart from RSS. Beside it, the baseline:
one plain FastHttpUser per student (M users, 20-40 s think). Target: >= 60,000 students per core with
lag p99 <= 5 ms and <= 2 KB of Locust memory per student. From those, workers and cores for 1 M and
3.9 M students.

    python -m benchmarks.loadgen                                   # both parts, full size (~9 min)
    python -m benchmarks.loadgen --part cpu --seconds 20
    python -m benchmarks.loadgen --part students --students 60000 --baseline-users 20000
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from loadtests.journeys import requests_per_student_second
from loadtests.profile import PlatformKind, load_profile
from loadtests.openmodel import lag_quantile
from tests.helpers.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILES = ROOT / "loadtests" / "locustfiles"
GENERATOR_CORE, TARGET_CORE = "0", "1"
PLAIN_LOCUSTFILE = '''
from locust import FastHttpUser, between, constant, task
import os

WAIT = os.environ.get("BENCH_WAIT", "0")


class Plain(FastHttpUser):
    wait_time = constant(0) if WAIT == "0" else between(*map(float, WAIT.split("-")))

    @task
    def get(self):
        self.client.get("/")
'''
NATIONAL = (1_000_000, 3_900_000)


def nginx_config(directory: Path, ports: list[int], workers: int) -> Path:
    """nginx workers answering {} on every port (reuseport spreads connections over them)."""
    listens = "".join(f"    listen 127.0.0.1:{port} backlog=65535 reuseport;\n" for port in ports)
    temp = "".join(f"  {name}_temp_path {directory}/{name};\n"
                   for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = directory / "nginx.conf"
    config.write_text(
        f"worker_processes {workers};\ndaemon off;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log error;\n"
        f"worker_rlimit_nofile {_open_files()};\nevents {{ worker_connections {_open_files() - 100}; multi_accept on; }}\n"
        f"http {{\n  access_log off;\n  keepalive_timeout 600s;\n  keepalive_requests 100000000;\n{temp}"
        f"  server {{\n{listens}    location / {{ default_type application/json; return 200 '{{}}'; }}\n  }}\n}}\n")
    return config


def _more_files() -> None:
    """Raise the soft open-file limit to the hard one (raising the hard one needs CAP_SYS_RESOURCE)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _socket_memory_kb() -> int:
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            parts = line.split()
            return int(parts[parts.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return 0


def _socket_slab_kb() -> int:
    """Kernel memory of socket structures: the TCP and sock_inode_cache slabs (root only; 0 if unreadable)."""
    try:
        lines = Path("/proc/slabinfo").read_text().splitlines()
    except OSError:
        return 0
    total = 0
    for line in lines:
        fields = line.split()
        if fields and fields[0] in ("TCP", "TCPv6", "sock_inode_cache"):
            total += int(fields[1]) * int(fields[3])
    return total // 1024


def _tcp_in_use() -> int:
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            parts = line.split()
            return int(parts[parts.index("inuse") + 1])
    return 0


def _lag_counts(port: int) -> list[int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    cumulative = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith("mektepnet_loadtest_generator_lag_seconds_bucket")]
    return [int(b - a) for a, b in zip([0.0, *cumulative[:-1]], cumulative)]


def _history(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats_history.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]


def _requests_at(rows: list[dict], moment: float) -> float:
    before = [row for row in rows if float(row["Timestamp"]) <= moment]
    return float(before[-1]["Total Request Count"]) if before else 0.0


def _open_files() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def workers_for(connections: int) -> int:
    """Worker processes needed so that no process holds more sockets than its open-file limit allows (0: one process)."""
    needed = math.ceil(connections / (0.8 * _open_files()))
    return needed if needed > 1 else 0


def measure(argv: list[str], directory: Path, name: str, seconds: float, warmup: float, workers: int = 0,
            metrics_port: int = 0, env: dict | None = None) -> dict:
    """Run Locust (one process, or a master and `workers` workers) pinned to the generator core.

    CPU and RSS are summed over every process; requests come from the (master's) stats history,
    the generator lag from its /metrics; all over the window after `warmup` seconds.
    """
    prefix = directory / name.split(",")[0].replace(" ", "_")
    common = ["taskset", "-c", GENERATOR_CORE, sys.executable, "-m", "locust", *argv, "--loglevel", "WARNING"]
    head = [*common, "--headless", "--only-summary", "--csv", str(prefix), "--csv-full-history",
            "-t", f"{int(warmup + seconds + 3)}s", "--stop-timeout", "0", "--exit-code-on-error", "0"]
    master_port = free_port()
    if workers:
        head += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
                 "--expect-workers", str(workers)]
    log = open(directory / f"{prefix.name}.log", "w")
    environment = {**os.environ, **(env or {})}
    processes = [subprocess.Popen(head, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_more_files, cwd=ROOT,
                                  env=environment)]
    processes += [subprocess.Popen([*common, "--worker", "--master-host", "127.0.0.1", "--master-port",
                                    str(master_port)], stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_more_files, cwd=ROOT, env=environment) for _ in range(workers)]
    try:
        time.sleep(warmup)
        start, cpu_start = time.time(), sum(_cpu_seconds(p.pid) for p in processes)
        lag_start = _lag_counts(metrics_port) if metrics_port else None
        time.sleep(seconds)
        end, cpu_end = time.time(), sum(_cpu_seconds(p.pid) for p in processes)
        rss_kb, sockets, socket_kb = sum(_rss_kb(p.pid) for p in processes), _tcp_in_use(), _socket_memory_kb()
        slab_kb = _socket_slab_kb()
        lag = [b - a for a, b in zip(lag_start, _lag_counts(metrics_port))] if metrics_port else None
        processes[0].wait(timeout=warmup + seconds + 60)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
    rows = _history(prefix)
    requests = _requests_at(rows, end) - _requests_at(rows, start)
    window_rows = [row for row in rows if start <= float(row["Timestamp"]) <= end and row["50%"] not in ("N/A", "")]
    median_ms = sorted(float(row["50%"]) for row in window_rows)[len(window_rows) // 2] if window_rows else math.nan
    cpu = cpu_end - cpu_start
    return {"tool": name, "requests": requests, "seconds": end - start, "cpu_seconds": cpu,
            "requests_per_second": requests / (end - start), "requests_per_cpu_second": requests / cpu if cpu else 0.0,
            "cpu_share": cpu / (end - start), "rss_kb": rss_kb, "median_ms": median_ms, "lag_counts": lag,
            "tcp_sockets": sockets, "socket_memory_kb": socket_kb, "socket_slab_kb": slab_kb,
            "processes": len(processes)}


def bench_profile(directory: Path, ports: list[int], think: float, quick: float, segment: float,
                  exam_every: float, name: str) -> Path:
    """The embedded profile aimed at nginx, with the pauses given (seconds) and no safety stop in the way."""
    profile = load_profile().model_dump(mode="json")
    profile["targets"] = [f"http://127.0.0.1:{port}" for port in ports]
    profile["limits"] = {"max_requests_per_second": 1_000_000, "max_duration_seconds": 24 * 3600,
                         "stop_when": {"error_ratio": 1.0, "p95_seconds": 600}}
    for platform in profile["platforms"].values():
        platform.update(think_seconds=think, quick_seconds=quick, segment_seconds=segment,
                        exam_every_seconds=exam_every, share=1.0)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _ours(kind: PlatformKind, profile: Path, students: int, ramp: float, senders: int, metrics_port: int = 0) -> list[str]:
    return ["-f", str(LOCUSTFILES / f"{kind.value}.py"), "-u", str(senders), "-r", str(senders),
            "--mektep-profile", str(profile), "--mektep-shape", "steady", "--mektep-students", str(students),
            "--mektep-ramp", str(ramp),
            *(["--mektep-metrics-port", str(metrics_port)] if metrics_port else [])]


def _plain(directory: Path, port: int, users: int, spawn_rate: int) -> list[str]:
    locustfile = directory / "plain_fasthttpuser.py"
    locustfile.write_text(PLAIN_LOCUSTFILE)
    return ["-f", str(locustfile), "-H", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(spawn_rate)]


def wrk(port: int, seconds: float) -> dict:
    """wrk on the generator core, 50 connections: requests per second and per CPU-second."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(["taskset", "-c", GENERATOR_CORE, "wrk", "-t1", "-c50", f"-d{int(seconds)}s",
                             f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = int(next(line for line in output.splitlines() if "requests in" in line).split()[0])
    return {"tool": "wrk (1 thread, 50 connections)", "requests": total, "seconds": seconds, "cpu_seconds": cpu,
            "requests_per_second": total / seconds, "requests_per_cpu_second": total / cpu if cpu else 0.0,
            "cpu_share": cpu / seconds}


def cpu_part(directory: Path, ports: list[int], seconds: float, kinds: list[PlatformKind]) -> list[dict]:
    """Requests per CPU-second: plain FastHttpUser, each journey, wrk."""
    warmup = 6.0
    rows = [measure(_plain(directory, ports[0], 50, 50), directory, "plain FastHttpUser (50 users, no wait)",
                    seconds, warmup)]
    # Pauses of 0.2 s: 4,000 students want ~8,000 requests/s, more than one core can send.
    profile = bench_profile(directory, ports, think=0.2, quick=0.2, segment=0.2, exam_every=0.5, name="cpu")
    for kind in kinds:
        rows.append(measure(_ours(kind, profile, 4000, 1.0, 400), directory, f"mektepnet {kind.value} journeys",
                            seconds, warmup))
    rows.append(wrk(ports[0], seconds))
    plain = rows[0]["requests_per_cpu_second"]
    for row in rows:
        row["cpu_per_request_vs_plain"] = plain / row["requests_per_cpu_second"] if row["requests_per_cpu_second"] else 0
    return rows


def students_part(directory: Path, ports: list[int], students: int, baseline_users: int, seconds: float,
                  warmup: float = 45.0, ramp: float = 30.0) -> dict:
    """N students at 30 s mean think on one core, N/10 for the memory slope, and the one-user-per-student baseline."""
    profile = bench_profile(directory, ports, think=30.0, quick=30.0, segment=30.0, exam_every=30.0, name="students")
    ediary = load_profile(profile).platforms["kundelik"]
    results = {"students": students, "mean_seconds_between_requests": 1 / requests_per_student_second(ediary)}
    # Both runs use the same processes, so the RSS slope between them is the students' alone.
    workers = workers_for(students)
    for label, count in (("full", students), ("tenth", max(1, students // 10))):
        port = free_port()
        results[label] = measure(_ours(PlatformKind.EDIARY, profile, count, ramp, 500 // max(1, workers) + 1, port), directory,
                                 f"mektepnet open model, {count:,} students", seconds, warmup, workers, port)
        results[label]["students"] = count
    spawn_rate = 1000
    results["baseline"] = measure(_plain(directory, ports[0], baseline_users, spawn_rate), directory,
                                  f"plain FastHttpUser, one per student ({baseline_users:,}, 20-40 s think)",
                                  seconds, max(warmup, baseline_users / spawn_rate + 15), workers_for(baseline_users),
                                  env={"BENCH_WAIT": "20-40"})
    results["baseline"]["students"] = baseline_users
    return results


def students_table(results: dict) -> str:
    """The students-per-core table, the memory slope and the national sizing."""
    full, tenth, baseline = results["full"], results["tenth"], results["baseline"]
    per_student_kb = (full["rss_kb"] - tenth["rss_kb"]) / (full["students"] - tenth["students"])
    lag_p99_ms = lag_quantile(full["lag_counts"], 0.99) * 1000
    per_core = full["students"] / full["cpu_share"] if full["cpu_share"] else 0
    lines = [f"Students on one core at {results['mean_seconds_between_requests']:.0f} s mean between requests; "
             "nginx answers in < 1 ms on the other core.", "",
             "| generator | processes | students | requests/s | CPU of one core | median latency ms | lag p99 ms | RSS MB "
             "| TCP sockets (both ends) | socket buffers MB | socket structures MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in (full, tenth, baseline):
        lag = f"<= {lag_quantile(row['lag_counts'], 0.99) * 1000:g}" if row.get("lag_counts") else "n/a"
        lines.append(f"| {row['tool']} | {row['processes']} | {row['students']:,} | {row['requests_per_second']:,.0f} "
                     f"| {row['cpu_share']:.0%} | {row['median_ms']:g} | {lag} | {row['rss_kb'] / 1024:,.0f} "
                     f"| {row['tcp_sockets']:,} | {row['socket_memory_kb'] / 1024:,.1f} "
                     f"| {row['socket_slab_kb'] / 1024:,.1f} |")
    lines += ["", f"Locust memory per student (RSS slope between {tenth['students']:,} and {full['students']:,}): "
              f"**{per_student_kb:.2f} KB**; lag p99 {lag_p99_ms:g} ms; at that CPU one core carries "
              f"~{per_core:,.0f} students (at 100 %).", "",
              "| students | cores at 70 % (one worker each) | Locust memory | kernel socket memory (both ends) |",
              "| ---: | ---: | ---: | ---: |"]
    # Kernel memory per student: socket buffers and structures of both ends (ours and the platform's).
    socket_kb_per_student = ((full["socket_memory_kb"] + full["socket_slab_kb"])
                             - (tenth["socket_memory_kb"] + tenth["socket_slab_kb"])) / (full["students"] - tenth["students"])
    for national in NATIONAL:
        cores = math.ceil(national / (0.7 * per_core)) if per_core else 0
        base_mb = (tenth["rss_kb"] - tenth["students"] * per_student_kb) / tenth["processes"] / 1024
        lines.append(f"| {national:,} | {cores} | {national * per_student_kb / 1024 ** 2:,.1f} GB + "
                     f"{cores} x {base_mb:.0f} MB | {national * socket_kb_per_student / 1024 ** 2:,.1f} GB |")
    return "\n".join(lines) + "\n"


def cpu_table(rows: list[dict]) -> str:
    """The requests-per-CPU-second table."""
    lines = ["| generator | requests/s | CPU of one core | requests per CPU-second | CPU per request vs plain |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['tool']} | {row['requests_per_second']:,.0f} | {row['cpu_share']:.0%} | "
                     f"{row['requests_per_cpu_second']:,.0f} | {row['cpu_per_request_vs_plain']:.2f} |")
    return "\n".join(lines) + "\n"


class Nginx:
    """nginx on the target core, listening on `ports`."""

    def __init__(self, directory: Path, ports: list[int], workers: int = 1):
        self.directory, self.ports, self.workers = directory, ports, workers

    def __enter__(self) -> "Nginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        config = nginx_config(self.directory, self.ports, self.workers)
        self.process = subprocess.Popen(["taskset", "-c", TARGET_CORE, binary, "-c", str(config), "-p",
                                         str(self.directory)], preexec_fn=_more_files,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.ports[0]}/", timeout=1).read()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {(self.directory / 'error.log').read_text()}")
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["cpu", "students", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window of each run")
    parser.add_argument("--students", type=int, default=60_000)
    parser.add_argument("--baseline-users", type=int, default=20_000)
    parser.add_argument("--kinds", default="ediary,video,testing,tutor")
    options = parser.parse_args()
    _more_files()
    with tempfile.TemporaryDirectory(prefix="mektepnet-loadgen-") as temp:
        directory = Path(temp)
        ports = [free_port() for _ in range(6)]
        with Nginx(directory, ports, max(1, workers_for(max(options.students, options.baseline_users)))):
            if options.part in ("cpu", "both"):
                rows = cpu_part(directory, ports, options.seconds, [PlatformKind(k) for k in options.kinds.split(",")])
                print(cpu_table(rows))
            if options.part in ("students", "both"):
                results = students_part(directory, ports, options.students, options.baseline_users,
                                        max(options.seconds, 60.0))
                print(students_table(results))


if __name__ == "__main__":
    main()
