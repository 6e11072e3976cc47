"""`mektepnet demo`: the pipeline (pipeline.py), its services and child processes, live probes, Prometheus
checks and the index page."""
