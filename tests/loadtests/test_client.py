"""The open model's HTTP client, run under gevent in a subprocess (the test process stays free of gevent)."""

import subprocess
import sys

from tests.helpers.cli import ROOT
from tests.helpers.platformsim import platform_sim

SCRIPT = """
import resource, socket, sys
from loadtests.client import Connection, RequestFailed
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
held = [socket.socket() for _ in range(1100)]  # the session's descriptor is above 1023, where select() fails
host, port = sys.argv[1], int(sys.argv[2])
session = Connection((host, port), f"{host}:{port}")
answers = [session.request("POST", "/kundelik/v2/authorizations/bycredentials", 120, b"", 5)[:2]]
first = session.sock.fileno()
answers.append(session.request("GET", "/kundelik/v2/users/me/context", 0, b"", 5)[:2])
answers.append(session.request("POST", "/kundelik/v2/files", 300000, b"", 5)[:2])
print(answers, session.sock.fileno() == first > 1023)
session.close()
try:
    Connection((host, 9), "nowhere").request("GET", "/", 0, b"", 2)
except RequestFailed as failure:
    print("failed:", failure)
"""


def test_a_session_keeps_one_connection_for_its_requests_and_names_a_refused_one():
    with platform_sim() as url:
        host, port = url.removeprefix("http://").split(":")
        result = subprocess.run([sys.executable, "-c", SCRIPT, host, port], capture_output=True, text=True,
                                cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    answers, failure = result.stdout.strip().splitlines()
    assert answers == "[(200, 350), (200, 2500), (200, 200)] True"
    assert failure == "failed: connect_refused"


CAP_SCRIPT = """
import gevent
from loadtests.openmodel import ArrivalSchedule
from loadtests.plan import Plan
from loadtests.profile import load_profile
from loadtests.shapes import shape
plan = Plan(load_profile(), shape("steady"), (1000,), 60, ramp_seconds=0)
schedule = ArrivalSchedule(plan, ["http://127.0.0.1:9"], rate_cap=50)
gevent.sleep(2.0)
print(schedule.tally.intended, schedule.ready.qsize())
"""


def test_the_rate_cap_holds_back_students_who_are_all_due_at_once():
    """1,000 students due at the same instant, a cap of 50 requests/s: all came due, ~100 released in 2 s."""
    result = subprocess.run([sys.executable, "-c", CAP_SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    intended, waiting = map(int, result.stdout.split())
    assert intended == 1000 and 90 <= waiting <= 110
