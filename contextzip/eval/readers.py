"""Readers: what answers a question from a (compressed) context in the evaluation.

* ``presence`` — answers nothing; the runner checks whether the gold answer survived.
* ``local`` — a transformers causal LM (the packaged SmolLM2-135M-Instruct by default),
  greedy, deterministic, offline.
* ``openai`` — any OpenAI-compatible ``/chat/completions`` server, with retries and an
  on-disk cache so reruns cost nothing.

Both answering readers send the same chat: :data:`SYSTEM_PROMPT`, then
:data:`USER_PROMPT` filled in, and keep the first non-empty line of the reply.
Find them by name with :func:`get_reader`.
"""

from __future__ import annotations

import email.utils
import hashlib
import inspect
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from contextzip.causal_lm import _load
from contextzip.errors import ConfigurationError, ContextZipError, missing_extra
from contextzip.eval.types import Reader, ReaderOutput
from contextzip.resources import cache_dir as default_cache_dir
from contextzip.resources import resolve_causal_lm

__all__ = [
    "SYSTEM_PROMPT",
    "USER_PROMPT",
    "LocalReader",
    "OpenAIReader",
    "PresenceReader",
    "ReaderError",
    "available_readers",
    "get_reader",
]

logger = logging.getLogger(__name__)

#: The system message both answering readers send.
SYSTEM_PROMPT = (
    "You answer questions about a context. Reply with only the answer: the few words from the "
    "context that answer the question. Do not write a full sentence."
)
#: The user message; ``{context}`` and ``{question}`` are filled in.
USER_PROMPT = "Context:\n{context}\n\nQuestion: {question}\nAnswer:"
#: What stands where the middle of a context too long for the local model was cut.
TRUNCATION_MARK = "\n[...]\n"

_PRECISIONS = ("float32", "bfloat16")
_RETRY_STATUS = frozenset({408, 409, 429})


