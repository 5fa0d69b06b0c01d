"""What a proxy worker process sets up before it serves: JSON logs, its share of the cores.

``contextzip serve --workers N`` starts N processes (uvicorn's supervisor); each builds its app
with :func:`contextzip.proxy.serve.worker_app` from the environment, which ``serve`` fills from
its arguments. Each
worker has its own models, compression pool and, without ``redis_url``, its own memory cache;
``/metrics`` adds up every worker's counts (Prometheus multi-process mode).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextzip.proxy.settings import ProxySettings

__all__ = ["limit_torch_threads", "log_json", "owned_cores", "thread_counts"]


def owned_cores() -> int:
    """The cores this process may run on (its CPU affinity), not the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_counts(settings: ProxySettings) -> tuple[int, int]:
    """``(compression threads, torch threads)`` of one worker: the settings, else its share of the cores.

    Example:
        >>> from contextzip.proxy.settings import ProxySettings
        >>> thread_counts(ProxySettings(compression_threads=3, torch_threads=1))
        (3, 1)
    """
    share = max(1, owned_cores() // settings.workers)
    return settings.compression_threads or min(2, share), settings.torch_threads or share


def limit_torch_threads(threads: int) -> None:
    """torch's intra-op threads set to ``threads`` where torch is installed (before models load)."""
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def log_json(level: str) -> None:
    """The proxy's records are JSON lines on stderr (one per request)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("contextzip.proxy")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
