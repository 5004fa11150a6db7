"""spec/lightgbm.py's domains agree with LightGBM itself: the installed library accepts each
documented boundary value and refuses the value just outside it."""

from __future__ import annotations

import pytest

from lgbm_pipeline_compiler.spec.lightgbm import DOMAINS, domain_of

# LightGBM's own name → (a value inside the domain at its edge, the nearest value outside it)
EDGES = {
    "num_iterations": (1, 0),
    "learning_rate": (1e-12, 0.0),
    "num_leaves": (2, 1),
    "max_bin": (2, 1),
    "min_data_in_leaf": (0, -1),
    "feature_fraction": (1.0, 0.0),
    "bagging_fraction": (1.0, 0.0),
    "lambda_l2": (0.0, -1e-9),
    "lambda_l1": (0.0, -1e-9),
}
UPPER = {
    "num_leaves": (131072, 131073),
    "feature_fraction": (1.0, 1.000001),
    "bagging_fraction": (1.0, 1.000001),
}


def _trains(params: dict) -> bool:
    # imported here, not at collection (importing LightGBM, with scikit-learn and SciPy, takes ~2 s)
    lgb = pytest.importorskip("lightgbm")
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    x = rng.random((60, 3))
    y = (x[:, 0] > 0.5).astype(int)
    try:
        lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, **params}, lgb.Dataset(x, y), 2)
    except (lgb.basic.LightGBMError, ValueError):  # ValueError: lightgbm.train's own checks
        return False
    return True


@pytest.mark.parametrize("name", sorted(EDGES))
def test_lower_edges_match_lightgbm(name):
    inside, outside = EDGES[name]
    domain = domain_of(name)
    assert domain is not None and domain.problem(inside) is None and domain.problem(outside) is not None
    assert _trains({name: inside}) and not _trains({name: outside})


@pytest.mark.parametrize("name", sorted(UPPER))
def test_upper_edges_match_lightgbm(name):
    inside, outside = UPPER[name]
    domain = domain_of(name)
    assert domain is not None and domain.problem(inside) is None and domain.problem(outside) is not None
    assert _trains({name: inside}) and not _trains({name: outside})


def test_aliases_share_their_parameters_domain():
    assert domain_of("n_estimators") is domain_of("num_iterations")
    assert domain_of("min_child_samples") is domain_of("min_data_in_leaf")
    assert domain_of("colsample_bytree") is domain_of("feature_fraction")
    assert domain_of("not_a_lightgbm_parameter") is None
    assert all(
        d.integer == isinstance(d.low, int) or d.low is None or not d.integer for d in DOMAINS.values()
    )


def test_integer_parameters_stop_at_32_bits():
    """LightGBM's int parameters are C ints: 2**31 is refused by the domain."""
    for name in ("num_iterations", "max_bin", "seed", "bagging_freq"):
        assert domain_of(name).problem(2**31 - 1) is None
        assert domain_of(name).problem(2**31) is not None
