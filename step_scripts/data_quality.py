"""Data-quality baseline of the training split in Model Monitor's formats, and its check.

Public API (shared with ``lgbm-pipeline monitor``; keep it stable):

- :func:`compute_statistics` (frame, columns) -> ``statistics.json`` content
- :func:`suggest_constraints` (statistics) -> ``constraints.json`` content
- :func:`check_constraints` (statistics, baseline_statistics, constraints) -> the ``violations`` of
  ``constraint_violations.json``
- :func:`read_split` reads a preprocessing split (header, target first) as the features to profile.

Formats: AWS, "Schema for Statistics (statistics.json file)", "Schema for Constraints
(constraints.json file)" and "Schema for Violations (constraint_violations.json file)"
(docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-{statistics,constraints}.html,
model-monitor-interpreting-violations.html). The sagemaker-model-monitor-analyzer container is built
on Deequ (github.com/awslabs/deequ); what it does is followed from Deequ's source:

- types (Deequ ``DataType``): a value is Integral (``^(-|\\+)? ?\\d+$``), Fractional (with a
  ``.``) or String; the column is String if any value is, else Fractional if any value is, else
  Integral; Unknown when every value is missing.
- distribution (Deequ ``KLLSketch``, ``QuantileNonSample``, ``NonSampleCompactor``): a KLL sketch
  with k = 2048, c = 0.64, materialised as 10 equal-width buckets between min and max (the docs:
  "By default, it materializes the distribution in 10 buckets"); compaction offsets alternate as in
  Deequ (deterministic), the data are sketched in row order in one partition.
- drift (Deequ ``Distance.numericalDistance`` / ``categoricalLInfinityDistance``): linf_simple is
  the largest difference of the two CDFs at every item of either sketch; ``Robust`` subtracts the
  two-sample Kolmogorov-Smirnov term: max(0, linf_simple - 1.8 * sqrt((n + m) / (n * m))).
  A feature violates when the distance is above ``comparison_threshold`` (default 0.1);
  categorical features use ``categorical_comparison_threshold`` with ``LInfinity`` (the check is
  off without ``categorical_drift_method``, as the constraints docs say).
- suggested constraints: completeness 1.0 for a complete column (Deequ CompleteIfCompleteRule),
  else for an observed share 0.2 < p < 1 over n rows p - 1.96 * sqrt(p * (1 - p) / n) rounded
  down to 2 decimals (Deequ 2.0.2 RetainCompletenessRule), none below; is_non_negative = min >= 0;
  a String column gets ``domains`` when it has at most 120 distinct values (Deequ
  ``ColumnProfiler.DEFAULT_CARDINALITY_THRESHOLD``, above which no histogram exists) of which at
  most 10% occur once (Deequ ``CategoricalRangeRule``); monitoring_config as the prebuilt container
  suggests it (datatype and domain thresholds 1.0, comparison_threshold 0.1, ``Robust``).

Not evaluated: ``num_constraints.is_non_negative`` (none of the six documented check types covers
it) and ``categorical_drift_method: ChiSquared`` (refused with an error, not approximated).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

KLL_K = 2048  # Deequ's default sketch size, the ``k`` the analyzer writes
KLL_C = 0.64  # Deequ's default shrinking factor, ``c``
BUCKETS = 10  # "By default, it materializes the distribution in 10 buckets"
KS_C_ALPHA = 1.8  # Deequ Distance.defaultCAlpha (alpha = 0.003)
DOMAIN_MAX_DISTINCT = 120  # Deequ ColumnProfiler.DEFAULT_CARDINALITY_THRESHOLD
DOMAIN_MAX_SINGLETON_RATIO = 0.1  # Deequ CategoricalRangeRule
CHECK_TYPES = ("data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
               "extra_column_check", "categorical_values_check")  # fmt: skip
MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                 "comparison_method": "Robust", "categorical_comparison_threshold": 0.1,
                                 "categorical_drift_method": "LInfinity"},
}  # fmt: skip
"""The monitoring_config suggested with a baseline."""

_INTEGRAL = re.compile(r"^(-|\+)? ?\d+$")
_FRACTIONAL = re.compile(r"^(-|\+)? ?(\d+\.\d*|\d*\.\d+)([eE][-+]?\d+)?$")
NUMERIC_TYPES = ("Integral", "Fractional")


# -- types -------------------------------------------------------------------------------------


def value_type(text: str) -> str:
    """Integral, Fractional or String: one present value, as its CSV text."""
    if _INTEGRAL.match(text):
        return "Integral"
    return "Fractional" if _FRACTIONAL.match(text) else "String"


def _present(column: pd.Series) -> pd.Series:
    """The column without missing values (NaN, None, empty text)."""
    present = column[column.notna()]
    if present.dtype == object or pd.api.types.is_string_dtype(present.dtype):
        present = present[present.astype(str) != ""]
    return present


def type_counts(column: pd.Series) -> dict[str, int]:
    """Present values per type. Numbers typed by the frame: integers and whole floats Integral."""
    present = _present(column)
    if pd.api.types.is_bool_dtype(present.dtype):
        return {"Integral": 0, "Fractional": 0, "String": len(present)}
    if pd.api.types.is_numeric_dtype(present.dtype):
        values = present.to_numpy(dtype="float64")
        whole = int(np.count_nonzero(np.mod(values, 1) == 0))
        return {"Integral": whole, "Fractional": len(values) - whole, "String": 0}
    counts = present.astype(str).str.strip().map(value_type).value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in ("Integral", "Fractional", "String")}


def inferred_type(counts: Mapping[str, int]) -> str:
    """The column's type from its value types (Deequ DataType's rule)."""
    if counts.get("String", 0):
        return "String"
    if counts.get("Fractional", 0):
        return "Fractional"
    return "Integral" if counts.get("Integral", 0) else "Unknown"


# -- the KLL sketch (Deequ QuantileNonSample) ---------------------------------------------------


def _capacity(height: int, k: int = KLL_K, c: float = KLL_C) -> int:
    return 2 * (math.ceil(k * c**height / 2) + 1)


def kll_sketch(values: np.ndarray, k: int = KLL_K, c: float = KLL_C) -> list[list[float]]:
    """The compactors' items after sketching ``values`` in order (level h items weigh 2^h).

    Deequ's update appends to level 0 and condenses once the items outnumber the levels' total
    capacity: the lowest level at capacity is sorted and every other item (offset alternating as
    NonSampleCompactor does) moves up; an odd last item stays. Appends between condensations are
    made in one slice here, which gives the same sketch.
    """
    levels: list[list[float]] = [[]]
    compressions: list[int] = [0]
    offsets: list[int] = [0]
    size, i, n = 0, 0, len(values)
    while i < n:
        total = sum(_capacity(h, k, c) for h in range(len(levels)))
        take = min(n - i, total - size + 1)
        levels[0].extend(float(v) for v in values[i : i + take])
        i, size = i + take, size + take
        if size <= total:
            continue
        for h in range(len(levels)):
            if len(levels[h]) < _capacity(h, k, c):
                continue
            if h + 1 >= len(levels):
                levels.append([])
                compressions.append(0)
                offsets.append(0)
            buffer = levels[h]
            even = len(buffer) - len(buffer) % 2
            if compressions[h] % 2 == 1:
                offsets[h] = 1 - offsets[h]
            levels[h + 1].extend(sorted(buffer[:even])[offsets[h] : even : 2])
            levels[h] = buffer[even:]
            compressions[h] += 1
            size = sum(len(level) for level in levels)
            break
    return levels


def _weighted(sketch: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """The sketch's items sorted, and their weights (2^level)."""
    items = [(float(v), 1 << h) for h, level in enumerate(sketch) for v in level]
    items.sort(key=lambda pair: pair[0])
    return np.array([v for v, _ in items]), np.array([w for _, w in items], dtype="float64")


