"""The exceptions contextzip raises.

Misuse (a bad argument, an unknown name) is told apart from a missing resource, so
callers can catch the one they can act on::

    ContextZipError
    ├── ConfigurationError (also ValueError)   a bad option, budget or input; fix the call
    │   └── UnknownCompressorError (also KeyError)   a name not in the registry
    ├── MissingDependencyError (also ImportError)  an optional extra is not installed
    └── ResourceNotFoundError                      a packaged model or encoding is absent

Every message says what to change. Compression that merely cannot help is not an
error: the original comes back with ``ratio == 1.0`` and the reason in the result.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ContextZipError",
    "MissingDependencyError",
    "ResourceNotFoundError",
    "UnknownCompressorError",
]


class ContextZipError(Exception):
    """Base class of every error contextzip raises on purpose."""


class ConfigurationError(ContextZipError, ValueError):
    """An option, budget or input is invalid; the message names the fix."""


class UnknownCompressorError(ConfigurationError, KeyError):
    """A compressor name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(ContextZipError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ResourceNotFoundError(ContextZipError):
    """A model, encoding or data file that should come from a package cannot be found."""


def missing_extra(module: str, extra: str) -> MissingDependencyError:
    """Build the error raised when an optional import fails."""
    return MissingDependencyError(
        f"{module!r} is not installed; install it with: pip install 'contextzip[{extra}]'"
    )
