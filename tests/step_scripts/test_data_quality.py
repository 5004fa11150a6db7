"""step_scripts/data_quality.py: Model Monitor's statistics, suggested constraints and violations,
on the Adult training split (preprocessed once per session) and on small exact cases."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from step_jobs import install_code, load_script, run_script

FILES = (
    "statistics.json",
    "constraints.json",
    "drift_check_statistics.json",
    "drift_check_constraints.json",
    "constraint_violations.json",
)


@pytest.fixture(scope="module")
def dq():
    return load_script("data_quality")


@pytest.fixture(scope="module")
def adult(dq, preprocessed):
    train = preprocessed.output / "train"
    schema = json.loads((train / "schema.json").read_text())
    frame = dq.read_split(train, schema)
    statistics = dq.compute_statistics(frame)
    return frame, schema, statistics, dq.suggest_constraints(statistics), train / "train.csv"


def _feature(document: dict, name: str) -> dict:
    return next(f for f in document["features"] if f["name"] == name)


def test_statistics_of_adult_train(dq, adult):
    frame, schema, stats, _, csv = adult
    assert list(pd.read_csv(csv, nrows=0).columns) == [schema["target"], *schema["features"]]
    assert stats["version"] == 0
    assert stats["dataset"] == {"item_count": len(frame)}
    assert [f["name"] for f in stats["features"]] == schema["features"]
    ages = pd.to_numeric(frame["Age"])
    assert frame["Age"].map(type).eq(str).all()  # read as text, as the analyzer reads a CSV
    age = _feature(stats, "Age")
    assert age["inferred_type"] == "Integral"
    num = age["numerical_statistics"]
    assert num["common"] == {"num_present": len(frame), "num_missing": 0}
    assert num["sum"] == float(ages.sum())
    assert num["mean"] == pytest.approx(ages.mean(), rel=1e-12)
    assert num["std_dev"] == pytest.approx(ages.std(ddof=0), rel=1e-12)
    assert (num["min"], num["max"]) == (float(ages.min()), float(ages.max()))
    kll = num["distribution"]["kll"]
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    assert len(kll["buckets"]) == 10
    assert kll["buckets"][0]["lower_bound"] == num["min"] and kll["buckets"][-1]["upper_bound"] == num["max"]
    assert sum(b["count"] for b in kll["buckets"]) == len(frame)
    # compaction keeps the total weight: every row counts once
    assert sum(len(level) << h for h, level in enumerate(kll["sketch"]["data"])) == len(frame)
    assert len(kll["sketch"]["data"]) > 1  # 26k rows do not fit one level of 2,050
    work = _feature(stats, "Workclass")
    assert work["inferred_type"] == "String"
    string = work["string_statistics"]
    missing = int(frame["Workclass"].isna().sum())
    assert missing > 0
    assert string["common"] == {"num_present": len(frame) - missing, "num_missing": missing}
    counts = frame["Workclass"].value_counts()
    assert string["distinct_count"] == len(counts)
    assert {
        b["value"]: b["count"] for b in string["distribution"]["categorical"]["buckets"]
    } == counts.to_dict()


def test_suggested_constraints_of_adult(adult):
    frame, _, stats, constraints, _ = adult
    assert constraints["version"] == 0
    assert _feature(constraints, "Age") == {
        "name": "Age",
        "inferred_type": "Integral",
        "completeness": 1.0,
        "num_constraints": {"is_non_negative": True},
    }
    work = _feature(constraints, "Workclass")
    p, n = frame["Workclass"].notna().mean(), len(frame)
    # Deequ's RetainCompletenessRule: the binomial 95% lower bound, rounded down to 2 decimals
    assert 0.942 < p < 0.943 and 0.940 < p - 1.96 * math.sqrt(p * (1 - p) / n) < 0.941
    assert work["completeness"] == 0.94
    assert work["string_constraints"]["domains"] == sorted(frame["Workclass"].dropna().unique())
    assert constraints["monitoring_config"] == {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    }


def test_the_baseline_holds_for_its_own_data_and_a_sample(dq, adult):
    frame, _, stats, constraints, _ = adult
    assert dq.check_constraints(stats, stats, constraints) == []
    sample = frame.sample(n=5000, random_state=1)
    violations = dq.check_constraints(dq.compute_statistics(sample), stats, constraints)
    # no drift; completeness is held to the baseline's lower bound (Deequ's), which a sample may miss
    bounds = {f["name"]: f.get("completeness", 0.0) for f in constraints["features"]}
    short = {c for c in frame.columns if sample[c].notna().mean() < bounds[c]}
    assert short == {"Workclass"}  # 93.7% in this sample against 94%
    assert {(v["feature_name"], v["constraint_check_type"]) for v in violations} == {
        (c, "completeness_check") for c in short
    }


def test_suggested_completeness_follows_deequ(dq):
    assert dq.suggested_completeness(100, 100) == 1.0  # CompleteIfCompleteRule
    assert dq.suggested_completeness(20, 100) is None  # at or below 20%: no suggestion
    assert dq.suggested_completeness(21, 100) == 0.13  # 0.21 - 1.96 * sqrt(0.21 * 0.79 / 100) = 0.1302
    assert dq.suggested_completeness(90, 100) == 0.84  # 0.9 - 0.0588 = 0.8412, rounded down
    assert dq.suggested_completeness(5, 6) == 0.53  # 0.8333 - 0.2982 = 0.5351
    constraints = dq.suggest_constraints(dq.compute_statistics(pd.DataFrame({"x": [None] * 10 + ["a"] * 2})))
    assert constraints["features"] == [
        {"name": "x", "inferred_type": "String", "string_constraints": {"domains": ["a"]}}
    ]


def test_drift_in_age_is_flagged(dq, adult):
    frame, _, stats, constraints, _ = adult
    older = frame.assign(Age=pd.to_numeric(frame["Age"]) + 15)
    violations = dq.check_constraints(dq.compute_statistics(older), stats, constraints)
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("Age", "baseline_drift_check")
    ]
    assert violations[0]["description"].startswith("Baseline drift distance: ")
    assert "exceeds threshold: 0.1" in violations[0]["description"]


def test_new_category_missing_values_and_columns(dq, adult):
    frame, _, stats, constraints, _ = adult
    changed = frame.head(1000).drop(columns=["Country"]).assign(Extra=1)
    changed.loc[:9, "Workclass"] = "Astronaut"
    changed.loc[10:109, "Age"] = np.nan
    violations = dq.check_constraints(dq.compute_statistics(changed), stats, constraints)
    found = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    assert ("Country", "missing_column_check") in found
    assert ("Extra", "extra_column_check") in found
    assert ("Workclass", "categorical_values_check") in found
    assert ("Age", "completeness_check") in found
    completeness = next(v for v in violations if v["constraint_check_type"] == "completeness_check")
    assert completeness["description"] == (
        "Data completeness requirement is not met. Expected completeness: 100.0%. Observed: Only 90.0% of data is complete."
    )
    assert all(v["constraint_check_type"] in dq.CHECK_TYPES for v in violations)


def test_data_type_check(dq):
    base = pd.DataFrame({"x": [1, 2, 3, 4] * 25})
    constraints = dq.suggest_constraints(dq.compute_statistics(base))
    text = pd.DataFrame({"x": ["1", "2", "abc", "4"] * 25})
    stats = dq.compute_statistics(text)
    assert _feature(stats, "x")["inferred_type"] == "String"
    violations = dq.check_constraints(stats, None, constraints)
    assert violations == [
        {
            "feature_name": "x",
            "constraint_check_type": "data_type_check",
            "description": "Data type match requirement is not met. Expected data type: Integral, Expected match: "
            "100.0%. Observed: Only 75.0% of data is Integral.",
        }
    ]
    constraints["monitoring_config"]["datatype_check_threshold"] = 0.7
    assert dq.check_constraints(stats, None, constraints) == []
    fractional = dq.compute_statistics(pd.DataFrame({"x": [1.5, 2.0, 3.0, 4.0] * 25}))
    assert _feature(fractional, "x")["inferred_type"] == "Fractional"
    constraints["monitoring_config"]["datatype_check_threshold"] = 0.8
    assert [v["constraint_check_type"] for v in dq.check_constraints(fractional, None, constraints)] == [
        "data_type_check"
    ]


def test_small_sketch_is_exact_and_its_distance_is_the_ks_statistic(dq):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=800), rng.normal(0.3, 1.0, size=600)
    sa, sb = dq.kll_sketch(a), dq.kll_sketch(b)
    assert sa == [list(a)]  # fits level 0: no compaction
    simple = dq.numerical_distance(sa, sb, "Simple")
    assert simple == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    robust = dq.numerical_distance(sa, sb, "Robust")
    assert robust == pytest.approx(max(0.0, simple - 1.8 * math.sqrt((800 + 600) / (800 * 600))), abs=1e-12)
    counts, edges = np.histogram(a, bins=10, range=(a.min(), a.max()))
    buckets = dq.kll_buckets(sa, float(a.min()), float(a.max()))
    assert [b["count"] for b in buckets] == [float(c) for c in counts]
    assert [b["lower_bound"] for b in buckets] == pytest.approx(list(edges[:-1]))


def test_compaction_follows_deequ(dq):
    sketch = dq.kll_sketch(np.arange(2051, dtype="float64"))
    # level 0 holds 2,050 (2 * (ceil(2048 / 2) + 1)); the 2,051st item condenses it: the sorted
    # buffer's first 2,050 items at even positions (offset 0 on the first compaction) move up
    # with weight 2; the odd last item stays
    assert [len(level) for level in sketch] == [1, 1025]
    assert sketch[0] == [2050.0]
    assert sketch[1][:3] == [0.0, 2.0, 4.0] and sketch[1][-1] == 2048.0


def test_categorical_drift_and_refusals(dq):
    base = pd.DataFrame({"c": ["a"] * 500 + ["b"] * 500})
    stats = dq.compute_statistics(base)
    constraints = dq.suggest_constraints(stats)
    shifted = dq.compute_statistics(pd.DataFrame({"c": ["a"] * 800 + ["b"] * 200}))
    violations = dq.check_constraints(shifted, stats, constraints)
    assert [v["constraint_check_type"] for v in violations] == ["baseline_drift_check"]
    expected = 0.3 - 1.8 * math.sqrt(2000 / 1_000_000)
    assert violations[0]["description"].startswith(f"Baseline drift distance: {expected:.6g} exceeds")
    del constraints["monitoring_config"]["distribution_constraints"]["categorical_drift_method"]
    assert dq.check_constraints(shifted, stats, constraints) == []
    constraints["monitoring_config"]["distribution_constraints"]["categorical_drift_method"] = "ChiSquared"
    with pytest.raises(ValueError, match="ChiSquared"):
        dq.check_constraints(shifted, stats, constraints)
    constraints["monitoring_config"]["evaluate_constraints"] = "Disabled"
    assert dq.check_constraints(shifted, stats, constraints) == []


# -- data_quality_check.py as the builtin engine's job ---------------------------------------------


@pytest.fixture(scope="module")
def job(tmp_path_factory, preprocessed):
    """The job's code dir (data_quality.py beside it, as on the job's PYTHONPATH) and a runner."""
    code = install_code(["data_quality_check.py", "data_quality.py"], tmp_path_factory.mktemp("code"))

    def run(out: Path, *args: str):
        argv = ["--data-dir", str(preprocessed.output / "train"), "--output-dir", str(out), *args]
        return run_script(code / "data_quality_check.py", argv, cwd=code)

    return run


def test_the_job_writes_the_first_baseline_then_checks_against_it(job, adult, tmp_path):
    _, _, stats, constraints, _ = adult
    first = job(tmp_path / "first", "--skip-check", "true", "--register-new-baseline", "true")
    assert first.returncode == 0, first.stderr
    assert "data_quality_check: read train: " in first.stdout
    assert "data_quality_check: profiled 13/13 features (100%)" in first.stdout
    written = {name: json.loads((tmp_path / "first" / name).read_text()) for name in FILES}
    assert written["statistics.json"] == stats and written["constraints.json"] == constraints
    assert written["drift_check_statistics.json"] == stats
    assert written["drift_check_constraints.json"] == constraints
    assert written["constraint_violations.json"] == {"violations": []}

    again = job(tmp_path / "again", "--baseline-statistics", str(tmp_path / "first"),
                "--baseline-constraints", str(tmp_path / "first" / "constraints.json"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "0 violation(s) of the baseline" in again.stdout

    constraints = json.loads(json.dumps(constraints))
    _feature(constraints, "Sex")["string_constraints"]["domains"] = ["Female"]
    (tmp_path / "narrow.json").write_text(json.dumps(constraints))
    failed = job(tmp_path / "failed", "--baseline-constraints", str(tmp_path / "narrow.json"))
    assert failed.returncode == 3
    assert failed.stderr.startswith(
        "data_quality_check: error: data quality check failed: Sex: categorical_values_check: "
    )
    assert len(failed.stderr.strip().splitlines()) == 1
    skipped = job(
        tmp_path / "skipped", "--baseline-constraints", str(tmp_path / "narrow.json"), "--skip-check", "true"
    )
    assert skipped.returncode == 0, skipped.stderr
    violations = json.loads((tmp_path / "skipped" / "constraint_violations.json").read_text())["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("Sex", "categorical_values_check")
    ]
    # the baseline used for drift checks stays the supplied one without register_new_baseline
    assert json.loads((tmp_path / "skipped" / "drift_check_constraints.json").read_text()) == constraints


def test_the_job_without_a_baseline_fails_unless_a_first_run(job, tmp_path):
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "no-baseline.json").write_text("{}\n")  # the compiler's placeholder
    result = job(tmp_path / "out", "--baseline-constraints", str(tmp_path / "none"), "--skip-check", "true")
    assert result.returncode == 1
    assert result.stderr.startswith("data_quality_check: error: no data quality baseline: none supplied")
    assert "skip_check and register_new_baseline true" in result.stderr


def test_the_dataset_mode_writes_the_features_with_a_header(job, adult, tmp_path):
    frame, schema, *_ = adult
    result = job(tmp_path, "--mode", "dataset")
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(tmp_path / "baseline.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert list(written.columns) == schema["features"]
    pd.testing.assert_frame_equal(written, frame)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, preprocessed) -> Path:
    """Adult's train split as training.distributed writes it: train-0000i-of-00003.csv and no
    schema.json in train/; the validation split (schema.json and its CSV) beside it."""
    root = tmp_path_factory.mktemp("sharded")
    (root / "train").mkdir()
    lines = (preprocessed.output / "train" / "train.csv").read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    bounds = np.linspace(0, len(rows), 4).round().astype(int)
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        (root / "train" / f"train-{i:05d}-of-00003.csv").write_text(header + "".join(rows[start:stop]))
    shutil.copytree(preprocessed.output / "validation", root / "validation")
    assert sorted(p.name for p in (root / "train").iterdir()) == [
        f"train-0000{i}-of-00003.csv" for i in range(3)
    ]
    return root


def test_the_job_reads_a_sharded_train_split_with_the_validation_splits_schema(sharded, adult, tmp_path):
    frame, schema, stats, constraints, _ = adult
    code = install_code(["data_quality_check.py", "data_quality.py"], tmp_path / "code")
    data = ["--data-dir", str(sharded / "train"), "--schema-dir", str(sharded / "validation")]

    def run(out: Path, *args: str):
        return run_script(code / "data_quality_check.py", [*data, "--output-dir", str(out), *args], cwd=code)

    first = run(tmp_path / "baseline", "--skip-check", "true", "--register-new-baseline", "true")
    assert first.returncode == 0, first.stderr
    assert (
        f"data_quality_check: the train split has no schema.json (a sharded split): reading {sharded / 'validation' / 'schema.json'}"
        in first.stdout
    )
    assert f"data_quality_check: read train: {len(frame):,} rows, 13 features" in first.stdout
    written = {name: json.loads((tmp_path / "baseline" / name).read_text()) for name in FILES}
    assert written["statistics.json"] == stats  # every shard: the unsharded split's baseline exactly
    assert written["constraints.json"] == constraints

    dataset = run(tmp_path / "dataset", "--mode", "dataset")  # the SageMaker engine's feature extraction
    assert dataset.returncode == 0, dataset.stderr
    features = pd.read_csv(
        tmp_path / "dataset" / "baseline.csv", dtype=str, keep_default_na=False, na_values=[""]
    )
    assert list(features.columns) == schema["features"]
    pd.testing.assert_frame_equal(features, frame)

    without = run_script(
        code / "data_quality_check.py",
        ["--data-dir", str(sharded / "train"), "--output-dir", str(tmp_path / "none"), "--mode", "dataset"],
        cwd=code,
    )
    assert without.returncode == 1
    assert without.stderr == (
        f"data_quality_check: error: training schema '{sharded / 'train' / 'schema.json'}' does not exist\n"
    )
