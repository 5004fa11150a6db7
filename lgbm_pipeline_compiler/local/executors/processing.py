"""Processing steps: inputs from the store into a container-shaped dir, the script in a subprocess,
outputs back to the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..context import StepContext, StepFailed, python


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
    for item in inputs:
        s3 = item["S3Input"]
        ctx.store.download(s3["S3Uri"], Path(ctx.container_path(s3["LocalPath"])))


def collect_outputs(ctx: StepContext, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in outputs:
        s3 = item["S3Output"]
        local = Path(ctx.container_path(s3["LocalPath"]))
        local.mkdir(parents=True, exist_ok=True)
        ctx.store.upload_dir(local, s3["S3Uri"])
        out[item["OutputName"]] = {"OutputName": item["OutputName"], "S3Output": dict(s3)}
    return out


def run(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    app = args["AppSpecification"]
    script = script_in(app.get("ContainerEntrypoint", []))
    if script is None:
        raise StepFailed(f"image {app['ImageUri']} runs no Python script; only script jobs run locally")
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        Path(ctx.container_path(item["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
    stage_inputs(ctx, args.get("ProcessingInputs", []))
    command = [python(), ctx.container_path(script)]
    command += [ctx.container_path(a) for a in app.get("ContainerArguments", [])]
    env = {**os.environ, **container_env(ctx, args.get("Environment", {})), "OMP_NUM_THREADS": str(ctx.cores)}
    ctx.run_script(command, env=env)
    return {
        "ProcessingJobName": f"{ctx.name}-{ctx.execution_id}",
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": collect_outputs(ctx, outputs)},
    }
