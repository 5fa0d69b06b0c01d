"""Static sentence vectors distilled from a sentence-transformers model, for the request path.

A transformer reads every token of every text it embeds: 400 JSON members of a 5k-token
tool result cost about a second on two cores. A *static* encoder reads nothing at run time:
each vocabulary token has one precomputed vector, and a text's vector is the mean of its
tokens' vectors (Model2Vec, Tulkens & van Dongen 2024). The vectors are distilled from the
same model, so they live in a space of the same meaning:

1. each token of the model's vocabulary (special and ``[unused]`` tokens out) is run through
   the transformer alone, ``[CLS] token [SEP]``, and mean-pooled as the model pools a sentence;
2. the table is centred and rotated onto its principal components (PCA, all dimensions kept
   up to :data:`DIMENSIONS`), which removes the direction every token shares;
3. each row is weighted by smooth inverse frequency, ``a / (a + p)``, with ``p`` estimated from
   the token's rank in the vocabulary by Zipf's law (WordPiece vocabularies are ordered
   roughly by frequency), so frequent tokens ("the", ",") weigh little.

The table is built once per model (about 20 s on two cores for all-MiniLM-L6-v2's 30k tokens)
and cached under ``<cache>/static/<model fingerprint>.npy``; building is deterministic
(float32, fixed order).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from contextzip.errors import missing_extra
from contextzip.resources import cache_dir, file_lock, model_fingerprint

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DIMENSIONS", "StaticTable", "static_table"]

logger = logging.getLogger(__name__)

#: Principal components kept (Model2Vec's default).
DIMENSIONS = 256
#: The smooth-inverse-frequency constant ``a``.
SIF = 1e-4
_BATCH = 512


class StaticTable:
    """One vector per vocabulary token and the tokenizer that splits texts into them.

    Args:
        vectors: ``(vocabulary size, dim)`` float32; rows of tokens left out are zero.
        tokenizer: The model's Rust tokenizer (``tokenizers.Tokenizer``), without truncation.
    """

    def __init__(self, vectors: np.ndarray, tokenizer: object) -> None:
        self.vectors = vectors
        self.tokenizer = tokenizer
        self.dimension = int(vectors.shape[1])

    def embed(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)``: each text's mean token vector (not yet normalized)."""
        import numpy as np

        # the Rust tokenizer itself: whole texts, no length limit (and no warning about one)
        encoded = self.tokenizer.encode_batch(texts, add_special_tokens=False)  # type: ignore[attr-defined]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, encoding in enumerate(encoded):
            if encoding.ids:
                out[row] = self.vectors[encoding.ids].mean(axis=0)
        return out


def static_table(folder: str | Path) -> StaticTable:
    """The static table of the sentence-transformers model in ``folder``: from the cache, or
    distilled now (and cached)."""
    try:
        import numpy as np
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise missing_extra(exc.name or "transformers", "ml") from None
    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    path = cache_dir() / "static" / f"{model_fingerprint(folder)}-{DIMENSIONS}.npy"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(path.with_suffix(".lock")):
            if not path.is_file():
                logger.info("distilling static token vectors from %s (once)", folder)
                table = _distill(folder, tokenizer)
                partial = path.with_suffix(".partial.npy")
                np.save(partial, table)
                partial.replace(path)
    splitter = copy.deepcopy(tokenizer.backend_tokenizer)
    splitter.no_truncation()
    splitter.no_padding()
    return StaticTable(np.load(path), splitter)


def _distill(folder: Path, tokenizer: object) -> np.ndarray:
    """Token vectors: each token alone through the model, mean-pooled, then PCA and SIF weights."""
    import numpy as np

    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise missing_extra(exc.name or "sentence_transformers", "ml") from None
    model = SentenceTransformer(str(folder), device="cpu")
    vocabulary: dict[str, int] = tokenizer.get_vocab()  # type: ignore[attr-defined]
    special = set(tokenizer.all_special_ids)  # type: ignore[attr-defined]
    ids = sorted(i for t, i in vocabulary.items() if i not in special and not t.startswith("[unused"))
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id  # type: ignore[attr-defined]
    rows = []
    with torch.inference_mode():
        for lo in range(0, len(ids), _BATCH):
            batch = torch.tensor([[cls, i, sep] for i in ids[lo : lo + _BATCH]], dtype=torch.long)
            features = {"input_ids": batch, "attention_mask": torch.ones_like(batch)}
            if "token_type_ids" in tokenizer.model_input_names:  # type: ignore[attr-defined]
                features["token_type_ids"] = torch.zeros_like(batch)
            rows.append(model(features)["sentence_embedding"].float().numpy())
    pooled = np.concatenate(rows).astype(np.float64)
    centred = pooled - pooled.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[: min(DIMENSIONS, components.shape[0])].T
    rank = np.arange(len(ids), dtype=np.float64) + 2  # Zipf by vocabulary order, as Model2Vec does
    frequency = (1 / rank) / (1 / rank).sum()
    weighted = projected * (SIF / (SIF + frequency))[:, None]
    table = np.zeros((len(tokenizer), weighted.shape[1]), dtype=np.float32)  # type: ignore[arg-type]
    table[ids] = weighted
    return table
