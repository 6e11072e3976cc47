"""A real nginx (Debian nginx-light) in front of a test collector, running the shipped configuration.

deploy/nginx/mektepnet-collector.conf is used as written; only its address, port, certificate paths
and upstream are pointed at the test's, and timeouts may be shortened so that a slow-loris test ends
soon. A substitution that does not match exactly once fails the test: the shipped file cannot drift
away from what is tested.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers.cli import ROOT
from tests.helpers.ports import free_port
from tests.helpers.tlsca import TestCA
from tests.helpers.tools import require_tool

DEPLOYED = ROOT / "deploy" / "nginx" / "mektepnet-collector.conf"

MAIN = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 4096; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {site};
}}
"""


@dataclass(frozen=True)
class Nginx:
    """A running nginx: its https:// base URL, port, CA file for clients and its logs."""

    url: str
    port: int
    ca_file: Path
    directory: Path

    def verify(self) -> ssl.SSLContext:
        """A client's TLS context that trusts the test CA (for httpx's `verify=`)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def error_log(self) -> str:
        """nginx's error log so far (info level: client timeouts are there)."""
        return (self.directory / "error.log").read_text(encoding="utf-8", errors="replace")

    def timed_out_clients(self, phase: str) -> int:
        """How many connections nginx cut off for being slow in `phase` ('SSL handshaking', 'reading client
        request line' ...); requests cut off later are in the access log with status 408."""
        return self.error_log().count(f"client timed out (110: Connection timed out) while {phase}")

    def access_statuses(self) -> list[int]:
        """The status of every request nginx answered, in order."""
        log = (self.directory / "access.log").read_text(encoding="utf-8", errors="replace")
        return [int(match) for match in re.findall(r'" (\d{3}) ', log)]


def _substitute(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"{DEPLOYED.name}: expected {old!r} exactly once")
    return text.replace(old, new)


def render_site(upstream: str, port: int, cert: Path, key: Path, overrides: dict[str, str]) -> str:
    """The shipped site configuration aimed at the test's port, certificate and upstream (host:port)."""
    text = DEPLOYED.read_text(encoding="utf-8")
    text = _substitute(text, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    text = _substitute(text, "server 127.0.0.1:8443 ", f"server {upstream} ")
    text = _substitute(text, "/etc/mektepnet/collector/cert.pem", str(cert))
    text = _substitute(text, "/etc/mektepnet/collector/key.pem", str(key))
    for directive, value in overrides.items():
        text, count = re.subn(rf"(?m)^(\s*){directive}\s[^;]*;", rf"\g<1>{directive} {value};", text)
        if count != 1:
            raise AssertionError(f"{DEPLOYED.name}: expected the directive {directive} exactly once")
    return text


@contextmanager
def nginx_in_front(collector_url: str, directory: Path, **overrides: str):
    """nginx with the shipped configuration, TLS from a fresh test CA, proxying to `collector_url`
    (http://host:port); `overrides` replace directives (client_header_timeout="2s"). Yields Nginx."""
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin") or require_tool("nginx")
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCA.create(directory)
    cert, key = ca.issue(directory, "127.0.0.1", "collector.edu.kz")
    port = free_port()
    site = directory / "mektepnet-collector.conf"
    site.write_text(render_site(urlsplit(collector_url).netloc, port, cert, key, overrides), encoding="utf-8")
    main = directory / "nginx.conf"
    user = "user root root;\n" if os.geteuid() == 0 else ""       # workers read the test's root-only files
    main.write_text(MAIN.format(user=user, dir=directory, site=site), encoding="utf-8")
    checked = subprocess.run([binary, "-p", str(directory), "-c", str(main), "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration: {checked.stderr}")
    process = subprocess.Popen([binary, "-p", str(directory), "-c", str(main), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(process, port)
        yield Nginx(f"https://127.0.0.1:{port}", port, ca.cert_file, directory)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(process: subprocess.Popen, port: int) -> None:
    for _ in range(500):
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nginx did not start listening")
