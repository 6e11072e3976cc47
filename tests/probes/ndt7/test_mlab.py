"""M-Lab support: Locate v2 answers parsed, tokenised URLs used as given, and the privacy notice shown.

M-Lab itself cannot be reached from here, so a local HTTP server answers as the Locate API does, and
its URLs point at our own ndt7 server.
"""

import json
import random
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from probes.ndt7 import spec
from probes.ndt7.client import Ndt7Error
from probes.ndt7.mlab import PRIVACY_NOTICE, locate, parse_locate, unattended_wait_seconds
from probes.ndt7.server import ServerConfig
from tests.helpers.cli import run_cli
from tests.helpers.ndt7 import server_thread, token_keys


MACHINE = "mlab1-ala01.mlab-oti.measurement-lab.org"


def locate_answer(base: str, down: str = "tok-down", up: str = "tok-up") -> dict:
    """A Locate v2 answer pointing at `base`, with the per-subtest access tokens given."""
    host = base.split("://", 1)[1]
    return {"results": [{
        "machine": MACHINE,
        "location": {"city": "Almaty", "country": "KZ"},
        "urls": {
            f"ws://{spec.DOWNLOAD_PATH}": f"ws://{host}{spec.DOWNLOAD_PATH}?access_token={down}",
            f"ws://{spec.UPLOAD_PATH}": f"ws://{host}{spec.UPLOAD_PATH}?access_token={up}",
            f"wss://{spec.DOWNLOAD_PATH}": f"wss://{host}{spec.DOWNLOAD_PATH}?access_token={down}",
            f"wss://{spec.UPLOAD_PATH}": f"wss://{host}{spec.UPLOAD_PATH}?access_token={up}",
        },
    }]}


@contextmanager
def locate_api(answer: dict | None):
    """A Locate-v2-shaped HTTP endpoint on loopback; None answers 204 (no capacity). Records the queries."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(200 if answer is not None else 204)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v2/nearest/ndt/ndt7", seen
    finally:
        server.shutdown()


def test_locate_answers_are_parsed_per_scheme():
    targets = parse_locate(locate_answer("ws://127.0.0.1:9"), secure=True)
    assert targets[0].download_url.startswith("wss://") and targets[0].download_url.endswith("tok-down")
    assert parse_locate({"results": [{"machine": "x", "urls": {}}]}) == []


def test_no_capacity_is_a_busy_error():
    with locate_api(None) as (url, _):
        with pytest.raises(Ndt7Error, match="no capacity") as caught:
            locate("mektepnet", "0.1.0", url, secure=False)
    assert caught.value.busy


def test_the_cli_tests_on_the_located_machine_with_its_tokens_and_warns_about_privacy(tmp_path):
    keys = token_keys(tmp_path)       # the server verifies the tokens, as M-Lab's do: each fits only its subtest
    down, _ = keys.signer.issue("mektepnet-test", MACHINE, "download")
    up, _ = keys.signer.issue("mektepnet-test", MACHINE, "upload")
    config = ServerConfig(token_public_key=keys.public_key, token_audience=MACHINE)
    with server_thread(config) as ndt7, locate_api(locate_answer(ndt7.url, down, up)) as (url, seen):
        result = run_cli("ndt7", "test", "--mlab", "--client-name", "mektepnet-test", "--locate-url", url,
                         "--max-bytes", 2_000_000)
        assert result.returncode == 0, result.stderr
        assert "IP address" in result.stdout and PRIVACY_NOTICE[:20] in result.stdout
        assert "client_name=mektepnet-test" in seen[0]
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_refusals_total", {"reason": "unauthorized"}) is None
    refused = run_cli("ndt7", "test", "--mlab")
    assert refused.returncode == 2 and "--client-name" in refused.stderr


def test_unattended_waits_follow_the_schedule():
    rng = random.Random(3)
    waits = [unattended_wait_seconds(rng) for _ in range(2000)]
    assert min(waits) >= 36 * 60 and max(waits) <= 15 * 3600
    assert 4 * 3600 <= sum(waits) / len(waits) <= 7 * 3600
