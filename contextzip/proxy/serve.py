"""``contextzip serve``: run the proxy on uvicorn, settings from arguments, env and a config file.

The command's arguments are declared in :mod:`contextzip.cli.parser`, so that its parser builds
without the ``proxy`` extra; this module imports the extra only when the proxy runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError
from contextzip.proxy.runtime import log_json

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["serve", "worker_app"]

#: Arguments that override settings of the same name when given.
_OVERRIDES = (
    "upstream", "anthropic_upstream", "host", "port", "rate", "method", "min_tokens", "redis_url",
    "config_file", "log_level", "workers",
)  # fmt: skip


def serve(args: argparse.Namespace) -> int:
    """Run the proxy with the settings ``contextzip serve`` was given; returns when it stops."""
    import uvicorn
    from pydantic import ValidationError

    from contextzip.proxy.settings import ProxySettings

    given = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None}
    try:
        settings = ProxySettings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid proxy settings: {problems}") from None
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
    log_json(settings.log_level)
    startup = {"event": "start", "upstream": settings.upstream, "host": settings.host, "port": settings.port,
               "rate": settings.rate, "method": settings.method, "workers": settings.workers}  # fmt: skip
    logging.getLogger("contextzip.proxy").info(json.dumps(startup))
    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "access_log": False}
    options["log_level"] = settings.log_level
    # clients' pools drop idle connections after 5 s (httpx, so the OpenAI and Anthropic SDKs), as
    # uvicorn does by default: a request sent on a connection the proxy was closing got no answer
    options["timeout_keep_alive"] = settings.client_keepalive_s
    if settings.workers == 1:
        from contextzip.proxy.app import create_app

        uvicorn.run(create_app(settings), **options)
        return 0
    # the workers are new processes: they read the settings from the environment
    for name, value in given.items():
        variable = "CONTEXTZIP_CONFIG" if name == "config_file" else f"CONTEXTZIP_{name.upper()}"
        os.environ[variable] = str(value)
    with tempfile.TemporaryDirectory(prefix="contextzip-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics  # /metrics adds up the workers' counts
        app = "contextzip.proxy.serve:worker_app"
        uvicorn.run(app, factory=True, workers=settings.workers, **options)
    return 0


def worker_app() -> FastAPI:
    """One worker's app, its settings read from the environment (uvicorn's ``factory``)."""
    from contextzip.proxy.app import create_app
    from contextzip.proxy.settings import ProxySettings

    settings = ProxySettings()
    log_json(settings.log_level)
    return create_app(settings)
