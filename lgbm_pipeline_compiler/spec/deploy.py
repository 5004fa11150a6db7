"""`deploy:` — the Lambda step that puts the registered model behind an endpoint.

The endpoint options (deploy_options.py) combine under SageMaker's rules. Serverless Inference
(SageMaker Developer Guide, "Deploy models with Amazon SageMaker Serverless Inference", Feature
exclusions): "Some of the features currently available for SageMaker AI Real-time Inference are not
supported for Serverless Inference, including ... data capture, multiple production variants, Model
Monitor, and inference pipelines." A serverless variant has no instances (ServerlessConfig instead
of InstanceType and InitialInstanceCount), and its scaling is provisioned concurrency, not the
DesiredInstanceCount autoscaling configured here.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .base import Section
from .deploy_function import DeployFunction
from .deploy_options import Autoscaling, DataCapture, Serverless, Variants, fail
from .types import InferenceInstance, LambdaArn, ResourceName

SERVERLESS_EXCLUDES = {
    "instance_type": "a serverless endpoint has no instances: remove instance_type",
    "instance_count": "a serverless endpoint has no instances: remove instance_count",
    "autoscaling": "a serverless endpoint scales itself (Application Auto Scaling's instance-count autoscaling does not apply): remove autoscaling, or serverless",
    "data_capture": "SageMaker Serverless Inference does not support data capture (its documented feature exclusions): remove data_capture, or serverless",
    "variants": "SageMaker Serverless Inference does not support multiple production variants (its documented feature exclusions): remove variants, or serverless",
}


class DeploySection(Section):
    lambda_arn: LambdaArn
    """The function running step_scripts/deploy_endpoint.py."""
    endpoint_name: ResourceName
    endpoint_config_name: ResourceName | None = None
    """Prefix of the endpoint config names (one per model version); default: the endpoint name."""
    instance_type: InferenceInstance = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1, le=100)
    function: DeployFunction | None = None
    """Have `lgbm-pipeline deploy` create or update the function from the bundled handler (else it checks that it exists)."""
    data_capture: DataCapture | None = None
    """Capture a sample of the endpoint's requests and responses to S3 (DataCaptureConfig)."""
    variants: Variants | None = None
    """The new model's production variant name and weight, and optionally keep the current variant (A/B)."""
    autoscaling: Autoscaling | None = None
    """Target-tracking autoscaling of each variant's instance count (Application Auto Scaling)."""
    serverless: Serverless | None = None
    """A serverless endpoint (ServerlessConfig) instead of instances."""

    @model_validator(mode="after")
    def _combinations(self) -> DeploySection:
        problems = []
        if self.serverless is not None:
            for key, message in SERVERLESS_EXCLUDES.items():
                if key in self.model_fields_set and getattr(self, key) is not None:
                    problems.append(((key,), "serverless_excludes", message, {}, None))
        scaling = self.autoscaling
        if scaling is not None and not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            problems.append(
                (("instance_count",) if "instance_count" in self.model_fields_set else ("autoscaling",),
                 "autoscaling_start", "instance_count ({n}) is outside autoscaling's {low}-{high} instances; "
                 "set instance_count within them (it is the endpoint's starting size)",
                 {"n": self.instance_count, "low": scaling.min_instances, "high": scaling.max_instances},
                 self.instance_count)
            )  # fmt: skip
        if problems:
            raise fail(problems)
        return self
