"""``contextzip serve``: run the proxy on uvicorn, settings from arguments, env and a config file."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from pydantic import ValidationError

from contextzip.errors import ConfigurationError

__all__ = ["add_serve_parser", "serve"]

#: Arguments that override settings of the same name when given.
_OVERRIDES = (
    "upstream", "anthropic_upstream", "host", "port", "rate", "method", "min_tokens", "redis_url",
    "config_file", "log_level",
)  # fmt: skip


def add_serve_parser(commands: Any) -> None:
    serve_parser = commands.add_parser(
        "serve",
        help="run the compression proxy in front of an OpenAI-compatible or Anthropic API",
        description="Serve /v1/chat/completions, /v1/messages and /v1/responses with compressed "
        "requests; every other path is passed through. Settings also come from CONTEXTZIP_* "
        "environment variables and a TOML/JSON config file.",
    )
    serve_parser.add_argument("--upstream", help="base URL of the API, e.g. https://api.openai.com")
    serve_parser.add_argument("--anthropic-upstream", help="base URL for /v1/messages (default: --upstream)")
    serve_parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default 8787)")
    serve_parser.add_argument(
        "--rate", type=float, help="share of its tokens a compressed text keeps (default 0.3)"
    )
    serve_parser.add_argument("--method", help="agent (default), agent-tokens or lexical")
    serve_parser.add_argument(
        "--min-tokens", type=int, help="texts shorter than this pass untouched (default 500)"
    )
    serve_parser.add_argument("--redis-url", help="share the compression cache between replicas")
    serve_parser.add_argument("--config", dest="config_file", help="TOML or JSON settings file")
    serve_parser.add_argument("--log-level", help="debug, info (default), warning or error")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

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
