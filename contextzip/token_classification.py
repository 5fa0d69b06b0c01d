"""Keep probabilities from a token-classification encoder: the model side of LLMLingua-2.

:class:`TokenClassifier` tokenizes a text once with the model's fast tokenizer (offsets
kept, so every probability points at original characters), cuts the tokens into windows
of at most ``max_length`` model tokens that end at a chunk-end token (``.`` or a line
break by default), runs the windows in batches of similar length (so little compute goes
to padding), and returns each token's probability of label 1, "keep".

Cost: one tokenization, then ``ceil(n / (max_length - specials))`` windows; the encoder is
linear in ``n`` with a per-window attention term in ``max_length``. Everything after the
forward pass is vectorized numpy, no per-token Python loop.

Backends: ``torch`` (fp32, or bf16 autocast where the hardware has fast bf16) and ``onnx``
(ONNX Runtime, exported once and cached, optionally int8-quantized; see
:mod:`contextzip.onnx_export`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError
from contextzip.loading import load_pretrained
from contextzip.memo import LRU
from contextzip.token_windows import WindowPlan, pad_id, plan_windows

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "TokenClassifier",
    "check_classifier_options",
    "TokenProbs",
    "fast_precision",
    "load_classifier",
]


logger = logging.getLogger(__name__)


BACKENDS = ("torch", "onnx")


#: ``float32`` and ``bfloat16`` run on torch; ``float32`` and ``int8`` on ONNX Runtime.
PRECISIONS = ("auto", "float32", "bfloat16", "int8")


MEMO_SIZE = 256


def load_classifier(model: str, device: str = "cpu") -> tuple[Any, Any]:
    """The (tokenizer, model) pair for ``model``, loaded once per process and device."""
    tokenizer, encoder = load_pretrained(
        model,
        device,
        auto_class="AutoModelForTokenClassification",
        what="token classifier",
        not_found_hint="pass a local folder, or a hub name where the hub is reachable",
    )
    if encoder.config.num_labels < 2:
        raise ConfigurationError(
            f"{model!r} has {encoder.config.num_labels} label(s); "
            "a keep/drop classifier needs 2 (label 1 = keep)"
        )
    return tokenizer, encoder


def check_classifier_options(
    backend: str, device: str, precision: str, max_length: int, batch_size: int
) -> None:
    """Raise :class:`ConfigurationError` for options a :class:`TokenClassifier` cannot run with."""
    if backend not in BACKENDS:
        raise ConfigurationError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ConfigurationError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if backend == "torch" and precision == "int8":
        raise ConfigurationError("int8 runs on the ONNX backend; use backend='onnx' or precision='bfloat16'")
    if backend == "onnx" and precision == "bfloat16":
        raise ConfigurationError("bfloat16 runs on the torch backend; use precision='int8' or 'float32'")
    if backend == "onnx" and device != "cpu":
        raise ConfigurationError("the ONNX backend runs on the CPU; use device='cpu' or backend='torch'")
    if max_length < 8:
        raise ConfigurationError(f"max_length must be >= 8, got {max_length}")
    if batch_size < 1:
        raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")


@functools.lru_cache(maxsize=4)
def fast_precision(device: str = "cpu") -> str:
    """The fastest torch precision this hardware runs well: ``bfloat16`` or ``float32``.

    bf16 where the CPU has native bf16 arithmetic (AVX512-BF16 or AMX) or the GPU supports
    it; fp32 elsewhere, where bf16 would be emulated and slower.
    """
    import torch

    if torch.device(device).type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = set(next((line for line in handle if line.startswith("flags")), "").split())
    except OSError:
        return "float32"
    return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


@dataclass(frozen=True)
class TokenProbs:
    """Model tokens of a text with their keep probabilities.

    Attributes:
        starts: Start character offset of each token in the text.
        ends: End character offset of each token.
        probs: Probability of label 1 ("keep") for each token, float32.
    """

    starts: np.ndarray
    ends: np.ndarray
    probs: np.ndarray


class TokenClassifier:
    """Per-token keep probabilities from a token-classification encoder.

    Args:
        model: A local folder or hub name of a ``*ForTokenClassification`` checkpoint
            (label 1 = keep).
        backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime; exported and cached on first use).
        device: A torch device string (torch backend).
        precision: ``"auto"`` (bf16 where the hardware runs it natively, else fp32, on
            torch; fp32 on ONNX), ``"float32"``, ``"bfloat16"`` (torch) or ``"int8"`` (ONNX,
            dynamic quantization).
        max_length: Model tokens per window, special tokens included.
        batch_size: Windows per forward pass.
        chunk_end_tokens: Windows end after one of these tokens when they can; ``"\\n"``
            matches a line break after a token.
        progress: Show a progress bar over the batches of long texts; ``None`` shows it
            when this module's logger is at INFO or DEBUG.

    Example:
        >>> classifier = TokenClassifier("path/to/classifier")  # doctest: +SKIP
        >>> probs = classifier.keep_probs("The cat sat on the mat.")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        backend: str = "torch",
        device: str = "cpu",
        precision: str = "auto",
        max_length: int = 512,
        batch_size: int = 8,
        chunk_end_tokens: Sequence[str] = (".", "\n"),
        progress: bool | None = None,
    ) -> None:
        check_classifier_options(backend, device, precision, max_length, batch_size)
        self.model = os.fspath(model)
        self.backend = backend
        self.device = device
        self.precision = precision
        self.max_length = max_length
        self.batch_size = batch_size
        self.chunk_end_tokens = frozenset(chunk_end_tokens)
        self.progress = progress
        self._memo: LRU[str, TokenProbs] = LRU(MEMO_SIZE)
        self._session: Any = None

    @property
    def resolved_precision(self) -> str:
        """The precision ``"auto"`` stands for on this backend and hardware."""
        if self.precision != "auto":
            return self.precision
        return fast_precision(self.device) if self.backend == "torch" else "float32"

    @property
    def tokenizer(self) -> Any:
        return load_classifier(self.model, "cpu" if self.backend == "onnx" else self.device)[0]

    @property
    def config(self) -> Any:
        return load_classifier(self.model, "cpu" if self.backend == "onnx" else self.device)[1].config

    def keep_probs(self, text: str, query: str | None = None) -> TokenProbs:
        """Each model token of ``text`` with its keep probability.

        With a ``query`` each window is the pair (query, window), for models trained with
        the question as the first sequence. The last :data:`MEMO_SIZE` results are kept,
        so compressing one text at several rates runs the model once.
        """
        key = hashlib.sha256(f"{query!r}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
        remembered = self._memo.get(key)
        if remembered is not None:
            return remembered
        result = self._run(text, query)
        self._memo.set(key, result)
        return result

    def _run(self, text: str, query: str | None) -> TokenProbs:
        import numpy as np

        plan = plan_windows(
            self.tokenizer, text, query, max_length=self.max_length, chunk_end_tokens=self.chunk_end_tokens
        )
        probs = np.zeros(len(plan.ids), dtype=np.float32)
        for batch, rows in self._batches(plan):
            scored = self._forward(*batch)
            for row, (lo, hi) in enumerate(rows):
                probs[lo:hi] = scored[row, len(plan.head) : len(plan.head) + hi - lo]
        return TokenProbs(plan.offsets[:, 0], plan.offsets[:, 1], probs)

    def _batches(self, plan: WindowPlan) -> Any:
        """Batches of windows of similar length, as (input_ids, mask, type_ids) and their spans."""
        import numpy as np

        windows = plan.windows
        order = sorted(range(len(windows)), key=lambda i: (windows[i][1] - windows[i][0], i))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        show = self.progress if self.progress is not None else logger.isEnabledFor(logging.INFO)
        if show and len(batches) > 1:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="token classifier", unit="batch")
        for members in batches:
            sequences = [plan.sequence(*windows[i]) for i in members]
            width = max(len(ids) for ids, _ in sequences)
            input_ids = np.full((len(members), width), pad_id(self.tokenizer), dtype=np.int64)
            mask = np.zeros((len(members), width), dtype=np.int64)
            types = np.full((len(members), width), plan.text_type, dtype=np.int64)
            for row, (ids, type_ids) in enumerate(sequences):
                input_ids[row, : len(ids)] = ids
                mask[row, : len(ids)] = 1
                types[row, : len(ids)] = type_ids
            yield (input_ids, mask, types), [windows[i] for i in members]

    def _forward(self, input_ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Probability of label 1 at every position of the batch, float32."""
        if self.backend == "onnx":
            return self._forward_onnx(input_ids, mask, types)
        import torch

        _, encoder = load_classifier(self.model, self.device)
        inputs = {
            "input_ids": torch.from_numpy(input_ids).to(self.device),
            "attention_mask": torch.from_numpy(mask).to(self.device),
        }
        if getattr(encoder.config, "type_vocab_size", 0) > 1:
            inputs["token_type_ids"] = torch.from_numpy(types).to(self.device)
        device_type = torch.device(self.device).type
        bf16 = self.resolved_precision == "bfloat16"
        with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            logits = encoder(**inputs).logits
        result: np.ndarray = torch.softmax(logits.float(), dim=-1)[..., 1].cpu().numpy()
        return result

    def _forward_onnx(self, input_ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        import numpy as np

        if self._session is None:
            from contextzip.onnx_export import onnx_session

            self._session = onnx_session(self.model, quantize=self.resolved_precision == "int8")
        names = {i.name for i in self._session.get_inputs()}
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = types
        (logits,) = self._session.run(["logits"], feeds)
        logits = logits.astype(np.float32)
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        result: np.ndarray = (shifted[..., 1] / shifted.sum(axis=-1)).astype(np.float32)
        return result
