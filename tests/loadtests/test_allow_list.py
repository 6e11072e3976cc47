"""A refused target sends nothing: checked in a network namespace where the non-loopback host exists and listens."""

import os
import subprocess
import sys
import time

import pytest

from tests.helpers.cli import FIXTURES, ROOT
from tests.helpers.netpath import sh

PROFILES = FIXTURES / "loadtests"
HOST = "10.99.0.1"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


@pytest.fixture
def remote_platform():
    """A namespace whose 10.99.0.1 runs the platform simulator; yields a function that runs a command in it."""
    namespace = f"mnlt{os.getpid()}"
    sh("ip", "netns", "add", namespace)
    simulator = None
    try:
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
        sh("ip", "-n", namespace, "addr", "add", f"{HOST}/32", "dev", "lo")

        def in_namespace(*argv, timeout=120):
            return subprocess.run(["ip", "netns", "exec", namespace, *map(str, argv)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})

        simulator = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-m", "cli", "platform-sim",
                                      "serve", "--host", HOST, "--port", "8780", "--profile",
                                      str(PROFILES / "good_minimal.yaml")], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while in_namespace("curl", "-sf", f"http://{HOST}:8780/healthz").returncode != 0:
            assert time.monotonic() < deadline and simulator.poll() is None, "simulator did not start"
            time.sleep(0.3)
        yield in_namespace
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(10)
        sh("ip", "netns", "del", namespace, check=False)


def _served(in_namespace) -> float:
    metrics = in_namespace("curl", "-sf", f"http://{HOST}:8780/metrics").stdout
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("mektepnet_platform_sim_requests_total{"))


def _plain_locust(in_namespace, profile, *extra):
    return in_namespace(sys.executable, "-m", "locust", "-f", ROOT / "loadtests" / "locustfiles" / "tutor.py",
                        "--headless", "-u", "5", "-t", "4s", "--mektep-profile", profile, "--mektep-students", "5",
                        "--mektep-shape", "new-platform", *extra)


def test_a_target_outside_the_allow_list_receives_nothing(remote_platform, tmp_path):
    refused = remote_platform(sys.executable, "-m", "cli", "loadtest", "run", "--headless", "--profile",
                              PROFILES / "remote_not_allowed.yaml", "--students", 5, "--duration", "10s",
                              "--run-dir", tmp_path / "run")
    assert refused.returncode == 2 and f"host {HOST} is not loopback" in refused.stderr
    plain = _plain_locust(remote_platform, PROFILES / "remote_not_allowed.yaml")
    assert plain.returncode == 2 and "nothing was sent" in plain.stderr
    unconfirmed = _plain_locust(remote_platform, PROFILES / "allowed_remote.yaml")
    assert unconfirmed.returncode == 2 and "--confirm-target" in unconfirmed.stderr
    assert _served(remote_platform) == 0


def test_an_allowed_and_confirmed_host_is_reached(remote_platform):
    confirmed = _plain_locust(remote_platform, PROFILES / "allowed_remote.yaml", "--mektep-confirm-target", HOST)
    assert confirmed.returncode == 0, confirmed.stderr[-2000:]
    assert _served(remote_platform) >= 5
