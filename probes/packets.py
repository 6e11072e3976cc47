"""scapy's IP, ICMP and DNS layers and its send/receive, imported narrowly (import this module lazily).

`import scapy.all` costs a school box ~70 MB; the layers used here cost ~24 MB, and more if scapy
also loads the `cryptography` bindings it probes for at import time (for TLS layers that the
probe never uses): unless something else has loaded them already, they are hidden from it. Half of
the 24 MB is the MAC-vendor database scapy fills at import (50,000 OUIs); the probe sends at layer 3
and never names a vendor, so it is emptied (~12 MB handed back).
"""

from __future__ import annotations

import sys

_hidden = "cryptography" not in sys.modules
if _hidden:
    sys.modules["cryptography"] = None          # type: ignore[assignment] - scapy then skips its crypto checks
try:
    from scapy.layers.dns import DNS, DNSQR      # noqa: E402
    from scapy.layers.inet import ICMP, IP       # noqa: E402
    from scapy.sendrecv import sr                # noqa: E402
    from scapy.data import MANUFDB               # noqa: E402
finally:
    if _hidden:
        del sys.modules["cryptography"]
MANUFDB.d.clear()

__all__ = ["DNS", "DNSQR", "ICMP", "IP", "sr"]
