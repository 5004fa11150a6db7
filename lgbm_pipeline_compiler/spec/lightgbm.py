"""LightGBM's documented parameter domains, for static hyperparameters and tuning ranges.

From LightGBM's docs/Parameters.rst ("constraints:") and include/LightGBM/config.h (``int`` fields
are C ``int``, 32-bit: 2**31 would wrap to a negative number). train.py passes these names to
LightGBM under its Python API names; the aliases are LightGBM's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Domain:
    """Values a parameter takes: integer or real, between ``low`` and ``high`` (open ends marked)."""

    name: str
    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def text(self) -> str:
        def bound(value: float | None, infinite: str) -> str:
            if value is None:
                return infinite
            return str(int(value)) if self.integer else f"{value:g}"

        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{bound(self.low, '-inf')}, {bound(self.high, 'inf')}{right}"

    def problem(self, value: object) -> str | None:
        """Why ``value`` is outside the domain, or None."""
        if isinstance(value, bool):
            return "a boolean is not a number"
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return f"{value!r} is not a number"
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if self.integer and not float(value).is_integer():
            return f"{value!r} is not an integer"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return f"{value!r} is below the range"
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return f"{value!r} is above the range"
        return None


def _int(
    name: str, low: float | None = INT32_MIN, high: float | None = INT32_MAX, low_open: bool = False
) -> Domain:
    return Domain(name, True, INT32_MIN if low is None else low, high, low_open)


# LightGBM name (Parameters.rst) → domain; "constraints:" quoted where LightGBM documents one.
_DOMAINS: dict[str, tuple[Domain, tuple[str, ...]]] = {
    # num_iterations >= 0; lightgbm.train (train.py's num_boost_round) refuses 0: "Number of
    # boosting rounds must be greater than 0"
    "num_iterations": (
        _int("num_iterations", 1),
        (
            "num_iteration",
            "n_iter",
            "num_tree",
            "num_trees",
            "num_round",
            "num_rounds",
            "num_boost_round",
            "n_estimators",
        ),
    ),
    # learning_rate > 0.0
    "learning_rate": (Domain("learning_rate", False, 0.0, None, low_open=True), ("shrinkage_rate", "eta")),
    # 1 < num_leaves <= 131072
    "num_leaves": (_int("num_leaves", 1, 131072, low_open=True), ("num_leaf", "max_leaves", "max_leaf")),
    # max_bin > 1
    "max_bin": (_int("max_bin", 1, low_open=True), ("max_bins",)),
    # min_data_in_leaf >= 0
    "min_data_in_leaf": (_int("min_data_in_leaf", 0), ("min_data_per_leaf", "min_data", "min_child_samples")),
    # 0.0 < feature_fraction <= 1.0
    "feature_fraction": (
        Domain("feature_fraction", False, 0.0, 1.0, low_open=True),
        ("sub_feature", "colsample_bytree"),
    ),
    # 0.0 < bagging_fraction <= 1.0
    "bagging_fraction": (
        Domain("bagging_fraction", False, 0.0, 1.0, low_open=True),
        ("sub_row", "subsample", "bagging"),
    ),
    "bagging_freq": (_int("bagging_freq"), ("subsample_freq",)),
    # lambda_l2 >= 0.0
    "lambda_l2": (Domain("lambda_l2", False, 0.0), ("reg_lambda", "lambda")),
    # lambda_l1 >= 0.0
    "lambda_l1": (Domain("lambda_l1", False, 0.0), ("reg_alpha",)),
    "early_stopping_round": (
        _int("early_stopping_round"),
        ("early_stopping_rounds", "early_stopping", "n_iter_no_change"),
    ),
    "seed": (_int("seed"), ("random_seed", "random_state")),
    "num_threads": (_int("num_threads"), ("num_thread", "nthread", "nthreads", "n_jobs")),
    "max_depth": (_int("max_depth"), ()),
}

DOMAINS: dict[str, Domain] = {
    alias: domain for name, (domain, aliases) in _DOMAINS.items() for alias in (name, *aliases)
}


def domain_of(name: str) -> Domain | None:
    """LightGBM's domain for a hyperparameter name (or alias), if LightGBM documents the name."""
    return DOMAINS.get(name)


def describe(name: str, domain: Domain) -> str:
    kind = "an integer" if domain.integer else "a number"
    alias = "" if name == domain.name else f" (LightGBM's {domain.name})"
    return f"{name}{alias} takes {kind} in {domain.text()}"
