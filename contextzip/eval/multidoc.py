"""``squad-multidoc``: a question, its gold paragraph and distractors, sized in tokens.

For each question the context holds its gold paragraph plus distractor paragraphs —
half (as available) from the same article, which look relevant, the rest from other
articles — added until the next one would pass ``target_tokens``, then shuffled with a
generator seeded by the question id and ``seed``. Articles are split into train and
dev by a hash of their title (a quarter go to dev), so tuning on train never sees a
dev article.

With ``near_duplicates=k`` (dataset ``squad-multidoc-dups``), the first ``k`` same-article
distractors each come with two near copies, as the same passage does when it is
retrieved from several pages: one sentence left out (when it has three or more) and
about one word in twelve deleted, chosen by a seeded generator. Copies count against the
same token target, so the context is as long as without them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence

from contextzip.errors import ConfigurationError
from contextzip.eval.sources import Article
from contextzip.eval.types import QASample
from contextzip.tokens import TokenCounter

__all__ = ["SPLITS", "article_split", "fill_documents", "hash_split", "multidoc_samples", "near_copy"]

SPLITS = ("train", "dev", "all")


def hash_split(key: str, *, one_in: int) -> str:
    """``"dev"`` when the first byte of the SHA-1 of ``key`` (UTF-8) is divisible by ``one_in``,
    else ``"train"``: the same answer in every process and for every copy of a file.

    Example:
        >>> hash_split("Super_Bowl_50", one_in=4) in ("train", "dev")
        True
    """
    return "dev" if hashlib.sha1(key.encode("utf-8")).digest()[0] % one_in == 0 else "train"


def article_split(title: str) -> str:
    """``"dev"`` for about a quarter of the articles (by a hash of the title), else ``"train"``.

    Example:
        >>> article_split("Super_Bowl_50") in ("train", "dev")
        True
    """
    return hash_split(title, one_in=4)


def multidoc_samples(
    articles: Sequence[Article],
    *,
    target_tokens: int = 8000,
    split: str = "dev",
    seed: int = 0,
    near_duplicates: int = 0,
    counter: TokenCounter | None = None,
) -> Iterator[QASample]:
    """Yield multi-document samples whose contexts hold about ``target_tokens`` tokens.

    Args:
        articles: SQuAD-format articles (all of them: distractors come from every split).
        target_tokens: Context size in target-LLM tokens (2000, 8000, 16000, ...).
        split: Which articles' questions to use: ``"train"``, ``"dev"`` or ``"all"``.
        seed: Changes the distractors and the order, deterministically.
        near_duplicates: Same-article distractors that get two near copies each.
        counter: Token counter (o200k_base by default).

    Example:
        >>> from contextzip.eval.sources import fixture_articles
        >>> s = next(multidoc_samples(fixture_articles(), target_tokens=1500, split="all"))
        >>> len(s.documents) > 1 and s.documents[s.meta["gold_index"]] == s.meta["gold"]
        True
    """
    if split not in SPLITS:
        raise ConfigurationError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if target_tokens < 200:
        raise ConfigurationError(f"target_tokens must be >= 200, got {target_tokens}")
    counter = counter or TokenCounter()
    pool = [
        (article.title, text, counter.count(text)) for article in articles for text, _ in article.paragraphs
    ]
    for article in articles:
        if split != "all" and article_split(article.title) != split:
            continue
        for index, (gold, questions) in enumerate(article.paragraphs):
            for qid, question, answers in questions:
                rng = random.Random(f"{seed}:{qid}")
                documents = _fill(gold, article.title, pool, target_tokens, counter, rng, near_duplicates)
                rng.shuffle(documents)
                yield QASample(
                    id=qid,
                    question=question,
                    answers=answers,
                    documents=tuple(documents),
                    dataset="squad-multidoc-dups" if near_duplicates else "squad-multidoc",
                    meta={
                        "article": article.title,
                        "paragraph": index,
                        "gold": gold,
                        "gold_index": documents.index(gold),
                        "target_tokens": target_tokens,
                    },
                )


def _fill(
    gold: str,
    title: str,
    pool: Sequence[tuple[str, str, int]],
    target_tokens: int,
    counter: TokenCounter,
    rng: random.Random,
    near_duplicates: int = 0,
) -> list[str]:
    same = [p for p in pool if p[0] == title and p[1] != gold]
    other = [p for p in pool if p[0] != title]
    rng.shuffle(same)
    rng.shuffle(other)
    # alternate same-article and other-article distractors while both last
    ordered = [p for pair in zip(same, other, strict=False) for p in pair]
    ordered += same[len(other) :] + other[len(same) :]
    return fill_documents(
        gold,
        ((text, tokens, distractor_title == title) for distractor_title, text, tokens in ordered),
        target_tokens=target_tokens,
        counter=counter,
        rng=rng,
        near_duplicates=near_duplicates,
    )


def fill_documents(
    gold: str,
    distractors: Iterable[tuple[str, int, bool]],
    *,
    target_tokens: int | None,
    counter: TokenCounter,
    rng: random.Random,
    max_documents: int | None = None,
    near_duplicates: int = 0,
) -> list[str]:
    """The gold document followed by distractors, in the order given, until the context is full.

    Args:
        gold: The document that holds the answer (always first in the result).
        distractors: ``(text, tokens, may_copy)`` in the order to try them; ``may_copy`` marks
            the look-alikes that get near copies.
        target_tokens: Skip a distractor that would pass this many tokens (a blank line between
            documents counts one), and stop at 97% of it; ``None``: no token limit.
        counter: Counts the near copies.
        rng: Draws the near copies' edits.
        max_documents: Stop at this many documents, copies included; ``None``: no limit.
        near_duplicates: The first this many ``may_copy`` distractors come with two near copies.

    Example:
        >>> import random
        >>> fill_documents("gold", [("a", 1, False), ("b", 1, False)], target_tokens=None,
        ...                counter=TokenCounter(), rng=random.Random(0), max_documents=2)
        ['gold', 'a']
    """
    documents, used = [gold], counter.count(gold)
    copied = 0
    for text, tokens, may_copy in distractors:
        if max_documents is not None and len(documents) >= max_documents:
            break
        group = [(text, tokens)]
        if copied < near_duplicates and may_copy:
            copies = [near_copy(text, rng) for _ in range(2)]
            group += [(c, counter.count(c)) for c in copies]
        cost = sum(t + 1 for _, t in group)  # the blank line between documents
        if target_tokens is not None and used + cost > target_tokens:
            continue
        if max_documents is not None and len(documents) + len(group) > max_documents:
            continue
        documents.extend(t for t, _ in group)
        copied += len(group) > 1
        used += cost
        if target_tokens is not None and used >= target_tokens * 0.97:
            break
    return documents


def near_copy(text: str, rng: random.Random) -> str:
    """``text`` with one sentence left out (of three or more) and about 1 word in 12 deleted.

    Example:
        >>> import random
        >>> near_copy("One two three. Four five six. Seven eight nine.", random.Random(0)).count(".")
        2
    """
    from contextzip.text import sentence_spans

    sentences = [text[s:e] for s, e in sentence_spans(text)]
    if len(sentences) >= 3:
        del sentences[rng.randrange(len(sentences))]
    words = " ".join(sentences).split(" ")
    kept = [w for w in words if rng.random() >= 1 / 12 or w.endswith(".")]
    return " ".join(kept)
