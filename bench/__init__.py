"""Polo's performance benchmark (python -m bench); docs/benchmarks.md has the results."""
