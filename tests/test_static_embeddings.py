"""Static token vectors distilled from the packaged MiniLM: built once, cached, and meaningful."""

from __future__ import annotations

import json

import numpy as np
import pytest

from contextzip.compressors.relevance import mixed_relevance
from contextzip.embeddings import get_encoder
from contextzip.resources import minilm_dir
from contextzip.static_embeddings import static_table

pytestmark = pytest.mark.slow


def test_the_table_is_distilled_once_and_read_back_the_same() -> None:
    first = static_table(minilm_dir())
    again = static_table(minilm_dir())
    assert first.vectors.shape[1] == 256 and first.vectors.dtype == np.float32
    assert np.array_equal(first.vectors, again.vectors)
    assert not first.vectors[0].any()  # [PAD] and the other special tokens have no vector


def test_static_vectors_rank_by_meaning_like_the_model() -> None:
    encoder = get_encoder(None, backend="static")
    query = encoder.encode(["disk quota exceeded"])[0]
    texts = ["quota: 10GB of disk space used", "the weather in Lisbon is sunny", "storage limit reached"]
    scores = encoder.encode(texts) @ query
    assert scores[0] > scores[1] and scores[2] > scores[1]
    assert np.array_equal(encoder.encode(texts), encoder.encode(texts))  # same bytes each time


def test_many_items_switch_to_static_vectors_past_the_threshold() -> None:
    items = [json.dumps({"key": f"CFLAGS_{i}", "value": "-O2 -g -Wall"}) for i in range(300)]
    static = mixed_relevance(["Which compiler flags?"], static_above=1000)(items)
    model = mixed_relevance(["Which compiler flags?"])(items)
    below = mixed_relevance(["Which compiler flags?"], static_above=10**9)(items)
    assert np.array_equal(model, below)  # under the threshold: the transformer, as before
    assert not np.array_equal(static, model)
    assert static.shape == model.shape and np.isfinite(static).all()
