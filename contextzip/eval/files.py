"""Writing a file all or nothing, so an interrupted or concurrent writer never leaves half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["write_text_atomic", "write_text_once"]


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8): readers see the old file or the new one, never a part.

    The text goes to a uniquely named file beside ``path`` first, which is then renamed
    over it; on any error the temporary file is removed and the error raised.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "answer.json"
        >>> write_text_atomic(target, '{"content": "1889"}')
        >>> target.read_text(encoding="utf-8"), sorted(p.name for p in target.parent.iterdir())
        ('{"content": "1889"}', ['answer.json'])
    """
    with _written_beside(path, text) as tmp:
        os.replace(tmp, path)


def write_text_once(path: Path, text: str) -> str:
    """Create ``path`` with ``text`` unless it exists; either way return what ``path`` holds.

    The first of several processes writing the same cache entry wins, and every one of them
    returns the winner's text, whole (the file appears complete, by a hard link).

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "log.txt"
        >>> write_text_once(target, "first"), write_text_once(target, "second")
        ('first', 'first')
    """
    with _written_beside(path, text) as tmp, contextlib.suppress(FileExistsError):
        os.link(tmp, path)
    return path.read_text(encoding="utf-8")


@contextlib.contextmanager
def _written_beside(path: Path, text: str) -> Iterator[str]:
    """A complete temporary file holding ``text`` beside ``path``, removed on leaving (if still there)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield tmp
    finally:
        Path(tmp).unlink(missing_ok=True)
