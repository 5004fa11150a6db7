"""A pipeline written by hand with the SageMaker SDK, built offline: what a definition from another
tool looks like to the linter (step types our compiler does not emit: Training, Transform, EMR,
Fail, and a Lambda step and a Fail step in a condition's branches).

``build()`` returns (definition, artifacts): the definition as ``Pipeline.definition()`` writes it,
and the bytes of every artifact it references (the uploads the offline session captured, the
processing scripts and the training code's sourcedir.tar.gz, which a hand-written pipeline uploads
itself).
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lgbm_pipeline_compiler.compiler.offline import make_session, quiet_sdk

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REGION, BUCKET = "us-east-1", "acme-ml-111122223333"
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CODE = f"s3://{BUCKET}/code"
SOURCEDIR = f"{CODE}/train/sourcedir.tar.gz"


def _sourcedir() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = (HERE / "fixtures" / "sdk_train.py").read_bytes()
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def build() -> tuple[dict[str, Any], dict[str, bytes]]:
    with quiet_sdk(), _config_validated_once():
        return _build()


@contextlib.contextmanager
def _config_validated_once() -> Iterator[None]:
    """The SDK validates the session's config against its JSON Schema at every lookup (about 70
    while building, ~0.45 s each, for the same dict): validate each distinct config once."""
    import sagemaker.utils

    validate = sagemaker.utils.validate_sagemaker_config
    valid: set[str] = set()

    def once(config: dict | None = None) -> None:
        key = json.dumps(config, sort_keys=True, default=repr)
        if key not in valid:
            validate(config)
            valid.add(key)

    sagemaker.utils.validate_sagemaker_config = once
    try:
        yield
    finally:
        sagemaker.utils.validate_sagemaker_config = validate


def _build() -> tuple[dict[str, Any], dict[str, bytes]]:
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.lambda_helper import Lambda
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.emr_step import EMRStep, EMRStepConfig
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep, TransformStep

    session, captured = make_session(REGION, BUCKET)
    # Estimator.fit and Model.register are telemetry-instrumented: opt out, so nothing leaves the machine.
    session.sagemaker_config = {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge")
    instance_count = ParameterInteger("ProcessingInstanceCount", default_value=1)
    threshold = ParameterFloat("AucThreshold", default_value=0.9)
    run = Join(on="/", values=[f"s3://{BUCKET}/runs", ExecutionVariables.PIPELINE_EXECUTION_ID])

    prepare = ScriptProcessor(
        image_uri=IMAGE, command=["python3"], role=ROLE, instance_type="ml.m5.xlarge",
        instance_count=instance_count, sagemaker_session=session,
    )  # fmt: skip
    prepared = ProcessingStep(
        "Prepare",
        step_args=prepare.run(
            code=f"{CODE}/preprocessing.py",
            inputs=[
                ProcessingInput(
                    source=f"s3://{BUCKET}/data/adult.csv", destination="/opt/ml/processing/input/data"
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name=name,
                    source=f"/opt/ml/processing/output/{name}",
                    destination=Join("/", [run, name]),
                )
                for name in ("train", "validation", "test")
            ],
        ),
    )
    estimator = Estimator(
        image_uri=IMAGE, role=ROLE, instance_type=instance_type, instance_count=1,
        entry_point="train.py", source_dir=SOURCEDIR, sagemaker_session=session,
        output_path=f"s3://{BUCKET}/models", hyperparameters={"num_leaves": 63, "learning_rate": 0.05},
        metric_definitions=[{"Name": "validation:auc", "Regex": "validation-auc: ([0-9.]+)"}],
    )  # fmt: skip
    outputs = prepared.properties.ProcessingOutputConfig.Outputs
    retries = [
        StepRetryPolicy([StepExceptionTypeEnum.THROTTLING], max_attempts=3),
        SageMakerJobStepRetryPolicy([SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], expire_after_mins=60),
    ]
    train = TrainingStep(
        "Train",
        retry_policies=retries,
        step_args=estimator.fit(
            {
                "train": TrainingInput(outputs["train"].S3Output.S3Uri, content_type="text/csv"),
                "validation": TrainingInput(outputs["validation"].S3Output.S3Uri, content_type="text/csv"),
            }
        ),
    )
    model = Model(
        image_uri=IMAGE, model_data=train.properties.ModelArtifacts.S3ModelArtifacts, role=ROLE,
        sagemaker_session=session,
    )  # fmt: skip
    create = ModelStep("Model", step_args=model.create(instance_type="ml.m5.large"))
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate",
        step_args=prepare.run(
            code=f"{CODE}/evaluate.py",
            inputs=[
                ProcessingInput(source=train.properties.ModelArtifacts.S3ModelArtifacts, destination="/opt/ml/processing/model"),
                ProcessingInput(source=outputs["test"].S3Output.S3Uri, destination="/opt/ml/processing/test"),
            ],
            outputs=[ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation", destination=run)],
            arguments=["--output-dir", "/opt/ml/processing/evaluation", "--metrics", "f1,roc_auc"],
        ),
        property_files=[report],
    )  # fmt: skip
    transformer = Transformer(
        model_name=create.properties.ModelName, instance_type="ml.m5.large", instance_count=1,
        output_path=Join(on="/", values=[run, "predictions"]), sagemaker_session=session,
    )  # fmt: skip
    transform = TransformStep(
        "Score",
        step_args=transformer.transform(
            data=outputs["test"].S3Output.S3Uri, content_type="text/csv", split_type="Line"
        ),
    )
    emr = EMRStep(
        "Aggregate", cluster_id="j-1ABCDEFGHIJKL", display_name="Aggregate", description="Spark aggregation",
        step_config=EMRStepConfig(jar="command-runner.jar", args=["spark-submit", f"s3://{BUCKET}/jobs/aggregate.py"]),
    )  # fmt: skip
    emr.add_depends_on([transform])
    register = ModelStep(
        "Register",
        step_args=model.register(
            content_types=["text/csv"], response_types=["text/csv"], inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"], model_package_group_name="acme-lgbm", approval_status="Approved",
        ),
    )  # fmt: skip
    deploy = LambdaStep(
        "Deploy",
        lambda_func=Lambda(
            function_arn=f"arn:aws:lambda:{REGION}:111122223333:function:deploy", session=session
        ),
        inputs={"model_package_arn": register.properties.ModelPackageArn},
        outputs=[LambdaOutput("endpoint_name", LambdaOutputTypeEnum.String)],
    )
    failed = FailStep("TooWeak", error_message=Join(on=" ", values=["AUC below", threshold]))
    gate = ConditionStep(
        "AucGate",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(step_name=evaluate.name, property_file=report, json_path="classification_metrics.roc_auc.value"),
                right=threshold,
            )
        ],
        if_steps=[register, deploy],
        else_steps=[failed],
    )  # fmt: skip
    pipeline = Pipeline(
        name="acme-lgbm-handwritten",
        parameters=[instance_type, instance_count, threshold],
        steps=[prepared, train, create, evaluate, transform, emr, gate],
        sagemaker_session=session,
    )
    definition = json.loads(pipeline.definition())
    scripts = {
        f"{CODE}/{name}": (REPO / "step_scripts" / name).read_bytes()
        for name in ("preprocessing.py", "evaluate.py")
    }
    return definition, {**captured, **scripts, SOURCEDIR: _sourcedir()}


if __name__ == "__main__":
    print(json.dumps(build()[0], indent=2, sort_keys=True))
