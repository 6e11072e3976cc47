"""Real SNMP agents for tests on loopback UDP ports: net-snmp's `snmpd` (a v2c community and a v3 authPriv
user, the host's real interfaces) and `snmpsim` (simulated devices from .snmprec records: 32-bit counters
that wrap, devices that reboot, many devices at once)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.ports import free_udp_port, free_udp_ports
from tests.helpers.tools import require_tool


@dataclass(frozen=True)
class Agent:
    """Where the agent listens and the credentials it accepts."""

    port: int
    community: str = "mektepnet-test"
    user: str = "mektepnet-v3"
    auth_key: str = "authpass-123"
    priv_key: str = "privpass-123"


@contextmanager
def snmpd(directory: Path, namespace: str | None = None, address: str = "127.0.0.1"):
    """snmpd in the foreground until the block ends (inside `namespace`, listening on `address`, if given);
    yields its Agent once it answers."""
    binary = shutil.which("snmpd") or ("/usr/sbin/snmpd" if Path("/usr/sbin/snmpd").exists() else None)
    if binary is None:
        require_tool("snmpd")
    agent = Agent(free_udp_port())
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "snmpd.conf"
    conf.write_text(f"rocommunity {agent.community} default\n"
                    f'createUser {agent.user} SHA "{agent.auth_key}" AES "{agent.priv_key}"\n'
                    f"rouser {agent.user} priv\n")
    env = {"SNMP_PERSISTENT_DIR": str(directory / "persist"), "MIBS": "", "PATH": os.environ.get("PATH", "")}
    argv = [binary, "-f", "-Lf", str(directory / "snmpd.log"), "-C", "-c", str(conf),
            "-p", str(directory / "snmpd.pid"), f"udp:{address}:{agent.port}"]
    process = subprocess.Popen(["ip", "netns", "exec", namespace, *argv] if namespace else argv,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if namespace:
            _wait_in_namespace(agent, namespace, address, process, directory / "snmpd.log")
        else:
            _wait_until_it_answers(agent, process, directory / "snmpd.log")
        yield agent
    finally:
        process.terminate()
        process.wait(10)


def _wait_until_it_answers(agent: Agent, process: subprocess.Popen, log: Path) -> None:
    wait_for_agent(agent.port, agent.community, process, log)


def _wait_in_namespace(agent: Agent, namespace: str, address: str, process: subprocess.Popen, log: Path) -> None:
    """Until `snmpget` run inside the namespace gets sysUpTime.0 from the agent."""
    snmpget = require_tool("snmpget")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the agent exited: {log.read_text()[-2000:] if log.exists() else ''}")
        answer = subprocess.run(["ip", "netns", "exec", namespace, snmpget, "-v2c", "-c", agent.community, "-t",
                                 "0.3", "-r", "0", f"{address}:{agent.port}", "1.3.6.1.2.1.1.3.0"],
                                capture_output=True, text=True, env={"MIBS": "", "PATH": os.environ.get("PATH", "")})
        if answer.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the agent in {namespace} did not answer within 15 s")


def wait_for_agent(port: int, community_text: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Until a v2c GET of sysUpTime.0 is answered; RuntimeError if the agent exits or stays silent."""
    # Built by hand (BER) so that the helpers do not depend on the code under test.
    community = community_text.encode()
    oid = bytes([0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = bytes([0x30, len(oid) + 2]) + oid + b"\x05\x00"
    varbinds = bytes([0x30, len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = bytes([0xA0, len(pdu_body)]) + pdu_body
    message_body = b"\x02\x01\x01" + bytes([0x04, len(community)]) + community + pdu
    message = bytes([0x30, len(message_body)]) + message_body
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the agent exited: {log.read_text()[-2000:] if log.exists() else ''}")
            sock.sendto(message, ("127.0.0.1", port))
            try:
                sock.recv(2048)
                return
            except TimeoutError:
                continue
    raise RuntimeError(f"the agent on port {port} did not answer within {seconds:g} s")


@contextmanager
def snmpsim(directory: Path, devices: dict[str, str], endpoints: int = 1):
    """snmpsim-command-responder serving `devices` (community -> .snmprec text) on `endpoints` loopback
    ports; yields the ports once it answers. Runs as root on purpose (SNMPSIM_ALLOW_ROOT): the user it
    would drop to cannot read this interpreter under /root."""
    import sys

    binary = Path(sys.executable).with_name("snmpsim-command-responder")
    data, cache = directory / "data", directory / "cache"
    data.mkdir(parents=True, exist_ok=True)
    cache.mkdir(exist_ok=True)
    for community, records in devices.items():
        (data / f"{community}.snmprec").write_text(records)
    ports = free_udp_ports(endpoints)
    log = directory / "snmpsim.log"
    argv = [str(binary), f"--data-dir={data}", f"--cache-dir={cache}", "--log-level=error",
            *(f"--agent-udpv4-endpoint=127.0.0.1:{port}" for port in ports)]
    with log.open("ab") as output:
        process = subprocess.Popen(argv, env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        for port in ports:
            wait_for_agent(port, next(iter(devices)), process, log)
        yield ports
    finally:
        process.terminate()
        process.wait(10)
