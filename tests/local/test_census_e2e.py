"""The reference census pipeline, end to end on the real Adult data, exactly as the README runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local.registry import LocalRegistry

from .conftest import INPUT_URI, REPO


@pytest.fixture(scope="module")
def census_run(tmp_path_factory, adult):
    work = tmp_path_factory.mktemp("census") / "work"
    command = [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "run", "specs/census.yaml", "--local", "--json",
               "--work-dir", str(work), "--data", f"{INPUT_URI}={adult}"]  # fmt: skip
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    return proc, work


def test_every_step_succeeds(census_run):
    proc, _ = census_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["status"] == "Succeeded"
    steps = {s["name"]: s for s in summary["steps"]}
    assert [(s["name"], s["type"], s["status"]) for s in summary["steps"]] == [
        ("Preprocess", "Processing", "Succeeded"),
        ("Tune", "Tuning", "Succeeded"),
        ("LightGBMModel-CreateModel", "Model", "Succeeded"),
        ("Evaluate", "Processing", "Succeeded"),
        ("ModelBiasCheck", "ClarifyCheck", "Succeeded"),
        ("ModelExplainabilityCheck", "ClarifyCheck", "Succeeded"),
        ("F1Gate", "Condition", "Succeeded"),
        ("Register-RegisterModel", "RegisterModel", "Succeeded"),
        ("Deploy", "Lambda", "Succeeded"),
    ]
    assert len(steps["Tune"]["outputs"]["TrainingJobSummaries"]) == 20
    assert steps["F1Gate"]["outputs"] == {"Outcome": True}
    for step in summary["steps"]:
        assert step["start"] and step["end"] and step["seconds"] is not None


def test_registry_holds_one_version_with_metrics_and_baselines(census_run):
    proc, work = census_run
    summary = json.loads(proc.stdout)
    versions = LocalRegistry(work).versions("census-income-lgbm")
    assert len(versions) == 1 and summary["registered_model_package"] == versions[0]["ModelPackageArn"]
    request = versions[0]["Request"]
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    bias_uri = request["ModelMetrics"]["Bias"]["PostTrainingReport"]["S3Uri"]
    assert bias_uri.endswith("/ModelBiasCheck/analysis/analysis.json")
    analysis = json.loads((work / "s3" / bias_uri[5:]).read_text())
    facets = analysis["post_training_bias_metrics"]["facets"]["Sex"][0]
    assert facets["value_or_threshold"] == "Female"
    dppl = next(m for m in facets["metrics"] if m["name"] == "DPPL")
    assert 0 < dppl["value"] < 1  # men get ">50K" predicted more often than women on Adult
    explain = request["DriftCheckBaselines"]["Explainability"]["Constraints"]["S3Uri"]
    shap = json.loads((work / "s3" / explain[5:]).read_text())["explanations"]["kernel_shap"]["label0"]
    top = max(shap["global_shap_values"], key=shap["global_shap_values"].get)
    assert top in {"Marital Status", "Relationship", "Capital Gain", "Age", "Education-Num"}


def test_evaluation_meets_the_gate_and_the_issue_targets(census_run):
    _, work = census_run
    report = next((work / "s3").rglob("Evaluate/evaluation/evaluation.json"))
    metrics = json.loads(report.read_text())["classification_metrics"]
    assert metrics["f1"]["value"] >= 0.70 and metrics["roc_auc"]["value"] >= 0.92


def test_deployed_endpoint_is_recorded(census_run):
    _, work = census_run
    endpoint = json.loads((work / "control" / "endpoints" / "census-income-dev.json").read_text())
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == "census-income-dev-v1"
    assert Path(work / "control" / "models").is_dir()
