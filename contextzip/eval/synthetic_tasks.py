"""The synthetic tasks themselves: what each hides in the haystack, and the question that finds it."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUILDERS", "Task"]


_NEEDLES = 4  # needles in multi-needle and multi-key


_CHAIN = 5  # variables per chain in variable-tracking


_PROJECTS = 3  # projects in aggregation


_NOUNS: tuple[str, ...] = tuple(
    """
    acorn anchor anvil apple apron arch arrow attic badge bagel banjo barn barrel basket beacon beaver bell
    bench berry blanket bottle boulder bracelet bridge brook bucket button cabin cactus camel candle canoe
    canyon carpet castle cedar cellar chalk cherry chimney cliff clock cloud comet compass copper coral
    cottage crane crater crown cup daisy desert dolphin door dragon drum eagle easel elbow ember engine falcon
    feather fence fern ferry fiddle flag flute forest fossil fountain fox garden garnet gate glacier globe
    goat granite grape harbor harp hammer helmet heron hill honey horse island ivory jacket jar jasmine jewel
    kettle kite ladder lagoon lake lamp lantern lemon lighthouse lily lion magnet maple marble meadow mirror
    mitten moon mountain nest oak oar ocean olive orchard otter owl paddle palace panda parrot pebble pencil
    pepper piano pillow pine pirate planet plum pond poppy puzzle quarry quill rabbit radish raft raven reef
    ribbon river robin rocket saddle sail salmon sandal scarf shell shovel silver sled sparrow spider spoon
    squirrel stable star statue stone storm sunflower swan sword table teapot temple thistle thunder tiger
    timber torch tower tractor trumpet tulip tunnel turtle umbrella valley vase velvet violin volcano wagon
    walnut whale wheat whistle willow window wolf
    """.split()
)


_BY_LETTER: dict[str, tuple[str, ...]] = {
    letter: group
    for letter in sorted({w[0] for w in _NOUNS})
    if len(group := tuple(w for w in _NOUNS if w[0] == letter)) >= _NEEDLES
}


@dataclass(frozen=True)
class Task:
    """What a task builder makes: the question, and needles grouped into ordered chains."""

    question: str
    answers: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]  # each group's sentences appear in this order
    meta: Mapping[str, Any] = field(default_factory=dict)
    target: int = 0  # the group holding the answer; its first needle's depth is meta["depth"]


def _magic(rng: random.Random, keys: Sequence[str]) -> Task:
    values = [str(v) for v in rng.sample(range(1_000_000, 10_000_000), len(keys))]
    target = rng.randrange(len(keys))
    return Task(
        question=f"What is the special magic number for {keys[target]} mentioned in the text?",
        answers=(values[target],),
        groups=tuple(
            (f"The special magic number for {k} is {v}.",) for k, v in zip(keys, values, strict=True)
        ),
        meta={"key": keys[target], "keys": tuple(keys)},
        target=target,
    )


def _single_needle(rng: random.Random, length_tokens: int) -> Task:
    return _magic(rng, [rng.choice(_NOUNS)])


def _multi_needle(rng: random.Random, length_tokens: int) -> Task:
    return _magic(rng, rng.sample(_NOUNS, _NEEDLES))


def _multi_key(rng: random.Random, length_tokens: int) -> Task:
    nouns = rng.sample(_BY_LETTER[rng.choice(sorted(_BY_LETTER))], _NEEDLES)
    prefix = rng.choice([w for w in _NOUNS if w not in nouns])
    return _magic(rng, [f"{prefix}-{noun}" for noun in nouns])


def _variable_tracking(rng: random.Random, length_tokens: int) -> Task:
    names: list[str] = []
    while len(names) < 2 * _CHAIN:
        name = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=5))
        if name not in names:
            names.append(name)
    value, decoy = (str(v) for v in rng.sample(range(10_000, 100_000), 2))

    def chain(chain_names: Sequence[str], start: str) -> tuple[str, ...]:
        sources = [start, *(f"VAR {n}" for n in chain_names[:-1])]
        return tuple(f"VAR {n} = {s}." for n, s in zip(chain_names, sources, strict=True))

    return Task(
        question=(
            f"Which variables are assigned the value {value}, directly or through other variables? "
            "Answer with their names in order of assignment, separated by commas."
        ),
        answers=(", ".join(names[:_CHAIN]),),
        groups=(chain(names[:_CHAIN], value), chain(names[_CHAIN:], decoy)),
        meta={"value": value, "chain": tuple(names[:_CHAIN]), "decoy_chain": tuple(names[_CHAIN:])},
    )


def _aggregation(rng: random.Random, length_tokens: int) -> Task:
    names = [w.capitalize() for w in rng.sample(_NOUNS, _PROJECTS)]
    top = rng.randint(3, min(6, max(3, length_tokens // 300)))  # fewer mentions in short contexts
    counts = [top, *rng.sample(range(1, top), _PROJECTS - 1)]
    groups = tuple(
        tuple(
            f"Project {name} shipped {rng.randint(100, 999)} units in week {rng.randint(1, 52)}."
            for _ in range(count)
        )
        for name, count in zip(names, counts, strict=True)
    )
    return Task(
        question=(
            "Some sentences in the text report shipments by named projects. "
            "Which project is mentioned most often? Answer with the project name only."
        ),
        answers=(names[0], f"Project {names[0]}"),
        groups=groups,
        meta={"counts": dict(zip(names, counts, strict=True))},
    )


BUILDERS: dict[str, Callable[[random.Random, int], Task]] = {
    "single-needle": _single_needle,
    "multi-needle": _multi_needle,
    "multi-key": _multi_key,
    "variable-tracking": _variable_tracking,
    "aggregation": _aggregation,
}
