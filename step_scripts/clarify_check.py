"""Bias metrics and SHAP explanations for the LightGBM model, as SageMaker Clarify computes them.

A stand-in for the SageMaker Clarify container in a ClarifyCheckStep: it runs in a SageMaker
scikit-learn processing job (Python 3.9; pandas, numpy, scikit-learn; lightgbm from
requirements.txt; jinja2 only for ``--report``) or on a laptop, and reads the same inputs:

- the model: ``model.tar.gz`` or an extracted dir with ``model.txt``, ``schema.json`` and
  ``metadata.json`` (written by train.py);
- the dataset: every ``*.csv`` in the data dir, no header, columns = the analysis config's
  ``headers`` (preprocessing.py writes ``clarify/clarify.csv``: the target, then the features);
- the analysis config: SageMaker Clarify's ``analysis_config.json`` (``headers``, ``label``,
  ``label_values_or_threshold``, ``facet``, ``group_variable``, ``probability_threshold``,
  ``methods.post_training_bias`` / ``methods.pre_training_bias`` / ``methods.shap``).

It writes, under ``--output-dir``:

- ``analysis.json``: Clarify's structure (``post_training_bias_metrics`` /
  ``pre_training_bias_metrics`` -> ``facets`` -> {facet: [{value_or_threshold, metrics: [{name,
  description, value}]}]}, and ``explanations`` -> ``kernel_shap`` -> ``label0`` ->
  {``global_shap_values``, ``expected_value``}). As in Clarify, this file is also the
  constraints file of a new baseline (``CalculatedBaselineConstraints``; Model Monitor's
  ``suggested_constraints()`` reads ``analysis.json``);
- ``drift_check_baseline.json``: the constraints later drift checks use (ClarifyCheckStep's
  ``BaselineUsedForDriftCheckConstraints``): this run's analysis when ``--register-new-baseline``
  is true or there was no baseline, else the baseline it was checked against;
- ``violations.json``: Model Monitor's violations schema (``bias_drift_check`` /
  ``feature_attribution_drift_check``), empty when nothing was compared;
- ``explanations_shap/out.csv``: local SHAP values, one row per record, when
  ``methods.shap.save_local_shap_values`` is true;
- ``report.html`` + ``report.md`` with ``--report``.

Definitions follow the SageMaker Clarify documentation for a binary label: facet *d* = rows
whose facet value is one of the configured values (or above the threshold for a numeric facet
given one number), facet *a* = every other row; a label is positive when it is one of
``label_values_or_threshold`` (or above it when that is a single number); a prediction is
positive when the model's probability >= ``probability_threshold`` (default 0.5, Clarify's).
Interpretations where the documentation leaves room are stated at each function; in short:

- a value whose formula divides by zero, or needs a facet group that is empty, is undefined:
  NaN in Python, ``null`` in JSON with an ``error`` text (Clarify's MetricError shape). Clarify's
  code instead returns 0 for 0/0 and +/-Infinity for x/0;
- label distributions for KL/JS/LP/TVD/KS are over {negative, positive} with 0*log(0) = 0;
  KL is undefined (NaN) when P_d(y) = 0 < P_a(y);
- FT follows the documentation's sign (F+ = d members predicted negative whose k nearest a
  neighbours are predicted positive), with k = 5 (1 when facet a has <= 9 rows) on
  standardised numeric features and one-hot categoricals (Clarify's code refuses
  non-numeric columns and counts the flips with the opposite sign);
- CDDL/CDDPL need ``group_variable``; without it they are undefined; a subgroup without
  accepted (or without rejected) rows adds 0 for that proportion, as in Clarify's code;
- SHAP values are exact TreeSHAP from LightGBM (``pred_contrib``) on every row, in log-odds
  (raw margin) units, as Clarify's ``use_logit: true``; ``num_samples``, ``seed``, ``baseline``
  and ``num_clusters`` (KernelSHAP settings) do not apply; ``median`` aggregation is the
  median of the signed values (the documentation's wording);
- DCAcc is written ``DCA`` (the name in Clarify's configs and analysis.json); both are accepted;
- a facet without values is analysed one-vs-rest for each of its values (sorted); one number
  on a numeric facet is a threshold (Clarify chooses by a uniqueness heuristic instead);
- baseline checks: a bias metric violates when it is farther from its ideal than the
  baseline's value (Model Monitor's rule: |value| > |baseline| + tolerance; for DI, the ideal
  is 1 and the distance is |ln DI|); the explainability check computes the nDCG of the
  current global-SHAP ranking against the baseline's attributions (by magnitude) and
  violates below 0.90.

ClarifyCheckStep semantics: without ``--baseline-constraints`` nothing is compared; with
``--skip-check true`` violations are recorded but never fail the step (nor does an unusable
baseline); otherwise a violation fails the step unless ``--fail-on-violation false``.

Exit status: 0 done (also with violations when skipped or not enforced), 1 bad input,
2 bad arguments, 3 check failed (one ``clarify_check: error: ...`` line on stderr).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np
import pandas as pd

PROG = "clarify_check"
MODEL_FILES = ("model.txt", "schema.json", "metadata.json")
DRIFT_BASELINE_FILE = "drift_check_baseline.json"
EXIT_INPUT, EXIT_VIOLATION = 1, 3
DEFAULT_PROBABILITY_THRESHOLD = 0.5  # Clarify's default for ModelPredictedLabelConfig
NDCG_THRESHOLD = 0.90  # Model Monitor's feature attribution drift threshold
FOUR_FIFTHS = (0.8, 1.25)
FT_NEIGHBORS, FT_MIN_NEIGHBORS, FT_SMALL_FACET = 5, 1, 9
SHAP_SECTION, SHAP_LABEL = "kernel_shap", "label0"
LOCAL_SHAP_FILE = Path("explanations_shap") / "out.csv"
CHECKS = ("bias", "explainability", "all")


class InputError(Exception):
    """Bad arguments or bad data: reported as one line on stderr, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_bool(text: str) -> bool:
    """Parse ``true``/``false`` (also yes/no, 1/0), case-insensitively."""
    value = str(text).strip().strip('"').lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--check", choices=CHECKS, required=True)
    p.add_argument("--model-dir", default="/opt/ml/processing/model")
    p.add_argument("--data-dir", default="/opt/ml/processing/input/data")
    p.add_argument("--config", default="/opt/ml/processing/input/config/analysis_config.json")
    p.add_argument("--output-dir", default="/opt/ml/processing/output")
    p.add_argument("--baseline-constraints", default=None, help="constraints JSON (or a dir holding one)")
    p.add_argument("--skip-check", type=parse_bool, default=False)
    p.add_argument("--register-new-baseline", type=parse_bool, default=False)
    p.add_argument("--fail-on-violation", type=parse_bool, default=True)
    p.add_argument("--bias-tolerance", type=float, default=0.0)
    p.add_argument("--ndcg-threshold", type=float, default=NDCG_THRESHOLD)
    p.add_argument("--report", type=parse_bool, nargs="?", const=True, default=False)
    return p


# --------------------------------------------------------------------------------------------
# Analysis config
# --------------------------------------------------------------------------------------------


@dataclass
class FacetSpec:
    name: str
    values: list | None  # None: one-vs-rest for every value


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


POST_TRAINING_NAMES = ("AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE")
PRE_TRAINING_NAMES = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
ALIASES = {"DCACC": "DCA"}  # Clarify's docs say DCAcc; configs and analysis.json say DCA
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


