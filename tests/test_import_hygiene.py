import subprocess
import sys

import pytest

from tests.helpers.cli import ROOT


@pytest.mark.parametrize("module", ["cli.main", "core", "probes", "collectors", "cli.loadtest", "cli.platform_sim",
                                    "loadtests.launch", "loadtests.plan", "loadtests.simulator",
                                    "loadtests.document", "loadtests.serving", "loadtests.summary", "loadtests.options"])
def test_importing_our_asyncio_side_leaves_locust_and_gevent_out(module):
    """Locust monkey-patches the interpreter with gevent on import; only `mektepnet loadtest` may load it."""
    code = (f"import sys, {module}; "
            "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')); "
            "print(','.join(leaked)); sys.exit(1 if leaked else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, f"{module} imported {result.stdout.strip()} {result.stderr}"


def test_locust_is_installed_so_the_check_above_means_something():
    result = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('locust') is not None)"],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True"
