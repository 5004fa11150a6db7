"""The report of clarify_check.py runs, from the files each wrote (``--report-data``, its default).

clarify_check.py (in the container or locally) computes; this module only reads output dirs, one
per check (a bias check's and an explainability check's, or one of a combined run):
``analysis.json``, ``violations.json``, ``report_data.json`` (status, baseline, model and threshold
facts) and, for SHAP, the local SHAP values the check wrote and the dataset it explained (for the
beeswarm colours). Nothing is recomputed: no model is loaded, no SHAP value is calculated.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..emit import write_text_atomic
from .context import report_context
from .render import render_html, render_markdown

REPORT_DATA_FILE = "report_data.json"


class ReportDataError(ValueError):
    """The output dir lacks a file the report needs, or holds one that is not what clarify_check.py writes."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportDataError(
            f"{path} not found (clarify_check.py writes it unless run with --report-data false)"
        ) from None
    except ValueError as exc:
        raise ReportDataError(f"{path} is not valid JSON: {exc}") from None


def read_dataset(data: Path, headers: list[str]) -> Any:
    """The dataset clarify_check.py read (every CSV of a dir, or one file; no header), as text."""
    import pandas as pd

    files = (
        [data]
        if data.is_file()
        else sorted(f for f in data.iterdir() if f.name.endswith((".csv", ".csv.gz")))
    )
    text = {"dtype": str, "keep_default_na": False, "na_values": [""], "skipinitialspace": True}
    frames = []
    for f in files:
        with contextlib.suppress(pd.errors.EmptyDataError):  # the job skipped empty files too
            frames.append(pd.read_csv(f, header=None, names=headers, **text))
    if not frames:
        raise ReportDataError(f"no data rows in '{data}'")
    return pd.concat(frames, ignore_index=True)


def read_local_shap(path: Path) -> tuple[list[str], Any]:
    """Feature names and per-row SHAP values from clarify_check.py's CSV, parsed exactly (float())."""
    import numpy as np

    try:
        with path.open(newline="") as f:
            rows = csv.reader(f)
            names = next(rows)
            values = np.array([[float(v) for v in row] for row in rows], dtype="float64")
    except (FileNotFoundError, StopIteration, ValueError) as exc:
        raise ReportDataError(f"cannot read the local SHAP values '{path}': {exc or 'empty'}") from None
    return names, values.reshape(-1, len(names))


def shap_inputs(output_dir: Path, analysis: dict, data: dict, data_dir: Path | None = None) -> dict | None:
    """What the SHAP part of the report needs: per-row values, the dataset, global values.

    ``data_dir`` is the explained dataset, when it is no longer where the check read it."""
    shap = data.get("shap")
    if shap is None:
        return None
    names, values = read_local_shap(output_dir / shap["values"])
    explained = analysis["explanations"]["kernel_shap"][shap["label"]]
    source = Path(data_dir or data["data"])
    frame = read_dataset(source, list(data["headers"]))
    if len(frame) != len(values):
        raise ReportDataError(f"{len(values)} rows of SHAP values but {len(frame)} rows in '{source}'")
    return {
        "values": values,
        "frame": frame,
        "names": names,
        "numeric": list(data["numeric"]),
        "agg_method": shap["agg_method"],
        "expected_value": explained["expected_value"],
        "global_values": explained["global_shap_values"],
        "ndcg": shap["ndcg"],
        "ndcg_threshold": shap["ndcg_threshold"],
        "label": shap["label"],
        "rows": len(values),
    }


SEVERITY = ("FAILED", "NOT ENFORCED", "SKIPPED", "PASSED", "NO BASELINE")
"""Check statuses, most severe first: a report of several checks shows the most severe."""


def _merge(checks: Sequence[tuple[dict, dict, list]]) -> tuple[dict, list, str, str, dict | None, dict]:
    """(analysis, violations, status, baseline note, baseline, meta) of several checks' outputs,
    each (report data, analysis, violations): sections, violations and baselines together; the most
    severe status; each check's note; the first check's model facts."""
    if len(checks) == 1:
        data, analysis, violations = checks[0]
        return analysis, violations, data["status"], data["baseline_note"], data["baseline"], data["meta"]
    analysis: dict = {}
    violations: list = []
    baseline: dict = {}
    for data, part, found in checks:
        analysis.update({k: v for k, v in part.items() if k not in analysis})
        violations += found
        baseline.update({k: v for k, v in (data["baseline"] or {}).items() if k not in baseline})
    statuses = [data["status"] for data, _, _ in checks]
    status = min(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else -1)
    note = " ".join(
        f"{d['meta']['check'].capitalize()} check ({d['status']}): {d['baseline_note']}" for d, _, _ in checks
    )
    meta = dict(checks[0][0]["meta"], check=" + ".join(d["meta"]["check"] for d, _, _ in checks))
    return analysis, violations, status, note, baseline or None, meta


def load_context(output_dir: Path | Sequence[Path], data_dir: Path | None = None) -> dict:
    """The report's context (see :func:`report_context`) from a clarify_check.py output dir, or the
    output dirs of several checks (bias first). ``data_dir``: where the explained dataset is now."""
    dirs = [Path(output_dir)] if isinstance(output_dir, str | Path) else [Path(d) for d in output_dir]
    try:
        checks, shap_data = [], None
        for folder in dirs:
            data = _read_json(folder / REPORT_DATA_FILE)
            analysis = _read_json(folder / "analysis.json")
            checks.append((data, analysis, _read_json(folder / "violations.json")["violations"]))
            if shap_data is None:
                shap_data = shap_inputs(folder, analysis, data, data_dir)
        analysis, violations, status, note, baseline, meta = _merge(checks)
        return report_context(analysis, violations, status, note, baseline, meta, shap_data)
    except (KeyError, TypeError) as exc:
        where = ", ".join(str(d) for d in dirs)
        raise ReportDataError(f"{where} does not hold what clarify_check.py writes: missing {exc}") from None


def write_report(
    output_dir: Path | Sequence[Path], report_dir: Path | None = None, data_dir: Path | None = None
) -> tuple[Path, Path]:
    """Write report.html and report.md (into ``report_dir``, default the first output dir) from one
    or more check output dirs (see :func:`load_context`); return their paths."""
    context = load_context(output_dir, data_dir)
    first = output_dir if isinstance(output_dir, str | Path) else output_dir[0]
    target = Path(report_dir or first)
    target.mkdir(parents=True, exist_ok=True)
    html_path, markdown_path = target / "report.html", target / "report.md"
    write_text_atomic(html_path, render_html(context))
    write_text_atomic(markdown_path, render_markdown(context) + "\n")
    return html_path, markdown_path
