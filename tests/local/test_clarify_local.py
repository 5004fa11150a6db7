"""Bias and SHAP checks in local runs, with either engine: outputs, report, baseline violations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.runner import RunOptions

from .conftest import INPUT_URI, fast_spec_text

BASELINE_URI = "s3://acme-baselines/census/bias-constraints.json"


def _builtin(text: str) -> str:
    return text.replace("clarify:\n", "clarify:\n  engine: builtin\n", 1)


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


@pytest.mark.parametrize("engine", ["sagemaker-clarify", "builtin"])
def test_checks_write_analysis_and_the_run_report(engine, make_spec, tmp_path, adult):
    text = fast_spec_text()
    spec = make_spec(_builtin(text) if engine == "builtin" else text)
    work = tmp_path / "work"
    execution = run_spec(spec, RunOptions(work_dir=work, data={INPUT_URI: str(adult)}))
    assert execution.status == "Succeeded", execution.failure_reason
    for name in ("ModelBiasCheck", "ModelExplainabilityCheck"):
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


def test_violated_supplied_baseline_fails_the_bias_check(make_spec, tmp_path, adult):
    """sagemaker-clarify engine: the supplied constraints come in as the census parameter."""
    spec = make_spec(fast_spec_text())
    options = RunOptions(
        work_dir=tmp_path / "work",
        data={INPUT_URI: str(adult), BASELINE_URI: _strict_bias_baseline(tmp_path)},
        parameters={"SuppliedModelBiasConstraints": BASELINE_URI},
    )
    execution = run_spec(spec, options)
    assert execution.status == "Failed"
    step = execution.steps["ModelBiasCheck"]
    assert step.status == "Failed"
    assert "DPPL for Sex=Female is" in step.failure_reason and "baseline 0.0100" in step.failure_reason
    assert execution.steps["F1Gate"].status == "NotExecuted"
    assert execution.steps["Register-RegisterModel"].status == "NotExecuted"


def test_skip_check_passes_despite_the_violation(make_spec, tmp_path, adult):
    spec = make_spec(fast_spec_text())
    options = RunOptions(
        work_dir=tmp_path / "work",
        data={INPUT_URI: str(adult), BASELINE_URI: _strict_bias_baseline(tmp_path)},
        parameters={"SuppliedModelBiasConstraints": BASELINE_URI, "SkipModelBiasCheck": "true"},
    )
    execution = run_spec(spec, options)
    assert execution.status == "Succeeded", execution.failure_reason
    violations = next((tmp_path / "work" / "s3").rglob("ModelBiasCheck/analysis/violations.json"))
    assert "DPPL" in violations.read_text()


def test_builtin_engine_takes_the_baseline_parameter(make_spec, tmp_path, adult):
    options = RunOptions(
        work_dir=tmp_path / "work",
        data={INPUT_URI: str(adult), BASELINE_URI: _strict_bias_baseline(tmp_path)},
        parameters={"SuppliedModelBiasConstraints": BASELINE_URI, "SkipModelBiasCheck": "true"},
    )
    execution = run_spec(make_spec(_builtin(fast_spec_text())), options)
    assert execution.status == "Succeeded", execution.failure_reason
    out = next((tmp_path / "work" / "s3").rglob("ModelBiasCheck/analysis"))
    assert "DPPL" in (out / "violations.json").read_text()  # compared (and recorded), not enforced
    drift = json.loads((out / "drift_check_baseline.json").read_text())
    assert drift == json.loads(Path(_strict_bias_baseline(tmp_path)).read_text())  # the baseline stays in use


def test_builtin_engine_fails_on_a_violated_literal_baseline(make_spec, tmp_path, adult):
    text = _builtin(fast_spec_text()).replace(
        "    facet_values: [Female]\n",
        f"    facet_values: [Female]\n    baseline: {{supplied_constraints: '{BASELINE_URI}'}}\n",
    )
    options = RunOptions(
        work_dir=tmp_path / "work",
        data={INPUT_URI: str(adult), BASELINE_URI: _strict_bias_baseline(tmp_path)},
    )
    execution = run_spec(make_spec(text), options)
    step = execution.steps["ModelBiasCheck"]
    assert execution.status == "Failed" and step.status == "Failed"
    assert "DPPL for Sex=Female is" in step.failure_reason and "exited with 3" in step.failure_reason
