"""The four comparisons of captured traffic with a model package's baselines.

Each is computed by the code the pipeline's own steps use (imported by bundled.py), so the same
data gives the same numbers here and in the baseline jobs:

- **Data quality** (Model Monitor's data-quality monitor): step_scripts/data_quality.py's
  ``compute_statistics`` of the captured features, then ``check_constraints`` against the
  registered ``DriftCheckBaselines.ModelDataQuality`` statistics and constraints: data type,
  completeness, domain, missing/extra columns, and baseline drift (Deequ's L-infinity distance,
  ``Robust`` by default, above ``comparison_threshold`` 0.1 / ``categorical_comparison_threshold``
  0.1: the thresholds in the constraints' ``monitoring_config``). Every feature's distance is
  reported with ``numerical_distance`` / ``categorical_distance``, whether it violates or not.
- **Prediction drift** (defined here): the captured ``probability`` against the registered model's
  probabilities on the test split (sources.baseline_predictions), by the same numerical distance and
  threshold as a numeric feature; the captured ``label`` against the baseline's labels by the
  categorical L-infinity distance and threshold. A violation is a ``baseline_drift_check`` on the
  output column, in data-quality format: what Model Monitor reports when the output columns are in
  the baseline.
- **Bias drift** (Clarify's ModelBiasMonitor), with ground truth only: the registered bias config
  (``Bias.ConfigFile``: label, facets, label values) and the metrics the registered baseline holds
  (``Bias.PostTrainingConstraints``), computed by clarify_check.bias_sections on the captured rows
  with the ground-truth label and the endpoint's own served labels as predictions; a metric
  violates when it is farther from its ideal than the baseline (clarify_baseline.compare_bias).
- **Feature-attribution drift** (Clarify's ModelExplainabilityMonitor): exact TreeSHAP
  (clarify_check.tree_shap, aggregated as the registered ``Explainability.ConfigFile`` says) on at
  most ``SHAP_ROWS`` captured rows (a seeded sample beyond that), and the nDCG of the global
  ranking against the baseline's (clarify_baseline.ndcg: nDCG = DCG/iDCG, DCG = sum
  a(f'_i)/log2(i + 1) over the current ranking with the baseline attributions a, AWS "Feature
  attribution drift for models in production"). AWS, "Model Feature Attribution Drift Violations"
  (clarify-model-monitor-model-attribution-drift-violations.html): "For each label in the
  explanations section, the monitoring jobs calculate the nDCG score of its global SHAP values in
  the baseline constraints file and in the job analysis results file (analysis.json). If the score
  is less than 0.9, then a violation is logged." (clarify_baseline.NDCG_THRESHOLD).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .bundled import module

SHAP_ROWS = 2000
SHAP_SEED = 0


@dataclass
class CheckResult:
    """One comparison: its status, its Model Monitor violations and what the report shows."""

    name: str
    status: str  # "violations", "passed" or "not computed"
    violations: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _status(violations: list) -> str:
    return "violations" if violations else "passed"


def _feature_config(constraints: Mapping, name: str) -> dict[str, Any]:
    dq = module("data_quality")
    feature = next((f for f in constraints.get("features", []) if f.get("name") == name), {})
    return dq.feature_config(constraints, feature)["distribution_constraints"]


def _distance(
    dq: Any, current: Mapping, baseline: Mapping, config: Mapping
) -> tuple[str, float, float] | None:
    """(kind, distance, threshold) of one feature's drift, as data_quality measures it; None when
    the two are not both numeric or both categorical."""
    method = config.get("comparison_method", "Robust")
    numeric = dq.NUMERIC_TYPES
    if current["inferred_type"] in numeric and baseline.get("inferred_type") in numeric:
        sketches = [
            f["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"] for f in (current, baseline)
        ]
        return (
            "numeric",
            dq.numerical_distance(*sketches, method),
            float(config.get("comparison_threshold", 0.1)),
        )
    if current["inferred_type"] == "String" and baseline.get("inferred_type") == "String":
        counts = [dq.categories(f) for f in (current, baseline)]
        threshold = float(config.get("categorical_comparison_threshold", 0.1))
        return "categorical", dq.categorical_distance(*counts, method), threshold
    return None


def _summary(feature: Mapping) -> dict[str, Any]:
    """What the report plots of one statistics feature: KLL buckets or category counts."""
    if "numerical_statistics" in feature:
        stats = feature["numerical_statistics"]
        return {"kind": "numeric", "mean": stats["mean"], "buckets": stats["distribution"]["kll"]["buckets"]}
    buckets = ((feature.get("string_statistics") or {}).get("distribution") or {}).get("categorical", {})
    return {"kind": "categorical", "counts": {b["value"]: b["count"] for b in buckets.get("buckets", [])}}


def data_quality(features: pd.DataFrame, statistics: Mapping, constraints: Mapping) -> CheckResult:
    """Model Monitor's data-quality check of the captured features (text, as captured)."""
    dq = module("data_quality")
    current = dq.compute_statistics(features)
    violations = dq.check_constraints(current, statistics, constraints)
    base = {f["name"]: f for f in statistics.get("features", [])}
    rows = []
    for feature in current["features"]:
        name = feature["name"]
        measured = None
        if name in base:
            measured = _distance(dq, feature, base[name], _feature_config(constraints, name))
        checks = sorted(v["constraint_check_type"] for v in violations if v["feature_name"] == name)
        rows.append(
            {
                "feature": name,
                "kind": measured[0] if measured else None,
                "distance": measured[1] if measured else None,
                "threshold": measured[2] if measured else None,
                "violations": checks,
                "current": _summary(feature),
                "baseline": _summary(base[name]) if name in base else None,
            }
        )
    return CheckResult(
        "data quality", _status(violations), violations, details={"features": rows, "statistics": current}
    )


