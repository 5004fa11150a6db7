"""ClarifyCheck steps, run locally by the builtin implementation (step_scripts/clarify_check.py).

The step's own inputs are used: its analysis config (the artifact SageMaker Clarify would read),
its dataset, and the model it names. Baseline semantics follow ClarifyCheckStep: the baseline is
the supplied constraints if given, else the drift-check baseline of the latest approved package in
the model package group; with neither, the step fails unless SkipCheck and RegisterNewBaseline
are both true (a first run); `SkipCheck` computes without failing; `RegisterNewBaseline` makes the
calculated result the baseline used for drift checks.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from ..baselines import no_baseline_message
from ..context import StepContext, StepFailed, python
from .processing import collect_outputs, stage_inputs

CHECKS = {
    "MODEL_BIAS": ("bias", ("Bias", "PostTrainingConstraints")),
    "MODEL_EXPLAINABILITY": ("explainability", ("Explainability", "Constraints")),
}
SCRIPT = "clarify_check.py"


def _flag(value: Any) -> str:
    return "true" if value is True or str(value).lower() == "true" else "false"


def registry_baseline(ctx: StepContext, group: str | None, keys: tuple[str, str]) -> str | None:
    """The drift-check constraints URI of the latest approved version in ``group``."""
    if not group:
        return None
    approved = [p for p in ctx.services["registry"].versions(group) if p["ModelApprovalStatus"] == "Approved"]
    for package in reversed(approved):
        uri = package["Request"].get("DriftCheckBaselines", {}).get(keys[0], {}).get(keys[1], {}).get("S3Uri")
        if uri:
            return uri
    return None


def run(ctx: StepContext) -> dict[str, Any]:
    step = ctx.resolve({k: v for k, v in ctx.step.items() if k not in ("Name", "Type")})
    check, keys = CHECKS[step["CheckType"]]
    args = step["Arguments"]
    inputs = {i["InputName"]: i for i in args["ProcessingInputs"]}
    output = args["ProcessingOutputConfig"]["Outputs"][0]
    stage_inputs(ctx, list(inputs.values()))
    model_record = ctx.work_dir / "models" / f"{step['ModelName']}.json"
    if not model_record.is_file():
        raise StepFailed(f"model {step['ModelName']!r} was not created in this run")
    model_uri = json.loads(model_record.read_text())["PrimaryContainer"]["ModelDataUrl"]
    model_dir = Path(ctx.container_path("/opt/ml/processing/model"))
    ctx.store.download(model_uri, model_dir)

    supplied = step.get("SuppliedBaselineConstraints") or None
    group = step.get("ModelPackageGroupName")
    baseline_uri = supplied or registry_baseline(ctx, group, keys)
    skip, register = _flag(step.get("SkipCheck")) == "true", _flag(step.get("RegisterNewBaseline")) == "true"
    if baseline_uri is None and not (skip and register):
        # ClarifyCheckStepMetadata: with SkipCheck or RegisterNewBaseline False, "the previous
        # baseline of the configured check type must be available".
        raise StepFailed(no_baseline_message(ctx.step, group))
    command = [
        python(), str(resources.files("lgbm_pipeline_compiler.step_scripts").joinpath(SCRIPT)),
        "--check", check,
        "--model-dir", str(model_dir),
        "--data-dir", ctx.container_path(inputs["dataset"]["S3Input"]["LocalPath"]),
        "--config", str(Path(ctx.container_path(inputs["analysis_config"]["S3Input"]["LocalPath"])) / "analysis_config.json"),
        "--output-dir", ctx.container_path(output["S3Output"]["LocalPath"]),
        "--skip-check", _flag(step.get("SkipCheck")),
        "--fail-on-violation", _flag(step.get("FailOnViolation", True)),
    ]  # fmt: skip
    if baseline_uri and _flag(step.get("RegisterNewBaseline")) == "false":
        baseline = ctx.work / "baseline"
        ctx.store.download(baseline_uri, baseline)
        command += ["--baseline-constraints", str(baseline)]
        ctx.log.write(f"checking against the baseline {baseline_uri}\n")
    else:
        ctx.log.write(
            "no baseline to check against (none supplied or approved, or a new one is registered)\n"
        )
    ctx.run_script(command, env={**os.environ, "OMP_NUM_THREADS": str(ctx.cores)})
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
