"""Bias and SHAP checks in local runs, with either engine: outputs, report, baseline violations.

Outputs and report are asserted on the session's shared run of each engine (a first run: both
checks skip and register new baselines). Each baseline test resumes a private copy of that run in
which the bias check (and what depends on it) has not run yet, with the bias check's baseline
parameters (or the spec) changed: the bias check runs, the rest is reused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.runner import RunOptions

from .conftest import SharedRun, fork, replace_all

BASELINE_URI = "s3://acme-baselines/census/bias-constraints.json"
BIAS = ("ModelBiasCheck",)


def _strict_bias_baseline(tmp_path) -> str:
    """A constraints file whose DPPL for Sex=Female is 0.01: the census model is well above it."""
    path = tmp_path / "bias-constraints.json"
    metrics = [
        {
            "name": "DPPL",
            "description": "Difference in positive proportions in predicted labels",
            "value": 0.01,
        }
    ]
    analysis = {"version": "1.0", "post_training_bias_metrics": {"label": "Target", "label_value_or_threshold": "1",
                "facets": {"Sex": [{"value_or_threshold": "Female", "metrics": metrics}]}}}  # fmt: skip
    path.write_text(json.dumps(analysis))
    return str(path)


@pytest.mark.parametrize(
    ("shared", "check_type"),
    [("clarify_run", "ClarifyCheck"), ("builtin_run", "Processing")],
    ids=["sagemaker-clarify", "builtin"],
)
def test_checks_write_analysis_and_the_run_report(shared, check_type, clarify_run, builtin_run):
    # (both as arguments: a shared run asked for by name would be made again on another worker)
    run = {"clarify_run": clarify_run, "builtin_run": builtin_run}[shared]
    execution, work = run.execution, run.work
    assert execution.status == "Succeeded", execution.failure_reason
    for name in ("ModelBiasCheck", "ModelExplainabilityCheck"):
        assert execution.steps[name].type == check_type  # the engine the spec asked for
        analysis = next((work / "s3").rglob(f"{name}/analysis/analysis.json"))
        data = json.loads(analysis.read_text())
        if name == "ModelBiasCheck":
            names = [m["name"] for m in data["post_training_bias_metrics"]["facets"]["Sex"][0]["metrics"]]
            assert names == ["DI", "DPPL"] or sorted(names) == ["DI", "DPPL"]
        else:
            assert len(data["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == 13
    html = (work / "runs" / execution.id / "report" / "report.html").read_text()
    assert execution.report and execution.report.endswith("report.html")
    assert "Sex" in html and "DPPL" in html and "DI" in html and "Marital Status" in html
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    markdown = (work / "runs" / execution.id / "report" / "report.md").read_text()
    assert "DPPL" in markdown


def _resume_bias_check(run: SharedRun, tmp_path: Path, spec: Path | None = None, **bias: str) -> Any:
    """Resume a copy of ``run`` in which the bias check has not run, with BASELINE_URI mapped to the
    strict baseline and the bias check's switches off unless given (their defaults); the other
    check keeps the first run's parameters."""
    parameters = {"SkipModelBiasCheck": "false", "RegisterNewModelBiasBaseline": "false", **bias}
    options = RunOptions(
        work_dir=fork(run, tmp_path, rerun=BIAS),
        data={BASELINE_URI: _strict_bias_baseline(tmp_path)},
        parameters=parameters,
        resume=run.execution.id,
        first_run=True,
    )
    return run_spec(spec or run.spec, options)


def test_violated_supplied_baseline_fails_the_bias_check(clarify_run, tmp_path):
    """sagemaker-clarify engine: the supplied constraints come in as the census parameter."""
    execution = _resume_bias_check(clarify_run, tmp_path, SuppliedModelBiasConstraints=BASELINE_URI)
    assert execution.status == "Failed"
    step = execution.steps["ModelBiasCheck"]
    assert step.status == "Failed"
    assert "DPPL for Sex=Female is" in step.failure_reason and "baseline 0.0100" in step.failure_reason
    assert execution.steps["F1Gate"].status == "NotExecuted"
    assert execution.steps["Register-RegisterModel"].status == "NotExecuted"


def test_skip_check_passes_despite_the_violation(clarify_run, tmp_path):
    execution = _resume_bias_check(
        clarify_run, tmp_path, SuppliedModelBiasConstraints=BASELINE_URI, SkipModelBiasCheck="true"
    )
    assert execution.status == "Succeeded", execution.failure_reason
    violations = next((tmp_path / "work" / "s3").rglob("ModelBiasCheck/analysis/violations.json"))
    assert "DPPL" in violations.read_text()


def test_builtin_engine_takes_the_baseline_parameter(builtin_run, tmp_path):
    execution = _resume_bias_check(
        builtin_run, tmp_path, SuppliedModelBiasConstraints=BASELINE_URI, SkipModelBiasCheck="true"
    )
    assert execution.status == "Succeeded", execution.failure_reason
    out = next((tmp_path / "work" / "s3").rglob("ModelBiasCheck/analysis"))
    assert "DPPL" in (out / "violations.json").read_text()  # compared (and recorded), not enforced
    drift = json.loads((out / "drift_check_baseline.json").read_text())
    assert drift == json.loads(Path(_strict_bias_baseline(tmp_path)).read_text())  # the baseline stays in use


def test_builtin_engine_fails_on_a_violated_literal_baseline(builtin_run, make_spec, tmp_path):
    literal = {
        "    facet_values: [Female]\n": (
            f"    facet_values: [Female]\n    baseline: {{supplied_constraints: '{BASELINE_URI}'}}\n"
        )
    }
    spec = make_spec(replace_all(builtin_run.spec_text, literal, "literal baseline"))
    execution = _resume_bias_check(builtin_run, tmp_path, spec)
    step = execution.steps["ModelBiasCheck"]
    assert execution.status == "Failed" and step.status == "Failed"
    assert "DPPL for Sex=Female is" in step.failure_reason and "exited with 3" in step.failure_reason
