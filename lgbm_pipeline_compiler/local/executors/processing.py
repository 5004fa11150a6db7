"""Processing steps: inputs from the store into a container-shaped dir, the script in a subprocess,
outputs back to the store.

A builtin-engine check (step_scripts/clarify_check.py) given ``--model-package-group`` and no
supplied baseline looks up, in AWS, the latest Approved package's drift-check baseline with boto3
from inside the job: ClarifyCheckStep's rule, the supplied constraints, else that baseline, else
the step fails unless SkipCheck and RegisterNewBaseline are both true (ClarifyCheckStepMetadata,
SkipCheck: "If it is set to False, the previous baseline of the configured check type must be
available"). Locally the same lookup (clarify_baseline.latest_approved_baseline) asks the local
control plane before the job starts, the baseline found is staged into the job's baseline input
as if supplied, and the group argument is dropped, so the script never calls AWS. The builtin
data-quality job (step_scripts/data_quality_check.py, DriftCheckBaselines.ModelDataQuality) gets
the same treatment from quality_baseline.approved_baseline_arguments.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ..context import StepContext, StepFailed, python
from ..control import LocalSageMaker
from ..warm_jobs import run_script_job
from .quality_baseline import GROUP_FLAG, approved_baseline_arguments, flag_value, group_to_look_up

CLARIFY_SCRIPT = "clarify_check.py"
DATA_QUALITY_SCRIPT = "data_quality_check.py"  # the builtin data-quality job: the same lookup (quality.py)
BASELINE_FLAG = "--baseline-constraints"
BASELINE_DIR = "/opt/ml/processing/input/baseline"  # where the compiler maps a supplied baseline


def script_in(entrypoint: list[str]) -> str | None:
    """The Python script an entrypoint runs (SageMaker appends the code path last)."""
    scripts = [part for part in entrypoint if part.endswith(".py")]
    return scripts[-1] if scripts else None


def container_env(ctx: StepContext, environment: dict[str, str]) -> dict[str, str]:
    """The job's environment with container paths (also in PATH-like lists) mapped locally."""
    return {
        key: ":".join(ctx.container_path(part) for part in value.split(":"))
        for key, value in environment.items()
    }


def stage_inputs(ctx: StepContext, inputs: list[dict[str, Any]]) -> None:
    """Each input into its own empty dir, as in a new container (a resumed run reuses the step's
    scratch dir: an input from the earlier attempt must not stay beside the new one)."""
    folders = [ctx.local_path(item["S3Input"]["LocalPath"]) for item in inputs]
    for folder in folders:
        if folder.is_relative_to(ctx.work):  # always, for an absolute LocalPath (the job's own dir)
            shutil.rmtree(folder, ignore_errors=True)
    for item, folder in zip(inputs, folders, strict=True):
        ctx.store.download(item["S3Input"]["S3Uri"], folder)


def collect_outputs(ctx: StepContext, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in outputs:
        s3 = item["S3Output"]
        local = ctx.local_path(s3["LocalPath"])
        local.mkdir(parents=True, exist_ok=True)
        ctx.store.upload_dir(local, s3["S3Uri"])
        out[item["OutputName"]] = {"OutputName": item["OutputName"], "S3Output": dict(s3)}
    return out


def bundled_clarify_baseline() -> ModuleType:
    """step_scripts/clarify_baseline.py, imported from the package. The shared step-script modules
    import each other by their plain names (as on the job's PYTHONPATH), so the package's
    step_common and bias_metrics are registered under those names first."""
    from ...step_scripts import step_common

    sys.modules.setdefault("step_common", step_common)
    from ...step_scripts import bias_metrics

    sys.modules.setdefault("bias_metrics", bias_metrics)
    from ...step_scripts import clarify_baseline

    return clarify_baseline


def approved_baseline(ctx: StepContext, arguments: list[str]) -> list[str]:
    """The arguments of a clarify_check.py job with ``--model-package-group``, its lookup done here
    (see the module docstring); StepFailed when there is no baseline and it is not a first run."""
    rules = bundled_clarify_baseline()
    check = flag_value(arguments, "--check")
    if not flag_value(arguments, GROUP_FLAG) or check not in rules.DRIFT_CHECK_BASELINES:
        return arguments  # the script reports it, before any AWS call
    arguments, group = group_to_look_up(
        ctx, arguments, BASELINE_FLAG, rules.load_baseline, (rules.InputError,)
    )
    if group is None:
        return arguments
    supplied = flag_value(arguments, BASELINE_FLAG)
    uri = rules.latest_approved_baseline(
        LocalSageMaker(ctx.work_dir, ctx.services.get("registry")), group, check
    )
    if uri is None:
        raise StepFailed(rules.no_baseline_message(check, group))
    folder = Path(ctx.container_path(BASELINE_DIR))
    shutil.rmtree(folder, ignore_errors=True)  # the "no baseline" placeholder
    folder.mkdir(parents=True)
    (folder / "constraints.json").write_bytes(ctx.store.read_bytes(uri))
    if supplied:
        arguments[arguments.index(BASELINE_FLAG) + 1] = BASELINE_DIR
    else:
        arguments += [BASELINE_FLAG, BASELINE_DIR]
    ctx.log.write(
        f"checking against the baseline {uri} (latest Approved package in model package group {group}; "
        "none was supplied)\n"
    )
    return arguments


def run(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    app = args["AppSpecification"]
    script = script_in(app.get("ContainerEntrypoint", []))
    if script is None:
        raise StepFailed(f"image {app['ImageUri']} runs no Python script; only script jobs run locally")
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        ctx.local_path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    stage_inputs(ctx, args.get("ProcessingInputs", []))
    arguments = [str(a) for a in app.get("ContainerArguments", [])]
    if Path(script).name == CLARIFY_SCRIPT and GROUP_FLAG in arguments:
        arguments = approved_baseline(ctx, arguments)
    if Path(script).name == DATA_QUALITY_SCRIPT and GROUP_FLAG in arguments:
        arguments = approved_baseline_arguments(ctx, arguments)
    command = [python(), str(ctx.local_path(script))]
    command += [ctx.container_arg(a) for a in arguments]  # paths land in the job's dir, whatever they say
    env = {**os.environ, **container_env(ctx, args.get("Environment", {})), "OMP_NUM_THREADS": str(ctx.cores)}
    run_script_job(ctx, command, env)
    return {
        "ProcessingJobName": f"{ctx.name}-{ctx.execution_id}",
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": collect_outputs(ctx, outputs)},
    }
