"""The simulator behind a handle: a child process on a port it chose, its URL known without reading any output."""

import socket

import httpx
import pytest

from loadtests.profile import load_profile
from loadtests.serving import SimulatorConfig, start_simulator
from tests.helpers.cli import FIXTURES

TINY = FIXTURES / "loadtests" / "tiny_capacity.yaml"


def test_port_0_gives_a_handle_whose_url_answers_and_stop_frees_the_port(tmp_path):
    handle = start_simulator(SimulatorConfig(load_profile(TINY), port=0), tmp_path / "sim.log")
    try:
        assert handle.url == f"http://127.0.0.1:{handle.port}" and handle.port > 0
        assert httpx.get(f"{handle.url}/healthz").json() == {"status": "ok"}
        assert httpx.post(f"{handle.url}/api/login", content=b"x").status_code == 200
    finally:
        handle.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", handle.port), timeout=2)
    # The port is free again: a new simulator listens on it.
    with start_simulator(SimulatorConfig(load_profile(TINY), port=handle.port)) as again:
        assert again.url == handle.url and httpx.get(f"{again.url}/healthz").status_code == 200


def test_a_port_in_use_is_refused_with_the_reason():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{port}"):
            start_simulator(SimulatorConfig(load_profile(TINY), port=port))
