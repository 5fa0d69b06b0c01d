"""Readers: what answers a question from a (compressed) context in the evaluation.

* ``presence`` — answers nothing; the runner checks whether the gold answer survived.
* ``local`` — a transformers causal LM (the packaged SmolLM2-135M-Instruct by default),
  greedy, deterministic, offline; answers optionally cached on disk.
* ``openai`` — any OpenAI-compatible ``/chat/completions`` server, with retries and an
  on-disk cache so reruns cost nothing.
* ``llama`` — a packaged instruct LLM (Qwen2.5-Coder 1.5B or 0.5B) that llama.cpp serves
  offline on loopback, started and stopped by the reader, read as ``openai`` reads
  (:mod:`contextzip.eval.llama_reader`; the ``reader`` extra, ``make reader``).

Their caches are :class:`~contextzip.eval.answer_cache.AnswerCache` folders.

The answering readers send the same chat: :data:`SYSTEM_PROMPT`, then
:data:`USER_PROMPT` filled in, and keep the first non-empty line of the reply.
Find them by name with :func:`get_reader`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from contextzip.causal_lm import _load, check_precision
from contextzip.errors import ConfigurationError, missing_extra
from contextzip.eval.answer_cache import AnswerCache
from contextzip.eval.llama_reader import LlamaReader
from contextzip.eval.openai_reader import OpenAIReader, ReaderError
from contextzip.eval.prompts import SYSTEM_PROMPT, TRUNCATION_MARK, USER_PROMPT, first_line, messages
from contextzip.eval.types import Reader, ReaderOutput
from contextzip.protocol import check_options
from contextzip.resources import model_fingerprint, resolve_causal_lm

__all__ = [
    "SYSTEM_PROMPT",
    "USER_PROMPT",
    "LlamaReader",
    "LocalReader",
    "OpenAIReader",
    "PresenceReader",
    "ReaderError",
    "available_readers",
    "get_reader",
]

logger = logging.getLogger(__name__)


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
        cache_dir: A folder to cache answers in, keyed by a hash of the model's files,
            the prompt, the generation settings and the torch and transformers versions;
            ``None`` (the default) caches nothing. Evaluations that share a folder share
            their answers: the uncompressed baseline of a dataset is read once.

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
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_new_tokens < 1:
            raise ConfigurationError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        check_precision(precision)
        self.model = model
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.precision = precision
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._cache = AnswerCache(self.cache_dir) if self.cache_dir is not None else None
        self._model_fingerprint: str | None = None

    def read(self, question: str, context: str) -> ReaderOutput:
        try:
            import torch
        except ImportError as exc:
            raise missing_extra(exc.name or "torch", "ml") from None
        start = time.perf_counter()
        model = resolve_causal_lm(self.model)
        tokenizer, lm = _load(model, self.device)
        limit = getattr(lm.config, "max_position_embeddings", None) or 2048
        prompt = build_prompt(tokenizer, question, context, max_tokens=limit - self.max_new_tokens)
        request = self._request(model, prompt) if self._cache is not None else {}
        if self._cache is not None:
            text = self._cache.get(request)
            if text is not None:
                return ReaderOutput(first_line(text), time.perf_counter() - start, cached=True)
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
        if self._cache is not None:
            self._cache.put(request, text, model=model)
        return ReaderOutput(prediction=first_line(text), seconds=time.perf_counter() - start)

    def _request(self, model: str, prompt: str) -> dict[str, Any]:
        """Everything that fixes this answer: the cache's key."""
        import torch
        import transformers

        if self._model_fingerprint is None:  # hashing the weights once per reader, not per read
            self._model_fingerprint = model_fingerprint(model) if os.path.isdir(model) else model
        return {
            "reader": self.name,
            "model": self._model_fingerprint,
            "prompt": prompt,
            "max_new_tokens": self.max_new_tokens,
            "precision": self.precision,
            "device": str(self.device),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }


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
            messages(question, ctx), tokenize=False, add_generation_prompt=True
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


_READERS: dict[str, type[Any]] = {
    "presence": PresenceReader,
    "local": LocalReader,
    "openai": OpenAIReader,
    "llama": LlamaReader,
}


def available_readers() -> list[str]:
    """The reader names :func:`get_reader` takes.

    Example:
        >>> available_readers()
        ['llama', 'local', 'openai', 'presence']
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
    check_options(f"reader {name!r}", factory, options)
    reader: Reader = factory(**options)
    return reader
