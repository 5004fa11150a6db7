"""Bias metrics and SHAP explanations for the LightGBM model, as SageMaker Clarify computes them.

A stand-in for the SageMaker Clarify container in a ClarifyCheckStep, run in a scikit-learn
processing job (Python 3.9; lightgbm from requirements.txt) or on a laptop, on Clarify's inputs:
the model (``model.tar.gz`` or a dir with train.py's ``model.txt``, ``schema.json`` and
``metadata.json``), the dataset (every ``*.csv`` in the data dir, no header, columns = the
config's ``headers``; preprocessing.py writes ``clarify/clarify.csv``) and Clarify's
``analysis_config.json`` (``headers``, ``label``, ``label_values_or_threshold``, ``facet``,
``group_variable``, ``probability_threshold``, ``methods``). Under ``--output-dir`` it writes:

- ``analysis.json`` in Clarify's structure (``pre_training_bias_metrics`` /
  ``post_training_bias_metrics`` -> ``facets`` -> {facet: [{value_or_threshold, metrics: [{name,
  description, value}]}]}; ``explanations`` -> ``kernel_shap`` -> ``label0`` ->
  {``global_shap_values``, ``expected_value``}); as in Clarify, also the constraints of a new
  baseline (``CalculatedBaselineConstraints``; Model Monitor's ``suggested_constraints()``);
- ``drift_check_baseline.json`` (ClarifyCheckStep's ``BaselineUsedForDriftCheckConstraints``):
  this analysis when ``--register-new-baseline`` is true or there was no baseline, else the
  baseline it was checked against;
- ``violations.json`` in Model Monitor's schema, empty when nothing was compared;
- ``explanations_shap/out.csv``: the local SHAP values, one row per record, when
  ``methods.shap.save_local_shap_values`` is true, and with ``--report-data`` (the default);
- with ``--report-data`` (the default; ``--report-data false`` to leave it out), ``report_data.json``:
  what the run report shows besides these files. The project's report package renders the HTML and
  markdown report from this output dir (of each check) and never recomputes anything.

Facet *d* = rows whose facet value is one of the configured values (for one number on a numeric
facet: above it; without values: one-vs-rest for each value, sorted, where Clarify uses a
uniqueness heuristic), facet *a* = every other row; a label is positive when it is one of
``label_values_or_threshold`` (above it when that is one number); a prediction is positive when
the probability >= ``probability_threshold`` (default 0.5, Clarify's; the model's own threshold
when the predictor names a label instead). bias_metrics.py holds the metrics, clarify_baseline.py
the baseline rules and ClarifyCheckStep's semantics (both shipped with this script). SHAP values
are exact TreeSHAP from LightGBM (``pred_contrib``) on every row, in log-odds, as Clarify's
``use_logit: true``; KernelSHAP's settings (``num_samples``, ``seed``, ``baseline``,
``num_clusters``) do not apply; ``median`` aggregation is of the signed values (the
documentation's wording). DCAcc is written ``DCA``, as in Clarify's configs; both are accepted.

The baseline is ClarifyCheckStep's (clarify_baseline.resolve_baseline): the supplied one, else with
``--model-package-group`` the latest Approved package's, looked up with boto3 (IAM: see there).
Progress goes to stdout, the step log (step_common.Progress): rows read per data file, SHAP rows
done of the total (every ~10% or 5 s), rows written of the local SHAP values.

Exit status: 0 done (also with violations when skipped or not enforced), 1 bad input or no
baseline, 2 bad arguments, 3 check failed (one ``clarify_check: error: ...`` line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bias_metrics import (
    POST_TRAINING_NAMES,
    PRE_TRAINING_NAMES,
    BiasInputs,
    FacetSpec,
    facet_groups,
    flip_test_matrix,
    metric_entries,
    metric_names,
    positive_labels,
)
from clarify_baseline import (
    NDCG_THRESHOLD,
    SHAP_SECTION,
    judge,
    resolve_baseline,
    violation_line,
)
from step_common import (
    InputError,
    Model,
    Progress,
    json_number,
    load_json,
    load_model,
    new_parser,
    parse_bool,
    read_headerless,
    run_main,
    to_model_frame,
    violation_exit,
    write_csv,
)

PROG = "clarify_check"
DRIFT_BASELINE_FILE = "drift_check_baseline.json"
REPORT_DATA_FILE = "report_data.json"
DEFAULT_PROBABILITY_THRESHOLD = 0.5  # Clarify's default for ModelPredictedLabelConfig
SHAP_LABEL = "label0"
LOCAL_SHAP_FILE = Path("explanations_shap") / "out.csv"
CHECKS = ("bias", "explainability", "all")
SHAP_CHUNK_ROWS = 1000  # rows per pred_contrib call: at least this, at most ~1% of the rows


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(PROG, __doc__)
    p.add_argument("--check", choices=CHECKS, required=True)
    p.add_argument("--model-dir", default="/opt/ml/processing/model")
    p.add_argument("--data-dir", default="/opt/ml/processing/input/data")
    p.add_argument("--config", default="/opt/ml/processing/input/config/analysis_config.json")
    p.add_argument("--output-dir", default="/opt/ml/processing/output")
    p.add_argument("--baseline-constraints", default=None, help="constraints JSON (or a dir holding one)")
    p.add_argument("--model-package-group", default=None, help="else, the latest Approved baseline here")
    p.add_argument("--skip-check", type=parse_bool, default=False)
    p.add_argument("--register-new-baseline", type=parse_bool, default=False)
    p.add_argument("--fail-on-violation", type=parse_bool, default=True)
    p.add_argument("--bias-tolerance", type=float, default=0.0)
    p.add_argument("--ndcg-threshold", type=float, default=NDCG_THRESHOLD)
    p.add_argument("--report-data", type=parse_bool, nargs="?", const=True, default=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, build_parser().parse_args, run, argv)


# --------------------------------------------------------------------------------------------
# Analysis config
# --------------------------------------------------------------------------------------------


@dataclass
class AnalysisConfig:
    headers: list
    label: str
    label_values: Any  # list of values, or one number (threshold)
    facets: list = field(default_factory=list)
    group_variable: str | None = None
    probability_threshold: float | None = DEFAULT_PROBABILITY_THRESHOLD
    """None: predictions are the model's served labels (its own threshold in metadata.json)."""
    post_training: list | None = None  # metric names (canonical), None: not requested
    pre_training: list | None = None
    shap: dict | None = None
    label_headers: list | None = None


