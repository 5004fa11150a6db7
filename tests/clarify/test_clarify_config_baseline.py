"""Analysis-config parsing, baseline comparison (Model Monitor's rules), portability."""

from __future__ import annotations

import ast
import json
import math
import warnings

import numpy as np
import pytest
from clarify_helpers import FEATURES, TARGET, analysis_config
from step_jobs import SCRIPTS

SCHEMA = {
    "target": TARGET,
    "features": FEATURES,
    "categorical": {"Sex": ["Female", "Male"], "Relationship": ["Husband", "Wife"]},
    "numeric": ["Age", "Capital Gain"],
}


def bias_analysis(values: dict[str, float | None], facet_value: str = "Female") -> dict:
    return {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": TARGET,
            "label_value_or_threshold": "1",
            "facets": {
                "Sex": [
                    {
                        "value_or_threshold": facet_value,
                        "metrics": [{"name": n, "description": n, "value": v} for n, v in values.items()],
                    }
                ]
            },
        },
    }


def shap_analysis(values: dict[str, float]) -> dict:
    return {
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": values, "expected_value": -1.0}}}
    }


# ------------------------------------------------------------------------------------------ config


def test_config_from_the_sdk_shape(cc, bm):
    config = cc.parse_config(analysis_config(), SCHEMA)
    assert config.label == TARGET and config.label_values == [1]
    assert [(f.name, f.values) for f in config.facets] == [("Sex", ["Female"])]
    assert config.group_variable == "Relationship" and config.probability_threshold == 0.5
    assert config.post_training == sorted(bm.POST_TRAINING_NAMES)
    assert config.pre_training == sorted(bm.PRE_TRAINING_NAMES)
    assert config.shap["agg_method"] == "mean_abs"


def test_predictor_label_without_threshold_means_the_models_own_labels(cc):
    raw = analysis_config()
    raw.pop("probability_threshold", None)
    raw["predictor"] = {"label": 1, "probability": 0}
    config = cc.parse_config(raw, SCHEMA)
    assert config.probability_threshold is None
    assert cc.effective_threshold(config, {"threshold": 0.3799}) == 0.3799
    with pytest.raises(cc.InputError, match="metadata.json has no threshold"):
        cc.effective_threshold(config, {})
    raw["probability_threshold"] = 0.6
    assert cc.effective_threshold(cc.parse_config(raw, SCHEMA), {"threshold": 0.38}) == 0.6


