"""Traffic through the loopback interface, for tests that read interface counters."""

from __future__ import annotations

import socket
import threading


def loopback_traffic(megabytes: int) -> None:
    """Send `megabytes` through the loopback interface (a local TCP connection), then return."""
    server = socket.create_server(("127.0.0.1", 0))

    def drain() -> None:
        connection, _ = server.accept()
        with connection:
            while connection.recv(1 << 20):
                pass

    reader = threading.Thread(target=drain)
    reader.start()
    with socket.create_connection(server.getsockname()) as client:
        client.sendall(b"x" * (megabytes << 20))
    reader.join(10)
    server.close()