AGG_METHODS = ("mean_abs", "median", "mean_sq")


def _column_name(value: Any, headers: Sequence[str], what: str) -> str:
    """A column given by name or by 0-based index (Clarify's ``name_or_index``)."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a column name or index, got {value!r}")
    if isinstance(value, int):
        if not 0 <= value < len(headers):
            raise InputError(f"{what} index {value} is outside headers (0..{len(headers) - 1})")
        return str(headers[value])
    if str(value) not in headers:
        raise InputError(f"{what} '{value}' is not in headers {list(headers)}")
    return str(value)


def parse_config(raw: Mapping, schema: Mapping) -> AnalysisConfig:
    """Validate Clarify's analysis config against the model schema; defaults follow Clarify."""
    if not isinstance(raw, Mapping):
        raise InputError("analysis config must be a JSON object")
    headers = raw.get("headers") or [schema["target"], *schema["features"]]
    if not isinstance(headers, list) or len(set(map(str, headers))) != len(headers):
        raise InputError("analysis config 'headers' must be a list of distinct column names")
    headers = [str(h) for h in headers]
    label = _column_name(raw.get("label", schema["target"]), headers, "label")
    missing = [f for f in schema["features"] if f not in headers]
    if missing:
        raise InputError(f"model features {missing} are not in the analysis config headers {headers}")
    methods = raw.get("methods") or {}
    if not isinstance(methods, Mapping):
        raise InputError("analysis config 'methods' must be an object")
    facets = []
    for i, item in enumerate(raw.get("facet") or []):
        if not isinstance(item, Mapping) or "name_or_index" not in item:
            raise InputError(f"facet[{i}] needs 'name_or_index'")
        name = _column_name(item["name_or_index"], headers, f"facet[{i}]")
        if name == label:
            raise InputError(f"facet '{name}' is the label column")
        values = item.get("value_or_threshold")
        if values is not None and not isinstance(values, list):
            values = [values]
        facets.append(FacetSpec(name, values or None))
    group = raw.get("group_variable")
    label_values = raw.get("label_values_or_threshold", [1])
    if isinstance(label_values, list) and not label_values:
        raise InputError("label_values_or_threshold must not be empty")
    # Clarify reads the predicted label from the model's output when the predictor names a label
    # column and no probability_threshold is given; here that label is probability >= the model's
    # own threshold (inference.py's rule), so None stands for "the model's threshold".
    uses_model_label = "probability_threshold" not in raw and "label" in (raw.get("predictor") or {})
    try:
        threshold = (
            None
            if uses_model_label
            else float(raw.get("probability_threshold", DEFAULT_PROBABILITY_THRESHOLD))
        )
    except (TypeError, ValueError):
        raise InputError(
            f"probability_threshold must be a number, got {raw.get('probability_threshold')!r}"
        ) from None
    shap = methods.get("shap")
    if shap is not None:
        shap = dict(shap) if isinstance(shap, Mapping) else {}
        agg = shap.get("agg_method", "mean_abs")
        if agg not in AGG_METHODS:
            raise InputError(f"methods.shap.agg_method must be one of {', '.join(AGG_METHODS)}, got '{agg}'")
    return AnalysisConfig(
        headers=headers,
        label=label,
        label_values=label_values,
        facets=facets,
        group_variable=_column_name(group, headers, "group_variable") if group is not None else None,
        probability_threshold=threshold,
        post_training=metric_names(methods["post_training_bias"], POST_TRAINING_NAMES, "post_training_bias")
        if methods.get("post_training_bias") is not None
        else None,
        pre_training=metric_names(methods["pre_training_bias"], PRE_TRAINING_NAMES, "pre_training_bias")
        if methods.get("pre_training_bias") is not None
        else None,
        shap=shap,
        label_headers=list(raw["label_headers"]) if raw.get("label_headers") else None,
    )


