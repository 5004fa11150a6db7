"""The only package that imports the SageMaker SDK: spec sections → SDK step objects → definition.

Imports of the SDK happen inside functions, under :func:`quiet_sdk`, so importing
``lgbm_pipeline_compiler`` (and running `validate`) never pays for or hears from the SDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..errors import CompileError
from ..spec.root import PipelineSpec
from .artifacts import Artifact, ArtifactStore

__all__ = ["Compiled", "build_pipeline", "compile_definition"]


@dataclass(frozen=True)
class Compiled:
    """A compiled pipeline: the definition (plain data) and the artifacts it references by S3 URI."""

    definition: dict[str, Any]
    artifacts: dict[str, Artifact]


def build_pipeline(spec: PipelineSpec):  # noqa: ANN201 - sagemaker.workflow.pipeline.Pipeline
    """The SDK Pipeline for a spec (users may add steps before compiling it themselves)."""
    from .offline import quiet_sdk

    with quiet_sdk():
        from .pipeline import build

        return build(spec).pipeline


def _replace_strings(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _replace_strings(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, mapping) for v in node]
    if isinstance(node, str):
        return mapping.get(node, node)
    return node


def compile_definition(spec: PipelineSpec, customize: Callable[[Any], None] | None = None) -> Compiled:
    """Build and serialise the pipeline offline; move SDK uploads to content-addressed keys.

    ``customize(pipeline)`` may add or change steps of the SDK Pipeline before it is serialised;
    it runs offline too (any AWS call it makes is refused).
    """
    from .offline import quiet_sdk

    with quiet_sdk():
        from .pipeline import build

        built = build(spec)
        if customize is not None:
            customize(built.pipeline)
        definition = json.loads(built.pipeline.definition())
    store: ArtifactStore = built.artifacts
    moved = {
        uri: store.add(PurePosixPath(uri).name, data) for uri, data in sorted(built.captured_uploads.items())
    }
    definition = _replace_strings(definition, moved)
    _drop_unset_check_fields(definition)
    refuse_what_sagemaker_would_refuse(definition, spec)
    return Compiled(definition=definition, artifacts=store.referenced_by(json.dumps(definition)))


UNSET_CHECK_FIELDS = ("ModelPackageGroupName", "SuppliedBaselineConstraints", "SuppliedBaselineStatistics")


def _drop_unset_check_fields(definition: dict[str, Any]) -> None:
    """Leave out the check steps' optional fields the SDK writes as null when unset.

    ``ClarifyCheckStep.to_request`` and ``QualityCheckStep.to_request`` (sagemaker/workflow/
    clarify_check_step.py, quality_check_step.py) set ModelPackageGroupName and the supplied
    baselines even when they are None; AWS's pipeline schema types them as strings or expressions
    (StringArgumentValue), never null, and does not require them. A spec without `registry` has no
    model package group, so its checks would carry ``"ModelPackageGroupName": null``."""
    from ..lint.requests import walk_steps

    for step in walk_steps(definition["Steps"]):
        if step.get("Type") in ("ClarifyCheck", "QualityCheck"):
            for field in UNSET_CHECK_FIELDS:
                if field in step and step[field] is None:
                    del step[field]


def _spec_keys_holding(spec: PipelineSpec | None, value: Any) -> list[str]:
    """Dotted spec keys whose value is ``value`` (where a refused request value came from)."""
    if spec is None or not isinstance(value, str | int | float) or isinstance(value, bool):
        return []
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
        elif node == value and type(node) is type(value):
            found.append(path)

    walk(spec.model_dump(mode="json"), "")
    return found


def refuse_what_sagemaker_would_refuse(definition: dict[str, Any], spec: PipelineSpec | None = None) -> None:
    """A CompileError naming every request member SageMaker would refuse, step by step, and the spec
    key the refused value came from when there is one."""
    from ..lint.requests import check_request, walk_steps

    lines = []
    for step in walk_steps(definition["Steps"]):
        for problem in check_request(step["Type"], step.get("Arguments")):
            keys = _spec_keys_holding(spec, problem.value)
            origin = f" (spec: {', '.join(keys)})" if keys else ""
            lines.append(f"step {step['Name']}: {problem.message}{origin}")
    if lines:
        raise CompileError("the definition has requests SageMaker would refuse:\n  " + "\n  ".join(lines))
