"""train.py: script-mode run on Adult (SM_* env, SageMaker's extra arguments), outputs, helpers."""

from __future__ import annotations

import json
import re

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, roc_auc_score
from step_jobs import SCRIPTS, run_script
from step_script_helpers import assert_clean_failure, read_split


def load_split(directory, schema):
    """A split as train.py documents it (categoricals as strings with schema levels): (x, y)."""
    frame, features = read_split(directory / f"{directory.name}.csv", schema)
    return features, frame[schema["target"]].to_numpy()


# --- the real Adult run ---------------------------------------------------------------------


def test_prints_the_lines_the_tuner_and_logs_read(trained):
    out = trained.result.stdout
    metrics = json.loads((trained.output_data / "metrics.json").read_text())
    for name in ("train-f1", "validation-f1", "validation-auc"):
        lines = [line for line in out.splitlines() if line.startswith(f"{name}: ")]
        assert len(lines) == 1, out
        assert re.fullmatch(rf"{name}: [01]\.\d{{6}}", lines[0]), lines[0]
    tuner = re.search(r"validation-f1: ([0-9.]+)", out)
    assert float(tuner.group(1)) == pytest.approx(metrics["validation_f1"], abs=5e-7)


def test_model_dir_holds_model_schema_metadata_and_serving_code(trained, preprocessed):
    model_dir = trained.model_dir
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert set(metadata) >= {"threshold", "best_iteration", "hyperparameters", "lightgbm_version"}
    assert metadata["lightgbm_version"] == lgb.__version__
    assert 0.0 < metadata["threshold"] < 1.0
    assert metadata["hyperparameters"]["early_stopping_rounds"] == 50
    assert metadata["hyperparameters"]["seed"] == 42
    booster = lgb.Booster(model_file=str(model_dir / "model.txt"))
    assert booster.num_trees() == metadata["best_iteration"]
    assert metadata["best_iteration"] < metadata["hyperparameters"]["n_estimators"]  # early stopping worked
    schema = json.loads((preprocessed.output / "train" / "schema.json").read_text())
    assert json.loads((model_dir / "schema.json").read_text()) == schema
    served = sorted(path.name for path in (model_dir / "code").iterdir())
    assert served == ["inference.py", "requirements.txt", "step_common.py"]  # inference imports step_common
    for name in served:
        assert (model_dir / "code" / name).read_bytes() == (SCRIPTS / name).read_bytes()


def test_reported_metrics_are_binary_f1_at_the_chosen_threshold(trained, preprocessed):
    """Recompute everything from the saved model and the CSVs: no macro F1, same threshold."""
    schema = json.loads((trained.model_dir / "schema.json").read_text())
    metadata = json.loads((trained.model_dir / "metadata.json").read_text())
    metrics = json.loads((trained.output_data / "metrics.json").read_text())
    booster = lgb.Booster(model_file=str(trained.model_dir / "model.txt"))
    threshold = metadata["threshold"]
    assert metrics["threshold"] == threshold
    assert metrics["best_iteration"] == metadata["best_iteration"]
    for split in ("train", "validation"):
        x, y = load_split(preprocessed.output / split, schema)
        proba = booster.predict(x)
        assert metrics[f"{split}_f1"] == pytest.approx(f1_score(y, proba >= threshold), abs=1e-12)
        # On train, train.py reads the probabilities from LightGBM's boosting scores: equal to
        # predict() up to float rounding (~1e-16), which can order the tied scores of identical
        # rows differently and so move the AUC in its ninth decimal.
        tolerance = 1e-7 if split == "train" else 1e-12
        assert metrics[f"{split}_auc"] == pytest.approx(roc_auc_score(y, proba), abs=tolerance)
    # No threshold on a fine grid does better on validation (the loop's last split) than the chosen
    # one: F1 = 2 TP / (2 TP + FP + FN) at the 200 thresholds at once, and at the chosen one too,
    # where it must be scikit-learn's
    grid = np.append(np.quantile(proba, np.linspace(0.5, 0.95, 200)), threshold)
    predicted = proba[None, :] >= grid[:, None]
    tp = (predicted & (y == 1)).sum(axis=1)
    f1 = 2 * tp / (2 * tp + (predicted & (y == 0)).sum(axis=1) + ((~predicted) & (y == 1)).sum(axis=1))
    assert f1[-1] == pytest.approx(metrics["validation_f1"], abs=1e-12)
    assert metrics["validation_f1"] >= f1[:-1].max() - 1e-12
    assert metrics["validation_f1"] > 0.68


# --- bad inputs -----------------------------------------------------------------------------


def sm_env(tmp_path, train_dir, validation_dir):
    return {
        "SM_CHANNEL_TRAIN": str(train_dir),
        "SM_CHANNEL_VALIDATION": str(validation_dir),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
    }


def test_unknown_argument_is_named(tmp_path, preprocessed):
    env = sm_env(tmp_path, preprocessed.output / "train", preprocessed.output / "validation")
    args = ["--sagemaker_program", '"train.py"', "--num_round", "10"]
    result = run_script(SCRIPTS / "train.py", args, env=env)
    assert_clean_failure(result, "train", "unrecognized arguments: --num_round 10")