# --------------------------------------------------------------------------------------------
# Data, bias and SHAP
# --------------------------------------------------------------------------------------------


def bias_sections(
    frame: pd.DataFrame, config: AnalysisConfig, schema: Mapping, predicted: np.ndarray | None
) -> dict:
    """``pre_training_bias_metrics`` / ``post_training_bias_metrics`` as requested by the config."""
    if not config.facets:
        raise InputError("the analysis config has no 'facet' to measure bias against")
    labels = frame[config.label]
    if labels.isna().any():
        raise InputError(f"label column '{config.label}' has {int(labels.isna().sum())} missing values")
    y, label_text = positive_labels(labels, config.label_values)
    group = frame[config.group_variable] if config.group_variable else None
    stages = [
        ("pre_training_bias_metrics", config.pre_training),
        ("post_training_bias_metrics", config.post_training),
    ]
    out: dict[str, Any] = {}
    for key, names in stages:
        if names is None:
            continue
        facets: dict[str, list] = {}
        for spec in config.facets:
            numeric = spec.name in schema.get("numeric", [])
            matrix = None
            if "FT" in names:
                matrix = flip_test_matrix(frame, schema, exclude=[spec.name, config.label])
            entries = []
            for text, d in facet_groups(frame[spec.name], spec, numeric):
                inputs = BiasInputs(d=d, y=y, yhat=predicted, group=group, features=matrix)
                entries.append({"value_or_threshold": text, "metrics": metric_entries(names, inputs)})
            facets[spec.name] = entries
        out[key] = {"label": config.label, "label_value_or_threshold": label_text, "facets": facets}
    return out


