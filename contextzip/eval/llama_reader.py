"""The ``llama`` reader: an instruct LLM served offline by llama.cpp.

:class:`LlamaReader` starts ``python -m llama_cpp.server`` (llama-cpp-python, the
``reader`` extra) on a free loopback port with a packaged GGUF model
(:mod:`contextzip.eval.reader_models`), waits until it answers, reads through the
``openai`` reader's retries and on-disk cache, and stops the server when closed (or at
exit). The server starts on the first answer the cache does not hold, so a rerun whose
answers are all cached starts nothing. Cached answers are keyed by the model file's
checksum, not the port, so every run shares them. ``url=`` reads from a server already
running instead.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError, MissingDependencyError
from contextzip.eval.openai_reader import OpenAIReader, ReaderError
from contextzip.eval.reader_models import READER_MODELS, reader_model_file
from contextzip.eval.servers import LoopbackServer, ServerStartError

__all__ = ["LLAMA_CMAKE_ARGS", "LlamaReader", "llama_server"]

logger = logging.getLogger(__name__)

#: The llama.cpp build that works on every CPU these evaluations run on: no native tuning,
#: no AVX-512 and no AMX (a native build crashed in its AMX code on one such machine).
LLAMA_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF "
    "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)


def llama_server(model_path: Path, *, n_ctx: int, threads: int, startup_timeout_s: float) -> LoopbackServer:
    """A ``llama_cpp.server`` child process for ``model_path``, ready when it lists its model."""

    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(threads), "--n_threads_batch", str(threads),
            # the server keeps every position's logits by default: n_ctx x 152k floats, 13 GB
            # resident at 17k tokens of a 32k window (an answer needs only the last position's)
            "--logits_all", "false",
        ]  # fmt: skip

    return LoopbackServer(
        "llama.cpp server", command, ready_path="/v1/models", startup_timeout_s=startup_timeout_s
    )


class LlamaReader(OpenAIReader):
    """A packaged instruct LLM served by llama.cpp on loopback, read like the ``openai`` reader.

    Args:
        model: ``"1.5b"`` (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the default), ``"0.5b"``
            (its faster 0.5B sibling), or a path to any chat GGUF file.
        url: The ``/v1`` base URL of a llama.cpp (or any OpenAI-compatible) server already
            running; nothing is started and ``model`` only names the results.
        n_ctx: The started server's context window, in tokens.
        threads: Its CPU threads; ``None`` for every core this process may use.
        startup_timeout_s: How long to wait for it to load the model.
        max_tokens: Longest answer, in tokens.
        timeout_s: Timeout of one request (a long prompt takes a while on a CPU).
        cache_dir: Where answers are cached; ``None`` for ``<cache>/eval-cache/llama``.
        cache: ``False`` neither reads nor writes the cache.

    Example:
        >>> with LlamaReader("0.5b") as reader:  # doctest: +SKIP
        ...     reader.read("What is the capital of France?", "Paris is the capital of France.").prediction
        'Paris'
    """

    cache_name = "llama"

    def __init__(
        self,
        model: str | os.PathLike[str] = "1.5b",
        *,
        url: str | None = None,
        n_ctx: int = 8192,
        threads: int | None = None,
        startup_timeout_s: float = 600.0,
        max_tokens: int = 32,
        timeout_s: float = 600.0,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
    ) -> None:
        if n_ctx < 256:
            raise ConfigurationError(f"n_ctx must be >= 256, got {n_ctx}")
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be >= 1, got {threads}")
        model = str(model)
        self._model = model
        if url is None:
            label, scope = _label_and_scope(model)
        else:
            label, scope = model, None
        super().__init__(
            label,
            base_url=url or "http://127.0.0.1:0/v1",  # the started server's port replaces it
            api_key="",
            concurrency=1,  # llama.cpp's server answers one request at a time
            timeout_s=timeout_s,
            cache_dir=cache_dir,
            cache=cache,
            cache_scope=scope,
            max_tokens=max_tokens,
        )
        self.name = f"llama-{label}"
        self.n_ctx = n_ctx
        self.threads = threads or _usable_cores()
        self._starts_server = url is None
        self.startup_timeout_s = startup_timeout_s
        self._server: LoopbackServer | None = None
        self._server_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LlamaReader(model={self.model!r}, base_url={self.base_url!r})"

    def _post(self, body: dict[str, Any]) -> str:
        self._ensure_server()
        return super()._post(body)

    def start(self) -> None:
        """Start the server now (from the calling thread) unless it runs or a URL was given.

        Reads start it when they first need it; call this first when reads will come from
        other threads, since the server lives only as long as the thread that started it.
        """
        self._ensure_server()

    def _ensure_server(self) -> None:
        if not self._starts_server:
            return
        with self._server_lock:
            if self._server is not None and self._server.url is not None:
                return
            try:
                import llama_cpp.server  # noqa: F401  (only checks the extra is there)
            except ImportError as exc:
                raise MissingDependencyError(
                    f"the llama reader needs llama-cpp-python's server ({exc.name} is missing); "
                    f'run `make reader` in a checkout, or: CMAKE_ARGS="{LLAMA_CMAKE_ARGS}" '
                    "pip install 'contextzip[reader]'"
                ) from None
            server = llama_server(
                _model_path(self._model),
                n_ctx=self.n_ctx,
                threads=self.threads,
                startup_timeout_s=self.startup_timeout_s,
            )
            try:
                self.base_url = server.start() + "/v1"
            except ServerStartError as exc:
                raise ReaderError(str(exc), status=None, url=self.base_url) from None
            self.url = f"{self.base_url}/chat/completions"
            self._server = server
            super().close()  # a client made for another port must not be reused

    def close(self) -> None:
        """Close the HTTP connections and stop the server this reader started."""
        super().close()
        with self._server_lock:
            if self._server is not None:
                self._server.stop()
                self._server = None


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _label_and_scope(model: str) -> tuple[str, str]:
    """The name a started model gets in results, and what names it in the answer cache.

    A packaged model is named by its published checksum; another file by its path, size
    and modification time (hashing a GB file on every start would cost seconds).
    """
    if model in READER_MODELS:
        return model, f"llama.cpp {READER_MODELS[model].sha256}"
    path = _model_path(model)
    stat = path.stat()
    return path.stem, f"llama.cpp {path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _model_path(model: str) -> Path:
    if model in READER_MODELS:
        return reader_model_file(model)
    path = Path(model).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise ConfigurationError(
            f"reader model {model!r} is neither {' nor '.join(READER_MODELS)} nor an existing .gguf file"
        )
    return path