def _method_list(section: Any, known: Sequence[str], stage: str) -> list:
    """``{"methods": "all" | [names]}`` -> canonical metric names, in Clarify's (alphabetical) order."""
    methods = section.get("methods", "all") if isinstance(section, Mapping) else section
    if isinstance(methods, str):
        methods = list(known) if methods.strip().lower() == "all" else [methods]
    if not isinstance(methods, list) or not methods:
        raise InputError(f'methods.{stage}.methods must be "all" or a non-empty list of metric names')
    out = []
    for name in methods:
        canonical = ALIASES.get(str(name).strip().upper(), str(name).strip().upper())
        if canonical not in known:
            raise InputError(f"unknown {stage} metric '{name}' (known: {', '.join(known)})")
        if canonical not in out:
            out.append(canonical)
    return sorted(out)


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
        post_training=_method_list(methods["post_training_bias"], POST_TRAINING_NAMES, "post_training_bias")
        if methods.get("post_training_bias") is not None
        else None,
        pre_training=_method_list(methods["pre_training_bias"], PRE_TRAINING_NAMES, "pre_training_bias")
        if methods.get("pre_training_bias") is not None
        else None,
        shap=shap,
        label_headers=list(raw["label_headers"]) if raw.get("label_headers") else None,
    )


# --------------------------------------------------------------------------------------------
# Model and data (model loading and model input copied from evaluate.py: one file per job)
# --------------------------------------------------------------------------------------------


