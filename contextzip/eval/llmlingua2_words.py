"""Sub-word tokens back to words, the way ``llmlingua`` 0.2.2 merges them (for parity)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

__all__ = ["WordMerge", "is_sentencepiece"]


class WordMerge:
    """Sub-tokens to words with their piece probabilities, the way llmlingua merges them."""

    def __init__(self, tokenizer: Any, force_tokens: Sequence[str], token_map: dict[str, str],
                 force_reserve_digit: bool) -> None:  # fmt: skip
        self.sentencepiece = is_sentencepiece(tokenizer)
        # the named special tokens ([CLS], [SEP], [PAD], [UNK], ...), not the added [NEW{i}]
        self.special = {value for value in tokenizer.special_tokens_map.values() if isinstance(value, str)}
        self.force = set(force_tokens)
        self.replacements = set(token_map.values())
        self.token_map = token_map
        self.force_reserve_digit = force_reserve_digit

    def __call__(
        self, tokens: list[str], probs: list[Any]
    ) -> tuple[list[str], list[list[Any]], list[list[Any]]]:
        """Words, their pieces' probabilities, and the same before force tokens were set to 1."""
        words: list[str] = []
        pieces: list[list[Any]] = []
        plain: list[list[Any]] = []
        unforced = None
        for token, prob in zip(tokens, probs, strict=True):
            if token in self.special:
                continue
            pure = token.lstrip("▁") if self.sentencepiece else token.lstrip("#")
            digit_forced = self.force_reserve_digit and any(c.isdigit() for c in token)
            if self._starts_word(token, pure):
                unforced = prob
                if pure in self.force or pure in self.replacements:
                    prob = 1.0
                for original, replacement in self.token_map.items():
                    token = token.replace(replacement, original)
                words.append(token)
                pieces.append([1.0 if digit_forced else prob])
                plain.append([unforced])
            else:
                words[-1] += pure
                pieces[-1].append(1.0 if digit_forced else prob)
                plain[-1].append(unforced)  # llmlingua repeats the word's first piece here
        return words, pieces, plain

    def _starts_word(self, token: str, pure: str) -> bool:
        if self.sentencepiece:
            if token in string.punctuation or token in self.force or token in self.replacements:
                return True
            return token.startswith("▁")
        if pure in self.force or pure in self.replacements:
            return True
        return not token.startswith("##")


def is_sentencepiece(tokenizer: Any) -> bool:
    import json

    model = json.loads(tokenizer.backend_tokenizer.to_str()).get("model", {})
    return model.get("type") == "Unigram" or "▁" in str(model.get("continuing_subword_prefix", ""))