def tree_shap(booster: Any, features: pd.DataFrame, progress: bool = False) -> tuple[np.ndarray, float]:
    """Per-row SHAP values (n x features, log-odds) and the expected value, from ``pred_contrib``.

    For every row, ``values.sum() + expected_value`` is the model's raw margin (local accuracy).
    Rows go to LightGBM in chunks (rows are independent), so that ``progress`` lines can be printed.
    """
    rows, parts = len(features), []
    chunk = max(SHAP_CHUNK_ROWS, -(-rows // 100))
    shown = Progress(PROG, "SHAP", rows) if progress else None
    for start in range(0, rows, chunk):
        parts.append(np.asarray(booster.predict(features.iloc[start : start + chunk], pred_contrib=True)))
        if shown is not None:
            shown.update(min(start + chunk, rows))
    contrib = np.vstack(parts).astype("float64") if parts else np.empty((0, 0))
    if contrib.ndim != 2 or contrib.shape[0] == 0 or contrib.shape[1] != features.shape[1] + 1:
        raise InputError(
            f"unexpected pred_contrib shape {contrib.shape} (a binary LightGBM model is expected)"
        )
    return contrib[:, :-1], float(contrib[0, -1])


def aggregate_shap(values: np.ndarray, method: str) -> np.ndarray:
    """Global SHAP per feature: mean of |v| (mean_abs), median of v (median) or mean of v^2 (mean_sq)."""
    if method == "mean_abs":
        return np.mean(np.abs(values), axis=0)
    if method == "median":
        return np.median(values, axis=0)
    if method == "mean_sq":
        return np.mean(values**2, axis=0)
    raise InputError(f"unknown SHAP aggregation '{method}' (expected one of {', '.join(AGG_METHODS)})")


def explanations_section(
    names: Sequence[str], global_values: np.ndarray, expected: float, label: str
) -> dict:
    """Clarify's ``explanations`` section for one output."""
    return {
        SHAP_SECTION: {
            label: {
                "global_shap_values": {n: float(v) for n, v in zip(names, global_values)},
                "expected_value": float(expected),
            }
        }
    }


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def effective_threshold(config: AnalysisConfig, metadata: Mapping) -> float:
    """The probability at or above which a prediction is positive for the bias metrics."""
    if config.probability_threshold is not None:
        return config.probability_threshold
    try:
        return float(metadata["threshold"])
    except (KeyError, TypeError, ValueError):
        raise InputError(
            "the analysis config uses the model's labels but metadata.json has no threshold"
        ) from None


def explain(
    booster: Any, features: pd.DataFrame, config: AnalysisConfig, out: Path, save_local: bool
) -> dict:
    """SHAP values for every row; returns what the analysis and the report need of them."""
    shap_cfg = config.shap or {}
    values, expected = tree_shap(booster, features, progress=True)
    agg = shap_cfg.get("agg_method", "mean_abs")
    names = list(features.columns)
    if save_local or shap_cfg.get("save_local_shap_values"):
        (out / LOCAL_SHAP_FILE).parent.mkdir(parents=True, exist_ok=True)
        write_csv(
            pd.DataFrame(values, columns=names), out / LOCAL_SHAP_FILE, PROG, name=LOCAL_SHAP_FILE.as_posix()
        )
    ignored = [k for k in ("num_samples", "seed", "baseline", "num_clusters") if k in shap_cfg]
    if ignored or not shap_cfg.get("use_logit", False):
        print(
            f"{PROG}: SHAP by exact TreeSHAP in log-odds units (as use_logit: true); "
            f"KernelSHAP settings not used: {', '.join(ignored) or 'none'}"
        )
    return {
        "names": names,
        "agg_method": agg,
        "expected_value": expected,
        "global_values": aggregate_shap(values, agg),
        "label": (config.label_headers or [SHAP_LABEL])[0],
    }


def report_meta(args: argparse.Namespace, model: Model, config: AnalysisConfig, rows: int) -> dict:
    """The facts about the run the report states beside the metrics."""
    metadata = model.metadata
    return {
        "check": args.check,
        "model": f"LightGBM ({model.booster.num_trees()} trees, {len(model.schema['features'])} features)",
        "rows": rows,
        "threshold": effective_threshold(config, metadata),
        "threshold_source": "the model's served labels"
        if config.probability_threshold is None
        else "the analysis config",
        "label": config.label,
        "model_threshold": json_number(metadata.get("threshold")) if isinstance(metadata, dict) else None,
        "label_value": ",".join(str(v) for v in config.label_values)
        if isinstance(config.label_values, list)
        else f"> {config.label_values}",
    }


def aws_clients() -> tuple[Any, Any]:
    import boto3  # in the scikit-learn image; only a job that looks its baseline up needs it

    return boto3.client("sagemaker"), boto3.client("s3")


def run(args: argparse.Namespace) -> int:
    checks = ("bias", "explainability") if args.check == "all" else (args.check,)
    model = load_model(Path(args.model_dir))
    schema = model.schema
    config = parse_config(load_json(Path(args.config), "analysis config"), schema)
    if "bias" in checks and config.pre_training is None and config.post_training is None:
        raise InputError("the analysis config has no methods.post_training_bias or methods.pre_training_bias")
    if "explainability" in checks and config.shap is None:
        raise InputError("the analysis config has no methods.shap section")
    found = resolve_baseline(args, aws_clients)  # before the work: a missing baseline fails fast
    frame = read_headerless(Path(args.data_dir), config.headers, schema, PROG)
    try:
        features = to_model_frame(frame, schema)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot build the model input: {exc}") from None
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    analysis: dict[str, Any] = {"version": "1.0"}
    shap = None
    if "bias" in checks:
        predicted = None
        if config.post_training is not None:
            proba = np.asarray(model.booster.predict(features), dtype="float64")
            predicted = proba >= effective_threshold(config, model.metadata)
        analysis.update(bias_sections(frame, config, schema, predicted))
    if "explainability" in checks:
        shap = explain(model.booster, features, config, out, save_local=args.report_data)
        analysis["explanations"] = explanations_section(
            shap["names"], shap["global_values"], shap["expected_value"], shap["label"]
        )
    _write_json(out / "analysis.json", analysis)

    explained = None if shap is None else (shap["label"], dict(zip(shap["names"], shap["global_values"])))
    verdict = judge(analysis, found, checks, args, explained)
    _write_json(out / "violations.json", {"version": "1.0", "violations": verdict.violations})
    _write_json(out / DRIFT_BASELINE_FILE, verdict.drift_baseline)
    status, note, violations = verdict.status, verdict.note, verdict.violations
    if args.report_data:
        report = {
            "meta": report_meta(args, model, config, len(frame)),
            "status": status,
            "baseline_note": note,
            "baseline": found[0],
            "data": str(Path(args.data_dir).resolve()),
            "headers": config.headers,
            "numeric": list(schema.get("numeric", [])),
            "shap": None
            if shap is None
            else {
                "label": shap["label"],
                "agg_method": shap["agg_method"],
                "ndcg": verdict.ndcg,
                "ndcg_threshold": args.ndcg_threshold,
                "values": LOCAL_SHAP_FILE.as_posix(),
            },
        }
        _write_json(out / REPORT_DATA_FILE, report)

    print(f"{PROG}: {args.check}: {len(frame)} rows; wrote {out / 'analysis.json'}")
    print(f"{PROG}: {status}: {note}")
    if verdict.fails:
        return violation_exit(PROG, violation_line(violations[0], len(violations), out / "violations.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
