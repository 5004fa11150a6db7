"""The whole spec: one field per YAML section."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PrivateAttr, StringConstraints

from .base import Section
from .batch_transform import BatchTransformSection
from .cache import CacheSection
from .clarify import ClarifySection
from .data import DataSection
from .data_quality import DataQualitySection
from .dependencies import DependencyMode
from .deploy import DeploySection
from .encryption import EncryptionSection
from .evaluation import EvaluationSection
from .gate import QualityGateSection
from .network import NetworkSection
from .parameters import PARAMETER_NAME
from .pipeline import PipelineSection
from .preprocessing import PreprocessingSection
from .registry import RegistrySection
from .retries import RetriesSection
from .storage import StorageSection
from .training import TrainingSection
from .tuning import TuningSection

ParameterName = Annotated[str, StringConstraints(pattern=PARAMETER_NAME)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
VariableValue = str | int | float | bool | None

TEMPLATE_SCHEMA = {
    "type": "string",
    "pattern": "\\{\\{",
    "description": "A template value: rendered with the spec's variables, then checked as this key's value.",
}
"""What a templated value looks like to JSON Schema (a string holding `{{`)."""
_TEMPLATE_REF = {"$ref": "#/$defs/Template"}
_CONSTRAINTS = ("pattern", "enum", "const", "format", "minLength", "maxLength")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs")
_SCHEMA_ONE = ("items", "additionalProperties", "not")


class PipelineSpec(Section):
    """A LightGBM training pipeline on SageMaker, section by section."""

    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False}
    )
    """Template variables: name → default value (string, number, boolean or null), used as
    `{{ name }}` in any string value of the spec; a value may use the variables above it;
    `--var name=VALUE` overrides one."""
    pipeline: PipelineSection
    storage: StorageSection
    data: DataSection
    preprocessing: PreprocessingSection = Field(default_factory=PreprocessingSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    tuning: TuningSection
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    quality_gate: QualityGateSection
    clarify: ClarifySection | None = None
    data_quality: DataQualitySection | None = None
    """The training data's data-quality baseline (Model Monitor statistics and constraints)."""
    registry: RegistrySection | None = None
    deploy: DeploySection | None = None
    batch_transform: BatchTransformSection | None = None
    parameters: dict[ParameterName, str] = Field(default_factory=dict)
    """Pipeline parameter name → dotted spec path whose value becomes its default."""
    network: NetworkSection = Field(default_factory=NetworkSection)
    """VPC, network isolation and inter-container encryption of every job (per-section overrides)."""
    encryption: EncryptionSection = Field(default_factory=EncryptionSection)
    """KMS keys for job volumes and outputs (per-section overrides)."""
    cache: CacheSection = Field(default_factory=CacheSection)
    """Step caching (CacheConfig) of the steps that support it (per-section overrides)."""
    retries: RetriesSection = Field(default_factory=RetriesSection)
    """Retry policies of the steps that support them (per-section overrides)."""
    dependencies: DependencyMode = "pypi"
    """How jobs get step_scripts/requirements.txt: `pypi` (installed from PyPI as each job starts:
    needs the internet), `bundled` (wheels resolved by `lgbm-pipeline wheels` into
    wheels.lock.json, shipped as artifacts and installed with --no-index: no internet) or `image`
    (preinstalled in training.image_uri and evaluation.image_uri: nothing installed)."""

    _source_dir: str = PrivateAttr(default=".")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON Schema of the spec as written: a constrained scalar may also be a template
        (`"{{ n }}"` where an integer goes), which is checked once rendered."""
        schema = _templatable(super().model_json_schema(*args, **kwargs))
        schema.setdefault("$defs", {})["Template"] = TEMPLATE_SCHEMA
        return schema

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


def _constrained_scalar(schema: dict[str, Any]) -> bool:
    """A schema that a template string would not satisfy: a non-string type, or a constrained string."""
    kind = schema.get("type")
    if kind in ("integer", "number", "boolean", "null"):
        return True
    return (kind == "string" or kind is None and "$ref" not in schema) and any(
        c in schema for c in _CONSTRAINTS
    )


def _templatable(schema: Any) -> Any:
    """``schema`` with TEMPLATE_SCHEMA allowed wherever a constrained scalar is expected."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SCHEMA_LISTS:
        if key in out:
            out[key] = [_templatable(s) if not _constrained_scalar(s) else s for s in out[key]]
    for key in _SCHEMA_MAPS:
        if key in out:
            out[key] = {name: _templatable(s) for name, s in out[key].items()}
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _templatable(out[key])
    if "anyOf" in out and any(_constrained_scalar(s) for s in out["anyOf"]):
        if {"type": "string"} not in out["anyOf"]:
            out["anyOf"] = [*out["anyOf"], _TEMPLATE_REF]
    elif _constrained_scalar(out):
        notes = {k: out.pop(k) for k in ("title", "description", "default") if k in out}
        out = {"anyOf": [out, _TEMPLATE_REF], **notes}
    return out
