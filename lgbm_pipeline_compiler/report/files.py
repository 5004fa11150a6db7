"""The report of one clarify_check.py run, from the files it wrote with ``--report-data``.

clarify_check.py (in the container or locally) computes; this module only reads its output dir:
``analysis.json``, ``violations.json``, ``report_data.json`` (status, baseline, model and threshold
facts) and, for SHAP, the local SHAP values and the dataset it explained (for the beeswarm colours).
"""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

from .context import report_context
from .render import render_html, render_markdown

REPORT_DATA_FILE = "report_data.json"


class ReportDataError(ValueError):
    """The output dir lacks a file the report needs, or holds one that is not what clarify_check.py writes."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportDataError(f"{path} not found (run clarify_check.py with --report-data)") from None
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


def shap_inputs(output_dir: Path, analysis: dict, data: dict) -> dict | None:
    """What the SHAP part of the report needs: per-row values, the dataset, global values."""
    shap = data.get("shap")
    if shap is None:
        return None
    names, values = read_local_shap(output_dir / shap["values"])
    explained = analysis["explanations"]["kernel_shap"][shap["label"]]
    frame = read_dataset(Path(data["data"]), list(data["headers"]))
    if len(frame) != len(values):
        raise ReportDataError(f"{len(values)} rows of SHAP values but {len(frame)} rows in '{data['data']}'")
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


def load_context(output_dir: Path) -> dict:
    """The report's context (see :func:`report_context`) from a clarify_check.py output dir."""
    output_dir = Path(output_dir)
    data = _read_json(output_dir / REPORT_DATA_FILE)
    analysis = _read_json(output_dir / "analysis.json")
    violations = _read_json(output_dir / "violations.json")["violations"]
    try:
        shap_data = shap_inputs(output_dir, analysis, data)
        return report_context(
            analysis,
            violations,
            data["status"],
            data["baseline_note"],
            data["baseline"],
            data["meta"],
            shap_data,
        )
    except (KeyError, TypeError) as exc:
        raise ReportDataError(
            f"{output_dir} does not hold what clarify_check.py writes: missing {exc}"
        ) from None


def write_report(output_dir: Path, report_dir: Path | None = None) -> tuple[Path, Path]:
    """Write report.html and report.md (into ``report_dir``, default ``output_dir``); return their paths."""
    context = load_context(Path(output_dir))
    target = Path(report_dir or output_dir)
    target.mkdir(parents=True, exist_ok=True)
    html_path, markdown_path = target / "report.html", target / "report.md"
    html_path.write_text(render_html(context), encoding="utf-8")
    markdown_path.write_text(render_markdown(context) + "\n", encoding="utf-8")
    return html_path, markdown_path
