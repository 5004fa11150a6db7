"""Compile a declarative YAML spec into a byte-stable SageMaker pipeline definition for LightGBM.

>>> from lgbm_pipeline_compiler import load_spec, compile_spec, render_json
>>> spec = load_spec("specs/census.yaml", variables={"env": "prod"})
>>> print(render_json(compile_spec(spec)))
"""

from __future__ import annotations

from typing import Any

from .errors import CompileError, Finding, SpecError
from .spec import PipelineSpec, load_spec

__all__ = [
    "CompileError",
    "Finding",
    "PipelineSpec",
    "SpecError",
    "build_pipeline",
    "compile_spec",
    "load_spec",
    "render_json",
]


def build_pipeline(spec: PipelineSpec) -> Any:
    """The SageMaker SDK ``Pipeline`` object for a spec, built offline."""
    from .compiler import build_pipeline as build

    return build(spec)


def compile_spec(spec: PipelineSpec) -> dict[str, Any]:
    """The pipeline definition as plain data (what SageMaker receives as PipelineDefinition)."""
    from .compiler import compile_definition

    return compile_definition(spec).definition


def render_json(definition: dict[str, Any]) -> str:
    """Canonical JSON text of a definition: sorted keys, 2-space indent, trailing newline."""
    from .emit import render_json as render

    return render(definition)
