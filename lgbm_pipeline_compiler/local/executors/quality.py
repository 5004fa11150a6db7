"""QualityCheck steps (DATA_QUALITY), run locally with step_scripts/data_quality.py.

What SageMaker's Model Monitor analyzer does in the step's processing job: read the baseline
dataset as the job's ``dataset_format`` says (CSV, with or without a header; headerless columns
are named ``_c0``, ``_c1``, ... as Spark names them), profile every column into
``statistics.json`` and suggest ``constraints.json`` in the output — with the same code the builtin
engine's job and ``lgbm-pipeline monitor`` run (data_quality.compute_statistics,
suggest_constraints, check_constraints).

Baseline semantics follow QualityCheckStep ("Baseline calculation, drift detection and lifecycle
with ClarifyCheck and QualityCheck steps", SageMaker Developer Guide): the previous baseline is the
supplied statistics and constraints if given, else the DriftCheckBaselines.ModelDataQuality of
the latest Approved package in the model package group (the local control plane); with none, the
step fails unless SkipCheck and RegisterNewBaseline are both true (a first run). Violations
(``constraint_violations.json`` in the output) fail the step unless SkipCheck is true or
FailOnViolation false; RegisterNewBaseline makes the calculated baseline the one used for drift
checks afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ...step_scripts import data_quality
from ..baselines import no_baseline_message
from ..context import StepContext, StepFailed
from .processing import collect_outputs, stage_inputs
from .quality_baseline import (  # noqa: F401 - approved_baseline_arguments, bundled_check: this module's API too
    BASELINE_DIRS,
    FILES,
    approved_baseline_arguments,
    bundled_check,
    registry_baseline,
)

DATASET_INPUT = "baseline_dataset_input"
VIOLATIONS_FILE = "constraint_violations.json"


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def read_dataset(folder: Path, dataset_format: dict[str, Any]) -> pd.DataFrame:
    """Every CSV under ``folder`` as text, as the analyzer reads its baseline dataset."""
    if set(dataset_format) != {"csv"}:
        raise StepFailed(f"dataset_format {json.dumps(dataset_format)}: only csv runs locally")
    header = dataset_format["csv"].get("header", True)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise StepFailed(f"the baseline dataset ({DATASET_INPUT}) has no files")
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    frames = [pd.read_csv(f, header=0 if header else None, **options) for f in files]
    frame = pd.concat(frames, ignore_index=True)
    if not header:
        frame.columns = [f"_c{i}" for i in range(frame.shape[1])]
    return frame


def _previous(ctx: StepContext, step: dict[str, Any]) -> tuple[dict[str, str | None] | None, str]:
    """The previous baseline's URIs and where they came from (None: a first run)."""
    supplied = {k: step.get(f"SuppliedBaseline{k}") or None for k in FILES}
    if supplied["Constraints"]:
        return supplied, "supplied"
    group = step.get("ModelPackageGroupName")
    if _true(step.get("SkipCheck")) and _true(step.get("RegisterNewBaseline")):
        return None, ""
    found = registry_baseline(ctx, group) if group else None
    if found is None:
        raise StepFailed(no_baseline_message(ctx.step, group))
    return found, f"latest Approved package in model package group {group}"


def _json(ctx: StepContext, uri: str | None) -> dict[str, Any] | None:
    if not uri:
        return None
    try:
        data = json.loads(ctx.store.read_bytes(uri))
    except (OSError, ValueError) as exc:
        raise StepFailed(f"cannot read the baseline {uri}: {exc}") from None
    return data or None


def run(ctx: StepContext) -> dict[str, Any]:
    step = ctx.resolve({k: v for k, v in ctx.step.items() if k not in ("Name", "Type")})
    if step["CheckType"] != "DATA_QUALITY":
        raise StepFailed(f"CheckType {step['CheckType']} does not run locally: only DATA_QUALITY")
    args = step["Arguments"]
    inputs = {i["InputName"]: i for i in args["ProcessingInputs"]}
    output = args["ProcessingOutputConfig"]["Outputs"][0]
    previous, source = _previous(ctx, step)  # before the work: a missing baseline fails fast
    stage_inputs(ctx, list(inputs.values()))
    frame = read_dataset(
        ctx.local_path(inputs[DATASET_INPUT]["S3Input"]["LocalPath"]),
        json.loads(args["Environment"]["dataset_format"]),
    )
    ctx.log.write(f"baseline dataset: {len(frame):,} rows, {frame.shape[1]} columns\n")
    statistics = data_quality.compute_statistics(frame)
    constraints = data_quality.suggest_constraints(statistics)
    out = ctx.local_path(output["S3Output"]["LocalPath"])
    out.mkdir(parents=True, exist_ok=True)
    for name, document in ((FILES["Statistics"], statistics), (FILES["Constraints"], constraints)):
        (out / name).write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    skip = _true(step.get("SkipCheck"))
    violations: list[dict[str, str]] = []
    if previous is not None:
        ctx.log.write(f"checking against the baseline {previous['Constraints']} ({source})\n")
        baseline = _json(ctx, previous["Constraints"])
        if baseline is not None:
            try:
                violations = data_quality.check_constraints(
                    statistics, _json(ctx, previous["Statistics"]), baseline
                )
            except (KeyError, TypeError, ValueError) as exc:
                if not skip:
                    raise StepFailed(
                        f"cannot check against the baseline {previous['Constraints']}: {exc}"
                    ) from None
        (out / VIOLATIONS_FILE).write_text(json.dumps({"violations": violations}, indent=2) + "\n")
    else:
        ctx.log.write("no baseline to check against: a first run (SkipCheck and RegisterNewBaseline)\n")
    outputs = collect_outputs(ctx, [output])
    prefix = output["S3Output"]["S3Uri"].rstrip("/")
    calculated = {k: f"{prefix}/{name}" for k, name in FILES.items()}
    if violations and not skip and _true(step.get("FailOnViolation", True)):
        first = violations[0]
        raise StepFailed(
            f"data quality check failed: {first['feature_name']}: {first['constraint_check_type']}: "
            f"{first['description']} ({len(violations)} violation(s), see {prefix}/{VIOLATIONS_FILE})"
        )
    new = previous is None or _true(step.get("RegisterNewBaseline"))
    used = calculated if new else {k: previous[k] or calculated[k] for k in FILES}
    return {
        "ProcessingOutputConfig": {"Outputs": outputs},
        "CalculatedBaselineStatistics": calculated["Statistics"],
        "CalculatedBaselineConstraints": calculated["Constraints"],
        "BaselineUsedForDriftCheckStatistics": used["Statistics"],
        "BaselineUsedForDriftCheckConstraints": used["Constraints"],
        "CheckType": step["CheckType"],
    }
