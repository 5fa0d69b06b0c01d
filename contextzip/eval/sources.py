"""The QA data on these machines: SQuAD v1.1 dev, SQuAD-shifts ``new_wiki`` and CoQA.

They come from the ``bigbench`` 1.0.0 source distribution on PyPI, fetched once from
the package index into the cache (:func:`contextzip.resources.cache_dir` ``/ "data"``), checked
against its SHA-256, and only the three files needed are extracted (the 358 MB
archive is deleted afterwards). The package's other QA files (SQuAD-shifts ``nyt``,
``reddit``, ``amazon_reviews``) are held out for independent evaluation and never
read here.

SQuAD is licensed CC BY-SA 4.0; see ``contextzip/eval/fixtures/ATTRIBUTION.md`` for
attribution of all three.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextzip.errors import ResourceNotFoundError
from contextzip.eval.types import QASample, answers_tuple
from contextzip.resources import cache_dir, hash_file

__all__ = [
    "BIGBENCH_SHA256",
    "Article",
    "bigbench_file",
    "coqa_samples",
    "fixture_articles",
    "squad_articles",
    "squad_samples",
]

logger = logging.getLogger(__name__)

BIGBENCH_VERSION = "1.0.0"
#: SHA-256 of ``bigbench-1.0.0.tar.gz`` as published on PyPI.
BIGBENCH_SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
_MEMBERS = {
    "squaddev_v1.1.json": "bigbench/benchmark_tasks/squad_shifts/squaddev_v1.1.json",
    "new_wiki_v1.0.json": "bigbench/benchmark_tasks/squad_shifts/new_wiki_v1.0.json",
    "coqa.test.json": "bigbench/benchmark_tasks/coqa_conversational_question_answering/coqa.test.json",
}
_FIXTURES = Path(__file__).with_name("fixtures")


@dataclass(frozen=True)
class Article:
    """A SQuAD-format article: a title and paragraphs, each with its questions.

    Attributes:
        title: The article title (the unit train/dev splits are made by).
        paragraphs: ``(context, [(question id, question, answers), ...])`` pairs.
    """

    title: str
    paragraphs: tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]], ...]


def bigbench_file(name: str, *, sdist: Path | None = None) -> Path:
    """Path of one needed file of the ``bigbench`` sdist, fetching it once if absent.

    Args:
        name: ``"squaddev_v1.1.json"``, ``"new_wiki_v1.0.json"`` or ``"coqa.test.json"``.
        sdist: An already downloaded ``bigbench-1.0.0.tar.gz`` to extract from instead.

    Raises:
        ResourceNotFoundError: pip could not fetch the archive, or it failed verification.
    """
    if name not in _MEMBERS:
        raise ResourceNotFoundError(
            f"bigbench file {name!r} is not used here; choose one of {sorted(_MEMBERS)}"
        )
    folder = cache_dir() / "data" / f"bigbench-{BIGBENCH_VERSION}"
    if not all((folder / member).is_file() for member in _MEMBERS):
        _fetch_and_extract(folder, sdist)
    return folder / name


def _fetch_and_extract(folder: Path, sdist: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        archive = sdist or _download(Path(scratch))
        digest = hash_file(archive).hexdigest()
        if digest != BIGBENCH_SHA256:
            raise ResourceNotFoundError(
                f"{archive} has SHA-256 {digest}, expected {BIGBENCH_SHA256}; delete it and retry"
            )
        with tarfile.open(archive, "r:gz") as tar:
            for name, member in _MEMBERS.items():
                source = tar.extractfile(f"bigbench-{BIGBENCH_VERSION}/{member}")
                if source is None:
                    raise ResourceNotFoundError(f"{archive} lacks {member}")
                partial = folder / f"{name}.partial"
                partial.write_bytes(source.read())
                partial.replace(folder / name)


def _download(into: Path) -> Path:
    """Fetch the sdist from the package index (its SHA-256 is checked by the caller).

    pip itself refuses this sdist (it declares a direct-URL dependency, which pip 24+
    rejects even with ``--no-deps``), so the file is taken from the same index through
    its simple repository API (PEP 691), at ``$PIP_INDEX_URL`` or PyPI's.
    """
    import urllib.request

    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    logger.warning("fetching bigbench %s (358 MB) from %s once, for its QA files", BIGBENCH_VERSION, index)
    request = urllib.request.Request(
        f"{index}/bigbench/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    filename = f"bigbench-{BIGBENCH_VERSION}.tar.gz"
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
        url = next(f["url"] for f in files if f["filename"] == filename)
        target = into / filename
        with urllib.request.urlopen(url, timeout=120) as response, open(target, "wb") as sink:
            for block in _progress(response, int(response.headers.get("Content-Length") or 0)):
                sink.write(block)
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise ResourceNotFoundError(
            f"could not fetch {filename} from {index} ({type(exc).__name__}: {exc}); check access to "
            "the package index (or set PIP_INDEX_URL), or pass a downloaded sdist with sdist=PATH"
        ) from exc
    return target


def _progress(response: Any, total: int) -> Iterator[bytes]:
    from tqdm.auto import tqdm

    with tqdm(total=total or None, unit="B", unit_scale=True, desc="bigbench sdist") as bar:
        for block in iter(lambda: response.read(1 << 20), b""):
            bar.update(len(block))
            yield block


def squad_articles(name: str = "squaddev_v1.1.json", *, sdist: Path | None = None) -> list[Article]:
    """Articles of a SQuAD-format file from the bigbench sdist (``squaddev_v1.1.json`` or
    ``new_wiki_v1.0.json``)."""
    return _parse_squad(json.loads(bigbench_file(name, sdist=sdist).read_text(encoding="utf-8")))


def fixture_articles() -> list[Article]:
    """The small committed SQuAD v1.1 dev subset (no download), for tests and demos.

    Example:
        >>> articles = fixture_articles()
        >>> len(articles) >= 3 and all(a.paragraphs for a in articles)
        True
    """
    return _parse_squad(json.loads((_FIXTURES / "squad_dev_subset.json").read_text(encoding="utf-8")))


def _parse_squad(data: dict[str, Any]) -> list[Article]:
    articles = []
    for article in data["data"]:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            questions = tuple(
                (qa["id"], qa["question"].strip(), answers_tuple([a["text"] for a in qa["answers"]]))
                for qa in paragraph["qas"]
                if qa.get("answers")
            )
            paragraphs.append((paragraph["context"], questions))
        articles.append(Article(article["title"], tuple(paragraphs)))
    return articles


def squad_samples(articles: Sequence[Article], dataset: str) -> Iterator[QASample]:
    """One sample per question: the question over its own paragraph."""
    for article in articles:
        for index, (context, questions) in enumerate(article.paragraphs):
            for qid, question, answers in questions:
                yield QASample(
                    id=qid,
                    question=question,
                    answers=answers,
                    documents=(context,),
                    dataset=dataset,
                    meta={"article": article.title, "paragraph": index},
                )


def coqa_samples(*, sdist: Path | None = None, history_turns: int = 2) -> Iterator[QASample]:
    """One sample per CoQA turn; the question carries the previous ``history_turns`` turns.

    Gold answers are the free-form answer and the rationale span it was taken from.
    """
    data = json.loads(bigbench_file("coqa.test.json", sdist=sdist).read_text(encoding="utf-8"))
    for story in data["data"]:
        questions = _literal(story["questions"])
        answers = _literal(story["answers"])
        for turn, (question, answer) in enumerate(zip(questions, answers, strict=False)):
            history = [
                f"Q: {q['input_text']}\nA: {a['input_text']}"
                for q, a in zip(questions[max(0, turn - history_turns) : turn],
                                answers[max(0, turn - history_turns) : turn], strict=False)
            ]  # fmt: skip
            prompt = "\n".join([*history, f"Q: {question['input_text']}"])
            yield QASample(
                id=f"{story['id']}-{question['turn_id']}",
                question=prompt,
                answers=answers_tuple([answer.get("input_text", ""), answer.get("span_text", "")]),
                documents=(story["story"],),
                dataset="coqa",
                meta={"article": story["id"], "turn": question["turn_id"]},
            )


def _literal(value: Any) -> list[dict[str, Any]]:
    # bigbench stores CoQA turns as Python reprs of lists of dicts
    parsed = ast.literal_eval(value) if isinstance(value, str) else value
    return list(parsed)
