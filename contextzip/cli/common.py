"""What every command shares: exit statuses, one-line failures, KEY=VALUE options."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from contextzip.errors import ConfigurationError

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "fail", "parse_options"]


EXIT_USAGE = 2


EXIT_FAILURE = 1


def fail(message: str, status: int) -> int:
    sys.stderr.write(f"contextzip: error: {message}\n")
    return status


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"option {pair!r} is not KEY=VALUE, e.g. -o unit=sentence")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options[key.strip().replace("-", "_")] = value
    return options
