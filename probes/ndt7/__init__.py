"""M-Lab's ndt7 throughput protocol: spec constants, wire types, a client and a server."""