def test_bad_hyperparameter_value(tmp_path, preprocessed):
    env = sm_env(tmp_path, preprocessed.output / "train", preprocessed.output / "validation")
    result = run_script(SCRIPTS / "train.py", ["--feature_fraction", '"1.5"'], env=env)
    assert_clean_failure(result, "train", "--feature_fraction", "must be in (0, 1]")


def test_train_channel_without_schema(tmp_path, preprocessed):
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    (train_dir / "train.csv").write_bytes((preprocessed.output / "train" / "train.csv").read_bytes())
    result = run_script(
        SCRIPTS / "train.py", [], env=sm_env(tmp_path, train_dir, preprocessed.output / "validation")
    )
    assert_clean_failure(result, "train", "schema.json not found in train channel")
    assert not (tmp_path / "model").exists()


# --- argument parsing -----------------------------------------------------------------------


def test_sagemaker_arguments_are_ignored_and_quoted_values_accepted(scripts, monkeypatch):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")
    monkeypatch.setenv("SM_MODEL_DIR", "/opt/ml/model")
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    argv = [
        "--learning_rate", '"0.1"',
        "--sagemaker_container_log_level", "20",
        "--n_estimators", '"\\"250\\""',
        "--sagemaker_job_name", '"census-2024"',
        "--sagemaker_program", '"train.py"',
        "--sagemaker_region=\"us-east-1\"",
        "--sagemaker_submit_directory", '"s3://b/k/sourcedir.tar.gz"',
        "--num_leaves", "63",
        "--sagemaker_estimator_class_name", '"SKLearn"',
        "--_tuning_objective_metric", '"validation-f1"',  # added by hyperparameter tuning jobs
    ]  # fmt: skip
    args = scripts.train.parse_args(argv)
    assert args.learning_rate == 0.1
    assert args.n_estimators == 250
    assert args.num_leaves == 63
    assert args.max_bin == 255  # default
    assert args.train == "/opt/ml/input/data/train"
    assert args.model_dir == "/opt/ml/model"


def test_cli_overrides_env(scripts, monkeypatch, tmp_path):
    for name in ("SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR"):
        monkeypatch.setenv(name, "/from/env")
    args = scripts.train.parse_args(["--train", str(tmp_path), "--output-data-dir", "/x"])
    assert (args.train, args.validation, args.output_data_dir) == (str(tmp_path), "/from/env", "/x")


def test_missing_channel_is_an_error(scripts, monkeypatch, capsys):
    for name in ("SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exc:
        scripts.train.parse_args(["--validation", "/v", "--model-dir", "/m", "--output-data-dir", "/o"])
    assert exc.value.code == 2
    assert "set SM_CHANNEL_TRAIN or pass --train" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "kept"),
    [
        (["--sagemaker_program", "train.py", "--seed", "1"], ["--seed", "1"]),
        (["--sagemaker-region=us-east-1", "--seed", "1"], ["--seed", "1"]),
        (["--seed", "1", "--sagemaker_container_log_level", "20"], ["--seed", "1"]),
        (["--sagemaker_flag", "--seed", "1"], ["--seed", "1"]),
        (["--foo", "1", "--sagemaker_program", '"x"'], ["--foo", "1"]),
        (["--_tuning_objective_metric", '"validation-f1"', "--seed", "1"], ["--seed", "1"]),
    ],
)
def test_strip_sagemaker_args(scripts, argv, kept):
    assert scripts.train.strip_sagemaker_args(argv) == kept


@pytest.mark.parametrize(
    ("text", "value"), [("0.05", 0.05), ('"0.05"', 0.05), ('"\\"0.05\\""', 0.05), (" 1e-2 ", 0.01)]
)
def test_quoted_numbers(scripts, text, value):
    assert scripts.train.number(float, 0, low_open=True)(text) == value


def test_integers_reject_fractions(scripts):
    convert = scripts.train.number(int, 1)
    assert convert('"400"') == 400
    assert convert("400.0") == 400
    with pytest.raises(Exception, match="expected int"):
        convert("400.5")


# --- threshold picking ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([i / 20 for i in range(21)])), min_size=2, max_size=60
    ).filter(lambda rows: len({y for y, _ in rows}) == 2)
)
def test_best_threshold_is_the_f1_maximiser(scripts, data):
    y = np.array([label for label, _ in data])
    proba = np.array([p for _, p in data])  # coarse values: many ties
    threshold, best = scripts.train.best_threshold(y, proba)
    assert best == pytest.approx(f1_score(y, proba >= threshold), abs=1e-12)
    # F1 = 2 TP / (2 TP + FP + FN) at every candidate at once (scikit-learn's f1_score costs ~4 ms a
    # call: 200 examples of up to 21 candidates), checked against f1_score at the chosen threshold
    candidates = np.unique(proba)
    predicted = proba[None, :] >= candidates[:, None]
    tp = (predicted & (y == 1)).sum(axis=1)
    f1 = 2 * tp / (2 * tp + (predicted & (y == 0)).sum(axis=1) + ((~predicted) & (y == 1)).sum(axis=1))
    assert f1[candidates == threshold] == pytest.approx([best], abs=1e-12)
    assert (f1 <= best + 1e-12).all(), (candidates, f1, best)


def test_best_threshold_on_a_perfect_ranking(scripts):
    y = np.array([0, 0, 1, 1])
    threshold, best = scripts.train.best_threshold(y, np.array([0.1, 0.35, 0.4, 0.8]))
    assert (threshold, best) == (0.4, 1.0)
