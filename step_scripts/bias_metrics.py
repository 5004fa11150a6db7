"""SageMaker Clarify's bias metrics for a binary label: facet and label masks, and the metrics.

Shipped with clarify_check.py (which imports it). The metrics are pure functions of boolean
arrays: ``d`` marks facet *d* (facet *a* is every other row), ``y`` a positive label, ``yhat`` a
positive prediction; each returns a float, NaN where the value is undefined. Definitions follow
the SageMaker Clarify documentation; where it leaves room (stated at each function), in short:

- a value whose formula divides by zero, or needs a facet group that is empty, is undefined:
  NaN here, ``null`` in JSON with an ``error`` text (Clarify's MetricError shape). Clarify's
  code instead returns 0 for 0/0 and +/-Infinity for x/0;
- label distributions for KL/JS/LP/TVD/KS are over {negative, positive} with 0*log(0) = 0;
  KL is undefined (NaN) when P_d(y) = 0 < P_a(y);
- FT follows the documentation's sign (F+ = d members predicted negative whose k nearest a
  neighbours are predicted positive), with k = 5 (1 when facet a has <= 9 rows) on
  standardised numeric features and one-hot categoricals (Clarify's code refuses
  non-numeric columns and counts the flips with the opposite sign);
- CDDL/CDDPL need a group variable; without it they are undefined; a subgroup without
  accepted (or without rejected) rows adds 0 for that proportion, as in Clarify's code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from step_common import InputError, json_number

FT_NEIGHBORS, FT_MIN_NEIGHBORS, FT_SMALL_FACET = 5, 1, 9
NAN = float("nan")


# --------------------------------------------------------------------------------------------
# Facet d and positive labels
# --------------------------------------------------------------------------------------------


@dataclass
class FacetSpec:
    name: str
    values: list | None  # None: one-vs-rest for every value


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
# The metrics
# --------------------------------------------------------------------------------------------


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


# Differences between the facets of a ratio of confusion-matrix counts: the numerator and the
# denominator (sums of TP, FP, FN, TN; n = the facet's size), and the facet whose ratio comes first.
RATE_DIFFERENCES = {
    "DCA": ("TP+FN", "TP+FP", "a"),  # c_a - c_d, c = n(1) / n'(1): observed over predicted acceptances
    "DCR": ("TN+FP", "TN+FN", "d"),  # r_d - r_a, r = n(0) / n'(0): observed over predicted rejections
    "RD": ("TP", "TP+FN", "a"),  # recall: TP_a / (TP_a + FN_a) - TP_d / (TP_d + FN_d)
    "DAR": ("TP", "TP+FP", "a"),  # precision: TP_a / n'_a(1) - TP_d / n'_d(1)
    "DRR": ("TN", "TN+FN", "d"),  # negative predictive value: TN_d / n'_d(0) - TN_a / n'_a(0)
    "AD": ("TP+TN", "n", "a"),  # accuracy: ACC_a - ACC_d
}


def rate_difference(name: str, d: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> float:
    """DCA (DCAcc), DCR, RD, DAR, DRR or AD, as :data:`RATE_DIFFERENCES` defines them."""
    if not _groups_ok(d):
        return NAN
    numerator, denominator, first = RATE_DIFFERENCES[name]
    c = _confusion(d, y, yhat)
    rate = {
        g: _div(sum(c[g][k] for k in numerator.split("+")), sum(c[g][k] for k in denominator.split("+")))
        for g in "ad"
    }
    return rate[first] - rate["d" if first == "a" else "a"]


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
        lambda b: rate_difference("DCA", b.d, b.y, b.yhat),
    ),
    "DCR": (
        "Difference in Conditional Rejection (DCR)",
        lambda b: rate_difference("DCR", b.d, b.y, b.yhat),
    ),
    "RD": ("Recall Difference (RD)", lambda b: rate_difference("RD", b.d, b.y, b.yhat)),
    "DAR": ("Difference in Acceptance Rates (DAR)", lambda b: rate_difference("DAR", b.d, b.y, b.yhat)),
    "DRR": ("Difference in Rejection Rates (DRR)", lambda b: rate_difference("DRR", b.d, b.y, b.yhat)),
    "AD": ("Accuracy Difference (AD)", lambda b: rate_difference("AD", b.d, b.y, b.yhat)),
    "TE": ("Treatment Equality (TE)", lambda b: treatment_equality(b.d, b.y, b.yhat)),
    "FT": ("Flip Test (FT)", lambda b: flip_test(b.d, b.yhat, b.features)),
    "CDDPL": (
        "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
        lambda b: conditional_demographic_disparity(b.d, b.yhat, b.group),
    ),
}

PRE_TRAINING_NAMES = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
POST_TRAINING_NAMES = ("AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE")
ALIASES = {"DCACC": "DCA"}  # Clarify's docs say DCAcc; configs and analysis.json say DCA


def metric_names(section: Any, known: Sequence[str], stage: str) -> list:
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
        entry: dict[str, Any] = {"name": name, "description": description, "value": json_number(value)}
        if entry["value"] is None:
            entry["error"] = _why_undefined(name, inputs)
        out.append(entry)
    return out