def test_config_defaults_and_indices(cc):
    raw = {
        "label": 0,
        "facet": [{"name_or_index": 9}],
        "methods": {"post_training_bias": {"methods": ["DCAcc", "dppl", "DI", "DCA"]}},
    }
    config = cc.parse_config(raw, SCHEMA)
    assert config.headers == [TARGET, *FEATURES]  # no headers: the schema's order
    assert config.label == TARGET and config.facets[0].name == "Sex" and config.facets[0].values is None
    assert config.post_training == ["DCA", "DI", "DPPL"]  # DCAcc is DCA; order is Clarify's (by name)
    assert config.pre_training is None and config.shap is None
    assert config.probability_threshold == cc.DEFAULT_PROBABILITY_THRESHOLD


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            {"methods": {"post_training_bias": {"methods": ["DPPL", "XYZ"]}}},
            "unknown post_training_bias metric 'XYZ'",
        ),
        ({"facet": [{"name_or_index": "Race"}]}, "facet[0] 'Race' is not in headers"),
        ({"facet": [{"name_or_index": 99}]}, "facet[0] index 99 is outside headers"),
        ({"facet": [{"name_or_index": TARGET}]}, "is the label column"),
        ({"headers": ["a", "b"]}, "label 'Target' is not in headers"),
        ({"methods": {"shap": {"agg_method": "max"}}}, "agg_method must be one of"),
        ({"probability_threshold": "high"}, "probability_threshold must be a number"),
        ({"label_values_or_threshold": []}, "must not be empty"),
    ],
)
def test_config_errors_are_one_clear_message(cc, raw, message):
    with pytest.raises(cc.InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        cc.parse_config(raw, SCHEMA)


def test_config_written_by_the_sagemaker_sdk(cc):
    """The analysis configs the compiler's ClarifyCheckSteps make the SDK write, parsed as-is."""
    clarify = pytest.importorskip("sagemaker.clarify")
    generator = getattr(clarify, "_AnalysisConfigGenerator", None)
    if generator is None:
        pytest.skip("this sagemaker SDK has no _AnalysisConfigGenerator")
    data = clarify.DataConfig(
        s3_data_input_path="s3://bucket/in",
        s3_output_path="s3://bucket/out",
        label=TARGET,
        headers=[TARGET, *FEATURES],
        dataset_type="text/csv",
    )
    model = clarify.ModelConfig(
        model_name="m",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        content_type="text/csv",
        accept_type="text/csv",
    )
    bias = clarify.BiasConfig(
        label_values_or_threshold=[1], facet_name="Sex", facet_values_or_threshold=["Female"]
    )
    predicted = clarify.ModelPredictedLabelConfig(probability=0, probability_threshold=0.5)
    shap = clarify.SHAPConfig(seed=123, num_samples=100, agg_method="mean_abs", save_local_shap_values=False)
    bias_raw = generator.bias_post_training(data, bias, predicted, ["DPPL", "DI"], model)
    explain_raw = generator.explainability(data, model, None, shap)
    bias_config = cc.parse_config(json.loads(json.dumps(bias_raw)), SCHEMA)
    assert bias_config.post_training == ["DI", "DPPL"] and bias_config.facets[0].values == ["Female"]
    explain_config = cc.parse_config(json.loads(json.dumps(explain_raw)), SCHEMA)
    assert explain_config.shap["agg_method"] == "mean_abs" and explain_config.post_training is None


# ---------------------------------------------------------------------------------------- baseline


def test_ndcg_matches_scikit_learn(cb):
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(7)
    for _ in range(20):
        base, cur = rng.random(8), rng.random(8)
        names = [f"f{i}" for i in range(8)]
        ours = cb.ndcg(dict(zip(names, base, strict=True)), dict(zip(names, cur, strict=True)))
        assert ours == pytest.approx(ndcg_score([base], [cur]), abs=1e-12)


def test_ndcg_extremes(cb):
    base = {"a": 0.9, "b": 0.5, "c": 0.1, "d": 0.05}
    assert cb.ndcg(base, base) == pytest.approx(1.0)
    assert cb.ndcg(base, {k: 2 * v for k, v in base.items()}) == pytest.approx(1.0)  # scale-free
    reversed_ = {"a": 0.05, "b": 0.1, "c": 0.5, "d": 0.9}
    assert cb.ndcg(base, reversed_) < cb.NDCG_THRESHOLD
    assert cb.ndcg(base, {k: -v for k, v in base.items()}) == pytest.approx(1.0)  # ranks by magnitude
    assert math.isnan(cb.ndcg({"a": 0.0}, {"a": 1.0}))


def test_ndcg_against_a_baseline_without_shap_is_none(cb):
    current = {"Age": 0.6, "Sex": 0.1}
    baseline = shap_analysis({"Age": 0.1, "Sex": 0.6})
    assert cb.ndcg_against(baseline, "label0", current) == pytest.approx(
        cb.ndcg({"Age": 0.1, "Sex": 0.6}, current)
    )
    assert cb.ndcg_against(baseline, "label1", current) is None  # nothing for that label: undefined
    assert cb.ndcg_against(bias_analysis({"DI": 1.0}), "label0", current) is None


def test_bias_rule_is_farther_from_ideal_than_baseline(cb):
    baseline = bias_analysis({"DPPL": 0.2, "DI": 0.8, "TE": -0.5, "AD": None, "DCAcc": 0.1})
    same = cb.compare_bias(baseline, baseline)
    assert same == []
    closer = bias_analysis({"DPPL": 0.1, "DI": 1.2, "TE": 0.4, "AD": 0.9, "DCA": -0.05})
    assert cb.compare_bias(closer, baseline) == []  # |ln 1.2| < |ln 0.8|; AD has no baseline value
    worse = bias_analysis({"DPPL": -0.3, "DI": 0.7, "TE": -0.5, "AD": 0.0, "DCA": 0.2})
    violations = cb.compare_bias(worse, baseline)
    assert [(v["metric_name"], v["value"], v["baseline_value"]) for v in violations] == [
        ("DPPL", -0.3, 0.2),
        ("DI", 0.7, 0.8),
        ("DCA", 0.2, 0.1),
    ]
    first = violations[0]
    assert first["facet"] == "Sex" and first["facet_value"] == "Female"
    assert first["constraint_check_type"] == "bias_drift_check"
    assert cb.compare_bias(worse, baseline, tolerance=0.2) == []
    # another facet value: nothing to compare with
    assert cb.compare_bias(bias_analysis({"DPPL": 0.9}, "Male"), baseline) == []


def test_bias_baseline_infinity_strings(cb):
    baseline = bias_analysis({"TE": "Infinity", "DI": 0.0})
    current = bias_analysis({"TE": 1e9, "DI": 0.01})
    assert cb.compare_bias(current, baseline) == []


def test_explanation_rule(cb):
    base = shap_analysis({"Age": 0.7, "Sex": 0.2, "Country": 0.05})
    assert cb.compare_explanations(shap_analysis({"Age": 0.6, "Sex": 0.3, "Country": 0.01}), base) == []
    flipped = shap_analysis({"Age": 0.01, "Sex": 0.2, "Country": 0.7})
    (violation,) = cb.compare_explanations(flipped, base)
    assert violation["label"] == "label0" and violation["metric_name"] == "shap"
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["description"].startswith("Feature attribution drift 0.")
    assert violation["description"].endswith("exceeds threshold 0.9")


def test_check_baseline_needs_the_right_sections(cb):
    with pytest.raises(cb.InputError, match="no explanations.kernel_shap"):
        cb.check_baseline(shap_analysis({"a": 1.0}), bias_analysis({"DI": 1.0}), ["explainability"], 0.0, 0.9)
    with pytest.raises(cb.InputError, match="none of the bias sections"):
        cb.check_baseline(bias_analysis({"DI": 1.0}), shap_analysis({"a": 1.0}), ["bias"], 0.0, 0.9)


@pytest.mark.parametrize(
    "has_baseline, skip, fail, violations, expected",
    [
        (False, False, True, [], ("NO BASELINE", False)),
        (True, True, True, [{"x": 1}], ("SKIPPED", False)),
        (True, False, True, [], ("PASSED", False)),
        (True, False, True, [{"x": 1}], ("FAILED", True)),
        (True, False, False, [{"x": 1}], ("NOT ENFORCED", False)),
    ],
)
def test_clarify_check_step_semantics(cb, has_baseline, skip, fail, violations, expected):
    assert cb.decide(has_baseline, skip, fail, violations) == expected


def test_load_baseline_from_file_or_dir(cb, tmp_path):
    (tmp_path / "analysis.json").write_text(json.dumps(bias_analysis({"DI": 1.0})))
    assert cb.load_baseline(tmp_path)["version"] == "1.0"
    assert cb.load_baseline(tmp_path / "analysis.json")["version"] == "1.0"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(cb.InputError, match="not valid JSON"):
        cb.load_baseline(tmp_path / "bad.json")
    with pytest.raises(cb.InputError, match="does not exist"):
        cb.load_baseline(tmp_path / "missing.json")
    (tmp_path / "empty").mkdir()
    assert cb.load_baseline(tmp_path / "empty") is None  # an empty baseline input: first run


# ------------------------------------------------------------------------------------- portability


@pytest.mark.parametrize("name", ["clarify_check", "bias_metrics", "clarify_baseline"])
def test_script_and_its_modules_are_python_39_and_standalone(name):
    """Container code: the libraries of the scikit-learn image, the shared modules, no report."""
    source = (SCRIPTS / f"{name}.py").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        tree = ast.parse(source, feature_version=(3, 9))
    first = next(node for node in tree.body if not isinstance(node, ast.Expr))
    assert isinstance(first, ast.ImportFrom) and first.module == "__future__"
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    allowed = {"__future__", "argparse", "collections", "dataclasses", "json", "math", "pathlib", "sys"}
    allowed |= {"typing", "numpy", "pandas", "sklearn", "lightgbm", "step_common", "bias_metrics"}
    allowed |= {"clarify_baseline", "time", "boto3", "botocore"}  # boto3 (and botocore): in the image
    assert imported <= allowed, imported - allowed
    assert "lgbm_pipeline_compiler" not in source and "subprocess" not in source and "jinja2" not in source
