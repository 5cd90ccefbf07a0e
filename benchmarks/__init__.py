"""Benchmarks and the outside statistical battery; each script is one command (see the README)."""
