"""What every step builder needs: the spec, the offline session, parameters and artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join

from ..spec.root import PipelineSpec
from .artifacts import ArtifactStore, read_script
from .parameters import ParameterResolver


@dataclass(frozen=True)
class BuildContext:
    """Shared, read-only inputs of the builders (steps travel between them as typed handles)."""

    spec: PipelineSpec
    session: Any
    params: ParameterResolver
    artifacts: ArtifactStore

    @property
    def role(self) -> str:
        return self.spec.pipeline.role_arn

    @property
    def write(self) -> str:
        return self.spec.storage.write

    def run_uri(self, *parts: str) -> Join:
        """A per-execution S3 URI: {write}/runs/{execution id}/parts..."""
        return Join(on="/", values=[self.write, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])

    def script_uri(self, name: str) -> str:
        """Content-addressed S3 URI of a step script (registered as an artifact)."""
        filename, data = read_script(name, self.spec.source_dir)
        return self.artifacts.add(filename, data)
