"""What is in the reports that steps write, where it is known statically: the JsonGet check.

``step_scripts/evaluate.py`` writes ``evaluation.json`` into its ``--output-dir`` with
``classification_metrics.<metric>.value`` (and ``.standard_deviation``) for each metric it is told
to report (``--metrics``, default all of its ``METRICS``) plus the threshold. The metric names and
the defaults are read from the script itself (with ``ast``, never run): the one the step ships when
its artifact is at hand, else the bundled one.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from .document import Document, StepRef

BUNDLED = "lgbm_pipeline_compiler.step_scripts"
REPORT_FILE = "evaluation.json"


def _script_source(doc: Document, ref: StepRef, script: str) -> str | None:
    """The step's copy of ``script`` (its code input's artifact), else the bundled one."""
    for item in ref.arguments.get("ProcessingInputs") or []:
        uri = (item.get("S3Input") or {}).get("S3Uri") if isinstance(item, dict) else None
        if isinstance(uri, str) and uri.endswith(f"/{script}") and doc.artifacts and uri in doc.artifacts:
            return doc.artifacts[uri].decode("utf-8", "replace")
    bundled = resources.files(BUNDLED).joinpath(script)
    return bundled.read_text(encoding="utf-8") if bundled.is_file() else None


def _declared(source: str) -> tuple[list[str], dict[str, Any]]:
    """``METRICS`` and the literal ``add_argument`` defaults of evaluate.py."""
    tree = ast.parse(source)
    metrics: list[str] = []
    defaults: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "METRICS" for t in node.targets
        ):
            with contextlib.suppress(ValueError):
                metrics = [str(m) for m in ast.literal_eval(node.value)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args:
            flag = node.args[0]
            for keyword in node.keywords:
                if keyword.arg == "default" and isinstance(flag, ast.Constant):
                    with contextlib.suppress(ValueError):
                        defaults[str(flag.value)] = ast.literal_eval(keyword.value)
    return metrics, defaults


@dataclass(frozen=True)
class Report:
    directory: str
    """Where the step's script writes the report (its --output-dir)."""
    structure: dict[str, Any]
    """The report's keys as nested dicts."""
    metrics: list[str]
    """Every metric the script can report (its METRICS)."""
    chosen: list[str]
    """The metrics this step reports (its --metrics)."""


def evaluate_report(doc: Document, ref: StepRef) -> Report | None:
    """What the step writes when it runs evaluate.py; None for any other step."""
    app = ref.arguments.get("AppSpecification") or {}
    entry = [e for e in app.get("ContainerEntrypoint") or [] if isinstance(e, str)]
    if not any(PurePosixPath(e).name == "evaluate.py" for e in entry):
        return None
    source = _script_source(doc, ref, "evaluate.py")
    if source is None:
        return None
    metrics, defaults = _declared(source)
    args = [a for a in app.get("ContainerArguments") or []]

    def arg(flag: str) -> Any:
        return args[args.index(flag) + 1] if flag in args[:-1] else defaults.get(flag)

    chosen = arg("--metrics")
    names = chosen.split(",") if isinstance(chosen, str) else list(metrics)
    names = [n.strip() for n in names if isinstance(n, str) and n.strip() in metrics]
    leaf = {"value": None, "standard_deviation": None}
    structure = {"classification_metrics": {name: dict(leaf) for name in [*names, "threshold"]}}
    return Report(str(arg("--output-dir")), structure, metrics, names)


def _paths(tree: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        out += _paths(value, path) if isinstance(value, dict) else [path]
    return out


def check_json_path(
    doc: Document, ref: StepRef, property_file: dict[str, Any], json_path: Any
) -> list[tuple[str, str, str]]:
    """(code, message, hint) for a JsonGet of ``json_path`` in ``property_file`` of step ``ref``."""
    if not isinstance(json_path, str):
        return [("I2007", "the JsonGet path is an expression: not checked", "")]
    report = evaluate_report(doc, ref) if ref.type == "Processing" else None
    if report is None:
        return [
            ("I2007", f"what step {ref.name} writes is not known statically: JsonGet path not checked", "")
        ]
    outputs = (ref.arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    local = {
        o.get("OutputName"): (o.get("S3Output") or {}).get("LocalPath")
        for o in outputs
        if isinstance(o, dict)
    }
    name, file_path = property_file.get("OutputName"), property_file.get("FilePath")
    if name not in local:
        return []  # E2008: the property file names an output the step does not have
    if local[name] != report.directory or file_path != REPORT_FILE:
        return [
            (
                "E2006",
                f"evaluate.py writes {REPORT_FILE} in {report.directory}, not {file_path} in output {name} ({local[name]})",
                f"point property file {property_file.get('PropertyFileName')} at {REPORT_FILE} of the output "
                f"whose LocalPath is {report.directory}",
            )
        ]
    parts = json_path.split(".")
    metric = parts[1] if len(parts) >= 2 and parts[0] == "classification_metrics" else None
    if metric in report.metrics and metric not in report.chosen:
        return [
            (
                "E2006",
                f"'{json_path}' is not in the report: this step runs evaluate.py with --metrics "
                f"{','.join(report.chosen)}",
                f"add {metric} to the step's --metrics",
            )
        ]
    node: Any = report.structure
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            known = _paths(report.structure)
            close = difflib.get_close_matches(json_path, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it has {', '.join(known)}"
            return [("E2006", f"'{json_path}' is not in the report evaluate.py writes ({REPORT_FILE})", hint)]
        node = node[part]
    return []