def _ranks(sketch: Sequence[Sequence[float]], points: np.ndarray, inclusive: bool) -> np.ndarray:
    """The weight of the items <= (inclusive) or < each point."""
    values, weights = _weighted(sketch)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    side = "right" if inclusive else "left"
    return cumulative[np.searchsorted(values, points, side=side)]


def kll_buckets(sketch: Sequence[Sequence[float]], low: float, high: float) -> list[dict[str, float]]:
    """Deequ KLLSketch.computeMetricFrom: equal-width buckets from the sketch's ranks (the last one
    closed)."""
    bounds = [low + (high - low) * i / BUCKETS for i in range(BUCKETS + 1)]
    exclusive = _ranks(sketch, np.array(bounds), inclusive=False)
    last = _ranks(sketch, np.array([high]), inclusive=True)[0]
    out = []
    for i in range(BUCKETS):
        upper = last if i == BUCKETS - 1 else exclusive[i + 1]
        out.append(
            {"lower_bound": bounds[i], "upper_bound": bounds[i + 1], "count": float(upper - exclusive[i])}
        )
    return out


# -- statistics.json ------------------------------------------------------------------------------


def _numeric(column: pd.Series, kind: str, missing: int) -> dict[str, Any]:
    values = pd.to_numeric(_present(column), errors="coerce").to_numpy(dtype="float64")
    sketch = kll_sketch(values)
    low, high = float(values.min()), float(values.max())
    return {
        "name": str(column.name),
        "inferred_type": kind,
        "numerical_statistics": {
            "common": {"num_present": len(values), "num_missing": missing},
            "mean": float(values.mean()),
            "sum": float(values.sum()),
            "std_dev": float(values.std()),  # population, as Deequ's StandardDeviation
            "min": low,
            "max": high,
            "distribution": {
                "kll": {
                    "buckets": kll_buckets(sketch, low, high),
                    "sketch": {"parameters": {"c": KLL_C, "k": float(KLL_K)}, "data": sketch},
                }
            },
        },
    }


