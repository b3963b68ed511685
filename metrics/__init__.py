"""Prometheus metrics of every scv process: one declarative catalogue, a registry built from it,
and the ways to serve it (a process's own HTTP port, or an ASGI app the console mounts).

Infrastructure like ``kafkaio``: it imports no stage. Stages hand it plain figures (counts,
seconds, readings gathered by callables) and it turns them into metrics.
"""

from metrics.catalogue import CATALOGUE, NAMES, MetricSpec, spec
from metrics.errors import MetricsError
from metrics.registry import Metrics, Reading, ReadingsCollector
from metrics.serve import asgi_app, serve, serve_address

__all__ = [
    "CATALOGUE",
    "NAMES",
    "MetricSpec",
    "Metrics",
    "MetricsError",
    "Reading",
    "ReadingsCollector",
    "asgi_app",
    "serve",
    "serve_address",
    "spec",
]
