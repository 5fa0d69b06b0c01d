"""The ``contextzip`` command.

``contextzip compress`` writes the compressed text to stdout and its numbers to
stderr, so it sits in a shell pipeline; ``contextzip methods`` lists compressors.
Bad arguments and unreadable input print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from contextzip.cli.batch import batch_command
from contextzip.cli.common import EXIT_FAILURE, EXIT_USAGE, fail
from contextzip.cli.compress import compress_command, list_methods
from contextzip.cli.evaluate import compare_command, eval_command
from contextzip.cli.extras import check_extras, missing_module
from contextzip.cli.parser import build_parser
from contextzip.cli.train import train_command
from contextzip.errors import ConfigurationError, ContextZipError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> import contextlib, io
        >>> listing = io.StringIO()
        >>> with contextlib.redirect_stdout(listing):
        ...     status = main(["methods"])
        >>> status, "selfinfo " in listing.getvalue()
        (0, True)
    """
    args = build_parser().parse_args(argv)
    # transformers draws a "Loading weights" bar for every model it loads, and reports the head a
    # shipped model's first use rebuilds as "missing": noise around the stats line and the proxy's
    # JSON logs; its errors still show (contextzip's own progress bars are not affected)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        check_extras(args.command)
        return _run(args)
    except ConfigurationError as exc:
        return fail(str(exc), EXIT_USAGE)
    except ModuleNotFoundError as exc:  # an optional extra that is not installed: say which
        if os.environ.get("CONTEXTZIP_DEBUG"):
            raise
        return fail(missing_module(exc, args.command), EXIT_FAILURE)
    except ContextZipError as exc:
        return fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as exc:  # one line, not a traceback; CONTEXTZIP_DEBUG=1 shows it
        if os.environ.get("CONTEXTZIP_DEBUG"):
            raise
        return fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE)


def _run(args: argparse.Namespace) -> int:
    if args.command == "methods":
        return list_methods(sys.stdout)
    if args.command == "serve":
        from contextzip.proxy.serve import serve  # imports the proxy extra

        return serve(args)
    command = {
        "eval": eval_command,
        "compare": compare_command,
        "train": train_command,
        "compress": compress_command,
        "batch": batch_command,
    }[args.command]
    return command(args)
