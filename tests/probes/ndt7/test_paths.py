"""ndt7 over realistic paths: school <-> router <-> centre namespaces with tbf rate, a delay line and loss."""

import json
import sys

import pytest

from core.measurement import Measurement
from tests.helpers.ndt7 import server_process
from tests.helpers.netpath import NetworkPath, PathSpec, iperf3
from tests.helpers.tools import require_tool


@pytest.fixture(autouse=True)
def network_tools(network_namespaces):
    require_tool("iperf3")


def ndt7_in_school(path: NetworkPath, url: str, *args: str) -> dict[str, Measurement]:
    result = path.in_ns(path.school, sys.executable, "-m", "cli", "ndt7", "test", "--server", url, "--json",
                        "--max-bytes", "0", *args)
    return {r.kind.value: r for r in map(Measurement.model_validate, json.loads(result.stdout))}


def connect_rtt(path: NetworkPath, port: int) -> float:
    code = ("import socket,time\nbest=9\nfor _ in range(5):\n t=time.monotonic()\n"
            f" s=socket.create_connection(('{path.centre_ip}',{port}))\n best=min(best,time.monotonic()-t)\n"
            " s.close()\nprint(best)")
    return float(path.in_ns(path.school, sys.executable, "-c", code).stdout)


def test_the_delay_line_holds_the_rate_and_adds_the_delay():
    with NetworkPath(PathSpec(rate_bps=50e6, rtt_seconds=0.0)) as path:
        assert iperf3(path, seconds=4) >= 0.93 * 50e6
    with NetworkPath(PathSpec(rate_bps=20e6, rtt_seconds=0.1)) as path, \
            server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
        assert 0.098 <= connect_rtt(path, int(ndt7.url.rsplit(":", 1)[1])) <= 0.115


def test_ndt7_agrees_with_iperf3_and_sees_the_queue_under_load():
    with NetworkPath(PathSpec(rate_bps=10e6, rtt_seconds=0.05)) as path, \
            server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
        reference_down = iperf3(path, seconds=10)
        reference_up = iperf3(path, seconds=10, reverse=False)
        records = ndt7_in_school(path, ndt7.url)
    download, upload = records["download"], records["upload"]
    assert download.values["throughput_bps"] == pytest.approx(reference_down, rel=0.03)
    assert upload.values["throughput_bps"] == pytest.approx(reference_up, rel=0.03)
    assert download.values["min_rtt_seconds"] == pytest.approx(0.05, abs=0.005)
    # tbf holds up to ~80 ms of queue at this rate: a single TCP flow fills much of it.
    assert download.values["loaded_rtt_seconds"] > download.values["min_rtt_seconds"] + 0.02
    assert download.attributes["stop_reason"] == "stable"
    assert download.values["transferred_bytes"] < 0.6 * 10e6 * 10 / 8          # well under a full 10-s test
    assert download.target == ndt7.url


def test_loss_in_the_router_shows_as_retransmissions():
    with NetworkPath(PathSpec(rate_bps=20e6, rtt_seconds=0.02, loss_ratio=0.01)) as path, \
            server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
        records = ndt7_in_school(path, ndt7.url, "--full")
    assert 0.003 <= records["download"].values["retransmission_ratio"] <= 0.05
    assert 0.003 <= records["upload"].values["retransmission_ratio"] <= 0.05
    assert records["download"].attributes["stop_reason"] == "full duration"
