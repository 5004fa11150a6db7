"""Baseline for bench_compile.py: the census pipeline written by hand with the SageMaker SDK.

What an engineer would write without the compiler: the same steps, the same settings, printed as
JSON. Uploads are captured in memory (as our compiler does) so it runs offline too.
"""

from __future__ import annotations

import json
import os
import sys

import boto3

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker import image_uris  # noqa: E402
from sagemaker.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig  # noqa: E402
from sagemaker.drift_check_baselines import DriftCheckBaselines  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.lambda_helper import Lambda  # noqa: E402
from sagemaker.model import Model  # noqa: E402
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics  # noqa: E402
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor  # noqa: E402
from sagemaker.sklearn.processing import SKLearnProcessor  # noqa: E402
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter  # noqa: E402
from sagemaker.workflow.check_job_config import CheckJobConfig  # noqa: E402
from sagemaker.workflow.clarify_check_step import (  # noqa: E402
    ClarifyCheckStep,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.workflow.condition_step import ConditionStep  # noqa: E402
from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo  # noqa: E402
from sagemaker.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.workflow.lambda_step import LambdaStep  # noqa: E402
from sagemaker.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterString  # noqa: E402
from sagemaker.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.workflow.properties import PropertyFile  # noqa: E402
from sagemaker.workflow.step_collections import RegisterModel  # noqa: E402
from sagemaker.workflow.steps import ProcessingStep, TuningStep  # noqa: E402

REGION, BUCKET = "us-east-1", "lgbm-pipelines-111122223333"
WRITE = f"s3://{BUCKET}/census-income/dev"
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecutionRole"
HEADERS = ["Target", "Age", "Workclass", "Education", "Education-Num", "Marital Status", "Occupation",
           "Relationship", "Ethnic group", "Sex", "Capital Gain", "Capital Loss", "Hours per week", "Country"]  # fmt: skip


class OfflineSession(PipelineSession):
    def upload_data(self, path, bucket=None, key_prefix="data", callback=None, extra_args=None):
        return f"s3://{bucket}/{key_prefix}/{os.path.basename(path)}"

    def upload_string_as_file_body(self, body, bucket, key, kms_key=None):
        return f"s3://{bucket}/{key}"


def run_uri(*parts):
    return Join(on="/", values=[WRITE, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])


def main() -> None:
    sess = OfflineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    image = image_uris.retrieve("sklearn", REGION, version="1.2-1", instance_type="ml.m5.xlarge")
    threshold = ParameterFloat("F1Threshold", default_value=0.68)
    skip_bias = ParameterBoolean("SkipModelBiasCheck", default_value=False)
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")

    pre = ProcessingStep(
        "Preprocess",
        step_args=SKLearnProcessor(
            framework_version="1.2-1",
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            sagemaker_session=sess,
        ).run(
            code=f"{WRITE}/artifacts/x/preprocessing.py",
            inputs=[
                ProcessingInput(
                    source="s3://sagemaker-sample-files/datasets/tabular/uci_adult/census-income.csv",
                    destination="/opt/ml/processing/input/data",
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name=n,
                    source=f"/opt/ml/processing/output/{n}",
                    destination=run_uri("Preprocess", n),
                )
                for n in ("train", "validation", "test", "clarify")
            ],
            arguments=["--target-column", "Target", "--positive-class", ">50K"],
        ),
    )

    def out(name):
        return pre.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    estimator = Estimator(
        image_uri=image,
        role=ROLE,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        entry_point="train.py",
        source_dir=f"{WRITE}/artifacts/x/sourcedir.tar.gz",
        output_path=f"{WRITE}/models",
        hyperparameters={"seed": "42"},
        sagemaker_session=sess,
    )
    tuner = HyperparameterTuner(
        estimator,
        "validation:f1",
        {
            "n_estimators": IntegerParameter(10, 400),
            "learning_rate": ContinuousParameter(1e-4, 0.5, scaling_type="Logarithmic"),
            "num_leaves": IntegerParameter(2, 200),
            "max_bin": IntegerParameter(50, 500),
        },
        metric_definitions=[{"Name": "validation:f1", "Regex": "validation-f1: ([0-9\\.]+)"}],
        max_jobs=20,
        max_parallel_jobs=2,
        strategy="Random",
    )
    tune = TuningStep(
        "Tune",
        step_args=tuner.fit(
            job_name="census-tune",
            inputs={c: TrainingInput(out(c), content_type="text/csv") for c in ("train", "validation")},
        ),
    )
    best = tune.get_top_model_s3_uri(top_k=0, s3_bucket=BUCKET, prefix="census-income/dev/models")

    model = Model(
        image_uri=image,
        model_data=best,
        role=ROLE,
        sagemaker_session=sess,
        env={"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    )
    model_step = ModelStep("LightGBMModel", step_args=model.create(instance_type="ml.m5.large"))

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate",
        property_files=[report],
        step_args=ScriptProcessor(
            image_uri=image,
            command=["python3"],
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            sagemaker_session=sess,
        ).run(
            code=f"{WRITE}/artifacts/x/evaluate.py",
            inputs=[
                ProcessingInput(source=best, destination="/opt/ml/processing/model"),
                ProcessingInput(source=out("test"), destination="/opt/ml/processing/test"),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=run_uri("Evaluate", "evaluation"),
                )
            ],
        ),
    )

    check_job = CheckJobConfig(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=sess
    )
    model_config = ModelConfig(
        model_name=model_step.properties.ModelName,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        accept_type="text/csv",
        content_type="text/csv",
    )

    def data_config(name):
        return DataConfig(
            s3_data_input_path=out("clarify"),
            s3_output_path=run_uri(name, "analysis"),
            s3_analysis_config_output_path=f"{WRITE}/clarify-config/{name}",
            label="Target",
            headers=HEADERS,
            dataset_type="text/csv",
        )

    bias = ClarifyCheckStep(
        "ModelBiasCheck",
        check_job_config=check_job,
        skip_check=skip_bias,
        register_new_baseline=False,
        model_package_group_name="census-income-lgbm",
        clarify_check_config=ModelBiasCheckConfig(
            data_config=data_config("ModelBiasCheck"),
            model_config=model_config,
            data_bias_config=BiasConfig([1], "Sex", ["Female"]),
            methods=["DPPL"],
            model_predicted_label_config=ModelPredictedLabelConfig(probability=0, probability_threshold=0.5),
        ),
    )
    explain = ClarifyCheckStep(
        "ModelExplainabilityCheck",
        check_job_config=check_job,
        skip_check=False,
        register_new_baseline=False,
        model_package_group_name="census-income-lgbm",
        clarify_check_config=ModelExplainabilityCheckConfig(
            data_config=data_config("ModelExplainabilityCheck"),
            model_config=model_config,
            model_scores=0,
            explainability_config=SHAPConfig(seed=123, num_samples=100, agg_method="mean_abs"),
        ),
    )

    def src(uri):
        return MetricsSource(s3_uri=uri, content_type="application/json")

    register = RegisterModel(
        "Register",
        model=model,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name="census-income-lgbm",
        approval_status=approval,
        model_metrics=ModelMetrics(
            model_statistics=src(
                Join(
                    on="/",
                    values=[
                        evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
                        "evaluation.json",
                    ],
                )
            ),
            bias_post_training=src(bias.properties.CalculatedBaselineConstraints),
            explainability=src(explain.properties.CalculatedBaselineConstraints),
        ),
        drift_check_baselines=DriftCheckBaselines(
            bias_post_training_constraints=src(bias.properties.BaselineUsedForDriftCheckConstraints),
            bias_config_file=FileSource(
                s3_uri=bias.clarify_check_config.monitoring_analysis_config_uri,
                content_type="application/json",
            ),
            explainability_constraints=src(explain.properties.BaselineUsedForDriftCheckConstraints),
            explainability_config_file=FileSource(
                s3_uri=explain.clarify_check_config.monitoring_analysis_config_uri,
                content_type="application/json",
            ),
        ),
    )
    deploy = LambdaStep(
        "Deploy",
        lambda_func=Lambda(
            function_arn="arn:aws:lambda:us-east-1:111122223333:function:lgbm-deploy-endpoint", session=sess
        ),
        inputs={
            "model_package_arn": register.properties.ModelPackageArn,
            "endpoint_name": "census-income-dev",
        },
    )
    gate = ConditionStep(
        "F1Gate",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name="Evaluate", property_file=report, json_path="classification_metrics.f1.value"
                ),
                right=threshold,
            )
        ],
        if_steps=[register, deploy],
        else_steps=[],
    )
    pipeline = Pipeline(
        "census-income-lgbm-dev",
        parameters=[threshold, skip_bias, approval],
        steps=[pre, tune, model_step, evaluate, bias, explain, gate],
        sagemaker_session=sess,
    )
    text = json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=True) + "\n"
    # The SDK logs to stdout, so the definition goes to a file when one is named.
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
