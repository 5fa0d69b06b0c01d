"""``contextzip serve``: run the proxy on uvicorn, settings from arguments, env and a config file.

The command's arguments are declared in :mod:`contextzip.cli.parser`, so that its parser builds
without the ``proxy`` extra; this module imports the extra only when the proxy runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from contextzip.errors import ConfigurationError

__all__ = ["serve"]

#: Arguments that override settings of the same name when given.
_OVERRIDES = (
    "upstream", "anthropic_upstream", "host", "port", "rate", "method", "min_tokens", "redis_url",
    "config_file", "log_level",
)  # fmt: skip


def serve(args: argparse.Namespace) -> int:
    """Run the proxy with the settings ``contextzip serve`` was given; returns when it stops."""
    import uvicorn
    from pydantic import ValidationError

    from contextzip.proxy.app import create_app
    from contextzip.proxy.settings import ProxySettings

    given = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None}
    try:
        settings = ProxySettings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid proxy settings: {problems}") from None
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
    _log_json(settings.log_level)
    startup = {"event": "start", "upstream": settings.upstream, "host": settings.host, "port": settings.port,
               "rate": settings.rate, "method": settings.method}  # fmt: skip
    logging.getLogger("contextzip.proxy").info(json.dumps(startup))
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                access_log=False)  # fmt: skip
    return 0


def _log_json(level: str) -> None:
    """The proxy's records are JSON lines on stderr (one per request)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("contextzip.proxy")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
