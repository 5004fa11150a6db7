"""The whole spec: one field per YAML section."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PrivateAttr, StringConstraints

from .base import Section
from .batch_transform import BatchTransformSection
from .clarify import ClarifySection
from .data import DataSection
from .deploy import DeploySection
from .evaluation import EvaluationSection
from .gate import QualityGateSection
from .parameters import PARAMETER_NAME
from .pipeline import PipelineSection
from .preprocessing import PreprocessingSection
from .registry import RegistrySection
from .storage import StorageSection
from .training import TrainingSection
from .tuning import TuningSection

ParameterName = Annotated[str, StringConstraints(pattern=PARAMETER_NAME)]


class PipelineSpec(Section):
    """A LightGBM training pipeline on SageMaker, section by section."""

    pipeline: PipelineSection
    storage: StorageSection
    data: DataSection
    preprocessing: PreprocessingSection = Field(default_factory=PreprocessingSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    tuning: TuningSection
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    quality_gate: QualityGateSection
    clarify: ClarifySection | None = None
    registry: RegistrySection | None = None
    deploy: DeploySection | None = None
    batch_transform: BatchTransformSection | None = None
    parameters: dict[ParameterName, str] = Field(default_factory=dict)
    """Pipeline parameter name → dotted spec path whose value becomes its default."""

    _source_dir: str = PrivateAttr(default=".")

    @property
    def source_dir(self) -> str:
        """Directory of the spec file: relative script paths are resolved against it."""
        return self._source_dir

    def value_at(self, path: str) -> Any:
        """The spec value at a dotted path such as `clarify.bias.baseline.skip_check`."""
        node: Any = self
        for part in path.split("."):
            node = getattr(node, part)
        return node

    @property
    def input_uris(self) -> list[str]:
        """`data.input` as full S3 URIs (relative keys resolved against `storage.read`)."""
        return [self.resolve_input(item) for item in self.data.inputs]

    @property
    def input_uri(self) -> str:
        """The first input as a full S3 URI (the one an exposed `data.input` parameter defaults to)."""
        return self.input_uris[0]

    def resolve_input(self, item: str) -> str:
        if item.startswith("s3://") or self.storage.read is None:
            return item
        return f"{self.storage.read}/{item.lstrip('/')}"
