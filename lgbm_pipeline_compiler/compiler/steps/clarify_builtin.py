"""`clarify.engine: builtin` → ProcessingSteps running step_scripts/clarify_check.py.

Same inputs as the ClarifyCheckSteps (the Clarify dataset, an analysis config in Clarify's format,
the model — read directly, no shadow endpoint), same outputs (analysis.json, which doubles as the
calculated constraints; drift_check_baseline.json, the baseline used for drift checks), the same
baseline parameters (skip check, register new baseline, supplied constraints) and the same failure
behaviour. An exposed supplied-constraints parameter defaults to a "no baseline" artifact ({}),
since a processing input cannot be empty.

The baseline follows ClarifyCheckStep: the supplied constraints; else, when the spec has a
`registry`, the DriftCheckBaselines of the latest Approved package in its model package group (the
job gets `--model-package-group` and looks it up itself with boto3); else the step fails unless
SkipCheck and RegisterNewBaseline are both true. For that lookup the job's IAM role (the pipeline
role) needs sagemaker:ListModelPackages and sagemaker:DescribeModelPackage on the group's packages
and s3:GetObject on their baseline objects (under `storage.write`).
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker.clarify import DataConfig
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.functions import Join
from sagemaker.workflow.steps import ProcessingStep

from ...spec.clarify import Baseline
from ..containers import SHARED_ENV, install_command, requirements_inputs, shared_module_input, training_image
from ..context import BuildContext
from ..handles import Checked, Checks, Modeled, Preprocessed, Tuned
from ..production import kms_keys, network_config, step_settings
from .clarify_config import (
    BIAS_STEP,
    EXPLAIN_STEP,
    PROBABILITY_INDEX,
    bias_config,
    bias_methods,
    headers,
    predicted_label_config,
    shap_config,
)

SCRIPT = "clarify_check.py"
MODEL_DIR, DATA_DIR = "/opt/ml/processing/model", "/opt/ml/processing/input/data"
CONFIG_DIR, BASELINE_DIR = "/opt/ml/processing/input/config", "/opt/ml/processing/input/baseline"
OUTPUT_DIR = "/opt/ml/processing/output"


def _data_config(ctx: BuildContext) -> dict[str, Any]:
    config = DataConfig(
        s3_data_input_path="s3://unused/by-builtin",  # the dataset comes in as a processing input
        s3_output_path="s3://unused/by-builtin",
        label=ctx.spec.data.target_column,
        headers=headers(ctx),
        dataset_type="text/csv",
    ).get_config()
    return {k: v for k, v in config.items() if k not in ("dataset_uri",)}


def analysis_config(ctx: BuildContext, check: str) -> dict[str, Any]:
    """The analysis config SageMaker Clarify would get, built with the SDK's own config classes."""
    section = ctx.spec.clarify
    assert section is not None
    config = _data_config(ctx)
    if check == "bias":
        bias = section.bias
        assert bias is not None
        config.update(bias_config(bias).get_config())
        threshold, predictor = predicted_label_config(bias.probability_threshold).get_predictor_config()
        config["methods"] = {"post_training_bias": {"methods": bias_methods(bias)}}
        config["predictor"] = predictor
        if threshold is not None:
            config["probability_threshold"] = threshold
    else:
        explain = section.explainability
        assert explain is not None
        config["methods"] = shap_config(explain).get_explainability_config()
        config["predictor"] = {"label": PROBABILITY_INDEX}
    return config


def _flag(value: Any) -> Any:
    """A boolean (or Boolean parameter) as the text "true"/"false" for a job argument."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return Join(on="", values=[value])


def _build(
    ctx: BuildContext, data: Preprocessed, tuned: Tuned, kind: str, step_name: str, baseline: Baseline
) -> Checked:
    section = ctx.spec.clarify
    assert section is not None
    base = f"clarify.{kind}.baseline"
    config = json.dumps(analysis_config(ctx, kind), sort_keys=True, indent=2).encode()
    inputs = [
        ProcessingInput(source=tuned.best_model_uri, destination=MODEL_DIR, input_name="model"),
        ProcessingInput(
            source=data.clarify if kind == "bias" else data.explain,
            destination=DATA_DIR,
            input_name="dataset",
        ),
        ProcessingInput(
            source=ctx.artifacts.add("analysis_config.json", config),
            destination=CONFIG_DIR,
            input_name="analysis_config",
        ),
        *requirements_inputs(ctx),
        shared_module_input(ctx),
    ]
    arguments = [
        "--check", kind,
        "--model-dir", MODEL_DIR,
        "--data-dir", DATA_DIR,
        "--config", f"{CONFIG_DIR}/analysis_config.json",
        "--output-dir", OUTPUT_DIR,
        "--skip-check", _flag(ctx.params(f"{base}.skip_check")),
        "--fail-on-violation", _flag(baseline.fail_on_violation),
        "--register-new-baseline", _flag(ctx.params(f"{base}.register_new_baseline")),
    ]  # fmt: skip
    if ctx.spec.registry is not None:  # ClarifyCheckStep's latest-Approved lookup, done by the job
        arguments += ["--model-package-group", ctx.spec.registry.model_package_group]
    supplied_path = f"{base}.supplied_constraints"
    if ctx.params.is_exposed(supplied_path) and baseline.supplied_constraints is None:
        ctx.params.set_default(supplied_path, ctx.artifacts.add("no-baseline.json", b"{}\n"))
    supplied = ctx.params(supplied_path)
    if supplied:
        inputs.append(ProcessingInput(source=supplied, destination=BASELINE_DIR, input_name="baseline"))
        arguments += ["--baseline-constraints", BASELINE_DIR]
    processor = ScriptProcessor(
        image_uri=training_image(ctx),
        command=install_command(ctx),
        role=ctx.role,
        instance_type=ctx.params("clarify.instance_type"),
        instance_count=1,
        volume_size_in_gb=section.volume_size_gb,
        base_job_name=step_name.lower(),
        env=dict(SHARED_ENV),
        network_config=network_config(ctx, "clarify"),
        **kms_keys(ctx, "clarify"),
        sagemaker_session=ctx.session,
    )
    step_args = processor.run(
        code=ctx.script_uri(SCRIPT),
        inputs=inputs,
        outputs=[
            ProcessingOutput(
                output_name="analysis_result",
                source=OUTPUT_DIR,
                destination=ctx.run_uri(step_name, "analysis"),
            )
        ],
        arguments=arguments,
    )
    step = ProcessingStep(step_name, step_args=step_args, **step_settings(ctx, "clarify"))
    out = step.properties.ProcessingOutputConfig.Outputs["analysis_result"].S3Output.S3Uri
    return Checked(
        step,
        kind=kind,
        calculated_constraints_uri=Join(on="/", values=[out, "analysis.json"]),
        drift_baseline_uri=Join(on="/", values=[out, "drift_check_baseline.json"]),
    )


def build(ctx: BuildContext, data: Preprocessed, tuned: Tuned, modeled: Modeled) -> Checks:
    """The configured checks; the job loads the best trial's model itself (no endpoint)."""
    del modeled  # no shadow endpoint: the model artifact is a processing input
    section = ctx.spec.clarify
    assert section is not None
    bias = explain = None
    if section.bias is not None:
        bias = _build(ctx, data, tuned, "bias", BIAS_STEP, section.bias.baseline)
    if section.explainability is not None:
        explain = _build(ctx, data, tuned, "explainability", EXPLAIN_STEP, section.explainability.baseline)
    return Checks(bias=bias, explainability=explain)
