"""One self-contained HTML report (and a markdown summary) per run, from its bias and SHAP checks.

The checks' own inputs — model, Clarify dataset, analysis configs — are read from the run's step
directories (either engine), the two configs are merged, step_scripts/clarify_check.py computes
on them (`--check all --report-data`), so the report shows exactly what the checks computed, and
:mod:`lgbm_pipeline_compiler.report` renders its output.
"""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from ..emit import render_json
from ..report import ReportDataError, write_report
from .context import python
from .records import RunStore

CONFIG = "container/processing/input/config/analysis_config.json"
DATA = "container/processing/input/data"
MODEL = "container/processing/model"


class ReportError(ValueError):
    """The run has no check outputs to report on, or the report could not be rendered."""


def _checks(run_dir: Path) -> dict[str, Path]:
    """Step dirs holding a Clarify analysis config, keyed by the check kind they ran."""
    found: dict[str, Path] = {}
    for step_dir in sorted((run_dir / "steps").glob("*")):
        config_path = step_dir / CONFIG
        if config_path.is_file() and (step_dir / MODEL).is_dir():
            methods = json.loads(config_path.read_text()).get("methods", {})
            kind = "explainability" if "shap" in methods else "bias"
            found.setdefault(kind, step_dir)
    return found


def merged_config(checks: dict[str, Path]) -> dict[str, Any]:
    configs = {kind: json.loads((d / CONFIG).read_text()) for kind, d in checks.items()}
    merged = dict(configs.get("bias") or configs["explainability"])
    methods = dict(merged.get("methods", {}))
    if "explainability" in configs:
        methods["shap"] = configs["explainability"]["methods"]["shap"]
    merged["methods"] = methods
    return merged


def write_run_report(work_dir: str | Path, run_id: str) -> tuple[Path, Path]:
    """Write {run}/report/report.html and report.md; returns their paths."""
    runs = RunStore(work_dir)
    runs.load(run_id)  # a clear error for an unknown id
    run_dir = runs.dir(run_id)
    checks = _checks(run_dir)
    if not checks:
        raise ReportError(f"run {run_id} has no bias or explainability check outputs to report on")
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis_config.json").write_text(render_json(merged_config(checks)))
    source = checks.get("bias") or checks["explainability"]
    kind = "all" if len(checks) == 2 else next(iter(checks))
    script = resources.files("lgbm_pipeline_compiler.step_scripts").joinpath("clarify_check.py")
    command = [
        python(), str(script), "--check", kind,
        "--model-dir", str(source / MODEL), "--data-dir", str(source / DATA),
        "--config", str(out / "analysis_config.json"), "--output-dir", str(out),
        "--skip-check", "true", "--report-data",
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    (out / "report.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ReportError(f"the report could not be rendered: {(proc.stderr or proc.stdout).strip()[-500:]}")
    try:
        return write_report(out)
    except ReportDataError as err:
        raise ReportError(f"the report could not be rendered: {err}") from None
