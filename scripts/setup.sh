#!/usr/bin/env bash
# Set up MektepNet on a fresh Debian machine: system packages, then a virtual environment in .venv.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh --test   runtime + what the test suite needs (prometheus's promtool ...)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

debs=(python3 python3-venv python3-dev gcc tzdata fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 prometheus)
# `mektepnet demo` starts its own Prometheus (the package's daemon is kept from starting, below).
# Tests use real servers and real network paths: promtool, iperf3 (the ndt7 anchor), namespaces
# with tc and iptables, ethtool to switch checksum offload off on veth ends, nginx and wrk for the
# load-generator benchmark (the target and the anchor).
[ "$with_tests" = 1 ] && debs+=(prometheus-alertmanager iperf3 iproute2 iptables ethtool openssl iputils-ping curl postgresql snmpd snmp prometheus-snmp-exporter nginx-light wrk chromium poppler-utils)
missing=()
for pkg in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -q
    # Packaged daemons (prometheus) must not start themselves: the demo and the tests start their own.
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod +x /usr/sbin/policy-rc.d
    $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

python_bin=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
        python_bin=$(command -v "$candidate"); break
    fi
done
[ -n "$python_bin" ] || { echo "setup: Python 3.11 or later is required" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$with_tests" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[test]"
else
    .venv/bin/python -m pip install -q -e .
fi
echo "setup: ready ($(.venv/bin/mektepnet --version))"
