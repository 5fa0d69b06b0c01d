"""Word self-information from corpus frequencies (``wordfreq``): no model, very fast.

A word's self-information is ``-log2 p(word)`` with ``p`` its frequency in the
language's ``wordfreq`` list. Words the list lacks get the list's smallest frequency
(they are rare, hence informative). Numbers are looked up by shape, as wordfreq
stores them (``2019`` -> ``0000``), plus ``log2(10)`` bits per digit for the exact
value. Punctuation-only words carry :data:`PUNCTUATION_BITS`. CJK characters use the
Chinese (Han) or Japanese (kana) list and Hangul words the Korean list, whatever
``language`` says. A word's bits are spread evenly over its characters so that any
unit, down to a sub-word token, receives its share.
"""

from __future__ import annotations

import functools
import math
import re
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError
from contextzip.words import word_boundaries

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PUNCTUATION_BITS", "UnigramSurprisal"]

#: Self-information given to words with no letter or digit.
PUNCTUATION_BITS = 2.0
_DIGIT_BITS = math.log2(10)
_STRIP = "\"'“”‘’()[]{}<>.,;:!?*_`~|"
_DIGITS = re.compile(r"\d")
_PARTS = re.compile(r"\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")


@functools.lru_cache(maxsize=8)
def _frequencies(language: str) -> tuple[dict[str, float], float]:
    import wordfreq

    table = wordfreq.get_frequency_dict(language, wordlist="best")
    return table, -math.log2(min(table.values()))


class UnigramSurprisal:
    """Per-character self-information of a text from word frequencies.

    Args:
        language: A ``wordfreq`` language code for non-CJK words (``"en"``, ``"de"``, ...).

    Example:
        >>> scorer = UnigramSurprisal()
        >>> scorer.word_bits("the") < scorer.word_bits("photosynthesis")
        True
    """

    def __init__(self, *, language: str = "en") -> None:
        import wordfreq

        if language not in wordfreq.available_languages(wordlist="best"):
            raise ConfigurationError(
                f"wordfreq has no list for language {language!r}; choose one of "
                f"{', '.join(sorted(wordfreq.available_languages(wordlist='best')))}"
            )
        self.language = language

    def word_bits(self, word: str) -> float:
        """Self-information of one word, in bits."""
        key = word.lower().strip(_STRIP)
        if not key:
            return PUNCTUATION_BITS
        table, floor = _frequencies(self.language if key.isascii() else self._language_of(key))
        frequency = table.get(key)
        if frequency is not None:
            return -math.log2(frequency)
        if _DIGITS.search(key):
            digits = len(_DIGITS.findall(key))
            shape = table.get(_DIGITS.sub("0", key))
            return (-math.log2(shape) if shape else floor) + digits * _DIGIT_BITS
        parts = _PARTS.findall(key)
        if len(parts) > 1:
            return sum(self.word_bits(part) for part in parts)
        return floor

    def word_information(self, text: str, words: np.ndarray) -> np.ndarray:
        """Bits of each word of ``text`` given as ``(n, 2)`` spans."""
        import numpy as np

        tokens = [text[s:e] for s, e in zip(words[:, 0].tolist(), words[:, 1].tolist(), strict=True)]
        index = {word: i for i, word in enumerate(dict.fromkeys(tokens))}
        # the common case in one pass: an ASCII word found as it is in the language's list
        table, _ = _frequencies(self.language)
        keys = [word.lower().strip(_STRIP) for word in index]
        found = [table.get(key, 0.0) if key.isascii() else 0.0 for key in keys]
        bits = -np.log2(np.maximum(np.asarray(found, dtype=np.float64), 1e-300))
        for position in np.flatnonzero(np.asarray(found) == 0.0).tolist():
            bits[position] = self.word_bits(keys[position] or "")
        positions = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        return bits[positions]

    def surprisal(self, text: str, words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return one position per character of every word and the bits it carries.

        Pass ``words``, the ``(n, 2)`` word spans, when the text is split already.
        """
        import numpy as np

        spans = np.stack(word_boundaries(text), axis=1) if words is None else words
        if len(spans) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        starts, ends = spans[:, 0], spans[:, 1]
        bits = self.word_information(text, spans)
        lengths = ends - starts
        before = np.cumsum(lengths) - lengths
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - before, lengths)
        return positions, np.repeat(bits / lengths, lengths)

    def _language_of(self, key: str) -> str:
        if _HAN.search(key):
            return "zh"
        if _KANA.search(key):
            return "ja"
        if _HANGUL.search(key):
            return "ko"
        return self.language
