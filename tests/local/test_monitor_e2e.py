"""Monitoring after deployment, end to end on Adult: the census pipeline run locally (the session's
``approved_run``: `run --local --first-run`, then `registry approve`, which deploys the package with
its bias, explainability and data-quality baselines, to an endpoint capturing every request as the
spec's `deploy.data_capture` says), the run's own test split sent through `serve`, `monitor` clean; then the test split shifted (ages + 20 years,
Workclass ``Private`` as ``Self-emp-not-inc``) and `monitor --since` flags exactly those features.
Also `report RUN_ID --pdf` on the same run.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from monitor.streams import ground_truth, monitor, read, read_split, serve_and_send, shifted
from pypdf import PdfReader

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.control import LocalSageMaker

from .conftest import fork

ENDPOINT = "census-income-dev"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://lgbm-pipelines-111122223333/census-income/dev/data-capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}


def captured_endpoint(work) -> str:
    """The package the endpoint serves, after checking that the deploy gave the endpoint the data
    capture of the census spec's `deploy.data_capture` (compiled into the Deploy step's event and
    applied by the deploy handler on approval)."""
    control = LocalSageMaker(work)
    current = control.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    config = control.describe_endpoint_config(EndpointConfigName=current)
    assert config["DataCaptureConfig"] == CAPTURE
    return control.endpoint_model_package(ENDPOINT)


@pytest.fixture(scope="module")
def monitored(approved_run, tmp_path_factory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("monitor-e2e")
    work = fork(approved_run, folder)
    arn = captured_endpoint(work)
    package = LocalSageMaker(work).describe_model_package(ModelPackageName=arn)
    tests = sorted(
        (work / "runs" / approved_run.execution.id / "steps" / "Preprocess").rglob("test/test.csv")
    )
    assert len(tests) == 1, tests
    test = read_split(tests[0].parent)
    schema_features = [c for c in test.columns if c != "Target"]
    common = ["--work-dir", str(work)]
    sent = serve_and_send(work, ENDPOINT, test, schema_features, "Target", "clean")
    truth = ground_truth(folder / "clean.jsonl", sent)
    clean = monitor(ENDPOINT, *common, "--out", str(folder / "clean"), "--ground-truth", str(truth), "--pdf")
    time.sleep(1.1)  # inferenceTime has whole seconds
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sent = serve_and_send(work, ENDPOINT, shifted(test), schema_features, "Target", "shift")
    truth = ground_truth(folder / "shifted.jsonl", sent)
    drift = monitor(
        ENDPOINT, *common, "--out", str(folder / "shifted"), "--ground-truth", str(truth), "--since", since
    )
    return SimpleNamespace(
        work=work, arn=arn, package=package, rows=len(test), features=schema_features, folder=folder,
        clean=clean, shifted=drift, run_id=approved_run.execution.id,
    )  # fmt: skip


def test_the_package_carries_the_data_quality_baseline(monitored):
    baselines = monitored.package["DriftCheckBaselines"]
    assert set(baselines) == {"Bias", "Explainability", "ModelDataQuality"}
    assert set(baselines["ModelDataQuality"]) == {"Statistics", "Constraints"}


def test_the_served_test_split_shows_no_drift(monitored):
    assert monitored.clean.code == 0, monitored.clean.stderr
    out = monitored.folder / "clean"
    assert read(out, "constraint_violations.json") == {"violations": []}
    summary = read(out, "monitor.json")
    assert (summary["rows"], summary["model_package"], summary["variants"]) == (
        monitored.rows,
        monitored.arn,
        ["AllTraffic"],
    )
    assert {name: c["status"] for name, c in summary["checks"].items()} == {
        "data quality": "passed",
        "prediction drift": "passed",
        "bias drift": "passed",
        "feature attribution drift": "passed",
    }
    features = summary["checks"]["data quality"]["details"]["features"]
    assert [f["feature"] for f in features] == monitored.features
    outputs = summary["checks"]["prediction drift"]["details"]["outputs"]
    assert [(o["output"], o["distance"]) for o in outputs] == [
        ("probability", 0.0),
        ("label", 0.0),
    ]  # same rows


def test_the_shifted_stream_flags_exactly_the_drifted_features(monitored):
    assert monitored.shifted.code == 1, monitored.shifted.stderr
    out = monitored.folder / "shifted"
    summary = read(out, "monitor.json")
    assert summary["rows"] == monitored.rows  # --since: the shifted stream alone
    features = {f["feature"]: f for f in summary["checks"]["data quality"]["details"]["features"]}
    quality = summary["checks"]["data quality"]["violations"]
    assert sorted((v["feature_name"], v["constraint_check_type"]) for v in quality) == [
        ("Age", "baseline_drift_check"),
        ("Workclass", "baseline_drift_check"),
    ]
    for name, feature in features.items():
        drifted = name in ("Age", "Workclass")
        assert (feature["distance"] > feature["threshold"]) == drifted, feature
        assert feature["threshold"] == 0.1
    for violation in quality:
        distance = features[violation["feature_name"]]["distance"]
        assert violation["description"].startswith(
            f"Baseline drift distance: {distance:.6g} exceeds threshold: 0.1"
        )
    written = read(out, "constraint_violations.json")["violations"]
    assert [v for v in written if "feature_name" in v and v["feature_name"] in features] == quality
    stderr = monitored.shifted.stderr.splitlines()
    assert stderr[0] == "data quality: violations"
    assert f"  baseline_drift_check: Age: {quality[0]['description']}" in stderr


def test_the_reports_pdfs_have_pages_and_headings(monitored):
    reader = PdfReader(monitored.folder / "clean" / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2
    for heading in (f"Model monitor: endpoint {ENDPOINT}", "NO VIOLATIONS", "Checks", "Data quality",
                    "Prediction drift", "Bias drift", "Feature attribution drift"):  # fmt: skip
        assert heading in text, heading
    assert main(["report", monitored.run_id, "--work-dir", str(monitored.work), "--pdf"]) == 0
    run_pdf = monitored.work / "runs" / monitored.run_id / "report" / "report.pdf"
    reader = PdfReader(run_pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in (
        "Post-training bias (model predictions)",
        "SHAP feature attributions",
        "Global importance",
    ):
        assert heading in text, heading
