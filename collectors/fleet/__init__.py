"""The centre's side of fleet updates: TUF keys, the signed repository the collector serves under /fleet/,
staged rollouts and their health checks."""
