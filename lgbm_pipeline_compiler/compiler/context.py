"""What every step builder needs: the spec, the offline session, parameters and artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagemaker import image_uris
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join

from ..spec.root import PipelineSpec
from .artifacts import ArtifactStore, read_script
from .parameters import ParameterResolver


@dataclass
class BuildContext:
    spec: PipelineSpec
    session: Any
    params: ParameterResolver
    artifacts: ArtifactStore
    steps: dict[str, Any] = field(default_factory=dict)
    """Built steps by role (preprocess, tune, model, evaluate, bias, explain, register, ...)."""

    @property
    def role(self) -> str:
        return self.spec.pipeline.role_arn

    @property
    def write(self) -> str:
        return self.spec.storage.write

    def run_uri(self, *parts: str) -> Join:
        """A per-execution S3 URI: {write}/runs/{execution id}/parts..."""
        return Join(on="/", values=[self.write, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def sklearn_image(self, framework_version: str) -> str:
        return image_uris.retrieve(
            "sklearn", self.spec.pipeline.region, version=framework_version, instance_type="ml.m5.xlarge"
        )

    @property
    def training_image(self) -> str:
        training = self.spec.training
        return training.image_uri or self.sklearn_image(training.framework_version)

    def script_uri(self, name: str) -> str:
        """Content-addressed S3 URI of a step script (registered as an artifact)."""
        filename, data = read_script(name, self.spec.source_dir)
        return self.artifacts.add(filename, data)
