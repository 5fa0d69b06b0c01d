"""The ``openai`` reader: any OpenAI-compatible ``/chat/completions`` server.

Requests run concurrently (:meth:`OpenAIReader.read_many`), are retried with backoff on
rate limits, server errors and dropped connections, and their answers are cached on
disk by a hash of the request, so a rerun of an evaluation costs nothing. The API key
never appears in logs, errors, ``repr`` or the cache.
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from contextzip.errors import ConfigurationError, ContextZipError, missing_extra
from contextzip.eval.answer_cache import AnswerCache
from contextzip.eval.prompts import first_line, messages
from contextzip.eval.types import ReaderOutput
from contextzip.resources import cache_dir as default_cache_dir

__all__ = ["OpenAIReader", "ReaderError"]

logger = logging.getLogger(__name__)

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
        cache_scope: What names the server in the cache key; ``None`` for ``base_url``.
            A server started on a new port each run gives a stable name here (the model's
            checksum) so its answers are found again.
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
    #: The cache's folder under ``<cache>/eval-cache`` when ``cache_dir`` is not given.
    cache_name = "openai"

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
        cache_scope: str | None = None,
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
        self.cache_scope = cache_scope
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
        content, cached = self._complete(messages(question, context), self.max_tokens)
        return ReaderOutput(first_line(content), time.perf_counter() - start, cached=cached)

    def chat(self, chat_messages: Sequence[Mapping[str, str]], *, max_tokens: int | None = None) -> str:
        """The assistant's reply to ``chat_messages``, through the same retries and cache."""
        return self._complete(chat_messages, max_tokens or self.max_tokens)[0]

    def _complete(self, chat_messages: Sequence[Mapping[str, str]], max_tokens: int) -> tuple[str, bool]:
        body = {
            "model": self.model,
            "messages": [dict(m) for m in chat_messages],
            "temperature": self.temperature,
            "max_tokens": max_tokens,
        }
        cache = self._answer_cache()
        scope = self.cache_scope or self.base_url
        request = {"base_url": scope, "body": body}
        if cache is not None:
            content = cache.get(request)
            if content is not None:
                return content, True
        content = self._post(body)
        if cache is not None:
            cache.put(request, content, model=self.model, base_url=scope)
        return content, False

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

    def _answer_cache(self) -> AnswerCache | None:
        if not self.cache:
            return None
        return AnswerCache(
            self.cache_dir
            if self.cache_dir is not None
            else default_cache_dir() / "eval-cache" / self.cache_name
        )

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