def _string(column: pd.Series, kind: str, missing: int) -> dict[str, Any]:
    present = _present(column)
    boolean = pd.api.types.is_bool_dtype(present.dtype)
    counts = (present.map({True: "true", False: "false"}) if boolean else present.astype(str)).value_counts()
    ordered = sorted(counts.items(), key=lambda p: (-p[1], p[0]))
    buckets = [{"value": str(v), "count": int(n)} for v, n in ordered]
    return {
        "name": str(column.name),
        "inferred_type": kind,
        "string_statistics": {
            "common": {"num_present": len(present), "num_missing": missing},
            "distinct_count": len(counts),
            "distribution": {"categorical": {"buckets": buckets}},
        },
    }


def compute_statistics(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, Any]:
    """``statistics.json`` of ``columns`` of ``frame`` (all columns by default, in that order)."""
    names = list(frame.columns if columns is None else columns)
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise ValueError(f"columns not in the data: {absent}")
    features = []
    for name in names:
        column = frame[name]
        counts = type_counts(column)
        kind = inferred_type(counts)
        missing = len(frame) - sum(counts.values())
        profile = _numeric if kind in NUMERIC_TYPES else _string
        features.append(profile(column, kind, missing))
    return {"version": 0, "dataset": {"item_count": len(frame)}, "features": features}


def common(feature: Mapping[str, Any]) -> dict[str, int]:
    """A statistics feature's num_present and num_missing."""
    section = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    return dict(section.get("common") or {"num_present": 0, "num_missing": 0})


# -- constraints.json -----------------------------------------------------------------------------


def _suggest_domain(feature: Mapping[str, Any]) -> list[str] | None:
    stats = feature["string_statistics"]
    buckets = stats["distribution"]["categorical"]["buckets"]
    if not buckets or stats["distinct_count"] > DOMAIN_MAX_DISTINCT:
        return None
    once = sum(1 for b in buckets if b["count"] == 1)
    return sorted(b["value"] for b in buckets) if once / len(buckets) <= DOMAIN_MAX_SINGLETON_RATIO else None


def suggested_completeness(present: int, total: int) -> float | None:
    """Deequ's completeness suggestion (None: none, at or below 20% complete)."""
    p = present / total if total else 0.0
    if p >= 1.0 or p <= 0.2:
        return 1.0 if p >= 1.0 else None
    bound = Decimal(p - 1.96 * math.sqrt(p * (1 - p) / total))  # the binary double, exactly
    return float(bound.quantize(Decimal("0.01"), rounding=ROUND_DOWN))


def suggest_constraints(statistics: Mapping[str, Any]) -> dict[str, Any]:
    """``constraints.json`` suggested from a baseline's statistics."""
    features = []
    for feature in statistics["features"]:
        counts = common(feature)
        item: dict[str, Any] = {"name": feature["name"], "inferred_type": feature["inferred_type"]}
        completeness = suggested_completeness(
            counts["num_present"], counts["num_present"] + counts["num_missing"]
        )
        if completeness is not None:
            item["completeness"] = completeness
        if feature["inferred_type"] in NUMERIC_TYPES:
            item["num_constraints"] = {"is_non_negative": feature["numerical_statistics"]["min"] >= 0}
        elif feature["inferred_type"] == "String":
            domain = _suggest_domain(feature)
            if domain is not None:
                item["string_constraints"] = {"domains": domain}
        features.append(item)
    config = {
        **MONITORING_CONFIG,
        "distribution_constraints": dict(MONITORING_CONFIG["distribution_constraints"]),
    }
    return {"version": 0, "features": features, "monitoring_config": config}


