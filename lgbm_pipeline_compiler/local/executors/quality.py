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
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from ...step_scripts import data_quality
from ..baselines import no_baseline_message
from ..context import StepContext, StepFailed
from ..control import LocalSageMaker
from .processing import collect_outputs, stage_inputs

DATASET_INPUT = "baseline_dataset_input"
GROUP_FLAG = "--model-package-group"
BASELINE_DIRS = {  # where the builtin engine's job gets a supplied baseline (compiler/steps/data_quality_builtin.py)
    "Statistics": "/opt/ml/processing/input/baseline_statistics",
    "Constraints": "/opt/ml/processing/input/baseline_constraints",
}
FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}
VIOLATIONS_FILE = "constraint_violations.json"


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def bundled_check() -> ModuleType:
    """step_scripts/data_quality_check.py, imported from the package (its lookup of the latest
    Approved baseline is the one used here). The step scripts import their modules by plain name,
    as on the job's PYTHONPATH, so the package's step_common and data_quality are registered so."""
    from ...step_scripts import step_common

    sys.modules.setdefault("step_common", step_common)
    sys.modules.setdefault("data_quality", data_quality)
    from ...step_scripts import data_quality_check

    return data_quality_check


def registry_baseline(ctx: StepContext, group: str) -> dict[str, str | None] | None:
    """The latest Approved package's ModelDataQuality baseline URIs, asked of the local control plane."""
    control = LocalSageMaker(ctx.work_dir, ctx.services.get("registry"))
    found = bundled_check().latest_approved_baseline(control, group)
    return None if found is None else {"Statistics": found["statistics"], "Constraints": found["constraints"]}


def _value(arguments: list[str], flag: str) -> str | None:
    i = arguments.index(flag) if flag in arguments else -1
    return arguments[i + 1] if 0 <= i < len(arguments) - 1 else None


def approved_baseline_arguments(ctx: StepContext, arguments: list[str]) -> list[str]:
    """A builtin data-quality job's arguments with its ``--model-package-group`` lookup done here,
    against the local control plane (the job must not call AWS): the baseline found is staged into
    the job's baseline inputs as if supplied. StepFailed when there is none and it is not a first
    run (the job's own message). For the processing executor, before it runs data_quality_check.py."""
    check = bundled_check()
    group = _value(arguments, GROUP_FLAG)
    if group is None:
        return arguments
    i = arguments.index(GROUP_FLAG)
    arguments = arguments[:i] + arguments[i + 2 :]
    supplied = _value(arguments, "--baseline-constraints")
    try:
        if supplied and check.load_document(str(ctx.local_path(supplied)), "constraints") is not None:
            return arguments
    except check.InputError:
        return arguments  # a broken supplied baseline: the job reports it
    if all(
        (_value(arguments, f) or "").lower() == "true" for f in ("--skip-check", "--register-new-baseline")
    ):
        return arguments  # a first run: nothing is compared
    found = registry_baseline(ctx, group)
    if found is None:
        raise StepFailed(check.no_baseline_message(group))
    for kind, uri in found.items():
        folder = Path(ctx.container_path(BASELINE_DIRS[kind]))
        shutil.rmtree(folder, ignore_errors=True)  # the "no baseline" placeholder
        folder.mkdir(parents=True)
        (folder / FILES[kind]).write_bytes(ctx.store.read_bytes(uri) if uri else b"{}\n")
        flag = f"--baseline-{kind.lower()}"
        if flag in arguments:
            arguments[arguments.index(flag) + 1] = BASELINE_DIRS[kind]
        else:
            arguments += [flag, BASELINE_DIRS[kind]]
    ctx.log.write(
        f"checking against the baseline {found['Constraints']} (latest Approved package in {group})\n"
    )
    return arguments


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
