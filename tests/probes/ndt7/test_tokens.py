"""Signed ndt7 access tokens against a real server: valid ones run, every other kind is refused before the
upgrade, and the per-probe limit neither grows with forged tokens nor is dodged by a new token string."""

import asyncio
import base64
import json
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import CoreError
from probes.ndt7 import spec
from probes.ndt7.client import ClientOptions, Ndt7Error, run_subtest
from probes.ndt7.limiter import BoundedBuckets
from probes.ndt7.server import Ndt7Server, ServerConfig
from probes.ndt7.tokens import ISSUER, TokenSigner
from tests.helpers.ndt7 import server_thread, token_keys

AUDIENCE = "ndt7-almaty-1"


@pytest.fixture
def keys(tmp_path):
    return token_keys(tmp_path / "keys")


def verifying(keys, **settings) -> ServerConfig:
    return ServerConfig(runtime_seconds=1.0, token_public_key=keys.public_key, token_audience=AUDIENCE, **settings)


def subtest(url: str, token: str | None, test: str = "download"):
    return asyncio.run(run_subtest(url, test, ClientOptions(max_bytes=100_000, token=token)))


def test_a_signed_token_runs_a_test_and_the_limit_follows_the_probe_not_the_token_string(keys):
    config = verifying(keys, tests_per_token_per_hour=1, token_burst=2)
    with server_thread(config) as ndt7:
        with pytest.raises(Ndt7Error, match="HTTP 401"):
            subtest(ndt7.url, None)
        for _ in range(2):
            token, _ = keys.signer.issue("p-kz-001-aaaaaa", AUDIENCE, "download")
            assert subtest(ndt7.url, token).app_bytes == 100_000
        fresh, _ = keys.signer.issue("p-kz-001-aaaaaa", AUDIENCE, "download")     # a new string, the same probe
        with pytest.raises(Ndt7Error) as limited:
            subtest(ndt7.url, fresh)
        assert "HTTP 429" in str(limited.value) and limited.value.busy and limited.value.retry_after > 0
        # Another school behind the same IP (carrier NAT) is not limited by the first one's tests.
        other, _ = keys.signer.issue("p-kz-002-bbbbbb", AUDIENCE, "download")
        assert subtest(ndt7.url, other).app_bytes == 100_000
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_refusals_total", {"reason": "rate_limited"}) == 1
        assert len(ndt7.server.buckets) == 2


def _unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "p-someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def bad_tokens(signer: TokenSigner) -> dict[str, tuple[str, int]]:
    """Every kind of token a server must refuse, with the status it must answer."""
    now = signer.clock()
    good, _ = signer.issue("p-kz-001-aaaaaa", AUDIENCE, "download")
    expired = TokenSigner(signer._key, clock=lambda: now - 3600).issue("p-kz-001-aaaaaa", AUDIENCE, "download")[0]
    stranger = TokenSigner(Ed25519PrivateKey.generate()).issue("p-kz-001-aaaaaa", AUDIENCE, "download")[0]
    claims = {"iss": ISSUER, "sub": "p-kz-001-aaaaaa", "aud": AUDIENCE, "test": "download", "iat": int(now),
              "exp": int(now) + 60}
    return {
        "invented": ("not-a-token-at-all", 401),
        "empty": ("", 401),
        "expired": (expired, 401),
        "other audience": (signer.issue("p-kz-001-aaaaaa", "ndt7-astana-2", "download")[0], 403),
        "other test": (signer.issue("p-kz-001-aaaaaa", AUDIENCE, "upload")[0], 403),
        "alg none": (_unsigned(claims), 401),
        "HS256 with a shared secret": (jwt.encode(claims, "x" * 32, algorithm="HS256"), 401),
        "tampered": (_tampered(good), 401),
        "signed by another key": (stranger, 401),
    }


def test_every_bad_token_is_refused_before_any_data_flows(keys):
    cases = bad_tokens(keys.signer)
    with server_thread(verifying(keys)) as ndt7:
        for name, (token, status) in cases.items():
            with pytest.raises(Ndt7Error) as refused:
                subtest(ndt7.url, token)
            assert f"HTTP {status}" in str(refused.value), name
            assert token not in str(refused.value) or token == ""       # the token is never echoed
        registry = ndt7.server.registry
        assert registry.get_sample_value("mektepnet_ndt7_refusals_total", {"reason": "unauthorized"}) == len(cases)
        assert registry.get_sample_value("mektepnet_ndt7_bytes_total", {"direction": "download"}) is None
        assert registry.get_sample_value("mektepnet_ndt7_tests_total",
                                         {"direction": "download", "outcome": "completed"}) is None
        assert len(ndt7.server.buckets) == 0
        token, _ = keys.signer.issue("p-kz-001-aaaaaa", AUDIENCE, "upload")       # the right test: served
        assert subtest(ndt7.url, token, "upload").app_bytes == 100_000


async def _forge(url: str, tokens: list[str], at_once: int = 32) -> list[int]:
    """Ask for a download with each token over plain HTTP upgrades; the statuses, in order."""
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    gate = asyncio.Semaphore(at_once)

    async def one(token: str) -> int:
        async with gate:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write((f"GET {spec.DOWNLOAD_PATH}?{spec.TOKEN_PARAMETER}={token} HTTP/1.1\r\nHost: x\r\n"
                          "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          f"Sec-WebSocket-Protocol: {spec.SUBPROTOCOL}\r\n\r\n").encode())
            status = int((await reader.readline()).split()[1])
            writer.close()
            return status

    return await asyncio.gather(*(one(token) for token in tokens))


def test_ten_thousand_forged_tokens_leave_the_limiter_bounded(keys):
    forged = [f"forged-{number}" for number in range(10_000)]
    with server_thread(verifying(keys)) as ndt7:
        assert set(asyncio.run(_forge(ndt7.url, forged))) == {401}
        assert len(ndt7.server.buckets) == 0                   # refused before the limiter: nothing remembered
    # An open server (no key) limits by the token string: its memory stays within the cap.
    with server_thread(ServerConfig(max_tracked_tokens=500, max_concurrent=1, runtime_seconds=1.0)) as ndt7:
        statuses = asyncio.run(_forge(ndt7.url, forged))
        assert 101 in statuses
        assert len(ndt7.server.buckets) <= 500


def test_the_limiter_forgets_refilled_keys_and_the_least_recent_beyond_its_cap():
    now = [0.0]
    buckets = BoundedBuckets(per_hour=3600, burst=2, max_keys=3, clock=lambda: now[0])
    for key in ("a", "b", "c", "d"):
        assert buckets.take(key) == 0.0
    assert len(buckets) == 3                                  # "a" was the least recently used
    assert buckets.take("d") == 0.0 and buckets.take("d") == pytest.approx(1.0)    # d's burst of 2 is spent
    now[0] = 10.0                                             # everyone has refilled: all forgotten
    assert buckets.take("e") == 0.0 and len(buckets) == 1


def test_a_server_verifying_tokens_refuses_a_key_file_that_is_not_an_ed25519_public_key(keys, tmp_path):
    other = tmp_path / "p256.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    for path, why in ((keys.signing_key, "not a readable PEM public key"), (other, "not an Ed25519 key")):
        with pytest.raises(CoreError, match="--token-public-key") as refused:
            Ndt7Server(replace(verifying(keys), token_public_key=path))
        assert why in str(refused.value)
