"""The Prometheus exposition of this process, or of every process.

With several daphne processes, set PROMETHEUS_MULTIPROC_DIR to a directory
shared by them (emptied at deploy) so that /metrics adds up every process,
not only the one nginx happened to pick.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess


def render() -> tuple[bytes, str]:
    """Return the exposition text of every process (multiprocess mode) or of this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
