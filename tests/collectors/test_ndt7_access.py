"""ndt7 access tokens end to end: a real collector signs them for enrolled probes, a real ndt7 server verifies
them, and the probe's ndt7 test fetches one per subtest; keys never show in logs or /metrics."""

import asyncio
import base64
import json
import urllib.request
from datetime import datetime, timezone

import pytest

from collectors.api import IngestSettings
from collectors.settings import CollectorSettings
from collectors.store import Store
from core.measurement import Kind
from probes.config import Module, Ndt7Module, ProbeConfig
from probes.context import ProbeContext
from probes.http1 import json_request
from probes.ndt7.access import TOKEN_PATH
from probes.ndt7.server import ServerConfig
from probes.ndt7.servers import ServerEntry
from probes.ndt7.tokens import Grant, TokenVerifier
from probes.throughput import probe_ndt7
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.ndt7 import server_process, server_thread, token_keys

AUDIENCE = "ndt7-almaty-1"


@pytest.fixture
def centre(tmp_path):
    """A collector that signs ndt7 tokens, and one enrolled probe: (collector URL, db, keys, credentials, state)."""
    keys = token_keys(tmp_path / "keys")
    db = tmp_path / "collector.sqlite3"
    config = CollectorSettings(db=db, ingest=IngestSettings(ndt7_signing_key=keys.signing_key))
    with collector_thread(config) as url:
        state = tmp_path / "probe"
        credentials = enrolled(url, db, "KZ-001", state)
        yield url, db, keys, credentials, state


def ask(url: str, token: str | None, body: dict):
    return asyncio.run(json_request("POST", url + TOKEN_PATH, body, token=token))


def test_an_enrolled_probe_gets_a_token_for_one_server_and_one_test(centre):
    url, _, keys, credentials, _ = centre
    answer = ask(url, credentials.token, {"server": AUDIENCE, "test": "upload"})
    assert answer.status == 200
    issued = json.loads(answer.body)
    grant = TokenVerifier.from_file(keys.public_key, AUDIENCE).verify(issued["token"], "upload")
    assert isinstance(grant, Grant) and grant.probe_id == credentials.probe_id and grant.test == "upload"
    expires = datetime.fromisoformat(issued["expires_at"])
    assert 0 < (expires - datetime.now(timezone.utc)).total_seconds() <= 120
    assert TokenVerifier.from_file(keys.public_key, AUDIENCE).verify(issued["token"], "download").status == 403


def test_the_collector_refuses_an_unauthenticated_or_revoked_probe_and_bad_requests(centre):
    url, db, _, credentials, _ = centre
    assert ask(url, None, {"server": AUDIENCE, "test": "download"}).status == 401
    assert ask(url, "invented-" + "x" * 30, {"server": AUDIENCE, "test": "download"}).status == 401
    assert ask(url, credentials.token, {"server": AUDIENCE, "test": "sideways"}).status == 422
    assert ask(url, credentials.token, {"server": "", "test": "download"}).status == 422
    store = Store(db)
    try:
        assert store.revoke(credentials.probe_id, datetime.now(timezone.utc).timestamp())
    finally:
        store.close()
    assert ask(url, credentials.token, {"server": AUDIENCE, "test": "download"}).status == 401


def test_a_collector_without_a_signing_key_says_it_issues_none(tmp_path):
    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        answer = ask(url, credentials.token, {"server": AUDIENCE, "test": "download"})
    assert answer.status == 404 and b"--ndt7-signing-key" in answer.body


def probe_config(collector: str, state, server_url: str, name: str = AUDIENCE) -> ProbeConfig:
    entry = ServerEntry(name=name, url=server_url, requires_token=True)
    return ProbeConfig(collector=collector, school_id="KZ-001", state_dir=state, jobs=(),
                       modules=Module(ndt7=Ndt7Module(servers=(entry,), max_bytes_per_subtest=1_000_000)))


def test_the_probe_fetches_a_token_per_subtest_and_the_test_runs(centre):
    url, _, keys, credentials, state = centre
    config = ServerConfig(runtime_seconds=2.0, token_public_key=keys.public_key, token_audience=AUDIENCE)
    with server_thread(config) as ndt7:
        probe = probe_config(url, state, ndt7.url)
        records = asyncio.run(probe_ndt7("auto", probe.modules, ProbeContext("KZ-001", credentials.probe_id)))
        assert [r.kind for r in records] == [Kind.DOWNLOAD, Kind.UPLOAD]
        assert all(r.error is None and r.values["throughput_bps"] > 0 for r in records)
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_refusals_total", {"reason": "unauthorized"}) is None
        # Under another name the server is another audience: refused (403), and the record says so.
        other = probe_config(url, state, ndt7.url, name="ndt7-astana-2")
        failed = asyncio.run(probe_ndt7("auto", other.modules, ProbeContext("KZ-001", credentials.probe_id)))
    assert all(r.error and "HTTP 403" in r.error and "access_token=" not in r.error for r in failed)


def test_keys_and_tokens_never_appear_in_logs_or_metrics(centre):
    url, _, keys, credentials, state = centre
    secrets = [*_key_texts(keys.signing_key), *_key_texts(keys.public_key)]
    with server_process("--token-public-key", str(keys.public_key), "--token-audience", AUDIENCE) as ndt7:
        probe = probe_config(url, state, ndt7.url)
        records = asyncio.run(probe_ndt7("auto", probe.modules, ProbeContext("KZ-001", credentials.probe_id)))
        assert all(r.error is None for r in records)
        issued = ask(url, credentials.token, {"server": AUDIENCE, "test": "download"}).body.decode()
        token = issued.split('"token":"', 1)[1].split('"', 1)[0]
        ndt7_metrics = urllib.request.urlopen(ndt7.url.replace("ws://", "http://") + "/metrics").read().decode()
        printed = ndt7.stop()
    collector_metrics = urllib.request.urlopen(url + "/metrics").read().decode()
    for text in (printed, ndt7_metrics, collector_metrics):
        assert not any(secret in text for secret in secrets)
        assert token not in text and credentials.token not in text
    assert "tokens for 'ndt7-almaty-1' required" in printed


def _key_texts(path) -> list[str]:
    """The key's PEM body, and its raw 32 bytes in base64 and hex, as a leak would show any of them."""
    body = "".join(path.read_text().strip().splitlines()[1:-1])
    raw = base64.b64decode(body)[-32:]
    return [body, base64.b64encode(raw).decode()[:40], base64.urlsafe_b64encode(raw).decode()[:40], raw.hex()]
