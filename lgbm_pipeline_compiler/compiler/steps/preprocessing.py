"""`preprocessing:` → a ProcessingStep running step_scripts/preprocessing.py in SKLearnProcessor.

The data options travel in a small JSON config (a content-addressed artifact), not in container
arguments: CreateProcessingJob limits each ContainerArguments item to 256 characters, which a
40-column list exceeds.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.steps import ProcessingStep

from ..containers import SHARED_ENV, shared_module_input
from ..context import BuildContext
from ..handles import Preprocessed
from ..production import kms_keys, network_config, step_settings

SPLITS = ("train", "validation", "test", "clarify")
EXPLAIN = "explain"
INPUT_DIR = "/opt/ml/processing/input/data"
CONFIG_DIR = "/opt/ml/processing/input/config"
CONFIG = "preprocessing.json"
OUTPUT_DIR = "/opt/ml/processing/output"
STEP_NAME = "Preprocess"


def job_config(ctx: BuildContext) -> dict[str, Any]:
    """What preprocessing.py needs to know, derived from `data:` (and the checks' columns)."""
    data, clarify = ctx.spec.data, ctx.spec.clarify
    config: dict[str, Any] = {
        "target_column": data.target_column,
        "positive_class": [str(v) for v in data.positive_classes],
        "header": data.header,
        "column_names": data.columns,
        "comment": data.comment,
        "categorical_columns": data.categorical_columns,
        "drop_columns": data.drop_columns,
        "split": {"train": data.split.train, "validation": data.split.validation, "test": data.split.test},
        "stratify": data.stratify,
        "seed": data.seed,
    }
    bias = clarify.bias if clarify else None
    if bias is not None:
        config["facet_columns"] = [bias.facet_name] + ([bias.group_name] if bias.group_name else [])
    explain = clarify.explainability if clarify else None
    if explain is not None:
        config["explain_rows"] = explain.max_rows
    if ctx.spec.training.train_shards > 1:  # data-parallel training: a file (or more) per instance
        config["train_shards"] = ctx.spec.training.train_shards
    return config


def _inputs(ctx: BuildContext) -> list[ProcessingInput]:
    """One input per file or prefix; several land in numbered folders under INPUT_DIR."""
    uris = ctx.spec.input_uris
    if len(uris) == 1:
        return [ProcessingInput(source=ctx.params("data.input"), destination=INPUT_DIR, input_name="data")]
    return [
        ProcessingInput(source=uri, destination=f"{INPUT_DIR}/{i}", input_name=f"data-{i}")
        for i, uri in enumerate(uris, start=1)
    ]


def build(ctx: BuildContext) -> Preprocessed:
    section = ctx.spec.preprocessing
    processor = SKLearnProcessor(
        framework_version=section.framework_version,
        role=ctx.role,
        instance_type=ctx.params("preprocessing.instance_type"),
        instance_count=ctx.params("preprocessing.instance_count"),
        volume_size_in_gb=section.volume_size_gb,
        base_job_name="preprocess",
        env=dict(SHARED_ENV),
        network_config=network_config(ctx, "preprocessing"),
        **kms_keys(ctx, "preprocessing"),
        sagemaker_session=ctx.session,
    )
    settings = job_config(ctx)
    config = json.dumps(settings, sort_keys=True, indent=2).encode()
    outputs = [*SPLITS, EXPLAIN] if "explain_rows" in settings else list(SPLITS)
    step_args = processor.run(
        code=ctx.script_uri(section.script),
        inputs=[
            *_inputs(ctx),
            ProcessingInput(
                source=ctx.artifacts.add(CONFIG, config), destination=CONFIG_DIR, input_name="config"
            ),
            shared_module_input(ctx),
        ],
        outputs=[
            ProcessingOutput(
                output_name=name,
                source=f"{OUTPUT_DIR}/{name}",
                destination=ctx.run_uri(STEP_NAME, name),
            )
            for name in outputs
        ],
        arguments=[
            "--input-dir",
            INPUT_DIR,
            "--output-dir",
            OUTPUT_DIR,
            "--config",
            f"{CONFIG_DIR}/{CONFIG}",
        ],
    )
    step = ProcessingStep(STEP_NAME, step_args=step_args, **step_settings(ctx, "preprocessing"))
    uri = {name: step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri for name in outputs}
    return Preprocessed(step, *(uri[name] for name in SPLITS), explain=uri.get(EXPLAIN))
