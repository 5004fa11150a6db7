"""Compile a declarative YAML spec into a byte-stable SageMaker pipeline definition for LightGBM.

>>> from lgbm_pipeline_compiler import load_spec, compile_spec, render_json
>>> spec = load_spec("specs/census.yaml", variables={"env": "prod"})
>>> print(render_json(compile_spec(spec)))

Run it locally (no AWS, no Docker) with ``run_local(spec, first_run=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CompileError, Finding, SpecError

if TYPE_CHECKING:
    from .spec import PipelineSpec, load_spec


def __getattr__(name: str) -> Any:
    """The spec models load on first use, so `validate` on a definition does not pay for them."""
    if name in ("PipelineSpec", "load_spec"):
        from . import spec

        return getattr(spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CompileError",
    "Finding",
    "PipelineSpec",
    "SpecError",
    "build_pipeline",
    "compile_spec",
    "load_spec",
    "render_json",
    "run_local",
]


def build_pipeline(spec: PipelineSpec) -> Any:
    """The SageMaker SDK ``Pipeline`` object for a spec, built offline."""
    from .compiler import build_pipeline as build

    return build(spec)


def compile_spec(spec: PipelineSpec, customize: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """The pipeline definition as plain data (what SageMaker receives as PipelineDefinition).

    ``customize`` receives the SDK ``Pipeline`` before it is serialised, to add or change steps.
    """
    from .compiler import compile_definition

    return compile_definition(spec, customize).definition


def render_json(definition: dict[str, Any]) -> str:
    """Canonical JSON text of a definition: sorted keys, 2-space indent, trailing newline."""
    from .emit import render_json as render

    return render(definition)


def run_local(
    spec: PipelineSpec | str | Path,
    work_dir: str | Path = ".lgbm-pipeline",
    data: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
    first_run: bool = False,
) -> Any:
    """Compile and run a pipeline on this machine, as `lgbm-pipeline run --local` does.

    ``data`` maps input S3 URIs to local files; ``parameters`` overrides pipeline parameters;
    ``first_run`` sets every check's skip and register-new-baseline parameter (``--first-run``).
    Returns the execution record (``.status``, ``.steps``, ``.registered_model_package``).
    """
    from .local.api import run_spec
    from .local.runner import RunOptions

    options = RunOptions(
        work_dir=Path(work_dir),
        data={k: str(v) for k, v in (data or {}).items()},
        parameters={k: str(v) for k, v in (parameters or {}).items()},
        first_run=first_run,
    )
    return run_spec(spec, options)
