"""Every bias metric on a hand-made 10-row table, against numbers worked out by hand.

The table (facet d = rows 0-3, facet a = rows 4-9; y = observed label, yhat = prediction,
g = group variable, x = the one feature the flip test looks at):

    row  facet  y  yhat  g  x      confusion
    0    d      1  0     x  0.1    FN
    1    d      1  0     x  2.9    FN
    2    d      0  1     y  5.1    FP
    3    d      0  0     y  3.9    TN
    4    a      1  1     x  0.0    TP
    5    a      1  1     x  1.0    TP
    6    a      1  1     x  2.0    TP
    7    a      1  0     y  3.0    FN
    8    a      0  1     y  4.0    FP
    9    a      0  0     y  5.0    TN

    facet a: n=6, TP=3 FN=1 FP=1 TN=1; labels positive 4/6, predicted positive 4/6
    facet d: n=4, TP=0 FN=2 FP=1 TN=1; labels positive 2/4, predicted positive 1/4
"""

from __future__ import annotations

import math
from math import log, sqrt

import numpy as np
import pandas as pd
import pytest

D = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
Y = np.array([1, 1, 0, 0, 1, 1, 1, 1, 0, 0], dtype=bool)
YHAT = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 0], dtype=bool)
G = pd.Series(["x", "x", "y", "y", "x", "x", "x", "y", "y", "y"])
X = np.array([[0.1], [2.9], [5.1], [3.9], [0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])

# P_a = (1/3, 2/3) and P_d = (1/2, 1/2) over (negative, positive) labels.
EXPECTED = {
    "CI": (6 - 4) / (6 + 4),  # 0.2
    "DPL": 4 / 6 - 2 / 4,  # 1/6
    "KL": 1 / 3 * log((1 / 3) / (1 / 2)) + 2 / 3 * log((2 / 3) / (1 / 2)),  # 0.056633
    # P = (5/12, 7/12): JS = 1/2 [KL(P_a, P) + KL(P_d, P)]
    "JS": 0.5
    * (
        (1 / 3 * log((1 / 3) / (5 / 12)) + 2 / 3 * log((2 / 3) / (7 / 12)))
        + (1 / 2 * log((1 / 2) / (5 / 12)) + 1 / 2 * log((1 / 2) / (7 / 12)))
    ),  # 0.014363
    "LP": sqrt((1 / 3 - 1 / 2) ** 2 + (2 / 3 - 1 / 2) ** 2),  # 0.235702
    "TVD": 0.5 * (abs(1 / 3 - 1 / 2) + abs(2 / 3 - 1 / 2)),  # 1/6
    "KS": max(abs(1 / 3 - 1 / 2), abs(2 / 3 - 1 / 2)),  # 1/6
    # group x: no rejected rows (share 0), d has 2 of the 5 accepted -> DD = 0 - 2/5
    # group y: d has 2 of the 4 rejected, 0 of the 1 accepted -> DD = 1/2 - 0
    "CDDL": (5 * (0 - 2 / 5) + 5 * (2 / 4 - 0)) / 10,  # 0.05
    "DPPL": 4 / 6 - 1 / 4,  # 5/12
    "DI": (1 / 4) / (4 / 6),  # 0.375
    "DCA": 4 / 4 - 2 / 1,  # c_a - c_d, c = n(1)/n'(1): -1
    "DCR": 2 / 3 - 2 / 2,  # r_d - r_a, r = n(0)/n'(0): -1/3
    "RD": 3 / 4 - 0 / 2,  # recall_a - recall_d: 0.75
    "DAR": 3 / 4 - 0 / 1,  # TP/n'(1), a - d: 0.75
    "DRR": 1 / 3 - 1 / 2,  # TN/n'(0), d - a: -1/6
    "AD": 4 / 6 - 1 / 4,  # accuracy a - d: 5/12
    "TE": 2 / 1 - 1 / 1,  # FN_d/FP_d - FN_a/FP_a: 1
    # group x: predicted-rejected rows 0,1 are both d; accepted 4,5,6 none -> DD = 1 - 0
    # group y: rejected 3,7,9 (d: row 3) 1/3; accepted 2,8 (d: row 2) 1/2 -> DD = 1/3 - 1/2
    "CDDPL": (5 * (1 - 0) + 5 * (1 / 3 - 1 / 2)) / 10,  # 5/12
    # k = 1 (facet a has 6 <= 9 rows). Row 0 (pred 0) -> nearest a row 4 (pred 1): F+.
    # Row 1 (0) -> row 7 (0): no flip. Row 2 (1) -> row 9 (0): F-. Row 3 (0) -> row 8 (1): F+.
    "FT": (2 - 1) / 4,  # 0.25
}
APPROX = {
    "KL": 0.056633,
    "JS": 0.014363,
    "LP": 0.235702,
    "CDDL": 0.05,
    "CDDPL": 0.416667,
    "DI": 0.375,
    "DRR": -0.166667,
}


@pytest.fixture(scope="module")
def inputs(bm):
    return bm.BiasInputs(d=D, y=Y, yhat=YHAT, group=G, features=X)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_matches_hand_computation(bm, inputs, name):
    _, compute = bm.METRICS[name]
    assert compute(inputs) == pytest.approx(EXPECTED[name], abs=1e-12)
    if name in APPROX:
        assert compute(inputs) == pytest.approx(APPROX[name], abs=1e-6)


def test_every_documented_metric_is_covered(bm):
    assert set(bm.METRICS) == set(EXPECTED)
    assert set(bm.POST_TRAINING_NAMES) | set(bm.PRE_TRAINING_NAMES) == set(EXPECTED)
    assert len(bm.POST_TRAINING_NAMES) == 11 and len(bm.PRE_TRAINING_NAMES) == 8


def test_pure_functions_by_name(bm):
    assert bm.class_imbalance(D) == pytest.approx(0.2)
    assert bm.positive_proportion_difference(D, YHAT) == pytest.approx(5 / 12)
    assert bm.lp_norm(D, Y, p=1) == pytest.approx(2 * bm.total_variation_distance(D, Y))
    assert bm.flip_test(D, YHAT, X) == pytest.approx(0.25)


def test_flip_test_uses_five_neighbours_when_facet_a_is_large(bm):
    # 12 facet-a rows at x = 0..11, predicted 1 1 1 1 1 1 0 1 0 0 0 0 (k = 5: facet a has > 9 rows).
    a_x = np.arange(12.0)
    a_pred = np.array([1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    # d at 6.0, predicted 0: neighbours x = 4..8 -> 1 1 0 1 0 -> majority 1: F+ (k = 1 would say 0).
    # d at 2.2, predicted 0: neighbours x = 0..4 -> all 1: F+.
    # d at 9.6, predicted 1: neighbours x = 7..11 -> 1 0 0 0 0 -> 0: F-.
    # d at 0.4, predicted 1: neighbours x = 0..4 -> 1: no flip.
    d_x = np.array([6.0, 2.2, 9.6, 0.4])
    d_pred = np.array([0, 0, 1, 1], dtype=bool)
    d = np.array([True] * 4 + [False] * 12)
    yhat = np.concatenate([d_pred, a_pred])
    features = np.concatenate([d_x, a_x])[:, None]
    assert bm.flip_test(d, yhat, features) == pytest.approx((2 - 1) / 4)


def test_undefined_values_are_nan_never_an_exception(bm):
    all_d = np.ones(10, dtype=bool)
    no_d = np.zeros(10, dtype=bool)
    for name, (_, compute) in bm.METRICS.items():
        for d in (all_d, no_d):
            assert math.isnan(compute(bm.BiasInputs(d=d, y=Y, yhat=YHAT, group=G, features=X))), name
    no_group = bm.BiasInputs(d=D, y=Y, yhat=YHAT, group=None, features=None)
    for name in ("CDDL", "CDDPL", "FT"):
        assert math.isnan(bm.METRICS[name][1](no_group)), name
    # no positive prediction in facet a: DI = q'_d / 0; no false positive in facet d: TE undefined
    yhat = YHAT.copy()
    yhat[~D] = False
    assert math.isnan(bm.disparate_impact(D, yhat))
    assert bm.positive_proportion_difference(D, yhat) == pytest.approx(-1 / 4)
    yhat = YHAT.copy()
    yhat[2] = False  # the only FP in facet d
    assert math.isnan(bm.treatment_equality(D, Y, yhat))
    # P_d(y) = 0 < P_a(y): KL is infinite -> undefined; JS stays finite
    y = Y.copy()
    y[D] = True
    assert math.isnan(bm.kl_divergence(D, y))
    assert math.isfinite(bm.js_divergence(D, y))


def test_metric_entries_write_null_and_error_like_clarify(bm):
    entries = bm.metric_entries(["DI", "DPPL"], bm.BiasInputs(d=np.zeros(10, dtype=bool), y=Y, yhat=YHAT))
    assert entries == [
        {"name": "DI", "description": "Disparate Impact (DI)", "value": None, "error": "Facet set is empty"},
        {
            "name": "DPPL",
            "description": "Difference in Positive Proportions in Predicted Labels (DPPL)",
            "value": None,
            "error": "Facet set is empty",
        },
    ]
    ok = bm.metric_entries(["DI"], bm.BiasInputs(d=D, y=Y, yhat=YHAT))
    assert ok == [{"name": "DI", "description": "Disparate Impact (DI)", "value": pytest.approx(0.375)}]


def test_facet_and_label_selection(bm):
    sex = pd.Series(["Female", "Male", None, "Female", " Male"])
    groups = bm.facet_groups(sex, bm.FacetSpec("Sex", ["Female"]), numeric=False)
    assert [(t, m.tolist()) for t, m in groups] == [("Female", [True, False, False, True, False])]
    one_vs_rest = bm.facet_groups(sex, bm.FacetSpec("Sex", None), numeric=False)
    assert [t for t, _ in one_vs_rest] == ["Female", "Male"]
    assert one_vs_rest[1][1].tolist() == [False, True, False, False, True]
    age = pd.Series([20.0, 41.0, 40.0, 90.0, np.nan])
    ((text, mask),) = bm.facet_groups(age, bm.FacetSpec("Age", [40]), numeric=True)
    assert text == "(40, 90]" and mask.tolist() == [False, True, False, True, False]
    labels = pd.Series(["1", "0", "1.0", "0"])
    mask, text = bm.positive_labels(labels, [1])
    assert mask.tolist() == [True, False, True, False] and text == "1"
    mask, text = bm.positive_labels(pd.Series([">50K", "<=50K"]), [">50K"])
    assert mask.tolist() == [True, False] and text == ">50K"
    mask, text = bm.positive_labels(pd.Series(["3", "7", "5"]), 5)
    assert mask.tolist() == [False, True, False] and text == "(5, 7]"


def test_flip_test_matrix_standardises_numbers_and_one_hots_categories(bm):
    schema = {"features": ["n", "c", "skip"], "categorical": {"c": ["u", "v"], "skip": ["z"]}}
    frame = pd.DataFrame({"n": [1.0, 3.0, np.nan], "c": ["v", None, "u"], "skip": ["z", "z", "z"]})
    matrix = bm.flip_test_matrix(frame, schema, exclude=["skip"])
    # n: NaN -> median 2; (1, 3, 2) standardised -> (-1.2247, 1.2247, 0)
    assert matrix[:, 0] == pytest.approx([-1.224744871, 1.224744871, 0.0])
    assert matrix[:, 1:].tolist() == [[0, 1], [0, 0], [1, 0]]