def prediction_drift(
    captured: pd.DataFrame, reference: pd.DataFrame | None, constraints: Mapping | None, where: str
) -> CheckResult:
    """Captured probabilities and labels against the registered model's test-split predictions."""
    if reference is None:
        return CheckResult("prediction drift", "not computed", note=f"no baseline predictions ({where})")
    dq = module("data_quality")
    config = _feature_config(constraints or {}, "probability")
    violations, rows = [], []
    for column, kind in (("probability", "numeric"), ("label", "categorical")):
        now, then = captured[column], reference[column]
        if kind == "numeric":
            sketches = [dq.kll_sketch(s.to_numpy(dtype="float64")) for s in (now, then)]
            distance = dq.numerical_distance(*sketches, config.get("comparison_method", "Robust"))
            threshold = float(config.get("comparison_threshold", 0.1))
        else:
            counts = [{str(k): int(n) for k, n in s.astype(int).value_counts().items()} for s in (now, then)]
            distance = dq.categorical_distance(*counts, config.get("comparison_method", "Robust"))
            threshold = float(config.get("categorical_comparison_threshold", 0.1))
        rows.append(
            {
                "output": column,
                "distance": distance,
                "threshold": threshold,
                "current_mean": float(now.mean()),
                "baseline_mean": float(then.mean()),
                "current": now.to_numpy(dtype="float64"),
                "baseline": then.to_numpy(dtype="float64"),
            }
        )
        if distance > threshold:
            violations.append(
                {
                    "feature_name": column,
                    "constraint_check_type": "baseline_drift_check",
                    "description": f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g} "
                    f"(model output {column}: captured vs the registered model's test-split predictions)",
                }
            )
    note = f"{len(captured)} captured vs {len(reference)} baseline predictions ({where})"
    return CheckResult("prediction drift", _status(violations), violations, note, {"outputs": rows})


def _config(raw: Mapping, schema: Mapping, extra: Mapping | None = None) -> Any:
    clarify_check, step_common = module("clarify_check"), module("step_common")
    try:
        return clarify_check.parse_config({**raw, **(extra or {})}, schema)
    except step_common.InputError as err:
        raise ValueError(f"the registered analysis config: {err}") from None


