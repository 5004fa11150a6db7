"""The census run's data-quality baseline (the session's shared sagemaker-clarify run, a first run):
the QualityCheck step profiles the training split's features exactly as data_quality.py does, and
RegisterModel registers it in ModelMetrics and DriftCheckBaselines (ModelDataQuality)."""

from __future__ import annotations

import json

from lgbm_pipeline_compiler.step_scripts import data_quality

from lgbm_pipeline_compiler.local.registry import LocalRegistry


def _read(work, uri: str) -> dict:
    return json.loads((work / "s3" / uri.removeprefix("s3://")).read_text())


def test_the_registered_baseline_is_the_training_splits_features(clarify_run):
    assert clarify_run.returncode == 0, clarify_run.stderr[-3000:]
    work = clarify_run.work
    (version,) = LocalRegistry(work).versions("census-income-lgbm")
    request = version["Request"]
    metrics, drift = (
        request["ModelMetrics"]["ModelDataQuality"],
        request["DriftCheckBaselines"]["ModelDataQuality"],
    )
    for source in (*metrics.values(), *drift.values()):
        assert source["ContentType"] == "application/json"
    assert metrics["Statistics"]["S3Uri"].endswith("/DataQualityCheck/baseline/statistics.json")
    assert metrics["Constraints"]["S3Uri"].endswith("/DataQualityCheck/baseline/constraints.json")
    assert (
        drift == metrics
    )  # a first run: RegisterNewBaseline makes the calculated baseline the drift baseline

    (train,) = [p.parent for p in (work / "s3").rglob("Preprocess/train/schema.json")]
    schema = json.loads((train / "schema.json").read_text())
    expected = data_quality.compute_statistics(data_quality.read_split(train, schema))
    statistics = _read(work, metrics["Statistics"]["S3Uri"])
    assert statistics == json.loads(json.dumps(expected))
    assert [f["name"] for f in statistics["features"]] == schema["features"]  # no target column
    assert schema["target"] not in {f["name"] for f in statistics["features"]}
    assert _read(work, metrics["Constraints"]["S3Uri"]) == data_quality.suggest_constraints(expected)
