"""JSON Schema of the spec, for editors (yaml-language-server) and the README's reference."""

from __future__ import annotations

from typing import Any

from .root import PipelineSpec

SCHEMA_ID = "https://github.com/lgbm-pipeline-compiler/schema/pipeline-spec.schema.json"


def spec_json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lgbm-pipeline-compiler spec"
    return schema
