"""An on-disk cache of readers' answers, one JSON file per request.

A request is any JSON-serialisable mapping that fixes the answer (the model, the
prompt, the generation settings); its file is named by the SHA-256 of its canonical
JSON, so equal requests share a file whichever run made it. Writes are atomic (a
temporary file, then a rename): two evaluations sharing a folder never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contextzip.eval.files import write_text_atomic

__all__ = ["AnswerCache"]

logger = logging.getLogger(__name__)


class AnswerCache:
    """Answers stored under ``folder`` by a hash of their request.

    Example:
        >>> import tempfile
        >>> cache = AnswerCache(tempfile.mkdtemp())
        >>> request = {"model": "m", "prompt": "Who wrote it?"}
        >>> cache.get(request) is None
        True
        >>> cache.put(request, "Ann", model="m")
        >>> cache.get(request)
        'Ann'
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def path(self, request: Mapping[str, Any]) -> Path:
        """The file that holds the answer to ``request``."""
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
        return self.folder / f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}.json"

    def get(self, request: Mapping[str, Any]) -> str | None:
        """The cached answer, or ``None`` (a missing or unreadable file is a miss)."""
        path = self.path(request)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))["content"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring unreadable cache file %s (%s)", path, exc)
            return None
        return content if isinstance(content, str) else None

    def put(self, request: Mapping[str, Any], content: str, **label: str) -> None:
        """Store ``content`` as the answer to ``request``; ``label`` fields go in the file for people."""
        path = self.path(request)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({**label, "content": content}, ensure_ascii=False))
