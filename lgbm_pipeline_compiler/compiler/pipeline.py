"""The one place where steps are wired: spec → SDK Pipeline, read top to bottom as the data flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagemaker.workflow.pipeline import Pipeline

from ..spec.root import PipelineSpec
from .artifacts import ArtifactStore
from .context import BuildContext
from .handles import Checks
from .offline import make_session
from .parameters import ParameterResolver
from .steps import (
    batch_transform,
    clarify,
    clarify_builtin,
    data_quality,
    data_quality_builtin,
    deploy,
    evaluation,
    model,
    preprocessing,
    quality_gate,
    registry,
    tuning,
)


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

    data = preprocessing.build(ctx)
    tuned = tuning.build(ctx, data)
    modeled = model.build(ctx, tuned)
    evaluated = evaluation.build(ctx, data, tuned)
    checks = Checks()
    if spec.clarify is not None:
        engine = clarify_builtin if spec.clarify.engine == "builtin" else clarify
        checks = engine.build(ctx, data, tuned, modeled)
    quality = None
    if spec.data_quality is not None:
        builtin = spec.data_quality.engine == "builtin"
        quality = (data_quality_builtin if builtin else data_quality).build(ctx, data)

    gated: list[Any] = []  # registered, deployed and scored only if the gate passes
    if spec.registry is not None:
        registered = registry.build(ctx, modeled, evaluated, checks, quality)
        gated.append(registered.step)
        if spec.deploy is not None:
            gated.append(deploy.build(ctx, registered).step)
        if spec.batch_transform is not None:
            gated.append(batch_transform.build(ctx, data, modeled, registered).step)
    gate = quality_gate.build(ctx, evaluated, checks, if_steps=gated)

    pipeline = Pipeline(
        name=spec.pipeline.name,
        parameters=params.parameters,
        steps=[
            data.step,
            tuned.step,
            modeled.step,
            evaluated.step,
            *checks.steps,
            *(quality.steps if quality else []),
            gate,
        ],
        sagemaker_session=session,
    )
    return Built(pipeline=pipeline, artifacts=ctx.artifacts, captured_uploads=captured)
