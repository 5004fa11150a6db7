"""`lgbm-pipeline monitor` on a model train.py fits on the session's Adult splits (``preprocessed``;
:data:`HYPERPARAMETERS`), served with data capture.

The package is registered here by hand, with the baselines a pipeline run registers, computed by
the step scripts' own code on the other splits: the data-quality baseline of the training split
(data_quality.py), bias metrics and global SHAP of the validation split (clarify_check.py's
functions), and the model's predictions on the test split where the batch transform writes them.
The first :data:`ROWS` rows of the test split stand for it throughout (the checks' baselines, the
batch transform's predictions, the traffic): they are sent through `serve` (CSV requests of 50 rows,
each with an inference id), then a shifted copy of them (ages + 20 years, Workclass ``Private``
remapped to ``Self-emp-not-inc``); ``--since`` separates the two streams. The full pipeline version
is tests/local/test_monitor_e2e.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from monitor.streams import ground_truth, monitor, read, serve_and_send, shifted
from pypdf import PdfReader
from step_jobs import train_job

from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.store import ObjectStore
from lgbm_pipeline_compiler.monitor.bundled import module

HYPERPARAMETERS = ["--n_estimators", "40", "--learning_rate", "0.2"]
"""The served model: 36 trees (early stopping), validation AUC 0.923, rather than the session's
default model (``trained``, 307 trees): exact TreeSHAP, which the baseline and each monitor run
compute on 2,000 rows or more, costs in proportion to the trees (about 2.5 ms a row with 307), and
nothing the monitor checks depends on the model's size. Training it costs about a second."""
ROWS = 2500
"""Rows of the test split sent: more than the monitor's TreeSHAP sample (checks.SHAP_ROWS, 2000 rows),
so that it samples. The clean stream's nDCG against the baseline is 0.9999 (1.0 on the whole split
with the default model), each untouched feature's drift distance 0.0 in both streams (as on the
whole split), Workclass's and Age's in the shifted one 0.70 and 0.48 (0.71 and 0.49) against the
threshold 0.1."""
BUCKET = "s3://acme"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": f"{BUCKET}/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}
BIAS_CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "Sex", "value_or_threshold": ["Female"]}],
}


def put_json(store: ObjectStore, uri: str, data: object) -> str:
    store.put_bytes(uri, json.dumps(data).encode())
    return uri


def sent_rows(preprocessed) -> tuple[pd.DataFrame, dict]:
    """The first :data:`ROWS` rows of the test split (as text) and the schema."""
    folder = preprocessed.output / "test"
    schema = json.loads((preprocessed.output / "train" / "schema.json").read_text())
    frame = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.csv"))],
        ignore_index=True,
    )
    assert len(frame) > ROWS, len(frame)
    return frame.iloc[:ROWS], schema


