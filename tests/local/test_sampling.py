"""Hyperparameter sampling stays inside the definition's ranges, per strategy."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from lgbm_pipeline_compiler.local.sampling import sample


@given(
    lo=st.integers(1, 1000),
    span=st.integers(0, 1000),
    scaling=st.sampled_from(["Auto", "Linear", "Logarithmic"]),
    seed=st.integers(0, 2**31),
)
def test_integer_samples_stay_in_range(lo, span, scaling, seed):
    ranges = {
        "IntegerParameterRanges": [
            {"Name": "n", "MinValue": str(lo), "MaxValue": str(lo + span), "ScalingType": scaling}
        ]
    }
    for values in sample(ranges, "Random", 20, seed):
        assert lo <= int(values["n"]) <= lo + span


@given(
    lo=st.floats(1e-6, 0.5),
    hi=st.floats(0.5, 0.999),
    scaling=st.sampled_from(["Linear", "Logarithmic", "ReverseLogarithmic"]),
    seed=st.integers(0, 2**31),
)
def test_continuous_samples_stay_in_range(lo, hi, scaling, seed):
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "x", "MinValue": repr(lo), "MaxValue": repr(hi), "ScalingType": scaling}
        ]
    }
    for values in sample(ranges, "Random", 20, seed):
        assert lo - 1e-12 <= float(values["x"]) <= hi + 1e-12


def test_logarithmic_scaling_spreads_over_orders_of_magnitude():
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
        ]
    }
    values = [float(v["lr"]) for v in sample(ranges, "Random", 400, seed=7)]
    below = sum(v < 0.005 for v in values) / len(values)
    # log-uniform: P(x < 0.005) = log(50) / log(5000) ≈ 0.46; uniform would give ≈ 0.01
    assert 0.36 < below < 0.56
    assert math.isclose(min(values), 0.0001, rel_tol=0.5)


def test_same_seed_same_samples_and_grid_enumerates_categoricals():
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "a", "Values": ["x", "y"]},
            {"Name": "b", "Values": ["1", "2", "3"]},
        ]
    }
    assert list(sample(ranges, "Random", 5, 1)) == list(sample(ranges, "Random", 5, 1))
    grid = list(sample(ranges, "Grid", 100, 0))
    assert len(grid) == 6 and {(g["a"], g["b"]) for g in grid} == {(a, b) for a in "xy" for b in "123"}
