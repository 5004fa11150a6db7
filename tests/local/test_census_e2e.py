"""The census pipeline end to end on the real Adult data, as the README runs it (the CLI in a fresh
process), with the fast spec's tuning budget: the session's shared sagemaker-clarify run."""

from __future__ import annotations

import json
from pathlib import Path

from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry

from .conftest import FAST_TRIALS


def test_every_step_succeeds(clarify_run):
    assert clarify_run.returncode == 0, clarify_run.stdout[-3000:] + clarify_run.stderr[-3000:]
    summary = json.loads(clarify_run.stdout)
    assert summary["status"] == "Succeeded"
    steps = {s["name"]: s for s in summary["steps"]}
    assert [(s["name"], s["type"], s["status"]) for s in summary["steps"]] == [
        ("Preprocess", "Processing", "Succeeded"),
        ("Tune", "Tuning", "Succeeded"),
        ("DataQualityDataset", "Processing", "Succeeded"),
        ("LightGBMModel-CreateModel", "Model", "Succeeded"),
        ("Evaluate", "Processing", "Succeeded"),
        ("DataQualityCheck", "QualityCheck", "Succeeded"),
        ("ModelBiasCheck", "ClarifyCheck", "Succeeded"),
        ("ModelExplainabilityCheck", "ClarifyCheck", "Succeeded"),
        ("F1Gate", "Condition", "Succeeded"),
        ("Register-RegisterModel", "RegisterModel", "Succeeded"),
        ("Deploy", "Lambda", "Succeeded"),
        ("BatchTransform", "Transform", "Succeeded"),
    ]
    assert len(steps["Tune"]["outputs"]["TrainingJobSummaries"]) == FAST_TRIALS
    assert steps["F1Gate"]["outputs"] == {"Outcome": True}
    for step in summary["steps"]:
        assert step["start"] and step["end"] and step["seconds"] is not None


def test_registry_holds_one_version_with_metrics_and_baselines(clarify_run):
    summary, work = json.loads(clarify_run.stdout), clarify_run.work
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


def test_evaluation_meets_the_gate_and_the_issue_targets(clarify_run):
    report = next((clarify_run.work / "s3").rglob("Evaluate/evaluation/evaluation.json"))
    metrics = json.loads(report.read_text())["classification_metrics"]
    assert metrics["f1"]["value"] >= 0.70 and metrics["roc_auc"]["value"] >= 0.92


def test_deployed_endpoint_is_recorded(clarify_run, approved_run):
    """The package awaits approval, so the run leaves its deployment pending; approving it deploys."""
    arn = clarify_run.execution.registered_model_package
    assert LocalSageMaker(clarify_run.work).endpoints() == []
    assert (
        LocalSageMaker(clarify_run.work).pending_deployment(arn)["event"]["endpoint_name"]
        == "census-income-dev"
    )
    assert f"{arn}: Approved\ndeployed to endpoint census-income-dev (created: " in approved_run.stdout
    work = approved_run.work
    endpoint = json.loads((work / "control" / "endpoints" / "census-income-dev.json").read_text())
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == "census-income-dev-v1"
    assert Path(work / "control" / "models").is_dir()
    assert LocalSageMaker(work).endpoint_model_package("census-income-dev") == arn
