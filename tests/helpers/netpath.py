"""A realistic school-to-centre path in three network namespaces, with rate, delay and loss.

    school (198.18.1.2) <-veth-> router <-veth-> centre (198.18.2.2)

Rate: `tc tbf` on the router's egress towards each side (download towards the school, upload towards
the centre). Delay: the user-space delay line (tests/helpers/delayline.py) in the router, half the RTT
each way. Loss: `iptables -m statistic --mode random` in the router's FORWARD chain, per direction.
Checksum offload is off on the veth ends, so packets that pass through user space stay valid.
Addresses come from 198.18.0.0/15, the range set aside for network benchmarks (RFC 2544).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_COUNTER = itertools.count()


@dataclass(frozen=True)
class PathSpec:
    """What the path does: rate in bit/s each way (None: unshaped), round-trip delay, loss ratio each way."""

    rate_bps: float | None
    rtt_seconds: float = 0.0
    loss_ratio: float = 0.0
    upload_rate_bps: float | None = None      # default: the same as rate_bps


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command (root is required), raising with its output when it fails."""
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass
class NetworkPath:
    """Build the namespaces on enter, tear everything down on exit."""

    spec: PathSpec
    tag: str = field(default_factory=lambda: f"{os.getpid() % 10000}x{next(_COUNTER)}")
    school_ip: str = "198.18.1.2"
    centre_ip: str = "198.18.2.2"
    _processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def school(self) -> str:
        return f"mn-s{self.tag}"

    @property
    def router(self) -> str:
        return f"mn-r{self.tag}"

    @property
    def centre(self) -> str:
        return f"mn-c{self.tag}"

    def in_ns(self, namespace: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside one of the path's namespaces."""
        return sh("ip", "netns", "exec", namespace, *argv, check=check)

    def popen(self, namespace: str, *argv: str, **kwargs) -> subprocess.Popen:
        """Start a long-running process inside a namespace; it is killed on exit."""
        process = subprocess.Popen(["ip", "netns", "exec", namespace, *argv], **kwargs)
        self._processes.append(process)
        return process

    def __enter__(self) -> "NetworkPath":
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _build(self) -> None:
        s, r, c = self.school, self.router, self.centre
        for namespace in (s, r, c):
            sh("ip", "netns", "add", namespace)
            self.in_ns(namespace, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "eth0", "netns", s, "type", "veth", "peer", "name", "rs", "netns", r)
        sh("ip", "link", "add", "eth0", "netns", c, "type", "veth", "peer", "name", "rc", "netns", r)
        for namespace, device, address in ((s, "eth0", "198.18.1.2/24"), (r, "rs", "198.18.1.1/24"),
                                           (c, "eth0", "198.18.2.2/24"), (r, "rc", "198.18.2.1/24")):
            self.in_ns(namespace, "ip", "addr", "add", address, "dev", device)
            self.in_ns(namespace, "ip", "link", "set", device, "up")
            self.in_ns(namespace, "ethtool", "-K", device, "tx", "off", "tso", "off", "gso", "off", "gro", "off")
        self.in_ns(s, "ip", "route", "add", "default", "via", "198.18.1.1")
        self.in_ns(c, "ip", "route", "add", "default", "via", "198.18.2.1")
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"):
            self.in_ns(r, "sysctl", "-qw", key)
        self._shape()
        self._lose()
        self._delay()       # always in the path, even with no delay: the path is the same in every test

    def _shape(self) -> None:
        download = self.spec.rate_bps
        upload = self.spec.upload_rate_bps or download
        for device, rate in (("rs", download), ("rc", upload)):
            if rate is None:
                continue
            burst = max(int(rate / 8 * 0.004), 16 * 1514)           # 4 ms of traffic, at least 16 frames
            queue = max(self.spec.rtt_seconds, 0.02) + 0.03          # about one BDP, plus 30 ms
            limit = max(int(rate / 8 * queue), 64 * 1514)
            self.in_ns(self.router, "tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", f"{int(rate)}bit",
                       "burst", str(burst), "limit", str(limit))

    def _lose(self) -> None:
        if self.spec.loss_ratio <= 0:
            return
        for device in ("rs", "rc"):
            self.in_ns(self.router, "iptables", "-A", "FORWARD", "-i", device, "-m", "statistic", "--mode", "random",
                       "--probability", f"{self.spec.loss_ratio:.6f}", "-j", "DROP")

    def _delay(self) -> None:
        r = self.router
        self.in_ns(r, "ip", "tuntap", "add", "dev", "dl0", "mode", "tun")
        self.in_ns(r, "ip", "link", "set", "dl0", "up")
        self.in_ns(r, "sysctl", "-qw", "net.ipv4.conf.dl0.rp_filter=0")
        for device in ("rs", "rc"):
            self.in_ns(r, "ip", "rule", "add", "iif", device, "lookup", "100")
        self.in_ns(r, "ip", "route", "add", "default", "dev", "dl0", "table", "100")
        line = self.popen(r, sys.executable, "-m", "tests.helpers.delayline", "--device", "dl0",
                          "--delay", str(self.spec.rtt_seconds / 2), "--seconds", "1800",
                          cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if line.stdout.readline().strip() != "ready":
            raise RuntimeError("the delay line did not start")

    def __exit__(self, *exc) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        for namespace in (self.school, self.router, self.centre):
            sh("ip", "netns", "del", namespace, check=False)


def iperf3(path: NetworkPath, seconds: float = 10, reverse: bool = True) -> float:
    """iperf3 over the path (one stream), receiver-side bit/s; reverse=True measures the download."""
    server = path.popen(path.centre, "iperf3", "-s", "-1", "-B", path.centre_ip,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    import json

    argv = ["iperf3", "-c", path.centre_ip, "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
    result = path.in_ns(path.school, *argv)
    server.wait(timeout=10)
    return json.loads(result.stdout)["end"]["sum_received"]["bits_per_second"]
