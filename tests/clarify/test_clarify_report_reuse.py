"""Issue 15, finding 16: the run report reuses what the check steps computed, SHAP values above all
(exact SHAP on every row of a large dataset took minutes, and the report used to recompute it).

A local run's two check steps are laid out as the local executors leave them (step dir ->
container/processing/{model, input/data, input/config, output}); clarify_check.py runs in each with
the arguments of a first run. The report is then written with SHAP computation made impossible:
LightGBM's predict raises and no subprocess can start.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from clarify_helpers import analysis_config
from step_jobs import install_code, run_script

from lgbm_pipeline_compiler.local.records import Execution, RunStore, now
from lgbm_pipeline_compiler.local.report import write_run_report
from lgbm_pipeline_compiler.report import load_context

RUN_ID = "run-1"
EXPLAIN_ROWS = 300
BIAS_METHODS = {"post_training_bias": {"methods": ["DPPL", "DI"]}}


def _check_step(run_dir: Path, name: str, check: str, archive: Path, data: Path, config: dict) -> Path:
    """A check step dir as the local ClarifyCheck executor leaves it, after clarify_check.py ran."""
    container = run_dir / "steps" / name / "container" / "processing"
    for folder in ("model", "input/data", "input/config", "output"):
        (container / folder).mkdir(parents=True)
    shutil.copy(archive, container / "model" / "model.tar.gz")
    shutil.copy(data, container / "input" / "data" / data.name)
    (container / "input" / "config" / "analysis_config.json").write_text(json.dumps(config))
    code = install_code(["clarify_check.py"], run_dir / "code" / name)
    args = [
        "--check", check,
        "--model-dir", str(container / "model"),
        "--data-dir", str(container / "input" / "data"),
        "--config", str(container / "input" / "config" / "analysis_config.json"),
        "--output-dir", str(container / "output"),
        "--skip-check", "true", "--register-new-baseline", "true", "--fail-on-violation", "true",
    ]  # fmt: skip
    result = run_script(code / "clarify_check.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    return container


@pytest.fixture(scope="module")
def checked_run(tmp_path_factory, trained, clarify_csv) -> SimpleNamespace:
    """A run whose bias check saw the 1,500-row Clarify dataset and whose explainability check saw
    its first 300 rows (the explain sample), each written by clarify_check.py as the step ran."""
    work = tmp_path_factory.mktemp("reused-run")
    RunStore(work).save(
        Execution(id=RUN_ID, pipeline_name="census", status="Succeeded", parameters={}, started=now())
    )
    run_dir = RunStore(work).dir(RUN_ID)
    sample = work / "explain.csv"
    sample.write_text("".join(clarify_csv.read_text().splitlines(keepends=True)[:EXPLAIN_ROWS]))
    bias_config = analysis_config(methods=BIAS_METHODS)
    explain_config = analysis_config(methods={"shap": analysis_config()["methods"]["shap"]})
    bias = _check_step(run_dir, "ModelBiasCheck", "bias", trained.archive, clarify_csv, bias_config)
    explain = _check_step(
        run_dir, "ModelExplainabilityCheck", "explainability", trained.archive, sample, explain_config
    )
    return SimpleNamespace(work=work, run_dir=run_dir, bias=bias, explain=explain)


def test_the_report_computes_no_shap(checked_run, monkeypatch):
    import lightgbm

    def refuse(*_args, **_kwargs):
        raise AssertionError("the report must not compute: it tried to start a process or call LightGBM")

    monkeypatch.setattr(lightgbm.Booster, "predict", refuse)  # pred_contrib is SHAP
    monkeypatch.setattr(subprocess, "run", refuse)  # the report used to rerun clarify_check.py
    monkeypatch.setattr(subprocess, "Popen", refuse)
    html, markdown = write_run_report(checked_run.work, RUN_ID)
    assert (html, markdown) == (
        checked_run.run_dir / "report" / "report.html",
        checked_run.run_dir / "report" / "report.md",
    )
    text = markdown.read_text()
    assert f"{EXPLAIN_ROWS} rows explained" in text  # the explainability step's sample, not the 1,500 rows
    assert "| Sex=Female | DPPL |" in text and "| Sex=Female | DI |" in text
    explained = json.loads((checked_run.explain / "output" / "analysis.json").read_text())
    global_values = explained["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    top = max(global_values, key=lambda name: abs(global_values[name]))
    assert f"| 1 | {top} | {global_values[top]:.5f} |" in text
    assert "<svg" in html.read_text()


def test_the_report_merges_the_two_checks_outputs(checked_run):
    """Bias facts from the bias step, SHAP from the explainability step's own output: its global
    values exactly, its rows, and each check's status in the note."""
    context = load_context(
        [checked_run.bias / "output", checked_run.explain / "output"], checked_run.explain / "input" / "data"
    )
    explained = json.loads((checked_run.explain / "output" / "analysis.json").read_text())
    global_values = explained["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert {f["name"]: f["value"] for f in context["shap"]["top"]} == global_values
    assert context["rows"] == 1500 and context["shap"]["rows"] == EXPLAIN_ROWS
    assert [stage["key"] for stage in context["bias"]] == ["post_training_bias_metrics"]
    assert context["status"] == "NO BASELINE" and context["check"] == "bias + explainability"
    assert context["baseline_note"] == (
        "Bias check (NO BASELINE): No baseline constraints given: metrics computed, nothing compared. "
        "Explainability check (NO BASELINE): No baseline constraints given: metrics computed, nothing compared."
    )
