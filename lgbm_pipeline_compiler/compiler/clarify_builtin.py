"""`clarify.engine: builtin` → ProcessingSteps running step_scripts/clarify_check.py.

Same inputs as the ClarifyCheckSteps (the Clarify dataset, an analysis config in Clarify's format,
the model — read directly, no shadow endpoint), same outputs (analysis.json, which doubles as the
calculated constraints; drift_check_baseline.json, the baseline used for drift checks), the same
baseline parameters (skip check, register new baseline, supplied constraints) and the same failure
behaviour. ClarifyCheckStep's lookup of the latest approved package's baseline is not available:
the baseline is the supplied constraints. An exposed supplied-constraints parameter defaults to a
"no baseline" artifact ({}), since a processing input cannot be empty.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker.clarify import BiasConfig, DataConfig, SHAPConfig
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.workflow.functions import Join
from sagemaker.workflow.steps import ProcessingStep

from ..spec.clarify import Baseline
from . import preprocessing
from .clarify import (
    ALL_POST_TRAINING,
    BIAS_STEP,
    EXPLAIN_STEP,
    PROBABILITY_INDEX,
    headers,
    predicted_label_config,
)
from .context import BuildContext
from .evaluation import INSTALL_THEN_RUN, requirements_input
from .tuning import best_model_uri

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
        config.update(
            BiasConfig(
                label_values_or_threshold=bias.label_values,
                facet_name=bias.facet_name,
                facet_values_or_threshold=bias.facet_values,
                group_name=bias.group_name,
            ).get_config()
        )
        threshold, predictor = predicted_label_config(bias.probability_threshold).get_predictor_config()
        methods = ALL_POST_TRAINING if bias.methods == ALL_POST_TRAINING else list(bias.methods)
        config["methods"] = {"post_training_bias": {"methods": methods}}
        config["predictor"] = predictor
        if threshold is not None:
            config["probability_threshold"] = threshold
    else:
        explain = section.explainability
        assert explain is not None
        shap = explain.shap
        config["methods"] = SHAPConfig(
            seed=shap.seed,
            num_samples=shap.num_samples,
            agg_method=shap.agg_method,
            save_local_shap_values=shap.save_local_shap_values,
            num_clusters=shap.num_clusters,
        ).get_explainability_config()
        config["predictor"] = {"label": PROBABILITY_INDEX}
    return config


def _flag(value: Any) -> Any:
    """A boolean (or Boolean parameter) as the text "true"/"false" for a job argument."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return Join(on="", values=[value])


def _build(ctx: BuildContext, check: str, step_name: str, baseline: Baseline) -> ProcessingStep:
    section = ctx.spec.clarify
    assert section is not None
    base = f"clarify.{check}.baseline"
    config = json.dumps(analysis_config(ctx, check), sort_keys=True, indent=2).encode()
    inputs = [
        ProcessingInput(source=best_model_uri(ctx), destination=MODEL_DIR, input_name="model"),
        ProcessingInput(
            source=preprocessing.output_uri(ctx.steps["preprocess"], "clarify"),
            destination=DATA_DIR,
            input_name="dataset",
        ),
        ProcessingInput(
            source=ctx.artifacts.add("analysis_config.json", config),
            destination=CONFIG_DIR,
            input_name="analysis_config",
        ),
        requirements_input(ctx),
    ]
    arguments = [
        "--check", check,
        "--model-dir", MODEL_DIR,
        "--data-dir", DATA_DIR,
        "--config", f"{CONFIG_DIR}/analysis_config.json",
        "--output-dir", OUTPUT_DIR,
        "--skip-check", _flag(ctx.params(f"{base}.skip_check")),
        "--fail-on-violation", _flag(baseline.fail_on_violation),
    ]  # fmt: skip
    arguments += ["--register-new-baseline", _flag(ctx.params(f"{base}.register_new_baseline"))]
    supplied_path = f"{base}.supplied_constraints"
    if ctx.params.is_exposed(supplied_path) and baseline.supplied_constraints is None:
        ctx.params.set_default(supplied_path, ctx.artifacts.add("no-baseline.json", b"{}\n"))
    supplied = ctx.params(supplied_path)
    if supplied:
        inputs.append(ProcessingInput(source=supplied, destination=BASELINE_DIR, input_name="baseline"))
        arguments += ["--baseline-constraints", BASELINE_DIR]
    processor = ScriptProcessor(
        image_uri=ctx.training_image,
        command=INSTALL_THEN_RUN,
        role=ctx.role,
        instance_type=ctx.params("clarify.instance_type"),
        instance_count=1,
        volume_size_in_gb=section.volume_size_gb,
        base_job_name=step_name.lower(),
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
    return ProcessingStep(step_name, step_args=step_args)


def analysis_uri(step: ProcessingStep) -> Join:
    out = step.properties.ProcessingOutputConfig.Outputs["analysis_result"].S3Output.S3Uri
    return Join(on="/", values=[out, "analysis.json"])


def drift_baseline_uri(step: ProcessingStep) -> Join:
    out = step.properties.ProcessingOutputConfig.Outputs["analysis_result"].S3Output.S3Uri
    return Join(on="/", values=[out, "drift_check_baseline.json"])


def build(ctx: BuildContext) -> list[ProcessingStep]:
    section = ctx.spec.clarify
    assert section is not None
    steps = []
    if section.bias is not None:
        ctx.steps["bias"] = _build(ctx, "bias", BIAS_STEP, section.bias.baseline)
        steps.append(ctx.steps["bias"])
    if section.explainability is not None:
        ctx.steps["explain"] = _build(ctx, "explainability", EXPLAIN_STEP, section.explainability.baseline)
        steps.append(ctx.steps["explain"])
    return steps