def extract_model(archive: Path, destination: Path) -> Path:
    """Extract model.tar.gz safely (no absolute paths, no ``..``, no links) and return the dir."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise InputError(f"refusing unsafe entry '{member.name}' in '{archive.name}'")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.9.17 / 3.12
                tar.extractall(destination, members=members, filter="data")
            else:
                tar.extractall(destination, members=members)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"cannot extract '{archive}': {exc}") from None
    return destination


def find_model_dir(model_dir: Path, scratch: Path) -> Path:
    """The directory holding model.txt: ``model_dir`` itself, or ``model.tar.gz`` extracted into scratch."""
    if (model_dir / "model.txt").is_file():
        root = model_dir
    elif (model_dir / "model.tar.gz").is_file():
        root = extract_model(model_dir / "model.tar.gz", scratch)
    else:
        raise InputError(f"neither model.tar.gz nor model.txt found in model dir '{model_dir}'")
    missing = [name for name in MODEL_FILES if not (root / name).is_file()]
    if missing:
        raise InputError(f"model is missing {', '.join(missing)} (expected the output of train.py)")
    return root


def to_model_frame(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Features in schema order: categoricals with the schema levels (unseen -> NaN), numerics float."""
    out = {}
    for name in schema["features"]:
        levels = schema["categorical"].get(name)
        if levels is None:
            out[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        else:
            codes = pd.Index(levels).get_indexer(frame[name])  # unseen or missing -> -1 (NaN)
            out[name] = pd.Categorical.from_codes(codes, categories=levels)
    return pd.DataFrame(out, index=frame.index)


def read_dataset(data_dir: Path, headers: Sequence[str], schema: Mapping) -> pd.DataFrame:
    """Every ``*.csv`` (or ``*.csv.gz``) in the dir, or one file; no header; numeric columns parsed."""
    if data_dir.is_file():
        files = [data_dir]
    elif data_dir.is_dir():
        files = sorted(f for f in data_dir.iterdir() if f.is_file() and f.name.endswith((".csv", ".csv.gz")))
    else:
        raise InputError(f"data path '{data_dir}' does not exist")
    if not files:
        raise InputError(f"no CSV files in data dir '{data_dir}'")
    frames = []
    for f in files:
        try:
            frame = pd.read_csv(
                f, header=None, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
            )
        except pd.errors.EmptyDataError:
            continue
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise InputError(
                f"cannot read data file '{f.name}': {str(exc).strip() or type(exc).__name__}"
            ) from None
        if frame.shape[1] != len(headers):
            raise InputError(
                f"data file '{f.name}' has {frame.shape[1]} columns but the analysis config lists "
                f"{len(headers)} headers"
            )
        frame.columns = list(headers)
        frames.append(frame)
    if not frames or sum(len(f) for f in frames) == 0:
        raise InputError(f"no data rows in '{data_dir}'")
    frame = pd.concat(frames, ignore_index=True)
    for name in schema.get("numeric", []):
        if name in frame.columns:
            try:
                frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
            except (TypeError, ValueError) as exc:
                raise InputError(f"numeric column '{name}' has a non-numeric value: {exc}") from None
    return frame


def _norm(value: Any) -> str | None:
    """A comparable text for a cell or a configured value: 1, 1.0, "1" and " 1" are the same."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isnan(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


def value_mask(values: pd.Series, wanted: Sequence[Any]) -> np.ndarray:
    """Boolean mask: cells equal to one of ``wanted`` (numbers and their texts compare equal)."""
    targets = {_norm(v) for v in wanted} - {None}
    codes, uniques = pd.factorize(values)  # missing -> -1 in pandas 1.x to 3.x
    hit = np.array([_norm(u) in targets for u in uniques] + [False], dtype=bool)
    return hit[codes]  # code -1 (missing) picks the trailing False


def _single_number(values: Any) -> float | None:
    """The threshold when ``values`` is one number (or a one-element list holding one)."""
    if isinstance(values, list):
        if len(values) != 1:
            return None
        values = values[0]
    if isinstance(values, bool):
        return None
    try:
        return float(values)
    except (TypeError, ValueError):
        return None


def positive_labels(values: pd.Series, label_values: Any) -> tuple[np.ndarray, str]:
    """Positive-label mask and Clarify's ``label_value_or_threshold`` text.

    A list of values selects by membership; a bare number on a numeric column is a threshold
    (label > threshold is positive, Clarify's interval ``(threshold, max]``).
    """
    if not isinstance(label_values, list):
        threshold = _single_number(label_values)
        numbers = pd.to_numeric(values, errors="coerce")
        if threshold is not None and numbers.notna().all():
            mask = (numbers > threshold).to_numpy(dtype=bool)
            return mask, f"({threshold:g}, {float(numbers.max()):g}]"
        label_values = [label_values]
    return value_mask(values, label_values), ",".join(str(v) for v in label_values)


def facet_groups(values: pd.Series, spec: FacetSpec, numeric: bool) -> list[tuple[str, np.ndarray]]:
    """(value_or_threshold text, mask of facet d) for each analysis of one facet column.

    - configured values on a categorical column: d = rows holding one of them (one analysis);
    - one number on a numeric column: d = rows above it, Clarify's interval ``(t, max]``;
    - no values: one-vs-rest for every distinct value, in sorted order (Clarify: order of
      appearance).
    Rows with a missing facet value are never in d.
    """
    if spec.values is None:
        distinct = sorted({t for t in (_norm(v) for v in pd.unique(values)) if t is not None}, key=_sort_key)
        return [(text, value_mask(values, [text])) for text in distinct]
    threshold = _single_number(spec.values) if numeric else None
    if threshold is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        mask = (numbers > threshold).fillna(False).to_numpy(dtype=bool)
        return [(f"({threshold:g}, {float(numbers.max()):g}]", mask)]
    return [(",".join(str(v) for v in spec.values), value_mask(values, spec.values))]


def _sort_key(text: str) -> tuple:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


# --------------------------------------------------------------------------------------------
# Bias metrics: pure functions of boolean arrays (d = facet d, y = positive label,
# yhat = positive prediction). Each returns a float, NaN where the value is undefined.
# --------------------------------------------------------------------------------------------

NAN = float("nan")


def _div(num: float, den: float) -> float:
    """num / den, NaN when den is 0 (undefined; Clarify's code returns 0 for 0/0 and inf for x/0)."""
    return float(num) / float(den) if den else NAN


def _groups_ok(d: np.ndarray) -> bool:
    """Both facets non-empty (Clarify raises "Facet set is empty" otherwise)."""
    n_d = int(np.count_nonzero(d))
    return 0 < n_d < len(d)


def _confusion(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> dict[str, dict[str, int]]:
    """TP/FP/FN/TN and sizes for facet a (``~d``) and facet d."""
    out = {}
    for name, member in (("a", ~d), ("d", d)):
        out[name] = {
            "n": int(np.count_nonzero(member)),
            "TP": int(np.count_nonzero(member & y & yhat)),
            "FP": int(np.count_nonzero(member & ~y & yhat)),
            "FN": int(np.count_nonzero(member & y & ~yhat)),
            "TN": int(np.count_nonzero(member & ~y & ~yhat)),
        }
    return out


def class_imbalance(d: np.ndarray) -> float:
    """CI = (n_a - n_d) / (n_a + n_d)."""
    if not _groups_ok(d):
        return NAN
    n_d = int(np.count_nonzero(d))
    n_a = len(d) - n_d
    return (n_a - n_d) / (n_a + n_d)


def positive_proportion_difference(d: np.ndarray, outcome: np.ndarray) -> float:
    """q_a - q_d with q = share of positive outcomes: DPL on labels, DPPL on predictions."""
    if not _groups_ok(d):
        return NAN
    return float(np.mean(outcome[~d])) - float(np.mean(outcome[d]))


def _label_distributions(d: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_a and P_d over (negative, positive) labels."""
    q_a, q_d = float(np.mean(y[~d])), float(np.mean(y[d]))
    return np.array([1.0 - q_a, q_a]), np.array([1.0 - q_d, q_d])


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """sum p log(p/q) with 0 log 0 = 0; NaN (infinite) when q = 0 < p."""
    total = 0.0
    for pi, qi in zip(p, q):
        if pi > 0:
            if qi <= 0:
                return NAN
            total += pi * math.log(pi / qi)
    return total


def kl_divergence(d: np.ndarray, y: np.ndarray) -> float:
    """KL = sum_y P_a(y) ln(P_a(y) / P_d(y)) (natural log, as Clarify)."""
    if not _groups_ok(d):
        return NAN
    return _kl(*_label_distributions(d, y))


def js_divergence(d: np.ndarray, y: np.ndarray) -> float:
    """JS = 1/2 [KL(P_a, P) + KL(P_d, P)] with P = (P_a + P_d) / 2."""
    if not _groups_ok(d):
        return NAN
    p_a, p_d = _label_distributions(d, y)
    mid = (p_a + p_d) / 2.0
    return 0.5 * (_kl(p_a, mid) + _kl(p_d, mid))


def lp_norm(d: np.ndarray, y: np.ndarray, p: float = 2.0) -> float:
    """LP = (sum_y |P_a(y) - P_d(y)|^p)^(1/p), p = 2 (Clarify's LP)."""
    if not _groups_ok(d):
        return NAN
    p_a, p_d = _label_distributions(d, y)
    return float(np.sum(np.abs(p_a - p_d) ** p) ** (1.0 / p))


def total_variation_distance(d: np.ndarray, y: np.ndarray) -> float:
    """TVD = 1/2 sum_y |P_a(y) - P_d(y)|."""
    if not _groups_ok(d):
        return NAN
    p_a, p_d = _label_distributions(d, y)
    return 0.5 * float(np.sum(np.abs(p_a - p_d)))


def kolmogorov_smirnov(d: np.ndarray, y: np.ndarray) -> float:
    """KS = max_y |P_a(y) - P_d(y)|."""
    if not _groups_ok(d):
        return NAN
    p_a, p_d = _label_distributions(d, y)
    return float(np.max(np.abs(p_a - p_d)))


def conditional_demographic_disparity(d: np.ndarray, outcome: np.ndarray, group: pd.Series | None) -> float:
    """CDD = (1/n) sum_i n_i DD_i over the subgroups i of ``group`` (CDDL on labels, CDDPL on predictions).

    DD_i = n_d(0)_i / n(0)_i - n_d(1)_i / n(1)_i: facet d's share of the rejected minus its share
    of the accepted in subgroup i. Interpretations: undefined without a group variable or when
    the whole dataset has no positive or no negative outcome; a subgroup with no rejected (or
    no accepted) rows contributes 0 for that share (Clarify's code); rows whose group value is
    missing are left out, and n counts the rows with a group.
    """
    if group is None or not _groups_ok(d):
        return NAN
    if not outcome.any() or outcome.all():
        return NAN
    codes, _ = pd.factorize(group)
    codes = np.asarray(codes)
    total, weighted = 0, 0.0
    for code in np.unique(codes[codes >= 0]):
        member = codes == code
        n_i = int(np.count_nonzero(member))
        rejected, accepted = member & ~outcome, member & outcome
        share_rejected = _div(np.count_nonzero(rejected & d), np.count_nonzero(rejected))
        share_accepted = _div(np.count_nonzero(accepted & d), np.count_nonzero(accepted))
        dd = (0.0 if math.isnan(share_rejected) else share_rejected) - (
            0.0 if math.isnan(share_accepted) else share_accepted
        )
        total += n_i
        weighted += n_i * dd
    return _div(weighted, total)


def disparate_impact(d: np.ndarray, yhat: np.ndarray) -> float:
    """DI = q'_d / q'_a (share of positive predictions); undefined when q'_a = 0."""
    if not _groups_ok(d):
        return NAN
    return _div(float(np.mean(yhat[d])), float(np.mean(yhat[~d])))


def conditional_acceptance_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """DCA (DCAcc) = c_a - c_d with c = n(1) / n'(1): observed over predicted acceptances."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    accept = {g: _div(c[g]["TP"] + c[g]["FN"], c[g]["TP"] + c[g]["FP"]) for g in "ad"}
    return accept["a"] - accept["d"]


def conditional_rejection_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """DCR = r_d - r_a with r = n(0) / n'(0): observed over predicted rejections."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    reject = {g: _div(c[g]["TN"] + c[g]["FP"], c[g]["TN"] + c[g]["FN"]) for g in "ad"}
    return reject["d"] - reject["a"]


def recall_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """RD = TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d)."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    recall = {g: _div(c[g]["TP"], c[g]["TP"] + c[g]["FN"]) for g in "ad"}
    return recall["a"] - recall["d"]


def acceptance_rate_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """DAR = TP_a / n'_a(1) - TP_d / n'_d(1) (difference in precision)."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    rate = {g: _div(c[g]["TP"], c[g]["TP"] + c[g]["FP"]) for g in "ad"}
    return rate["a"] - rate["d"]


def rejection_rate_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """DRR = TN_d / n'_d(0) - TN_a / n'_a(0) (difference in negative predictive value)."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    rate = {g: _div(c[g]["TN"], c[g]["TN"] + c[g]["FN"]) for g in "ad"}
    return rate["d"] - rate["a"]


def accuracy_difference(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """AD = ACC_a - ACC_d."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    acc = {g: _div(c[g]["TP"] + c[g]["TN"], c[g]["n"]) for g in "ad"}
    return acc["a"] - acc["d"]


def treatment_equality(d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """TE = FN_d / FP_d - FN_a / FP_a; undefined when a facet has no false positive."""
    if not _groups_ok(d):
        return NAN
    c = _confusion(d, y, yhat)
    return _div(c["d"]["FN"], c["d"]["FP"]) - _div(c["a"]["FN"], c["a"]["FP"])


def flip_test(d: np.ndarray, yhat: np.ndarray, features: np.ndarray | None) -> float:
    """FT = (F+ - F-) / n_d (the documentation's counterfactual fliptest).

    For each member of facet d, the model's predictions for its k nearest members of facet a
    vote (majority) on what it would have got as a member of a. F+ counts d members predicted
    negative whose a-neighbours are predicted positive, F- the reverse. Interpretations: k = 5,
    or 1 when facet a has at most 9 rows (Clarify's code); Euclidean distance on the matrix
    given (see :func:`flip_test_matrix`); Clarify's code counts the flips with the opposite sign.
    """
    if features is None or features.shape[1] == 0 or not _groups_ok(d):
        return NAN
    from sklearn.neighbors import KNeighborsClassifier  # lazy: only FT needs it

    a_rows, d_rows = features[~d], features[d]
    a_pred = yhat[~d].astype(int)
    k = FT_NEIGHBORS if len(a_rows) > FT_SMALL_FACET else FT_MIN_NEIGHBORS
    if len(np.unique(a_pred)) == 1:
        as_a = np.full(len(d_rows), a_pred[0])  # every neighbour votes the same
    else:
        knn = KNeighborsClassifier(n_neighbors=min(k, len(a_rows)), algorithm="brute")
        as_a = knn.fit(a_rows, a_pred).predict(d_rows)
    own = yhat[d].astype(int)
    f_plus = int(np.count_nonzero((own == 0) & (as_a == 1)))
    f_minus = int(np.count_nonzero((own == 1) & (as_a == 0)))
    return (f_plus - f_minus) / len(d_rows)


def flip_test_matrix(frame: pd.DataFrame, schema: Mapping, exclude: Sequence[str]) -> np.ndarray:
    """FT's distance space: numeric features standardised (missing -> median), categoricals one-hot."""
    n = len(frame)
    blocks = []
    for name in schema["features"]:
        if name in exclude:
            continue
        levels = schema["categorical"].get(name)
        if levels is not None:
            codes = pd.Index(levels).get_indexer(frame[name])
            onehot = np.zeros((n, len(levels)))
            known = codes >= 0
            onehot[np.nonzero(known)[0], codes[known]] = 1.0
            blocks.append(onehot)
        else:
            x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
            if np.isnan(x).all():
                continue
            x = np.where(np.isnan(x), np.nanmedian(x), x)
            sd = float(x.std())
            blocks.append(((x - x.mean()) / sd if sd > 0 else np.zeros(n))[:, None])
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


@dataclass
class BiasInputs:
    d: np.ndarray
    y: np.ndarray
    yhat: np.ndarray | None = None
    group: pd.Series | None = None
    features: np.ndarray | None = None


METRICS: dict[str, tuple[str, Callable[[BiasInputs], float]]] = {
    # pre-training
    "CI": ("Class Imbalance (CI)", lambda b: class_imbalance(b.d)),
    "DPL": (
        "Difference in Positive Proportions in Labels (DPL)",
        lambda b: positive_proportion_difference(b.d, b.y),
    ),
    "KL": ("Kullback-Leibler Divergence (KL)", lambda b: kl_divergence(b.d, b.y)),
    "JS": ("Jensen-Shannon Divergence (JS)", lambda b: js_divergence(b.d, b.y)),
    "LP": ("L-p Norm (LP)", lambda b: lp_norm(b.d, b.y, 2.0)),
    "TVD": ("Total Variation Distance (TVD)", lambda b: total_variation_distance(b.d, b.y)),
    "KS": ("Kolmogorov-Smirnov Distance (KS)", lambda b: kolmogorov_smirnov(b.d, b.y)),
    "CDDL": (
        "Conditional Demographic Disparity in Labels (CDDL)",
        lambda b: conditional_demographic_disparity(b.d, b.y, b.group),
    ),
    # post-training
    "DPPL": (
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
        lambda b: positive_proportion_difference(b.d, b.yhat),
    ),
    "DI": ("Disparate Impact (DI)", lambda b: disparate_impact(b.d, b.yhat)),
    "DCA": (
        "Difference in Conditional Acceptance (DCA)",
        lambda b: conditional_acceptance_difference(b.d, b.y, b.yhat),
    ),
    "DCR": (
        "Difference in Conditional Rejection (DCR)",
        lambda b: conditional_rejection_difference(b.d, b.y, b.yhat),
    ),
    "RD": ("Recall Difference (RD)", lambda b: recall_difference(b.d, b.y, b.yhat)),
    "DAR": ("Difference in Acceptance Rates (DAR)", lambda b: acceptance_rate_difference(b.d, b.y, b.yhat)),
    "DRR": ("Difference in Rejection Rates (DRR)", lambda b: rejection_rate_difference(b.d, b.y, b.yhat)),
    "AD": ("Accuracy Difference (AD)", lambda b: accuracy_difference(b.d, b.y, b.yhat)),
    "TE": ("Treatment Equality (TE)", lambda b: treatment_equality(b.d, b.y, b.yhat)),
    "FT": ("Flip Test (FT)", lambda b: flip_test(b.d, b.yhat, b.features)),
    "CDDPL": (
        "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
        lambda b: conditional_demographic_disparity(b.d, b.yhat, b.group),
    ),
}


def _why_undefined(name: str, inputs: BiasInputs) -> str:
    if not _groups_ok(inputs.d):
        return "Facet set is empty" if not inputs.d.any() else "Negated facet set is empty"
    if name in ("CDDL", "CDDPL") and inputs.group is None:
        return "Group variable is empty or not provided"
    return "undefined: a denominator is zero for this data"


def metric_entries(names: Sequence[str], inputs: BiasInputs) -> list[dict]:
    """Clarify's ``[{name, description, value}]`` (``value: null`` + ``error`` when undefined)."""
    out = []
    for name in names:
        description, compute = METRICS[name]
        value = compute(inputs)
        entry: dict[str, Any] = {"name": name, "description": description, "value": _json_number(value)}
        if entry["value"] is None:
            entry["error"] = _why_undefined(name, inputs)
        out.append(entry)
    return out


def _json_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


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


# --------------------------------------------------------------------------------------------
# SHAP (exact TreeSHAP from LightGBM)
# --------------------------------------------------------------------------------------------


def tree_shap(booster: Any, features: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Per-row SHAP values (n x features, log-odds) and the expected value, from ``pred_contrib``.

    For every row, ``values.sum() + expected_value`` is the model's raw margin (local accuracy).
    """
    contrib = np.asarray(booster.predict(features, pred_contrib=True), dtype="float64")
    if contrib.ndim != 2 or contrib.shape[1] != features.shape[1] + 1:
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
# Baseline checks
# --------------------------------------------------------------------------------------------


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """nDCG of the current ranking, with the baseline's attributions as relevance.

    Features are ranked by |global SHAP| (magnitudes, so ``median`` values rank too); DCG sums
    a(f'_i) / log2(i + 1) over the current ranking f', iDCG the same over the baseline's own
    ranking, where a(f) is the baseline attribution. A feature missing on one side counts 0.
    Ties rank by feature name. Undefined (NaN) when every baseline attribution is 0.
    """
    names = sorted(set(baseline) | set(current))
    relevance = {n: abs(_json_number(baseline.get(n)) or 0.0) for n in names}
    score = {n: abs(_json_number(current.get(n)) or 0.0) for n in names}

    def dcg(order: Sequence[str]) -> float:
        return sum(relevance[n] / math.log2(i + 2) for i, n in enumerate(order))

    ideal = dcg(sorted(names, key=lambda n: (-relevance[n], n)))
    return dcg(sorted(names, key=lambda n: (-score[n], n))) / ideal if ideal > 0 else NAN


def distance_from_ideal(name: str, value: float) -> float:
    """How far a bias metric is from no bias: |ln DI| for DI (ideal 1), |value| for the rest (ideal 0)."""
    if name == "DI":
        return abs(math.log(value)) if value > 0 else math.inf
    return abs(value)


def _metric_values(section: Mapping) -> dict[tuple[str, str, str], float | None]:
    out = {}
    for facet, entries in (section.get("facets") or {}).items():
        for entry in entries or []:
            for metric in entry.get("metrics") or []:
                name = ALIASES.get(str(metric.get("name", "")).upper(), str(metric.get("name", "")).upper())
                value = metric.get("value")
                if isinstance(value, str) and value.lstrip("+-").lower() == "infinity":
                    value = -math.inf if value.startswith("-") else math.inf
                number = value if isinstance(value, float) and math.isinf(value) else _json_number(value)
                out[(str(facet), str(entry.get("value_or_threshold")), name)] = number
    return out


def compare_bias(analysis: Mapping, baseline: Mapping, tolerance: float = 0.0) -> list[dict]:
    """Model Monitor's bias drift check: a metric violates when it is farther from its ideal than the baseline."""
    violations = []
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if key not in analysis or key not in baseline:
            continue
        base = _metric_values(baseline[key])
        for (facet, value_text, name), value in _metric_values(analysis[key]).items():
            reference = base.get((facet, value_text, name))
            if value is None or reference is None:
                continue  # undefined on either side: nothing to compare
            if distance_from_ideal(name, value) > distance_from_ideal(name, reference) + tolerance:
                ideal = "1" if name == "DI" else "0"
                violations.append(
                    {
                        "facet": facet,
                        "facet_value": value_text,
                        "metric_name": name,
                        "constraint_check_type": "bias_drift_check",
                        "description": f"Metric value {value:.6g} is farther from {ideal} than the baseline "
                        f"constraint {reference:.6g}",
                        "value": value,
                        "baseline_value": reference,
                    }
                )
    return violations


def compare_explanations(
    analysis: Mapping, baseline: Mapping, threshold: float = NDCG_THRESHOLD
) -> list[dict]:
    """Model Monitor's feature attribution drift check: nDCG(baseline, current) < threshold per label."""
    current = (analysis.get("explanations") or {}).get(SHAP_SECTION) or {}
    reference = (baseline.get("explanations") or {}).get(SHAP_SECTION) or {}
    violations = []
    for label, base in sorted(reference.items()):
        if label not in current:
            continue
        score = ndcg(base.get("global_shap_values") or {}, current[label].get("global_shap_values") or {})
        if not math.isnan(score) and score < threshold:
            violations.append(
                {
                    "label": label,
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {score:.6g} exceeds threshold {threshold:g}",
                    "value": score,
                    "baseline_value": threshold,
                }
            )
    return violations


def load_baseline(path: Path) -> dict | None:
    """The constraints JSON; a directory must hold analysis.json, constraints.json or exactly one *.json.

    A directory without any JSON file means no baseline (None): a pipeline can always map a
    baseline input and leave it empty for the first run.
    """
    if path.is_dir():
        candidates = [path / "analysis.json", path / "constraints.json"]
        found = [c for c in candidates if c.is_file()] or sorted(path.glob("*.json"))
        if not found:
            return None
        if len(found) != 1 and not (found and found[0] in candidates):
            raise InputError(
                f"baseline dir '{path}' must hold analysis.json, constraints.json or one *.json file"
            )
        path = found[0]
    if not path.is_file():
        raise InputError(f"baseline constraints '{path}' does not exist")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"baseline constraints '{path.name}' is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"baseline constraints '{path.name}' must be a JSON object")
    return data or None  # {}: the compiler's "no baseline" placeholder for a baseline parameter


def check_baseline(
    analysis: Mapping, baseline: Mapping, checks: Sequence[str], tolerance: float, ndcg_threshold: float
) -> list[dict]:
    """Every violation of the baseline for the sections this run computed."""
    violations = []
    if "bias" in checks:
        keys = [k for k in ("pre_training_bias_metrics", "post_training_bias_metrics") if k in analysis]
        if not any(k in baseline for k in keys):
            raise InputError(f"baseline constraints have none of the bias sections {keys}")
        violations += compare_bias(analysis, baseline, tolerance)
    if "explainability" in checks:
        if SHAP_SECTION not in (baseline.get("explanations") or {}):
            raise InputError(f"baseline constraints have no explanations.{SHAP_SECTION} section")
        violations += compare_explanations(analysis, baseline, ndcg_threshold)
    return violations


def violation_line(violation: Mapping, total: int, where: Path) -> str:
    """The single stderr line that names the metric, its value and the baseline."""
    more = f" ({total} violations, see {where})" if total > 1 else f" (see {where})"
    if violation["constraint_check_type"] == "bias_drift_check":
        ideal = "1" if violation["metric_name"] == "DI" else "0"
        return (
            f"bias check failed: {violation['metric_name']} for {violation['facet']}={violation['facet_value']} "
            f"is {violation['value']:.4f}, farther from {ideal} than the baseline {violation['baseline_value']:.4f}"
            + more
        )
    return (
        f"explainability check failed: nDCG of the SHAP feature ranking against the baseline is "
        f"{violation['value']:.4f}, below the threshold {violation['baseline_value']:.2f} "
        f"(label {violation['label']})" + more
    )


# --------------------------------------------------------------------------------------------
# Plots: small inline SVG, no plotting library
# --------------------------------------------------------------------------------------------

SVG_FONT = "font-family='Helvetica,Arial,sans-serif' font-size='12'"
BLUE, RED, GREY, GREEN = "#1f77b4", "#d62728", "#7f7f7f", "#2ca02c"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _nice_limit(value: float) -> float:
    """A round axis limit >= value (1, 2, 2.5, 5 x 10^k)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def svg_bias_bars(
    metrics: Sequence[Mapping], baseline: Mapping[str, float] | None = None, width: int = 560
) -> str:
    """Diverging bars around 0 for the difference metrics (DI has its own chart), baseline ticks."""
    rows = [m for m in metrics if m["name"] != "DI"]
    if not rows:
        return ""
    baseline = baseline or {}
    left, right, row_h, top = 70, 70, 22, 24
    height = top + row_h * len(rows) + 28
    values = [abs(m["value"]) for m in rows if m["value"] is not None]
    shown = [baseline.get(m["name"]) for m in rows]
    values += [abs(v) for v in shown if v is not None and math.isfinite(v)]
    limit = _nice_limit(max(values + [0.1]) * 1.05)
    plot_w = width - left - right
    zero = left + plot_w / 2

    def x(v: float) -> float:
        return zero + (max(-limit, min(limit, v)) / limit) * (plot_w / 2)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<text x='{zero:.1f}' y='14' text-anchor='middle' fill='#333'>value (0 = no bias)</text>",
    ]
    for tick in (-limit, -limit / 2, 0, limit / 2, limit):
        tx = x(tick)
        parts.append(f"<line x1='{tx:.1f}' y1='{top - 4}' x2='{tx:.1f}' y2='{height - 24}' stroke='#ddd'/>")
        parts.append(f"<text x='{tx:.1f}' y='{height - 8}' text-anchor='middle' fill='#555'>{tick:g}</text>")
    for i, m in enumerate(rows):
        y = top + i * row_h
        parts.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end'>{_esc(m['name'])}</text>")
        if m["value"] is None:
            parts.append(f"<text x='{zero + 6:.1f}' y='{y + 15}' fill='{GREY}'>undefined</text>")
        else:
            v = m["value"]
            x0, x1 = sorted((zero, x(v)))
            colour = RED if v > 0 else BLUE
            parts.append(
                f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row_h - 8}' fill='{colour}' "
                f"opacity='0.8'><title>{_esc(m['name'])} = {v:.4f}</title></rect>"
            )
            label_x = x(v) + (6 if v >= 0 else -6)
            anchor = "start" if v >= 0 else "end"
            parts.append(f"<text x='{label_x:.1f}' y='{y + 15}' text-anchor='{anchor}'>{v:.3f}</text>")
        ref = baseline.get(m["name"])
        if ref is not None and math.isfinite(ref):
            bx = x(ref)
            parts.append(
                f"<line x1='{bx:.1f}' y1='{y + 1}' x2='{bx:.1f}' y2='{y + row_h - 1}' stroke='#000' stroke-width='2'>"
                f"<title>baseline {ref:.4f}</title></line>"
            )
    parts.append(f"<line x1='{zero:.1f}' y1='{top - 4}' x2='{zero:.1f}' y2='{height - 24}' stroke='#333'/>")
    parts.append("</svg>")
    return "".join(parts)


def svg_disparate_impact(value: float | None, baseline: float | None = None, width: int = 560) -> str:
    """DI on a 0..max scale with the four-fifths band [0.8, 1.25] marked."""
    left, right, height = 70, 70, 78
    hi = max(1.5, (value or 0) * 1.1, (baseline or 0) * 1.1)
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + max(0.0, min(hi, v)) / hi * plot_w

    low, high = FOUR_FIFTHS
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<rect x='{x(low):.1f}' y='16' width='{x(high) - x(low):.1f}' height='34' fill='{GREEN}' opacity='0.15'/>",
        f"<line x1='{x(low):.1f}' y1='12' x2='{x(low):.1f}' y2='54' stroke='{GREEN}' stroke-dasharray='4 3'/>",
        f"<line x1='{x(high):.1f}' y1='12' x2='{x(high):.1f}' y2='54' stroke='{GREEN}' stroke-dasharray='4 3'/>",
        f"<line x1='{x(1):.1f}' y1='16' x2='{x(1):.1f}' y2='50' stroke='#333'/>",
        f"<text x='{x(low):.1f}' y='10' text-anchor='middle' fill='{GREEN}'>0.8</text>",
        f"<text x='{x(high):.1f}' y='10' text-anchor='middle' fill='{GREEN}'>1.25</text>",
        f"<text x='{(x(low) + x(high)) / 2:.1f}' y='10' text-anchor='middle' fill='{GREEN}'>four-fifths rule</text>",
        f"<line x1='{left}' y1='50' x2='{left + plot_w}' y2='50' stroke='#999'/>",
        f"<text x='{left - 8}' y='38' text-anchor='end'>DI</text>",
    ]
    for tick in (0, 0.5, 1.0, 1.5) + ((hi,) if hi > 1.5 else ()):
        parts.append(f"<text x='{x(tick):.1f}' y='76' text-anchor='middle' fill='#555'>{tick:g}</text>")
    if value is None:
        parts.append(f"<text x='{left + 6}' y='38' fill='{GREY}'>undefined</text>")
    else:
        inside = low <= value <= high
        colour = GREEN if inside else RED
        parts.append(
            f"<rect x='{left}' y='24' width='{max(x(value) - left, 1):.1f}' height='18' fill='{colour}' opacity='0.8'>"
            f"<title>DI = {value:.4f}</title></rect>"
        )
        parts.append(f"<text x='{x(value) + 6:.1f}' y='38'>{value:.3f}</text>")
    if baseline is not None and math.isfinite(baseline):
        parts.append(
            f"<line x1='{x(baseline):.1f}' y1='20' x2='{x(baseline):.1f}' y2='46' stroke='#000' stroke-width='2'>"
            f"<title>baseline {baseline:.4f}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_importance(global_values: Mapping[str, float], top: int = 20, width: int = 560) -> str:
    """Horizontal bars of global SHAP values, largest magnitude first."""
    items = sorted(global_values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]
    if not items:
        return ""
    left, right, row_h, top_pad = 150, 70, 20, 8
    height = top_pad + row_h * len(items) + 24
    limit = max(abs(v) for _, v in items) or 1.0
    plot_w = width - left - right
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>"
    ]
    for i, (name, v) in enumerate(items):
        y = top_pad + i * row_h
        w = abs(v) / limit * plot_w
        parts.append(f"<text x='{left - 8}' y='{y + 14}' text-anchor='end'>{_esc(name)}</text>")
        parts.append(
            f"<rect x='{left}' y='{y + 3}' width='{max(w, 1):.1f}' height='{row_h - 6}' "
            f"fill='{BLUE if v >= 0 else RED}'><title>{_esc(name)} = {v:.5f}</title></rect>"
        )
        parts.append(f"<text x='{left + w + 6:.1f}' y='{y + 14}'>{v:.4f}</text>")
    parts.append(f"<line x1='{left}' y1='{top_pad}' x2='{left}' y2='{height - 20}' stroke='#333'/>")
    parts.append("</svg>")
    return "".join(parts)


def _colour_scale(t: float) -> str:
    """Blue (low) to red (high) for t in [0, 1]."""
    t = min(1.0, max(0.0, t))
    r, g, b = (int(30 + 200 * t), int(100 - 60 * abs(t - 0.5) * 2 + 20), int(230 - 200 * t))
    return f"#{r:02x}{g:02x}{b:02x}"


def svg_beeswarm(
    values: np.ndarray,
    frame: pd.DataFrame,
    names: Sequence[str],
    numeric: Sequence[str],
    top: int = 12,
    max_points: int = 600,
    seed: int = 0,
    width: int = 900,
) -> str:
    """SHAP summary plot: one row per top feature, a dot per (sampled) row at its SHAP value.

    Dots are coloured by the feature's value (blue low to red high, by rank) for numeric
    features and grey for categoricals, and stacked into a beeswarm within each row.
    """
    if values.size == 0:
        return ""
    order = np.argsort(-np.mean(np.abs(values), axis=0), kind="stable")[:top]
    rows = np.arange(values.shape[0])
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_points, replace=False))
    sample = values[rows][:, order]
    left, right, row_h, top_pad, radius = 150, 20, 34, 10, 2.2
    height = top_pad + row_h * len(order) + 40
    # A robust axis: the 99.5th percentile of |SHAP|; rarer outliers are drawn at the edge.
    limit = _nice_limit(float(np.quantile(np.abs(sample), 0.995)) * 1.02) if np.any(sample) else 1.0
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + (max(-limit, min(limit, v)) + limit) / (2 * limit) * plot_w

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>"
    ]
    zero = x(0.0)
    parts.append(f"<line x1='{zero:.1f}' y1='{top_pad}' x2='{zero:.1f}' y2='{height - 34}' stroke='#999'/>")
    for tick in (-limit, -limit / 2, limit / 2, limit):
        parts.append(
            f"<text x='{x(tick):.1f}' y='{height - 20}' text-anchor='middle' fill='#555'>{tick:g}</text>"
        )
    parts.append(
        f"<text x='{left + plot_w / 2:.1f}' y='{height - 4}' text-anchor='middle' fill='#333'>"
        f"SHAP value (log-odds; beyond ±{limit:g} drawn at the edge); colour: feature value low (blue) "
        "to high (red), grey = categorical</text>"
    )
    step = 2 * radius
    for i, j in enumerate(order):
        name = names[j]
        centre = top_pad + i * row_h + row_h / 2
        parts.append(f"<text x='{left - 8}' y='{centre + 4:.1f}' text-anchor='end'>{_esc(name)}</text>")
        colours = [GREY] * len(rows)
        if name in numeric:
            raw = pd.to_numeric(frame[name].iloc[rows], errors="coerce")
            ranks = raw.rank(pct=True).to_numpy()
            colours = [GREY if math.isnan(r) else _colour_scale(r) for r in ranks]
        xs = [x(float(v)) for v in sample[:, i]]
        bins: dict[int, int] = {}
        slots = []
        for px in xs:
            key = int(px // step)
            n = bins.get(key, 0)
            bins[key] = n + 1
            slots.append((n + 1) // 2 * (1 if n % 2 else -1))
        widest = max(abs(s) for s in slots) if slots else 0
        spacing = min(step * 0.9, (row_h / 2 - radius) / widest) if widest else 0
        for px, slot, colour in zip(xs, slots, colours):
            parts.append(
                f"<circle cx='{px:.1f}' cy='{centre + slot * spacing:.1f}' r='{radius}' fill='{colour}' opacity='0.75'/>"
            )
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Report: one self-contained HTML page (Jinja2) and a markdown summary
# --------------------------------------------------------------------------------------------

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left} th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#666;font-size:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold;font-size:13px}
.PASSED,.NO-BASELINE{background:#2ca02c} .FAILED{background:#d62728} .SKIPPED,.NOT-ENFORCED{background:#ff7f0e}
.bad{color:#d62728;font-weight:bold} ul.notes{font-size:12px;color:#444}
</style></head><body>
<h1>{{ title }}</h1>
<p><span class="badge {{ status | replace(' ', '-') }}">{{ status }}</span>
&nbsp;{{ rows }} rows &middot; check: {{ check }} &middot; prediction threshold {{ "%g" | format(threshold) }}
&middot; label <b>{{ label }}</b> positive = {{ label_value }}</p>
{% if threshold_source == "the model's served labels" %}<p class="muted">Predictions are the model's served labels: probability &ge; its own F1 decision threshold ({{ "%.4f" | format(threshold) }}, metadata.json).</p>
{% elif model_threshold is not none %}<p class="muted">Predictions are probability &ge; the analysis config's probability_threshold
({{ "%g" | format(threshold) }}), as in Clarify; the model's own F1 decision threshold (metadata.json) is {{ "%.4f" | format(model_threshold) }}.</p>{% endif %}
<p class="muted">{{ baseline_note }}</p>
{% if violations %}<h2>Violations</h2><table><tr><th>Check</th><th>Where</th><th>Metric</th><th>Value</th><th>Baseline</th><th>Description</th></tr>
{% for v in violations %}<tr><td>{{ v.constraint_check_type }}</td><td>{{ v.where }}</td><td>{{ v.metric_name }}</td>
<td class="num">{{ v.value_text }}</td><td class="num">{{ v.baseline_text }}</td><td>{{ v.description }}</td></tr>{% endfor %}</table>{% endif %}
{% for stage in bias %}<h2>{{ stage.title }}</h2>
{% for facet in stage.facets %}<h3>Facet <code>{{ facet.name }}</code> = {{ facet.value }} <span class="muted">(facet d; facet a = all other rows)</span></h3>
<table><tr><th>Metric</th><th>Description</th><th>Value</th><th>Baseline</th><th></th></tr>
{% for m in facet.metrics %}<tr><td><b>{{ m.name }}</b></td><td>{{ m.description }}</td><td class="num">{{ m.value_text }}</td>
<td class="num">{{ m.baseline_text }}</td><td class="{{ 'bad' if m.flag else '' }}">{{ m.note }}</td></tr>{% endfor %}</table>
{% if facet.di_svg %}<div>{{ facet.di_svg | safe }}</div>{% endif %}
{% if facet.bars_svg %}<div>{{ facet.bars_svg | safe }}</div>{% endif %}
{% endfor %}{% endfor %}
{% if shap %}<h2>SHAP feature attributions</h2>
<p>Exact TreeSHAP from LightGBM on all {{ rows }} rows; values in log-odds (raw margin) units;
global aggregation <b>{{ shap.agg_method }}</b>; expected value {{ "%.5f" | format(shap.expected_value) }}{% if shap.ndcg is not none %};
nDCG against the baseline <b>{{ "%.4f" | format(shap.ndcg) }}</b> (threshold {{ "%.2f" | format(shap.ndcg_threshold) }}){% endif %}.</p>
<h3>Global importance</h3><div>{{ shap.bar_svg | safe }}</div>
<table><tr><th>#</th><th>Feature</th><th>{{ shap.agg_method }}</th></tr>{% for f in shap.top %}<tr><td>{{ loop.index }}</td><td>{{ f.name }}</td><td class="num">{{ "%.5f" | format(f.value) }}</td></tr>{% endfor %}</table>
<h3>Summary (beeswarm)</h3><div>{{ shap.beeswarm_svg | safe }}</div>{% endif %}
<h2>How these numbers are computed</h2><ul class="notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
</body></html>
"""

REPORT_NOTES = (
    "Facet d = rows whose facet value is one of the configured values (or above the threshold of a "
    "numeric facet); facet a = all other rows, including rows with a missing facet value.",
    "Undefined values (a zero denominator or an empty facet) are shown as n/a and written as null with an "
    "error text; SageMaker Clarify's code returns 0 or Infinity in some of these cases.",
    "DI uses the four-fifths rule band [0.8, 1.25]; a DI outside it is commonly read as adverse impact.",
    "FT: k = 5 nearest facet-a neighbours (k = 1 when facet a has at most 9 rows) on standardised numeric and "
    "one-hot categorical features; F+ = d members predicted negative whose neighbours are predicted positive.",
    "CDDL/CDDPL need the analysis config's group_variable; without it they are undefined.",
    "Baseline rule (Model Monitor): a bias metric violates when it is farther from its ideal (1 for DI, "
    "0 otherwise) than the baseline value; SHAP violates when the nDCG of the feature ranking is below the threshold.",
)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _metric_note(name: str, value: float | None) -> tuple[str, bool]:
    if value is None:
        return "undefined", False
    if name == "DI":
        low, high = FOUR_FIFTHS
        inside = low <= value <= high
        return (
            "within the four-fifths band" if inside else "outside the four-fifths band [0.8, 1.25]"
        ), not inside
    return "", False


def report_context(
    analysis: Mapping,
    violations: Sequence[Mapping],
    status: str,
    baseline_note: str,
    baseline: Mapping | None,
    meta: Mapping,
    shap_data: Mapping | None,
) -> dict:
    """Everything the HTML and markdown reports show, as plain data (pure: no I/O)."""
    bias = []
    stage_titles = (
        ("post_training_bias_metrics", "Post-training bias (model predictions)"),
        ("pre_training_bias_metrics", "Pre-training bias (labels)"),
    )
    for key, title in stage_titles:
        if key not in analysis:
            continue
        base_values = _metric_values(baseline[key]) if baseline and key in baseline else {}
        facets = []
        for facet, entries in analysis[key]["facets"].items():
            for entry in entries:
                ref = {
                    m: v
                    for (f, t, m), v in base_values.items()
                    if f == facet and t == entry["value_or_threshold"]
                }
                flagged = {
                    v["metric_name"]
                    for v in violations
                    if v.get("facet") == facet and v.get("facet_value") == entry["value_or_threshold"]
                }
                metrics = []
                for m in entry["metrics"]:
                    note, bad = _metric_note(m["name"], m["value"])
                    if m["name"] in flagged:
                        note, bad = ("violates the baseline; " + note).rstrip("; "), True
                    metrics.append(
                        {
                            "name": m["name"],
                            "description": m["description"],
                            "value": m["value"],
                            "value_text": _fmt(m["value"]),
                            "baseline_text": _fmt(ref.get(m["name"])) if m["name"] in ref else "",
                            "note": note,
                            "flag": bad,
                        }
                    )
                di = next((m for m in entry["metrics"] if m["name"] == "DI"), None)
                facets.append(
                    {
                        "name": facet,
                        "value": entry["value_or_threshold"],
                        "metrics": metrics,
                        "di_svg": svg_disparate_impact(di["value"], ref.get("DI")) if di else "",
                        "bars_svg": svg_bias_bars(entry["metrics"], ref),
                    }
                )
        bias.append({"title": title, "key": key, "facets": facets})
    shap = None
    if shap_data is not None:
        global_values = shap_data["global_values"]
        shap = {
            "agg_method": shap_data["agg_method"],
            "expected_value": shap_data["expected_value"],
            "ndcg": shap_data.get("ndcg"),
            "ndcg_threshold": shap_data.get("ndcg_threshold", NDCG_THRESHOLD),
            "top": [
                {"name": n, "value": v}
                for n, v in sorted(global_values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
            ],
            "bar_svg": svg_importance(global_values),
            "beeswarm_svg": svg_beeswarm(
                shap_data["values"], shap_data["frame"], shap_data["names"], shap_data["numeric"]
            ),
        }
    rows = []
    for v in violations:
        where = f"{v['facet']}={v['facet_value']}" if "facet" in v else v.get("label", "")
        rows.append(
            dict(v, where=where, value_text=_fmt(v.get("value")), baseline_text=_fmt(v.get("baseline_value")))
        )
    return {
        "title": f"Clarify check ({meta['check']}): {meta['model']}",
        "status": status,
        "check": meta["check"],
        "rows": meta["rows"],
        "threshold": meta["threshold"],
        "threshold_source": meta.get("threshold_source", "the analysis config"),
        "label": meta["label"],
        "label_value": meta["label_value"],
        "baseline_note": baseline_note,
        "model_threshold": meta.get("model_threshold"),
        "violations": rows,
        "bias": bias,
        "shap": shap,
        "notes": list(REPORT_NOTES),
    }


def render_html(context: Mapping) -> str:
    """The self-contained HTML report (inline SVG, no external files)."""
    try:
        import jinja2
    except ImportError:
        raise InputError("--report needs jinja2 (pip install jinja2)") from None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(REPORT_TEMPLATE).render(**context)


def render_markdown(context: Mapping, top_features: int = 10) -> str:
    """A short markdown summary for a pull-request comment."""
    lines = [f"### {context['title']} — **{context['status']}**", ""]
    lines.append(
        f"{context['rows']} rows · prediction threshold {context['threshold']:g} · "
        f"label `{context['label']}` positive = `{context['label_value']}`"
    )
    lines += ["", f"_{context['baseline_note']}_", ""]
    if context["violations"]:
        lines += ["**Violations**", "", "| Where | Metric | Value | Baseline |", "|---|---|---:|---:|"]
        for v in context["violations"]:
            lines.append(f"| {v['where']} | {v['metric_name']} | {v['value_text']} | {v['baseline_text']} |")
        lines.append("")
    for stage in context["bias"]:
        lines += [
            f"**{stage['title']}**",
            "",
            "| Facet | Metric | Value | Baseline | |",
            "|---|---|---:|---:|---|",
        ]
        for facet in stage["facets"]:
            for m in facet["metrics"]:
                mark = "⚠️ " + m["note"] if m["flag"] else m["note"]
                lines.append(
                    f"| {facet['name']}={facet['value']} | {m['name']} | {m['value_text']} | {m['baseline_text']} | {mark} |"
                )
        lines.append("")
    if context["shap"]:
        shap = context["shap"]
        extra = "" if shap["ndcg"] is None else f" · nDCG vs baseline {shap['ndcg']:.4f}"
        lines += [
            f"**SHAP global importance** ({shap['agg_method']}, log-odds; expected value "
            f"{shap['expected_value']:.4f}{extra})",
            "",
            "| # | Feature | Value |",
            "|---:|---|---:|",
        ]
        for i, f in enumerate(shap["top"][:top_features], 1):
            lines.append(f"| {i} | {f['name']} | {f['value']:.5f} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def _load_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise InputError(f"{what} '{path}' does not exist")
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} '{path.name}' is not valid JSON: {exc}") from None


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def decide(
    has_baseline: bool, skip: bool, fail_on_violation: bool, violations: Sequence[Mapping]
) -> tuple[str, bool]:
    """(status, fails) under ClarifyCheckStep semantics."""
    if not has_baseline:
        return "NO BASELINE", False
    if skip:
        return "SKIPPED", False
    if not violations:
        return "PASSED", False
    return ("FAILED", True) if fail_on_violation else ("NOT ENFORCED", False)


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


def run(args: argparse.Namespace) -> int:
    import lightgbm as lgb  # imported here so argument errors exit before the slow import

    checks = ("bias", "explainability") if args.check == "all" else (args.check,)
    with tempfile.TemporaryDirectory() as scratch:
        root = find_model_dir(Path(args.model_dir), Path(scratch))
        schema = _load_json(root / "schema.json", "model schema")
        metadata = _load_json(root / "metadata.json", "model metadata")
        booster = lgb.Booster(model_file=str(root / "model.txt"))
    config = parse_config(_load_json(Path(args.config), "analysis config"), schema)
    if "bias" in checks and config.pre_training is None and config.post_training is None:
        raise InputError("the analysis config has no methods.post_training_bias or methods.pre_training_bias")
    if "explainability" in checks and config.shap is None:
        raise InputError("the analysis config has no methods.shap section")
    baseline, baseline_problem = None, ""
    if args.baseline_constraints:
        try:
            baseline = load_baseline(Path(args.baseline_constraints))
        except InputError as exc:
            if not args.skip_check:
                raise
            baseline_problem = str(exc)  # skip_check: the check is not run, so it cannot fail the step

    frame = read_dataset(Path(args.data_dir), config.headers, schema)
    try:
        features = to_model_frame(frame, schema)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot build the model input: {exc}") from None
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    analysis: dict[str, Any] = {"version": "1.0"}
    shap_data = None
    if "bias" in checks:
        predicted = None
        if config.post_training is not None:
            proba = np.asarray(booster.predict(features), dtype="float64")
            predicted = proba >= effective_threshold(config, metadata)
        analysis.update(bias_sections(frame, config, schema, predicted))
    if "explainability" in checks:
        shap_cfg = config.shap or {}
        values, expected = tree_shap(booster, features)
        agg = shap_cfg.get("agg_method", "mean_abs")
        names = list(schema["features"])
        label = (config.label_headers or [SHAP_LABEL])[0]
        global_values = aggregate_shap(values, agg)
        analysis["explanations"] = explanations_section(names, global_values, expected, label)
        if shap_cfg.get("save_local_shap_values"):
            (out / LOCAL_SHAP_FILE).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(values, columns=names).to_csv(out / LOCAL_SHAP_FILE, index=False)
        shap_data = {
            "values": values,
            "frame": frame,
            "names": names,
            "numeric": list(schema.get("numeric", [])),
            "agg_method": agg,
            "expected_value": expected,
            "global_values": dict(zip(names, map(float, global_values))),
            "ndcg_threshold": args.ndcg_threshold,
            "label": label,
        }
        ignored = [k for k in ("num_samples", "seed", "baseline", "num_clusters") if k in shap_cfg]
        if ignored or not shap_cfg.get("use_logit", False):
            print(
                f"{PROG}: SHAP by exact TreeSHAP in log-odds units (as use_logit: true); "
                f"KernelSHAP settings not used: {', '.join(ignored) or 'none'}"
            )
    _write_json(out / "analysis.json", analysis)

    violations: list[dict] = []
    if baseline is not None:
        try:
            violations = check_baseline(analysis, baseline, checks, args.bias_tolerance, args.ndcg_threshold)
        except InputError as exc:
            if not args.skip_check:
                raise
            baseline_problem = str(exc)
        if shap_data is not None and SHAP_SECTION in (baseline.get("explanations") or {}):
            base = baseline["explanations"][SHAP_SECTION].get(shap_data["label"]) or {}
            score = ndcg(base.get("global_shap_values") or {}, shap_data["global_values"])
            shap_data["ndcg"] = None if math.isnan(score) else score
    status, fails = decide(
        baseline is not None or bool(baseline_problem), args.skip_check, args.fail_on_violation, violations
    )
    _write_json(out / "violations.json", {"version": "1.0", "violations": violations})
    # ClarifyCheckStep's BaselineUsedForDriftCheckConstraints: the new result when a new baseline is
    # registered or there was none, else the baseline that was checked against.
    new_baseline = args.register_new_baseline or baseline is None
    _write_json(out / DRIFT_BASELINE_FILE, analysis if new_baseline else baseline)

    if baseline_problem:
        note = f"skip_check is true; the baseline was not usable ({baseline_problem})."
    elif baseline is None:
        note = "No baseline constraints given: metrics computed, nothing compared."
    else:
        note = f"Compared with baseline '{args.baseline_constraints}': {len(violations)} violation(s)."
        if args.skip_check:
            note += " skip_check is true: violations are recorded, not enforced."
        elif violations and not args.fail_on_violation:
            note += " fail_on_violation is false: the step does not fail."
    if args.report:
        meta = {
            "check": args.check,
            "model": f"LightGBM ({booster.num_trees()} trees, {len(schema['features'])} features)",
            "rows": len(frame),
            "threshold": effective_threshold(config, metadata),
            "threshold_source": "the model's served labels"
            if config.probability_threshold is None
            else "the analysis config",
            "label": config.label,
            "model_threshold": _json_number(metadata.get("threshold"))
            if isinstance(metadata, dict)
            else None,
            "label_value": ",".join(str(v) for v in config.label_values)
            if isinstance(config.label_values, list)
            else f"> {config.label_values}",
        }
        context = report_context(analysis, violations, status, note, baseline, meta, shap_data)
        (out / "report.html").write_text(render_html(context), encoding="utf-8")
        (out / "report.md").write_text(render_markdown(context) + "\n", encoding="utf-8")

    print(f"{PROG}: {args.check}: {len(frame)} rows; wrote {out / 'analysis.json'}")
    print(f"{PROG}: {status}: {note}")
    if fails:
        print(
            f"{PROG}: error: {violation_line(violations[0], len(violations), out / 'violations.json')}",
            file=sys.stderr,
        )
        return EXIT_VIOLATION
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
