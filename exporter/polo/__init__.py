"""Polo: an organisation's AWS inventory, costs and cleanup actions as Prometheus metrics."""

__version__ = "0.1.0"
