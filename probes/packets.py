"""scapy's IP, ICMP and DNS layers and its send/receive, imported narrowly (import this module lazily).

`import scapy.all` costs a school box ~70 MB; the layers used here cost ~24 MB, and more if scapy
also loads the `cryptography` bindings it probes for at import time (for TLS layers that the
probe never uses): unless something else has loaded them already, they are hidden from it. Half of
the 24 MB is the MAC-vendor database scapy fills at import (below).
"""

from __future__ import annotations

import sys
import types

import scapy.main

# scapy fills a MAC-vendor database (50,000 OUIs, ~12 MB) as it imports, from its pickle cache or its
# bundled text; the probe sends at layer 3 and never names a vendor. Without a cache folder and with an
# empty bundled list, the database starts (and stays) empty: neither the 12 MB nor its peak.
_hidden = "cryptography" not in sys.modules
if _hidden:
    sys.modules["cryptography"] = None          # type: ignore[assignment] - scapy then skips its crypto checks
_cache_folder, scapy.main.SCAPY_CACHE_FOLDER = scapy.main.SCAPY_CACHE_FOLDER, None
sys.modules.setdefault("scapy.libs.manuf", types.SimpleNamespace(DATA=""))  # type: ignore[arg-type]
try:
    from scapy.layers.dns import DNS, DNSQR      # noqa: E402
    from scapy.layers.inet import ICMP, IP       # noqa: E402
    from scapy.sendrecv import sr                # noqa: E402
finally:
    scapy.main.SCAPY_CACHE_FOLDER = _cache_folder
    if _hidden:
        del sys.modules["cryptography"]

__all__ = ["DNS", "DNSQR", "ICMP", "IP", "sr"]