# -- drift distances (Deequ Distance) -------------------------------------------------------------


def _robust(simple: float, n: float, m: float) -> float:
    return max(0.0, simple - KS_C_ALPHA * math.sqrt((n + m) / (n * m)))


def numerical_distance(
    sketch1: Sequence[Sequence[float]], sketch2: Sequence[Sequence[float]], method: str
) -> float:
    """linf_simple (``Simple``) or linf_robust (``Robust``) between two KLL sketches."""
    keys = np.union1d(_weighted(sketch1)[0], _weighted(sketch2)[0])
    r1, r2 = _ranks(sketch1, keys, True), _ranks(sketch2, keys, True)
    n, m = r1[-1], r2[-1]
    simple = float(np.max(np.abs(r1 / n - r2 / m))) if len(keys) else 0.0
    return simple if method == "Simple" else _robust(simple, n, m)


def categorical_distance(counts1: Mapping[str, int], counts2: Mapping[str, int], method: str) -> float:
    """L-infinity distance between two categorical frequency tables (``Simple`` or ``Robust``)."""
    n, m = float(sum(counts1.values())), float(sum(counts2.values()))
    simple = max(
        (abs(counts1.get(k, 0) / n - counts2.get(k, 0) / m) for k in set(counts1) | set(counts2)), default=0.0
    )
    return simple if method == "Simple" else _robust(simple, n, m)


# -- constraint_violations.json -------------------------------------------------------------------


def feature_config(constraints: Mapping[str, Any], feature: Mapping[str, Any]) -> dict[str, Any]:
    """monitoring_config with the feature's monitoringConfigOverrides applied."""
    config = {**MONITORING_CONFIG, **(constraints.get("monitoring_config") or {})}
    defaults = {
        k: v
        for k, v in MONITORING_CONFIG["distribution_constraints"].items()
        if k != "categorical_drift_method"
    }
    dist = {**defaults, **(config.get("distribution_constraints") or {})}
    overrides = feature.get("monitoringConfigOverrides") or {}
    dist.update(overrides.get("distribution_constraints") or {})
    config.update({k: v for k, v in overrides.items() if k != "distribution_constraints"})
    config["distribution_constraints"] = dist
    return config


def categories(feature: Mapping[str, Any]) -> dict[str, int]:
    """A String feature's value counts (its categorical buckets)."""
    buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
    return {str(b["value"]): int(b["count"]) for b in buckets}


def _type_match(current: Mapping[str, Any], expected: str) -> float:
    """The share of present values of the current feature that are of the ``expected`` type."""
    kind = current["inferred_type"]
    if (
        expected in ("String", "Unknown")
        or kind == expected
        or (kind, expected) == ("Integral", "Fractional")
    ):
        return 1.0
    if kind == "String":
        counts = categories(current)
        ok = {"Integral": ("Integral",), "Fractional": ("Integral", "Fractional")}[expected]
        matching = sum(n for v, n in counts.items() if value_type(v.strip()) in ok)
        return matching / max(sum(counts.values()), 1)
    if kind == "Fractional":  # expected Integral: the whole items' weight in the sketch
        values, weights = _weighted(current["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"])
        return float(weights[np.mod(values, 1) == 0].sum() / weights.sum()) if len(values) else 1.0
    return 0.0  # Unknown: nothing present