def register(work: Path, job, preprocessed, test: pd.DataFrame) -> str:
    """The package, its baselines and an Approved status; an endpoint with capture serving it."""
    store, registry = ObjectStore(work), LocalRegistry(work)
    dq, clarify_check = module("data_quality"), module("clarify_check")
    step_common = module("step_common")
    model = step_common.load_model(job.model_dir)
    schema = model.schema
    train = dq.read_split(preprocessed.output / "train", schema)
    statistics = dq.compute_statistics(train, schema["features"])
    uris = {
        "statistics": put_json(store, f"{BUCKET}/baselines/statistics.json", statistics),
        "constraints": put_json(
            store, f"{BUCKET}/baselines/constraints.json", dq.suggest_constraints(statistics)
        ),
    }
    headers = [schema["target"], *schema["features"]]
    bias_raw = {**BIAS_CONFIG, "headers": headers, "label": schema["target"]}
    config = clarify_check.parse_config(
        {**bias_raw, "methods": {"post_training_bias": {"methods": ["DPPL", "DI"]}}}, schema
    )
    texts = test.replace({"": None})
    features = step_common.to_model_frame(texts, schema)
    predicted = model.booster.predict(features) >= model.threshold
    bias = clarify_check.bias_sections(texts, config, schema, predicted)
    values, expected = clarify_check.tree_shap(model.booster, features)
    shap = clarify_check.explanations_section(
        list(features.columns), clarify_check.aggregate_shap(values, "mean_abs"), expected, "label0"
    )
    uris["bias_config"] = put_json(store, f"{BUCKET}/artifacts/bias/analysis_config.json", bias_raw)
    uris["bias"] = put_json(
        store, f"{BUCKET}/runs/r1/ModelBiasCheck/analysis.json", {"version": "1.0", **bias}
    )
    shap_raw = {"headers": schema["features"], "methods": {"shap": {"agg_method": "mean_abs"}}}
    uris["shap_config"] = put_json(store, f"{BUCKET}/artifacts/shap/analysis_config.json", shap_raw)
    uris["shap"] = put_json(
        store, f"{BUCKET}/runs/r1/ModelExplainabilityCheck/analysis.json", {"explanations": shap}
    )
    probability = model.booster.predict(features)
    lines = [
        f"{t},{float(p)!r},{int(p >= model.threshold)}"
        for t, p in zip(test[schema["target"]], probability, strict=True)
    ]
    store.put_bytes(f"{BUCKET}/runs/r1/Evaluate/predictions/test.csv.out", ("\n".join(lines) + "\n").encode())
    store.put_bytes(f"{BUCKET}/models/model.tar.gz", job.archive.read_bytes())
    source = lambda uri: {"ContentType": "application/json", "S3Uri": uri}  # noqa: E731
    package = registry.register(
        {
            "ModelPackageGroupName": "census",
            "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {
                "Containers": [{"Image": "sklearn", "ModelDataUrl": f"{BUCKET}/models/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": source(f"{BUCKET}/runs/r1/Evaluate/evaluation/evaluation.json")
                }
            },
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": source(uris["statistics"]),
                    "Constraints": source(uris["constraints"]),
                },
                "Bias": {
                    "ConfigFile": source(uris["bias_config"]),
                    "PostTrainingConstraints": source(uris["bias"]),
                },
                "Explainability": {
                    "ConfigFile": source(uris["shap_config"]),
                    "Constraints": source(uris["shap"]),
                },
            },
        }
    )
    control = LocalSageMaker(work)
    control.create_model(
        ModelName="census-v1", PrimaryContainer={"ModelPackageName": package["ModelPackageArn"]}
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "census-v1",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    control.create_endpoint_config(
        EndpointConfigName="census-c1", ProductionVariants=[variant], DataCaptureConfig=CAPTURE
    )
    control.create_endpoint(EndpointName="census", EndpointConfigName="census-c1")
    return package["ModelPackageArn"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, preprocessed) -> SimpleNamespace:
    """The served model's training job (step_jobs.train_job, as ``trained`` but for HYPERPARAMETERS)."""
    return train_job(tmp_path_factory.mktemp("monitor-model"), preprocessed, HYPERPARAMETERS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, served, preprocessed) -> SimpleNamespace:
    """The clean stream captured and monitored; then the shifted stream, monitored with --since."""
    folder = tmp_path_factory.mktemp("monitor")
    work = folder / "work"
    test, schema = sent_rows(preprocessed)  # the checks' data: the test split (preprocessing.py clarify.csv)
    arn = register(work, served, preprocessed, test)
    target, features = schema["target"], schema["features"]
    truth = ground_truth(
        folder / "clean-truth.jsonl", serve_and_send(work, "census", test, features, target, "clean")
    )
    common = ["--work-dir", str(work)]
    clean = monitor("census", *common, "--out", str(folder / "clean"), "--ground-truth", str(truth), "--pdf")
    time.sleep(1.1)  # inferenceTime has whole seconds: --since splits the streams at a second
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sent = serve_and_send(work, "census", shifted(test), features, target, "shift")
    truth = ground_truth(folder / "shifted-truth.jsonl", sent)
    drift = monitor(
        "census", *common, "--out", str(folder / "shifted"), "--ground-truth", str(truth), "--since", since
    )
    return SimpleNamespace(
        work=work, arn=arn, rows=len(test), schema=schema, folder=folder, clean=clean, shifted=drift,
        clean_out=folder / "clean", shifted_out=folder / "shifted",
    )  # fmt: skip


def test_the_clean_test_split_has_no_violation(runs):
    assert runs.clean.code == 0, runs.clean.stderr
    assert read(runs.clean_out, "constraint_violations.json") == {"violations": []}
    summary = read(runs.clean_out, "monitor.json")
    assert summary["rows"] == runs.rows and summary["model_package"] == runs.arn
    assert summary["variants"] == ["AllTraffic"]
    assert {name: c["status"] for name, c in summary["checks"].items()} == {
        "data quality": "passed",
        "prediction drift": "passed",
        "bias drift": "passed",
        "feature attribution drift": "passed",
    }
    features = summary["checks"]["data quality"]["details"]["features"]
    assert [f["feature"] for f in features] == runs.schema["features"]
    assert all(f["distance"] <= f["threshold"] for f in features), features
    assert summary["checks"]["feature attribution drift"]["details"]["ndcg"] > 0.99
    assert runs.clean.stderr.splitlines()[:4] == [
        "data quality: passed",
        f"prediction drift: passed ({runs.rows} captured vs {runs.rows} baseline predictions "
        f"({'s3://acme/runs/r1/Evaluate/predictions'}))",
        f"bias drift: passed ({runs.rows} of {runs.rows} captured rows have ground truth; metrics DI, DPPL)",
        f"feature attribution drift: passed (TreeSHAP on 2000 of {runs.rows} captured rows (mean_abs); "
        "nDCG threshold 0.9)",
    ]


def test_the_shifted_stream_flags_exactly_the_drifted_features(runs):
    assert runs.shifted.code == 1, runs.shifted.stderr
    summary = read(runs.shifted_out, "monitor.json")
    assert summary["rows"] == runs.rows  # --since: the shifted stream only
    violations = read(runs.shifted_out, "constraint_violations.json")["violations"]
    quality = [
        v for v in violations if v["constraint_check_type"] != "bias_drift_check" and "feature_name" in v
    ]
    drifted = {v["feature_name"] for v in quality if v["feature_name"] not in ("probability", "label")}
    assert drifted == {"Age", "Workclass"}
    assert sorted(
        (v["feature_name"], v["constraint_check_type"]) for v in quality if v["feature_name"] in drifted
    ) == [
        ("Age", "baseline_drift_check"),
        ("Workclass", "baseline_drift_check"),
    ]
    features = {f["feature"]: f for f in summary["checks"]["data quality"]["details"]["features"]}
    for name in runs.schema["features"]:
        expected = ["baseline_drift_check"] if name in drifted else []
        assert features[name]["violations"] == expected, name
        assert (features[name]["distance"] > features[name]["threshold"]) == (name in drifted), features[name]
    age = next(v for v in quality if v["feature_name"] == "Age")
    assert age["description"].startswith(
        f"Baseline drift distance: {features['Age']['distance']:.6g} exceeds threshold: 0.1"
    )


def test_the_report_and_its_pdf(runs):
    page = (runs.shifted_out / "report.html").read_text()
    for text in ("Model monitor: endpoint census", "VIOLATIONS", "Data quality", "Prediction drift", "Bias drift",
                 "Feature attribution drift", "baseline_drift_check"):  # fmt: skip
        assert text in page, text
    assert (
        page.count("<svg") == len(runs.schema["features"]) + 1 + 2
    )  # features, probability, two SHAP charts
    reader = PdfReader(runs.clean_out / "report.pdf")
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 2
    for heading in ("Model monitor: endpoint census", "Checks", "Data quality", "Prediction drift", "Bias drift",
                    "Feature attribution drift", "How these numbers are computed"):  # fmt: skip
        assert heading in text, heading


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], 'error: monitor nope: Could not find endpoint "nope".'),
        (
            ["census", "--since", "yesterday"],
            "error: --since 'yesterday': expected an ISO 8601 time such as 2026-11-30T18:00:00Z",
        ),
        (
            ["census", "--region", "eu-west-1"],
            "error: --region applies to --aws (the local control plane has no region)",
        ),
        (
            ["census", "--variant", "B"],
            "error: monitor census: endpoint census has no variant 'B' (its variants: AllTraffic)",
        ),
        (
            ["census", "--since", "2999-01-01T00:00:00Z"],
            "error: monitor census: no captured requests since 2999-01-01T00:00:00+00:00",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runs, args, message):
    result = monitor(*args, "--work-dir", str(runs.work), "--out", str(runs.folder / "bad"))
    assert result.code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert not (runs.folder / "bad").exists()


def test_ground_truth_that_is_not_model_monitors_format_is_exit_2(runs, tmp_path):
    bad = tmp_path / "truth.jsonl"
    bad.write_text('{"label": 1}\n')
    result = monitor(
        "census", "--work-dir", str(runs.work), "--ground-truth", str(bad), "--out", str(tmp_path / "o")
    )
    assert result.code == 2
    assert result.stderr == (
        f"error: --ground-truth {bad} line 1: not a Model Monitor ground-truth record ('groundTruthData')\n"
    )
