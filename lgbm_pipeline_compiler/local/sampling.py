"""Hyperparameter sampling from a definition's ParameterRanges, per tuning strategy.

Random samples each range independently (Linear/Auto uniformly; Logarithmic log-uniformly;
ReverseLogarithmic log-uniformly in 1 - x). Grid enumerates every combination of categorical
values. Bayesian and Hyperband have no local optimiser: they are sampled at random, and the run log
says so.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from typing import Any


def _integer(rng: random.Random, spec: dict[str, Any]) -> int:
    lo, hi = int(spec["MinValue"]), int(spec["MaxValue"])
    if spec.get("ScalingType") == "Logarithmic" and lo > 0:
        return min(hi, max(lo, round(math.exp(rng.uniform(math.log(lo), math.log(hi))))))
    return rng.randint(lo, hi)


def _continuous(rng: random.Random, spec: dict[str, Any]) -> float:
    lo, hi = float(spec["MinValue"]), float(spec["MaxValue"])
    scaling = spec.get("ScalingType")
    if scaling == "Logarithmic" and lo > 0:
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if scaling == "ReverseLogarithmic" and hi < 1:
        return 1 - math.exp(rng.uniform(math.log(1 - hi), math.log(1 - lo)))
    return rng.uniform(lo, hi)


def sample(
    ranges: dict[str, list[dict[str, Any]]], strategy: str, count: int, seed: int
) -> Iterator[dict[str, str]]:
    """Up to ``count`` hyperparameter sets (values as strings, as SageMaker passes them)."""
    categorical = ranges.get("CategoricalParameterRanges", [])
    if strategy == "Grid":
        names = [c["Name"] for c in categorical]
        for combo in itertools.islice(itertools.product(*(c["Values"] for c in categorical)), count):
            yield dict(zip(names, combo, strict=True))
        return
    rng = random.Random(seed)
    for _ in range(count):
        values: dict[str, str] = {}
        for spec in ranges.get("IntegerParameterRanges", []):
            values[spec["Name"]] = str(_integer(rng, spec))
        for spec in ranges.get("ContinuousParameterRanges", []):
            values[spec["Name"]] = repr(_continuous(rng, spec))
        for spec in categorical:
            values[spec["Name"]] = rng.choice(spec["Values"])
        yield values