def bias_drift(
    captured: pd.DataFrame, labels: pd.Series | None, config_raw: Mapping, baseline: Mapping, schema: Mapping
) -> CheckResult:
    """The registered bias metrics on the captured rows with their ground truth."""
    if labels is None:
        return CheckResult("bias drift", "not computed", note="no ground truth (--ground-truth FILE)")
    clarify_check, clarify_baseline = module("clarify_check"), module("clarify_baseline")
    names = sorted(
        {
            metric["name"]
            for entries in (baseline.get("post_training_bias_metrics") or {}).get("facets", {}).values()
            for entry in entries
            for metric in entry.get("metrics", [])
        }
    )
    if not names:
        return CheckResult(
            "bias drift", "not computed", note="the bias baseline has no post-training metrics"
        )
    config = _config(config_raw, schema, {"methods": {"post_training_bias": {"methods": names}}})
    known = labels.notna().to_numpy()
    frame = captured.loc[known].assign(**{config.label: labels[known].to_numpy()})
    predicted = frame["label"].to_numpy(dtype="int64") == 1  # the endpoint's own served labels
    analysis = clarify_check.bias_sections(frame, config, schema, predicted)
    violations = clarify_baseline.compare_bias(analysis, baseline)
    note = (
        f"{int(known.sum())} of {len(captured)} captured rows have ground truth; metrics {', '.join(names)}"
    )
    return CheckResult("bias drift", _status(violations), violations, note, {"analysis": analysis})


def attribution_drift(
    model: Any, captured: pd.DataFrame, config_raw: Mapping, baseline: Mapping
) -> CheckResult:
    """nDCG of the captured rows' global SHAP ranking against the registered explainability baseline."""
    clarify_check, clarify_baseline = module("clarify_check"), module("clarify_baseline")
    inference, step_common = module("inference"), module("step_common")
    schema = model.schema
    # The registered explainability config (ModelExplainabilityMonitor's: headers of the features,
    # methods.shap) names no label: only its SHAP settings apply here.
    shap_config = (config_raw.get("methods") or {}).get("shap") or {}
    agg = shap_config.get("agg_method", "mean_abs")
    if agg not in clarify_check.AGG_METHODS:
        raise ValueError(
            f"the registered explainability config: methods.shap.agg_method {agg!r} is not one of "
            f"{', '.join(clarify_check.AGG_METHODS)}"
        )
    rows = captured
    if len(rows) > SHAP_ROWS:
        rows = rows.sample(n=SHAP_ROWS, random_state=SHAP_SEED).sort_index()
    texts = rows[list(schema["features"])].copy()
    for name in schema["categorical"]:
        texts[name] = [inference._category(v) for v in texts[name]]
    try:
        features = step_common.to_model_frame(texts, schema)
    except ValueError as err:
        raise ValueError(f"captured rows the model cannot take: {err}") from None
    values, expected = clarify_check.tree_shap(model.booster, features)
    label = (config_raw.get("label_headers") or [clarify_check.SHAP_LABEL])[0]
    names = list(features.columns)
    current = dict(zip(names, (float(v) for v in clarify_check.aggregate_shap(values, agg)), strict=True))
    analysis = {
        "explanations": clarify_check.explanations_section(
            names, np.array(list(current.values())), expected, label
        )
    }
    threshold = clarify_baseline.NDCG_THRESHOLD
    violations = clarify_baseline.compare_explanations(analysis, baseline, threshold)
    score = clarify_baseline.ndcg_against(baseline, label, current)
    base = ((baseline.get("explanations") or {}).get(clarify_baseline.SHAP_SECTION) or {}).get(label) or {}
    note = f"TreeSHAP on {len(rows)} of {len(captured)} captured rows ({agg}); nDCG threshold {threshold:g}"
    details = {
        "ndcg": None if score is None or math.isnan(score) else score,
        "threshold": threshold,
        "current": current,
        "baseline": base.get("global_shap_values") or {},
    }
    return CheckResult("feature attribution drift", _status(violations), violations, note, details)


def ground_truth_labels(captured: pd.DataFrame, truth: Mapping[str, list[str]]) -> pd.Series:
    """Each captured row's label from ground truth keyed by inferenceId (else eventId), as Model
    Monitor merges them; a record's ``data`` holds one label per row of its request (CSV lines)."""
    key = captured["_inference_id"].where(captured["_inference_id"].notna(), captured["_event_id"])
    labels: list[Any] = [None] * len(captured)
    for event, group in captured.groupby(key.to_numpy(), sort=False):
        values = truth.get(str(event))
        if values is None:
            continue
        if len(values) != len(group):
            raise ValueError(
                f"ground truth for event {event} has {len(values)} label(s) but the request had {len(group)} row(s)"
            )
        for index, value in zip(group.index, values, strict=True):
            labels[captured.index.get_loc(index)] = value
    return pd.Series(labels, index=captured.index, dtype=object)
