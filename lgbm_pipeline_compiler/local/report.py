"""One self-contained HTML report (and a markdown summary) per run, from its bias and SHAP checks.

The report is rendered from what the check steps wrote (either engine): each check's output dir
holds its analysis, violations, report data and, for SHAP, the local SHAP values it computed; the
explained dataset is the explainability step's own input. Nothing is recomputed here: SHAP on every
row of a large dataset takes minutes, and the checks have already paid for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..report import REPORT_DATA_FILE, ReportDataError, write_report
from .records import RunStore

CONFIG = "container/processing/input/config/analysis_config.json"
DATA = "container/processing/input/data"
MODEL = "container/processing/model"
OUTPUT = "container/processing/output"  # both engines' output LocalPath, /opt/ml/processing/output
KINDS = ("bias", "explainability")


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


def write_run_report(work_dir: str | Path, run_id: str) -> tuple[Path, Path]:
    """Write {run}/report/report.html and report.md from the check steps' outputs; returns their paths."""
    runs = RunStore(work_dir)
    runs.load(run_id)  # a clear error for an unknown id
    run_dir = runs.dir(run_id)
    checks = _checks(run_dir)
    if not checks:
        raise ReportError(f"run {run_id} has no bias or explainability check outputs to report on")
    # A check that failed before writing its outputs (no baseline, bad input) has nothing to show.
    done = {kind: d for kind, d in checks.items() if (d / OUTPUT / REPORT_DATA_FILE).is_file()}
    if not done:
        names = ", ".join(d.name for d in checks.values())
        raise ReportError(f"run {run_id}: no check wrote its outputs ({names}); see their logs")
    outputs = [done[kind] / OUTPUT for kind in KINDS if kind in done]
    explained = done["explainability"] / DATA if "explainability" in done else None
    try:
        return write_report(outputs, run_dir / "report", data_dir=explained)
    except ReportDataError as err:
        raise ReportError(f"the report could not be rendered: {err}") from None
