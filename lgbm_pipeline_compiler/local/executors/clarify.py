"""ClarifyCheck steps, run locally by the builtin implementation (step_scripts/clarify_check.py).

The step's own inputs are used: its analysis config (the artifact SageMaker Clarify would read),
its dataset, and the model it names. Baseline semantics follow ClarifyCheckStep: the baseline is
the supplied constraints if given, else the drift-check baseline of the latest approved package in
the model package group (looked up as the builtin engine's job does:
clarify_baseline.latest_approved_baseline, here against the local control plane); with neither,
the step fails unless SkipCheck and RegisterNewBaseline are both true (a first run); `SkipCheck`
computes without failing; `RegisterNewBaseline` makes the calculated result the baseline used for
drift checks. A baseline is checked against whatever RegisterNewBaseline says (the SageMaker
Developer Guide, "Baseline calculation, drift detection and lifecycle with ClarifyCheck and
QualityCheck steps": the check runs against the previous baseline unless SkipCheck is true;
RegisterNewBaseline only decides which baseline is used for drift checks afterwards).
"""

from __future__ import annotations

import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from ..baselines import no_baseline_message
from ..context import StepContext, StepFailed, python
from ..control import LocalSageMaker
from ..warm_jobs import run_script_job
from .catalog import model_record
from .processing import bundled_clarify_baseline, collect_outputs, stage_inputs

CHECKS = {"MODEL_BIAS": "bias", "MODEL_EXPLAINABILITY": "explainability"}
SCRIPT = "clarify_check.py"


def _flag(value: Any) -> str:
    return "true" if value is True or str(value).lower() == "true" else "false"


def registry_baseline(ctx: StepContext, group: str | None, check: str) -> str | None:
    """The drift-check constraints URI of the latest Approved package in ``group`` that has one."""
    if not group:
        return None
    control = LocalSageMaker(ctx.work_dir, ctx.services.get("registry"))
    return bundled_clarify_baseline().latest_approved_baseline(control, group, check)


def run(ctx: StepContext) -> dict[str, Any]:
    step = ctx.resolve({k: v for k, v in ctx.step.items() if k not in ("Name", "Type")})
    check = CHECKS[step["CheckType"]]
    args = step["Arguments"]
    inputs = {i["InputName"]: i for i in args["ProcessingInputs"]}
    output = args["ProcessingOutputConfig"]["Outputs"][0]
    stage_inputs(ctx, list(inputs.values()))
    record = model_record(ctx.work_dir, step["ModelName"])
    if not record.is_file():
        raise StepFailed(f"model {step['ModelName']!r} was not created in this run")
    model_uri = json.loads(record.read_text())["PrimaryContainer"]["ModelDataUrl"]
    model_dir = Path(ctx.container_path("/opt/ml/processing/model"))
    ctx.store.download(model_uri, model_dir)

    supplied = step.get("SuppliedBaselineConstraints") or None
    group = step.get("ModelPackageGroupName")
    skip, register = _flag(step.get("SkipCheck")) == "true", _flag(step.get("RegisterNewBaseline")) == "true"
    first_run = skip and register  # nothing is compared: no lookup (as the builtin engine's job)
    baseline_uri = supplied or (None if first_run else registry_baseline(ctx, group, check))
    if baseline_uri is None and not first_run:
        # ClarifyCheckStepMetadata: with SkipCheck or RegisterNewBaseline False, "the previous
        # baseline of the configured check type must be available".
        raise StepFailed(no_baseline_message(ctx.step, group))
    command = [
        python(), str(resources.files("lgbm_pipeline_compiler.step_scripts").joinpath(SCRIPT)),
        "--check", check,
        "--model-dir", str(model_dir),
        "--data-dir", str(ctx.local_path(inputs["dataset"]["S3Input"]["LocalPath"])),
        "--config", str(ctx.local_path(inputs["analysis_config"]["S3Input"]["LocalPath"]) / "analysis_config.json"),
        "--output-dir", str(ctx.local_path(output["S3Output"]["LocalPath"])),
        "--skip-check", _flag(step.get("SkipCheck")),
        "--register-new-baseline", _flag(step.get("RegisterNewBaseline")),
        "--fail-on-violation", _flag(step.get("FailOnViolation", True)),
    ]  # fmt: skip
    if baseline_uri:
        baseline = ctx.work / "baseline"
        shutil.rmtree(baseline, ignore_errors=True)  # a resumed run's earlier baseline must not stay
        ctx.store.download(baseline_uri, baseline)
        command += ["--baseline-constraints", str(baseline)]
        where = "supplied" if supplied else f"latest Approved package in model package group {group}"
        ctx.log.write(f"checking against the baseline {baseline_uri} ({where})\n")
    else:
        ctx.log.write("no baseline to check against: a first run (SkipCheck and RegisterNewBaseline)\n")
    run_script_job(ctx, command, {**os.environ, "OMP_NUM_THREADS": str(ctx.cores)})
    outputs = collect_outputs(ctx, [output])
    calculated = f"{output['S3Output']['S3Uri'].rstrip('/')}/analysis.json"
    used = (
        calculated if _flag(step.get("RegisterNewBaseline")) == "true" or not baseline_uri else baseline_uri
    )
    return {
        "ProcessingOutputConfig": {"Outputs": outputs},
        "CalculatedBaselineConstraints": calculated,
        "BaselineUsedForDriftCheckConstraints": used,
        "CheckType": step["CheckType"],
    }
