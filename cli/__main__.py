"""`python -m cli` is the same as `mektepnet`."""

from cli.main import run

run()