class ReaderError(ContextZipError):
    """A remote reader failed for good (after its retries); the message names status and URL.

    Attributes:
        status: The last HTTP status, or ``None`` when no response came back.
        url: The URL that failed.
    """

    def __init__(self, message: str, *, status: int | None, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


def _messages(question: str, context: str) -> list[dict[str, str]]:
    user = USER_PROMPT.format(context=context, question=question)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _first_line(text: str) -> str:
    """The first non-empty line of a reply, stripped."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


class PresenceReader:
    """The reader that does not read: the runner scores whether the answer is still in the context.

    Example:
        >>> PresenceReader().read("Who?", "Ann wrote it.").prediction is None
        True
    """

    name = "presence"

    def read(self, question: str, context: str) -> ReaderOutput:
        return ReaderOutput(prediction=None)


class LocalReader:
    """A transformers causal LM answering with greedy decoding.

    A context that would not fit (``max_position_embeddings - max_new_tokens`` prompt
    tokens, counted with the model's tokenizer) loses its middle: the head and the tail
    are kept, joined by :data:`TRUNCATION_MARK`.

    Args:
        model: A local folder or hub name, or ``None`` for the packaged SmolLM2-135M-Instruct.
        device: A torch device string.
        max_new_tokens: Longest answer generated, in tokens.
        precision: ``"float32"`` or ``"bfloat16"`` (autocast; faster on CPUs with AMX).

    Example:
        >>> reader = LocalReader()
        >>> reader.read("What is the capital of France?", "The capital of France is Paris.")  # doctest: +SKIP
        ReaderOutput(prediction='Paris', seconds=0.2, cached=False)
    """

    name = "local"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        max_new_tokens: int = 32,
        precision: str = "float32",
    ) -> None:
        if max_new_tokens < 1:
            raise ConfigurationError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if precision not in _PRECISIONS:
            raise ConfigurationError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")
        self.model = model
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.precision = precision

    def read(self, question: str, context: str) -> ReaderOutput:
        try:
            import torch
        except ImportError as exc:
            raise missing_extra(exc.name or "torch", "ml") from None
        start = time.perf_counter()
        tokenizer, lm = _load(resolve_causal_lm(self.model), self.device)
        limit = getattr(lm.config, "max_position_embeddings", None) or 2048
        prompt = build_prompt(tokenizer, question, context, max_tokens=limit - self.max_new_tokens)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        device_type = torch.device(self.device).type
        autocast = torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.precision == "bfloat16")
        with torch.inference_mode(), autocast:
            out = lm.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=pad,
                stopping_criteria=[_first_line_done(tokenizer, ids.shape[1])],
            )
        text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        return ReaderOutput(prediction=_first_line(text), seconds=time.perf_counter() - start)


def _first_line_done(tokenizer: Any, prompt_length: int) -> Any:
    """A stopping criterion: the reply has a complete non-empty first line (the rest is discarded)."""
    import torch
    from transformers import StoppingCriteria

    class FirstLineDone(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = [
                "\n" in tokenizer.decode(row[prompt_length:], skip_special_tokens=True).lstrip()
                for row in input_ids
            ]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return FirstLineDone()


def build_prompt(tokenizer: Any, question: str, context: str, *, max_tokens: int) -> str:
    """The chat prompt for ``tokenizer``, its context cut in the middle to fit ``max_tokens``.

    ``tokenizer`` is a fast transformers tokenizer with a chat template.
    """

    def render(ctx: str) -> str:
        rendered: str = tokenizer.apply_chat_template(
            _messages(question, ctx), tokenize=False, add_generation_prompt=True
        )
        return rendered

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    prompt = render(context)
    total = count(prompt)
    if total <= max_tokens:
        return prompt
    encoded = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    offsets: list[tuple[int, int]] = encoded["offset_mapping"]
    keep = len(offsets) - (total - max_tokens) - count(TRUNCATION_MARK)
    while keep > 0:
        head, tail = (keep + 1) // 2, keep // 2
        cut = (
            context[: offsets[head - 1][1]] + TRUNCATION_MARK + (context[offsets[-tail][0] :] if tail else "")
        )
        prompt = render(cut)
        total = count(prompt)
        if total <= max_tokens:
            logger.debug("context cut from %d to about %d tokens to fit the model", len(offsets), keep)
            return prompt
        keep -= max(total - max_tokens, 1)  # tokens merged differently at the seams: try a little less
    raise ConfigurationError(
        f"the question alone does not fit the model's {max_tokens} prompt tokens; "
        "shorten it or lower max_new_tokens"
    )


class OpenAIReader:
    """Any OpenAI-compatible chat-completions server, with retries and an on-disk cache.

    429, 408, 409 and 5xx responses, connection errors and timeouts are retried with
    exponential backoff (a ``Retry-After`` header is honoured), each sleep capped at
    ``max_backoff_s``. Answers are cached one JSON file per request under ``cache_dir``,
    keyed by the SHA-256 of the request body and the base URL; the API key is never
    part of the key, the files, the logs or an error message.

    Args:
        model: The model name sent to the server.
        base_url: The API root; ``/chat/completions`` is appended.
        api_key: Sent as ``Authorization: Bearer ...``; ``None`` reads ``OPENAI_API_KEY``
            (a local server may need none).
        concurrency: Requests in flight at once in :meth:`read_many`.
        max_retries: Retries after the first attempt.
        timeout_s: Timeout of one request, in seconds.
        cache_dir: Where answers are cached; ``None`` for ``<cache>/eval-cache/openai``
            (see :func:`contextzip.resources.cache_dir`).
        cache: ``False`` neither reads nor writes the cache.
        temperature: Sampling temperature sent to the server.
        max_tokens: Longest answer, in tokens.
        max_backoff_s: Longest sleep between attempts.
        sleep: Called with the seconds to wait between attempts (tests pass a recorder).

    Example:
        >>> reader = OpenAIReader("gpt-4o-mini", api_key="sk-...")
        >>> reader.read("Who wrote it?", "Ann wrote it.").prediction  # doctest: +SKIP
        'Ann'
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        concurrency: int = 4,
        max_retries: int = 3,
        timeout_s: float = 60.0,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        temperature: float = 0.0,
        max_tokens: int = 32,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model:
            raise ConfigurationError("model must name the model to ask, e.g. model='gpt-4o-mini'")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must start with http:// or https://, got {base_url!r}")
        for option, value, least in (
            ("concurrency", concurrency, 1),
            ("max_retries", max_retries, 0),
            ("max_tokens", max_tokens, 1),
        ):
            if value < least:
                raise ConfigurationError(f"{option} must be >= {least}, got {value}")
        if timeout_s <= 0 or max_backoff_s < 0:
            raise ConfigurationError(
                f"need timeout_s > 0 and max_backoff_s >= 0, got {timeout_s}, {max_backoff_s}"
            )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.cache = cache
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:  # never the key
        return f"OpenAIReader(model={self.model!r}, base_url={self.base_url!r})"

    def read(self, question: str, context: str) -> ReaderOutput:
        start = time.perf_counter()
        body = {
            "model": self.model,
            "messages": _messages(question, context),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        path = self._cache_path(body)
        if path is not None:
            content = _read_cache(path)
            if content is not None:
                return ReaderOutput(_first_line(content), time.perf_counter() - start, cached=True)
        content = self._post(body)
        if path is not None:
            _write_cache(path, {"model": self.model, "base_url": self.base_url, "content": content})
        return ReaderOutput(_first_line(content), time.perf_counter() - start)

    def read_many(self, items: Sequence[tuple[str, str]]) -> list[ReaderOutput]:
        """Read ``(question, context)`` pairs, ``concurrency`` at a time, results in input order."""
        if len(items) <= 1 or self.concurrency == 1:
            return [self.read(q, c) for q, c in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda item: self.read(*item), items))

    def close(self) -> None:
        """Close the HTTP connections (a later read opens new ones)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> OpenAIReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cache_path(self, body: dict[str, Any]) -> Path | None:
        if not self.cache:
            return None
        canonical = json.dumps(
            {"base_url": self.base_url, "body": body}, sort_keys=True, separators=(",", ":")
        )
        folder = (
            self.cache_dir if self.cache_dir is not None else default_cache_dir() / "eval-cache" / "openai"
        )
        return folder / f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}.json"

    def _http(self) -> Any:
        with self._client_lock:
            if self._client is None:
                try:
                    import httpx
                except ImportError:
                    raise missing_extra("httpx", "proxy") from None
                headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
                limits = httpx.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                )
                self._client = httpx.Client(headers=headers, timeout=self.timeout_s, limits=limits)
            return self._client

    def _post(self, body: dict[str, Any]) -> str:
        import httpx

        client = self._http()
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = client.post(self.url, json=body)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                detail = self._redact(f"{type(exc).__name__}: {exc}")
                if last:
                    raise ReaderError(
                        f"POST {self.url} failed after {attempt + 1} attempts ({detail}); "
                        "check base_url and that the server is up",
                        status=None,
                        url=self.url,
                    ) from None
                self._wait(attempt, None, f"{detail}")
                continue
            status = response.status_code
            if status < 400:
                return self._content(response)
            retryable = status in _RETRY_STATUS or status >= 500
            if not retryable or last:
                tries = f" after {attempt + 1} attempts" if retryable else ""
                raise ReaderError(
                    f"POST {self.url} returned HTTP {status}{tries}: {self._redact(response.text[:300])}",
                    status=status,
                    url=self.url,
                )
            self._wait(attempt, response.headers.get("retry-after"), f"HTTP {status}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            delay = 0.5 * 2**attempt
        delay = min(max(delay, 0.0), self.max_backoff_s)
        logger.warning(
            "%s from %s; retry %d/%d in %.1fs", why, self.url, attempt + 1, self.max_retries, delay
        )
        self._sleep(delay)

    def _content(self, response: Any) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ReaderError(
                f"POST {self.url} returned HTTP {response.status_code} without choices[0].message.content: "
                f"{self._redact(response.text[:300])}",
                status=response.status_code,
                url=self.url,
            ) from None
        return content if isinstance(content, str) else ""

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), or ``None``."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _read_cache(path: Path) -> str | None:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))["content"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable cache file %s (%s)", path, exc)
        return None
    return content if isinstance(content, str) else None


def _write_cache(path: Path, record: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_READERS: dict[str, type[Any]] = {"presence": PresenceReader, "local": LocalReader, "openai": OpenAIReader}


def available_readers() -> list[str]:
    """The reader names :func:`get_reader` takes.

    Example:
        >>> available_readers()
        ['local', 'openai', 'presence']
    """
    return sorted(_READERS)


def get_reader(name: str, **options: Any) -> Reader:
    """Build the reader called ``name`` with ``options`` (its constructor's arguments).

    Raises:
        ConfigurationError: an unknown name or option, or a required option missing
            (the message lists the valid ones).

    Example:
        >>> get_reader("presence").name
        'presence'
        >>> get_reader("local", max_new_tokens=16).max_new_tokens
        16
    """
    try:
        factory = _READERS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown reader {name!r}; choose one of {', '.join(available_readers())}"
        ) from None
    parameters = [p for p in inspect.signature(factory).parameters.values() if p.name != "self"]
    valid = [p.name for p in parameters]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigurationError(
            f"reader {name!r} takes no option {', '.join(unknown)}; "
            f"valid options: {', '.join(valid) or 'none'}"
        )
    missing = [p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in options]
    if missing:
        raise ConfigurationError(f"reader {name!r} needs {', '.join(f'{m}=...' for m in missing)}")
    reader: Reader = factory(**options)
    return reader
