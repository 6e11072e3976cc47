"""Latency trains for real: raw ICMP as root, ICMP datagram sockets as nobody, TCP connect, through namespaces.

RTT accuracy is judged against the hold times that the delaying echo responder logs from kernel
timestamps (tests/helpers/echoresponder.py), not against its nominal delay.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from probes.icmp import train_statistics
from tests.helpers.cli import ROOT
from tests.helpers.netpath import NetworkPath, PathSpec
from tests.helpers.probe import latency_config, probe_once

FAST_TRAIN = {"count": 10, "interval_seconds": 0.02, "timeout_seconds": 2}


def test_train_statistics_follow_their_definitions():
    values = train_statistics([0.010, None, 0.030, 0.020, None])
    assert values["loss_ratio"] == pytest.approx(0.4) and values["packets_sent"] == 5
    assert values["rtt_min_seconds"] == 0.010 and values["rtt_median_seconds"] == 0.020
    assert values["rtt_p95_seconds"] == 0.030
    # Jitter: mean |difference| of consecutive received RTTs in sequence order: (|30-10| + |20-30|) / 2.
    assert values["jitter_seconds"] == pytest.approx(0.015)
    assert train_statistics([None, None]) == {"packets_sent": 2, "loss_ratio": 1.0}


def start_responder(path: NetworkPath, delay: float, log) -> subprocess.Popen:
    path.in_ns(path.centre, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    responder = path.popen(path.centre, sys.executable, "-m", "tests.helpers.echoresponder", "--delay", str(delay),
                           "--log", str(log), "--seconds", "120", cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert responder.stdout.readline().strip() == "ready"
    return responder


def holds(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def assert_accurate(record, held: list[dict]) -> None:
    hold_times = sorted(item["hold_seconds"] for item in held)
    for measured, reference in ((record.values["rtt_min_seconds"], hold_times[0]),
                                (record.values["rtt_median_seconds"], statistics.median(hold_times))):
        assert abs(measured - reference) <= 0.0005 + 0.02 * reference, (measured, reference)


@pytest.mark.parametrize("delay", [0.005, 0.05])
def test_raw_icmp_rtt_matches_the_logged_hold_time(network_namespaces, tmp_path, delay):
    log = tmp_path / "holds.jsonl"
    with NetworkPath(PathSpec(rate_bps=None)) as path:
        start_responder(path, delay, log)
        [record] = probe_once(path, latency_config(path.centre_ip, {"method": "icmp-raw", **FAST_TRAIN}))
        [second] = probe_once(path, latency_config(path.centre_ip, {"method": "icmp-raw", "count": 2}))
    held = holds(log)
    assert record.method == "icmp-raw" and record.error is None and record.values["loss_ratio"] == 0
    first_train = [item for item in held if item["id"] == held[0]["id"]]
    assert len(first_train) == 10 and [item["seq"] for item in first_train] == list(range(10))
    assert_accurate(record, first_train)
    assert {item["id"] for item in held} == {held[0]["id"], held[-1]["id"]} and held[0]["id"] != held[-1]["id"]
    assert second.values["packets_sent"] == 2


def test_unprivileged_datagram_icmp_where_ping_group_range_allows(network_namespaces, tmp_path):
    log = tmp_path / "holds.jsonl"
    with NetworkPath(PathSpec(rate_bps=None)) as path:
        start_responder(path, 0.02, log)
        path.in_ns(path.school, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
        [record] = probe_once(path, latency_config(path.centre_ip, {"method": "auto", **FAST_TRAIN}),
                              unprivileged=True)
    assert record.method == "icmp-datagram" and record.error is None
    assert_accurate(record, holds(log))


def test_without_root_or_ping_group_the_probe_falls_back_to_tcp_connect(network_namespaces):
    with NetworkPath(PathSpec(rate_bps=None, rtt_seconds=0.04)) as path:
        path.in_ns(path.school, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
        [record] = probe_once(path, latency_config(path.centre_ip, {"method": "auto", "count": 3,
                                                                   "interval_seconds": 0.05, "tcp_port": 443}),
                              unprivileged=True)
    assert record.method == "tcp-connect" and record.attributes["tcp_port"] == "443"
    # The RST comes back over the same path: one round trip of it, not none and not two.
    assert 0.04 <= record.values["rtt_median_seconds"] < 2 * 0.04


def test_loss_on_the_path_shows_in_the_train(network_namespaces, tmp_path):
    with NetworkPath(PathSpec(rate_bps=None, loss_ratio=0.2)) as path:
        [record] = probe_once(path, latency_config(path.centre_ip, {"method": "icmp-raw", "count": 300,
                                                                   "interval_seconds": 0.002,
                                                                   "timeout_seconds": 1}))
    # Requests and replies are each dropped with p = 0.2: 1 - 0.8² = 0.36 of the train is lost.
    assert 0.26 <= record.values["loss_ratio"] <= 0.46
    assert record.values["packets_sent"] == 300
