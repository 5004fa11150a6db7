"""The local processing executor answers a builtin-engine check's baseline lookup from the local
registry (through the control plane, with the job's own clarify_baseline.latest_approved_baseline)
and hands the baseline to the job as supplied; inputs are staged into empty dirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.executors import processing
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import job_context

GROUP = "census-income-lgbm"
BASELINE_DIR = "/opt/ml/processing/input/baseline"
PLACEHOLDER = "s3://bucket/artifacts/0123/no-baseline.json"


@pytest.fixture
def ctx(tmp_path) -> StepContext:
    work_dir = tmp_path / "work"
    store = ObjectStore(work_dir)
    store.put_bytes(PLACEHOLDER, b"{}\n")
    step = {"Name": "ModelBiasCheck", "Type": "Processing"}
    context = job_context(work_dir, step, store=store, cores=1, registry=True)
    processing.stage_inputs(context, [{"S3Input": {"S3Uri": PLACEHOLDER, "LocalPath": BASELINE_DIR}}])
    return context


def job_arguments(skip: str = "false", register: str = "false") -> list[str]:
    """clarify_check.py's arguments as the compiler writes them for a spec with a registry."""
    return ["--check", "bias", "--output-dir", "/opt/ml/processing/output", "--skip-check", skip,
            "--fail-on-violation", "true", "--register-new-baseline", register,
            "--model-package-group", GROUP, "--baseline-constraints", BASELINE_DIR]  # fmt: skip


def register(ctx: StepContext, status: str, bias_uri: str | None = None, content: bytes = b"") -> str:
    request = {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": status}
    if bias_uri:
        uri = {"ContentType": "application/json", "S3Uri": bias_uri}
        request["DriftCheckBaselines"] = {"Bias": {"PostTrainingConstraints": uri}}
        ctx.store.put_bytes(bias_uri, content)
    return ctx.services["registry"].register(request)["ModelPackageArn"]


def baseline_dir(ctx: StepContext) -> Path:
    return Path(ctx.container_path(BASELINE_DIR))


def test_the_latest_approved_baseline_is_staged_as_supplied(ctx):
    register(ctx, "Approved", "s3://b/v1/bias.json", b'{"version": "1.0", "v": 1}')
    register(ctx, "Approved", "s3://b/v2/bias.json", b'{"version": "1.0", "v": 2}')
    register(ctx, "Approved")  # newer, no baseline: skipped
    register(ctx, "PendingManualApproval", "s3://b/v4/bias.json", b'{"v": 4}')  # not Approved
    arguments = processing.approved_baseline(ctx, job_arguments())
    assert "--model-package-group" not in arguments  # the job must not call AWS locally
    assert arguments[arguments.index("--baseline-constraints") + 1] == BASELINE_DIR
    assert [p.name for p in baseline_dir(ctx).iterdir()] == ["constraints.json"]  # the placeholder is gone
    assert json.loads((baseline_dir(ctx) / "constraints.json").read_text()) == {"version": "1.0", "v": 2}
    assert (
        f"checking against the baseline s3://b/v2/bias.json (latest Approved package in model package group {GROUP}"
        in ctx.log.getvalue()
    )


def test_no_approved_baseline_fails_the_step_with_the_jobs_message(ctx):
    register(ctx, "PendingManualApproval", "s3://b/v1/bias.json", b"{}")
    with pytest.raises(StepFailed) as failed:
        processing.approved_baseline(ctx, job_arguments(skip="true"))  # skip alone is not a first run
    rules = processing.bundled_clarify_baseline()
    assert str(failed.value) == rules.no_baseline_message("bias", GROUP)


def test_a_first_run_and_a_supplied_baseline_need_no_lookup(ctx):
    arguments = processing.approved_baseline(ctx, job_arguments(skip="true", register="true"))
    assert arguments == [
        a for a in job_arguments("true", "true") if a not in ("--model-package-group", GROUP)
    ]
    assert [p.name for p in baseline_dir(ctx).iterdir()] == ["no-baseline.json"]
    (baseline_dir(ctx) / "no-baseline.json").write_text('{"version": "1.0"}')  # a real supplied baseline
    assert "--model-package-group" not in processing.approved_baseline(ctx, job_arguments())
    assert ctx.log.getvalue() == ""


def test_the_same_lookup_answers_for_the_sagemaker_clarify_engine(ctx):
    register(ctx, "Approved", "s3://b/v1/bias.json", b"{}")
    arn = register(ctx, "Approved", "s3://b/v2/bias.json", b"{}")
    control = LocalSageMaker(ctx.work_dir, ctx.services["registry"])
    rules = processing.bundled_clarify_baseline()
    assert rules.latest_approved_baseline(control, GROUP, "bias") == "s3://b/v2/bias.json"
    control.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert rules.latest_approved_baseline(control, GROUP, "bias") == "s3://b/v1/bias.json"
    assert rules.latest_approved_baseline(control, GROUP, "explainability") is None


def test_inputs_are_staged_into_empty_dirs(ctx):
    """A resumed run reuses the step's scratch dir: the earlier attempt's files must not stay."""
    (baseline_dir(ctx) / "constraints.json").write_text('{"stale": true}')
    ctx.store.put_bytes("s3://b/supplied.json", b'{"version": "1.0"}')
    processing.stage_inputs(ctx, [{"S3Input": {"S3Uri": "s3://b/supplied.json", "LocalPath": BASELINE_DIR}}])
    assert [p.name for p in baseline_dir(ctx).iterdir()] == ["supplied.json"]
