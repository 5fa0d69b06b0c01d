"""Is one method's lead real? Paired differences on the same samples, with bootstrap intervals.

A baseline run at one rate only (``original``, the uncompressed context at 1.0) is the
reference of every rate; otherwise methods are compared rate by rate.

Two methods run on the same samples differ sample by sample; comparing their means alone
hides how noisy that difference is. For each (dataset, reader, rate) this takes the samples
both methods have, the per-sample difference of a metric, its mean, a percentile bootstrap
interval (resampling samples, seeded, so the same results give the same interval), and the
number of samples each method wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from contextzip.errors import ConfigurationError
from contextzip.eval.summary import check_metric
from contextzip.eval.types import SampleResult

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PairedDifference", "bootstrap_interval", "paired_differences", "paired_table", "pooled_by_family"]


@dataclass(frozen=True)
class PairedDifference:
    """``method`` minus ``baseline`` on the samples both were run on (a share: 0.05 = 5 points)."""

    dataset: str
    reader: str
    rate: float
    method: str
    baseline: str
    metric: str
    n: int
    mean: float
    low: float
    high: float
    wins: int
    losses: int

    @property
    def clear(self) -> bool:
        """The interval leaves out zero."""
        return self.low > 0 or self.high < 0


def paired_differences(
    results: Iterable[SampleResult],
    baseline: str,
    *,
    methods: Sequence[str] | None = None,
    metric: str = "presence",
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[PairedDifference]:
    """Every method (or ``methods``) against ``baseline``, per dataset, reader and rate.

    Raises:
        ConfigurationError: For an unknown metric, a bad confidence, or a baseline with no results.

    Example:
        >>> from contextzip.eval.types import SampleResult
        >>> def row(sample, method, presence):
        ...     return SampleResult("toy", sample, method, 0.5, "presence", 10, 5, 0.5, 2.0, 0.0, presence)
        >>> rows = [row(s, "a", 1.0) for s in "xyz"] + [row(s, "b", p) for s, p in zip("xyz", (1, 0, 0))]
        >>> (d,) = paired_differences(rows, "b")
        >>> d.method, d.n, round(d.mean, 3), d.wins, d.losses
        ('a', 3, 0.667, 2, 0)
    """
    import numpy as np

    check_metric(metric)
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence}")
    table: dict[tuple[str, str, float, str], dict[str, float]] = {}
    baseline_seen = False
    for result in results:
        baseline_seen = baseline_seen or result.method == baseline
        value = getattr(result, metric)
        if value is not None:
            key = (result.dataset, result.reader, result.rate, result.method)
            table.setdefault(key, {})[result.sample_id] = value
    if not any(key[3] == baseline for key in table):
        if baseline_seen:
            raise ConfigurationError(
                f"the results of {baseline!r} carry no {metric} (the presence reader gives no answer "
                "metrics; replies recorded before accuracy existed get it when `contextzip eval` is rerun "
                "on their folder)"
            )
        raise ConfigurationError(f"no results of the baseline {baseline!r}; run it in the same evaluation")
    found = []
    for (dataset, reader, rate, method), scores in sorted(table.items()):
        if method == baseline or (methods is not None and method not in methods):
            continue
        base = table.get((dataset, reader, rate, baseline)) or _only_rate(table, dataset, reader, baseline)
        shared = sorted(set(scores) & set(base))
        if not shared:
            continue
        deltas = np.array([scores[s] - base[s] for s in shared])
        low, high = bootstrap_interval(deltas, resamples=resamples, confidence=confidence, seed=seed)
        found.append(
            PairedDifference(
                dataset,
                reader,
                rate,
                method,
                baseline,
                metric,
                len(shared),
                float(deltas.mean()),
                float(low),
                float(high),
                int((deltas > 0).sum()),
                int((deltas < 0).sum()),
            )  # fmt: skip
        )
    return found


def bootstrap_interval(
    deltas: Sequence[float] | np.ndarray, *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """A percentile bootstrap interval of the mean of ``deltas`` (resampled with a seeded generator).

    Example:
        >>> low, high = bootstrap_interval([0.0, 1.0, 1.0, 1.0])
        >>> 0.0 <= low < 0.75 < high <= 1.0
        True
    """
    import numpy as np

    values = np.asarray(deltas, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _only_rate(
    table: dict[tuple[str, str, float, str], dict[str, float]], dataset: str, reader: str, baseline: str
) -> dict[str, float]:
    """The baseline's scores when it was run at one rate only (the uncompressed ``original`` at 1.0).

    That one run is what every rate of the other methods is compared to.
    """
    rates = [key for key in table if key[0] == dataset and key[1] == reader and key[3] == baseline]
    return table[rates[0]] if len(rates) == 1 else {}


def pooled_by_family(results: Iterable[SampleResult]) -> list[SampleResult]:
    """Copies of the results of ``family/part`` datasets, each labelled ``"family (all)"``.

    Every sample weighs the same in a pooled row (parts with more samples weigh more); sample
    ids are prefixed with their part, so parts that reuse an id stay apart.

    Example:
        >>> from contextzip.eval.types import SampleResult
        >>> row = SampleResult("proxy-traffic/json", "s", "m", 0.3, "r", 10, 3, 0.3, 3.3, 0.0, 1.0)
        >>> [r.dataset for r in pooled_by_family([row])]
        ['proxy-traffic (all)']
    """
    return [
        replace(r, dataset=f"{r.dataset.split('/', 1)[0]} (all)", sample_id=f"{r.dataset}/{r.sample_id}")
        for r in results
        if "/" in r.dataset
    ]


def paired_table(differences: Iterable[PairedDifference], *, confidence: float = 0.95) -> str:
    """A Markdown table of differences in points, interval in brackets, a mark where it leaves out 0."""
    lines = [
        f"| dataset | reader | rate | method − baseline | n | difference [{confidence:.0%} interval] "
        "| wins / losses |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    for d in differences:
        mark = " ✓" if d.clear else ""
        lines.append(
            f"| {d.dataset} | {d.reader} | {d.rate:g} | {d.method} − {d.baseline} | {d.n} "
            f"| {100 * d.mean:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]{mark} | {d.wins} / {d.losses} |"
        )
    return "\n".join(lines) + "\n"
