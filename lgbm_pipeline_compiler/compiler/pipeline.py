"""The facade over the builders: spec → SDK Pipeline, in data-flow order."""

from __future__ import annotations

from dataclasses import dataclass

from sagemaker.workflow.pipeline import Pipeline

from ..spec.root import PipelineSpec
from . import clarify, deploy, evaluation, gate, model, preprocessing, registry, tuning
from .artifacts import ArtifactStore
from .context import BuildContext
from .offline import make_session
from .parameters import ParameterResolver


@dataclass
class Built:
    pipeline: Pipeline
    artifacts: ArtifactStore
    captured_uploads: dict[str, bytes]


def build(spec: PipelineSpec) -> Built:
    """Build every step from its spec section and assemble the Pipeline."""
    session, captured = make_session(spec.pipeline.region, spec.storage.write_bucket)
    params = ParameterResolver(spec)
    ctx = BuildContext(spec=spec, session=session, params=params, artifacts=ArtifactStore(spec.storage.write))
    steps = [preprocessing.build(ctx), tuning.build(ctx), model.build(ctx), evaluation.build(ctx)]
    steps += clarify.build(ctx)
    gated = [s for s in (registry.build(ctx), deploy.build(ctx)) if s is not None]
    steps.append(gate.build(ctx, gated))
    pipeline = Pipeline(
        name=spec.pipeline.name,
        parameters=params.parameters,
        steps=steps,
        sagemaker_session=session,
    )
    return Built(pipeline=pipeline, artifacts=ctx.artifacts, captured_uploads=captured)
