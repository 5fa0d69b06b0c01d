"""``contextzip compress`` and ``contextzip methods``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from contextzip.cli.common import parse_options
from contextzip.defaults import DEFAULTS, text_method
from contextzip.errors import ConfigurationError
from contextzip.types import CompressionResult

__all__ = ["compress_command", "default_method", "list_methods"]


_DROPPED_STYLE = "\x1b[2;9m"  # dim + strike-through


_KEPT_STYLE = "\x1b[1m"


_RESET = "\x1b[0m"


_GROUP_TITLES = {
    "product": "compressors",
    "peer": "peers (other projects' methods, for comparison)",
    "baseline": "baselines",
}


def list_methods(out: TextIO) -> int:
    from contextzip.protocol import GROUPS, available_compressors

    entries = available_compressors()
    width = max(len(info.name) for info in entries)
    blocks = []
    for group in GROUPS:
        lines = [_GROUP_TITLES[group]]
        for info in (i for i in entries if i.group == group):
            lines.append(f"  {info.name:<{width}}  {info.description}")
            if info.use_for:
                lines.append(f"  {'':<{width}}  use for: {info.use_for}")
        if len(lines) > 1:  # a group with nothing registered (peers on a core-only install) is left out
            blocks.append("\n".join(lines) + "\n")
    out.write("\n".join(blocks))
    return 0


def compress_command(args: argparse.Namespace) -> int:
    from contextzip import compress

    text = _read_input(args.file)
    options = parse_options(args.option)
    if args.encoding:
        options.setdefault("encoding", args.encoding)
    result = compress(
        text,
        rate=args.rate if args.rate is not None or args.target_tokens is not None else DEFAULTS["cli"].rate,
        target_tokens=args.target_tokens,
        query=args.query,
        method=args.method or default_method(),
        **options,
    )
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.show:
        sys.stdout.write(_highlight(result, color=_use_color(sys.stdout)) + "\n")
    else:
        sys.stdout.write(result.text + ("\n" if result.text and not result.text.endswith("\n") else ""))
    sys.stderr.write(_summary(result) + "\n")
    return 0


def default_method() -> str:
    """The shipped token classifier, or unigram self-information on a light (core-only) install."""
    method, note = text_method("cli")
    if note:
        sys.stderr.write(f"contextzip: {note}\n")
    return method


def _read_input(path: str) -> str:
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{'stdin' if path == '-' else path} is not UTF-8 text (byte {exc.start}); convert it first"
        ) from None


def _summary(result: CompressionResult) -> str:
    line = (
        f"{result.compressor}: {result.tokens_before} -> {result.tokens_after} tokens "
        f"(target {result.target_tokens}, ratio {result.ratio:.2f}x, rate {result.rate:.3f}) "
        f"in {result.elapsed_s * 1000:.1f} ms"
    )
    return f"{line}; {result.reason}" if result.reason else line


def _use_color(stream: TextIO) -> bool:
    """Colour on a terminal; ``NO_COLOR`` turns it off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def _highlight(result: CompressionResult, *, color: bool) -> str:
    """The original text with kept spans emphasised and dropped text struck out."""
    pieces: list[str] = []
    for segment_result in result.segments:
        text = segment_result.segment.text
        position = 0
        for start, end in [*segment_result.spans, (len(text), len(text))]:
            if start > position:
                pieces.append(_mark(text[position:start], kept=False, color=color))
            if end > start:
                pieces.append(_mark(text[start:end], kept=True, color=color))
            position = max(position, end)
        pieces.append("\n\n")
    return "".join(pieces).rstrip("\n")


def _mark(piece: str, *, kept: bool, color: bool) -> str:
    core = piece.strip()
    if not core:
        return piece
    lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
    if color:
        marked = f"{_KEPT_STYLE if kept else _DROPPED_STYLE}{core}{_RESET}"
    else:
        marked = core if kept else f"[-{core}-]"
    return f"{lead}{marked}{trail}"