def _violation(name: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": name, "constraint_check_type": check, "description": description}


def _drift(current: Mapping[str, Any], baseline: Mapping[str, Any], config: Mapping[str, Any]) -> dict | None:
    dist = config["distribution_constraints"]
    if dist.get("perform_comparison", "Enabled") != "Enabled":
        return None
    method = dist.get("comparison_method", "Robust")
    if method not in ("Simple", "Robust"):
        raise ValueError(f"comparison_method {method!r}: Model Monitor takes Simple or Robust")
    name = current["name"]
    if current["inferred_type"] in NUMERIC_TYPES and baseline.get("inferred_type") in NUMERIC_TYPES:
        sketches = [
            f["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"] for f in (current, baseline)
        ]
        distance, threshold = (
            numerical_distance(*sketches, method),
            float(dist.get("comparison_threshold", 0.1)),
        )
    elif current["inferred_type"] == "String" and baseline.get("inferred_type") == "String":
        drift_method = dist.get("categorical_drift_method")
        if drift_method is None:
            return None
        if drift_method != "LInfinity":
            raise ValueError(
                f"categorical_drift_method {drift_method!r} is not supported here: use LInfinity"
            )
        distance = categorical_distance(categories(current), categories(baseline), method)
        threshold = float(dist.get("categorical_comparison_threshold", 0.1))
    else:
        return None
    if distance <= threshold:
        return None
    return _violation(
        name,
        "baseline_drift_check",
        f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g} ({method} L-infinity "
        "distance between the current and the baseline distribution)",
    )


def _feature_checks(
    feature: Mapping[str, Any], constraint: Mapping[str, Any], config: Mapping
) -> list[tuple]:
    """(check type, description) of one feature's data type, completeness and domain violations."""
    out = []
    want = constraint.get("inferred_type", "Unknown")
    match, threshold = _type_match(feature, want), float(config["datatype_check_threshold"])
    if match < threshold:
        out.append(("data_type_check", f"Data type match requirement is not met. Expected data type: {want}, "
                    f"Expected match: {threshold:.1%}. Observed: Only {match:.1%} of data is {want}."))  # fmt: skip
    counts = common(feature)
    total = counts["num_present"] + counts["num_missing"]
    complete = counts["num_present"] / total if total else 1.0
    if "completeness" in constraint and complete < float(constraint["completeness"]):
        out.append(("completeness_check", "Data completeness requirement is not met. Expected completeness: "
                    f"{float(constraint['completeness']):.1%}. Observed: Only {complete:.1%} of data is complete."))  # fmt: skip
    domain = (constraint.get("string_constraints") or {}).get("domains")
    if domain is not None and feature["inferred_type"] == "String":
        values, allowed = categories(feature), set(domain)
        share = sum(n for v, n in values.items() if v in allowed) / max(sum(values.values()), 1)
        threshold = float(config["domain_content_threshold"])
        if share < threshold:
            unknown = sorted(v for v in values if v not in allowed)[:5]
            out.append(("categorical_values_check", f"Data domain requirement is not met. Expected match: "
                        f"{threshold:.1%}. Observed: Only {share:.1%} of data is within the baseline domain; "
                        f"unknown values include {unknown}"))  # fmt: skip
    return out


def check_constraints(
    statistics: Mapping[str, Any],
    baseline_statistics: Mapping[str, Any] | None,
    constraints: Mapping[str, Any],
) -> list[dict[str, str]]:
    """The violations of ``constraints`` by the data ``statistics`` describe; drift against
    ``baseline_statistics`` (None: no drift check). Empty when evaluate_constraints is Disabled."""
    config = {**MONITORING_CONFIG, **(constraints.get("monitoring_config") or {})}
    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        return []
    current = {f["name"]: f for f in statistics["features"]}
    expected = {f["name"]: f for f in constraints["features"]}
    base = {f["name"]: f for f in (baseline_statistics or {}).get("features", [])}
    sizes = f"Number of columns in current dataset: {len(current)}, Number of columns in baseline constraints: {len(expected)}"
    out = [_violation(n, "missing_column_check", f"There are missing columns in current dataset. {sizes}")
           for n in expected if n not in current]  # fmt: skip
    out += [_violation(n, "extra_column_check", f"There are extra columns in current dataset. {sizes}")
            for n in current if n not in expected]  # fmt: skip
    for name, constraint in expected.items():
        if name not in current:
            continue
        settings = feature_config(constraints, constraint)
        out += [_violation(name, *found) for found in _feature_checks(current[name], constraint, settings)]
        drift = _drift(current[name], base[name], settings) if name in base else None
        if drift:
            out.append(drift)
    return out


_config, _categories = feature_config, categories  # the names `lgbm-pipeline monitor` first used


# -- reading the training split ------------------------------------------------------------------


def read_split(directory: Path, schema: Mapping[str, Any]) -> pd.DataFrame:
    """The features of every CSV in a preprocessing split dir (header, target first) as text, as
    Model Monitor's analyzer reads a CSV (empty fields missing), in the schema's order."""
    files = sorted(p for p in directory.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise ValueError(f"no CSV files in {directory.name}/")
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""]) for f in files]
    frame = pd.concat(frames, ignore_index=True)
    absent = [c for c in schema["features"] if c not in frame.columns]
    if absent:
        raise ValueError(f"features {absent} are not in the split's header {list(frame.columns)}")
    return frame[list(schema["features"])]
